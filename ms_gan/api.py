"""The Python API: draw digits from a trained run, or train one, from a notebook or a program.

    from ms_gan import load_generator
    g = load_generator("result/showcase/cgan")
    images = g.sample(16, labels=7, seed=0)      # uint8 [16, 28, 28]

MindSpore is imported and set up on first use (CPU unless a device is named), never at `import ms_gan`.
"""

import os

import numpy as np

from ms_gan.errors import UserError

_DEVICE = []  # the device this process set MindSpore up for: it cannot change once an operator has run


def _set_up(device: str) -> None:
    """Prepare the process and MindSpore's context for DEVICE, once; a second, different device is an error."""
    from ms_gan.log import show

    show()  # a notebook sees what a script would print (unless it set up logging for "ms_gan" itself)
    if _DEVICE:
        if _DEVICE[0] != device:
            raise UserError(f"MindSpore is already set up for {_DEVICE[0]} in this process; it cannot move to {device}")
        return
    from ms_gan.runtime import prepare_process, setup_context

    prepare_process(device)
    import mindspore as ms

    seed = ms.get_seed()
    setup_context(device, "graph", 0 if seed is None else seed)
    _DEVICE.append(device)


class Generator:
    """A trained generator and the settings it was trained with (load_generator makes one)."""

    def __init__(self, net, config, path: str):
        self.net, self.config, self.path = net, config, path

    @property
    def conditional(self) -> bool:
        """Whether it draws the digit (or --clusters cluster) it is asked for."""
        return self.config.conditional

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def labels_for(self, n: int, labels=None) -> np.ndarray:
        """int32 [N]: the labels N samples are drawn with. LABELS: None (a conditional model: the classes in
        turn, as evenly as N allows; with --clusters, each cluster as often as it held training images), one
        class for all, or N of them."""
        if not self.conditional:
            if labels is not None:
                raise UserError(f"labels need a conditional model; this is a {self.config.model!r} generator")
            return np.zeros(n, dtype=np.int32)
        if labels is None:
            if self.config.clusters:
                from ms_gan.checkpoint import run_record
                from ms_gan.clusters import draw_counts

                return draw_counts(run_record(self.path).cluster_shares, n)
            counts = [len(part) for part in np.array_split(np.arange(n), self.num_classes)]
            return np.repeat(np.arange(self.num_classes, dtype=np.int32), counts)
        drawn = np.broadcast_to(np.asarray(labels), (n,)) if np.ndim(labels) == 0 else np.asarray(labels)
        if drawn.shape != (n,) or drawn.dtype.kind not in "iu" or drawn.min() < 0 or drawn.max() >= self.num_classes:
            raise UserError(f"labels must be one class in 0-{self.num_classes - 1} or {n} of them, got {labels!r}")
        return drawn.astype(np.int32)

    def sample_with_labels(self, n: int = 64, labels=None, seed: int = 0, truncation: float = 0.0):
        """(uint8 images [N, 28, 28], int32 labels [N]): N samples drawn from N(0, I) noise seeded by SEED (the
        same seed, the same images), with the truncation trick past TRUNCATION (0: off)."""
        from ms_gan.sampling import generate, latent_codes
        from ms_gan.visualize import to_uint8

        if not (isinstance(n, (int, np.integer)) and n > 0):
            raise UserError(f"n must be a positive number of images, got {n!r}")
        drawn = self.labels_for(n, labels)
        z = latent_codes(np.random.default_rng(seed), n, self.config.latent_dim, truncation)
        return to_uint8(generate(self.net, z, drawn)), drawn

    def sample(self, n: int = 64, labels=None, seed: int = 0, truncation: float = 0.0) -> np.ndarray:
        """uint8 images [N, 28, 28] (0 = black), as sample_with_labels."""
        return self.sample_with_labels(n, labels, seed, truncation)[0]

    def __repr__(self) -> str:
        return f"Generator({self.config.model!r}, latent_dim={self.config.latent_dim}, from {self.path!r})"


def load_generator(path: str, device: str = "CPU", ema: bool = True) -> Generator:
    """The generator of PATH: a run folder (its newest checkpoint), a checkpoint folder, or a generator .ckpt in a
    run. A run trained with a moving average of G (the conv models' default) gives that average unless EMA is
    False. DEVICE: "CPU", "GPU" or "Ascend"."""
    from ms_gan.config import DEVICES

    if device not in DEVICES:
        raise UserError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    _set_up(device)
    from ms_gan.checkpoint import resolve_generator
    from ms_gan.models import load_generator as load_weights

    ckpt_path, config = resolve_generator(path, ema=ema)
    config.device_target = device
    return Generator(load_weights(config, ckpt_path), config, ckpt_path)


def train(config=None, resume: str = "", **settings) -> str:
    """Train a run and return its folder. CONFIG: a TrainConfig or a dict of its fields (train.py's flags without
    the dashes); SETTINGS override single fields, e.g. train(model="fc", epochs=2). RESUME: a run folder to go on
    with (its own settings are kept; only those train.py lets a resume change may be given)."""
    import dataclasses

    from ms_gan.config import TrainConfig
    from ms_gan.log import show
    from ms_gan.runtime import prepare_process

    fields = dict(dataclasses.asdict(config) if isinstance(config, TrainConfig) else (config or {}), **settings)
    show()
    # before MindSpore is imported (looking a model up imports it); a resumed run's device is in its config.json
    prepare_process(str(fields.get("device_target", _saved_device(resume))))
    if resume:
        from ms_gan.checkpoint import CONFIG_NAME, run_to_resume
        from ms_gan.config import load_config

        resume = run_to_resume(resume)
        saved = load_config(f"{resume}/{CONFIG_NAME}")
        fixed = sorted(
            k
            for k, v in fields.items()
            if not TrainConfig.__dataclass_fields__[k].metadata["resumable"] and v != getattr(saved, k)
        )
        if fixed:
            raise UserError(f"a resume keeps the run's settings; {', '.join(fixed)} cannot change")
        config = dataclasses.replace(saved, **fields)
    else:
        unknown = sorted(set(fields) - set(TrainConfig.__dataclass_fields__))
        if unknown:
            raise UserError(f"unknown settings: {', '.join(unknown)} (see TrainConfig)")
        config = TrainConfig(**fields)
    config = config.settled()
    from ms_gan.trainer import train as train_run

    return train_run(config, resume_dir=resume)


def _saved_device(run_dir: str) -> str:
    import json

    try:
        with open(os.path.join(run_dir, "config.json")) as f:
            return str(json.load(f).get("device_target", "CPU"))
    except (OSError, ValueError, AttributeError):
        return "CPU"
