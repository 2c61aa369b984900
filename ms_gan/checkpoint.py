"""Run directories and checkpoints: atomic saves, finding the newest, loading with clear errors."""

import glob
import os
import re

from ms_gan.config import load_config
from ms_gan.errors import UserError

CKPT_DIR = "checkpoints"
CONFIG_NAME = "config.json"
_EPOCH_RE = re.compile(r"^generator_epoch(\d+)\.ckpt$")


def save_cell(cell, path: str) -> None:
    """Save a Cell's parameters to PATH (.ckpt) via a temporary file and a rename, with a CRC."""
    import mindspore as ms

    stem = path[:-len(".ckpt")] if path.endswith(".ckpt") else path
    tmp_stem = os.path.join(os.path.dirname(stem), f".{os.path.basename(stem)}.tmp-{os.getpid()}")
    ms.save_checkpoint(cell, tmp_stem, crc_check=True)  # MindSpore appends .ckpt
    os.replace(tmp_stem + ".ckpt", stem + ".ckpt")


def save_epoch(run_dir: str, epoch: int, net_g, net_d, opt_g, opt_d) -> str:
    """Write generator, discriminator and both optimizer states for EPOCH; the generator goes last,
    so a generator file's presence means its epoch is complete."""
    ckpt_dir = os.path.join(run_dir, CKPT_DIR)
    os.makedirs(ckpt_dir, exist_ok=True)
    for name, cell in (("discriminator", net_d), ("optim_g", opt_g), ("optim_d", opt_d), ("generator", net_g)):
        save_cell(cell, os.path.join(ckpt_dir, f"{name}_epoch{epoch}.ckpt"))
    return os.path.join(ckpt_dir, f"generator_epoch{epoch}.ckpt")


def newest_generator(run_dir: str) -> str:
    """The generator .ckpt of the highest epoch in RUN_DIR/checkpoints."""
    found = []
    for path in glob.glob(os.path.join(run_dir, CKPT_DIR, "generator_epoch*.ckpt")):
        match = _EPOCH_RE.match(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    if not found:
        raise UserError(f"no generator checkpoint in {os.path.join(run_dir, CKPT_DIR)}")
    return max(found)[1]


def resolve_generator(ckpt: str):
    """--ckpt accepts a run directory or a generator .ckpt inside one; returns (ckpt path, TrainConfig)."""
    if os.path.isdir(ckpt):
        run_dir = ckpt
    elif os.path.isfile(ckpt):
        parent = os.path.dirname(os.path.abspath(ckpt))
        run_dir = os.path.dirname(parent) if os.path.basename(parent) == CKPT_DIR else parent
    else:
        raise UserError(f"--ckpt {ckpt} does not exist")
    config = load_config(os.path.join(run_dir, CONFIG_NAME))
    return (newest_generator(run_dir) if os.path.isdir(ckpt) else ckpt), config


def load_into(cell, path: str, what: str = "checkpoint") -> None:
    """Load PATH into CELL, requiring every parameter to be present and of the same shape."""
    import mindspore as ms

    try:
        params = ms.load_checkpoint(path, crc_check=True)
    except Exception as e:  # MindSpore raises ValueError/RuntimeError with multi-line text
        first = " ".join(str(e).split())[:200]
        raise UserError(f"{path} is not a readable MindSpore checkpoint ({first})") from None
    expected = {p.name: p for p in cell.get_parameters()}
    missing = sorted(set(expected) - set(params))
    mismatched = [f"{n} {tuple(params[n].shape)} vs {tuple(p.shape)}" for n, p in expected.items()
                  if n in params and tuple(params[n].shape) != tuple(p.shape)]
    if missing or mismatched:
        detail = "; ".join(filter(None, [
            f"missing {len(missing)} parameters (e.g. {', '.join(missing[:3])})" if missing else "",
            f"shape mismatch in {', '.join(mismatched[:3])}" if mismatched else "",
        ]))
        raise UserError(f"{path} does not fit this {what} (other architecture or latent size?): {detail}")
    ms.load_param_into_net(cell, params, strict_load=True)
