"""Process and MindSpore context set-up: device, execution mode, seeds and CPU-only switches."""

import logging
import os
import sys

from ms_gan.errors import UserError

log = logging.getLogger(__name__)


def prepare_process(device_target: str) -> None:
    """Set environment switches that MindSpore reads once at import; call before `import mindspore`.

    On CPU, MindSpore's host dispatch thread spin-waits for work and keeps one core busy; on a small machine
    that core is half the compute. Blocking dispatch gives it back (docs/performance.md). GPU and Ascend keep
    the asynchronous default. A value the user set wins.
    """
    if "mindspore" in sys.modules:
        return  # too late to matter; the caller already imported MindSpore
    from ms_gan import stops

    stops.watch()  # before MindSpore starts its threads, which inherit the blocked SIGTERM
    if os.environ.get("MS_COMPILER_CACHE_ENABLE", "0") not in ("", "0"):
        # MindSpore 2.10 on CPU: a run whose graphs came from its compile cache had NaN losses at its first step
        # (fc and dcgan, MindSpore's own layers too); the cache saved under 2 s of compiling anyway
        del os.environ["MS_COMPILER_CACHE_ENABLE"]
        log.info(
            "note: MS_COMPILER_CACHE_ENABLE ignored: MindSpore 2.10's compile cache gave these graphs NaN losses "
            "from the first step of a cached run; compiling afresh"
        )
    if device_target == "CPU":
        os.environ.setdefault("MS_DEV_HOST_BLOCKING_RUN", "1")
        # ms_gan's CPU kernels (ms_gan/kernels) use OpenMP; by default its threads spin after each kernel and
        # take the cores from the next matrix product; sleeping at once gives them back (docs/performance.md).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("GLOG_v", "3")  # keep MindSpore's INFO/WARNING chatter out of the progress display


def setup_context(device_target: str, mode: str, seed: int) -> None:
    """Select the device and mode, and seed every random source; a missing backend is a UserError."""
    import mindspore as ms
    import numpy as np

    if device_target != "CPU" and not _backend_available(device_target):
        raise UserError(
            f"--device_target {device_target}: this MindSpore installation has no usable {device_target} "
            f"backend on this machine (driver, toolkit or plugin missing); use --device_target CPU"
        )
    ms.set_device(device_target)
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    ms.set_seed(seed)
    np.random.seed(seed)


def _backend_available(device_target: str) -> bool:
    import mindspore as ms

    try:
        return bool(ms.hal.is_available(device_target))
    except Exception:  # an older or broken plugin raises instead of answering
        return False
