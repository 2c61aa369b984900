"""Training configuration: one dataclass, written next to the checkpoints as config.json."""

import dataclasses
import json
import os
from dataclasses import dataclass, field

from ms_gan.errors import UserError
from ms_gan.fileio import write_json

MODELS = ("fc", "dcgan", "cgan")
DEVICES = ("CPU", "GPU", "Ascend")
MODES = ("graph", "pynative")
MNIST_URL = "https://mindspore-website.obs.cn-north-4.myhuaweicloud.com/notebook/datasets/MNIST_Data.zip"


@dataclass
class TrainConfig:
    model: str = "dcgan"            # one of MODELS
    data_dir: str = ""              # MNIST_Data layout (DIR/train, DIR/test); "" = ./data/MNIST_Data, downloaded if absent
    data_url: str = MNIST_URL       # zip holding MNIST_Data/{train,test}, used only when data_dir is ""
    epochs: int = 5                 # passes over the training split
    batch_size: int = 128           # images per step
    latent_dim: int = 100           # length of the noise vector z
    num_classes: int = 10           # labels the conditional model knows (digits 0-9)
    lr: float = 2e-4                # Adam learning rate of G (and of D unless lr_d is set)
    lr_d: float = 0.0               # Adam learning rate of D; 0 = same as lr
    beta1: float = 0.5              # Adam first-moment decay
    beta2: float = 0.999            # Adam second-moment decay
    ngf: int = 64                   # generator width (conv models: hidden layers have 4*ngf and 2*ngf channels)
    ndf: int = 64                   # discriminator width (conv models: ndf and 2*ndf channels)
    seed: int = 0                   # seeds MindSpore, numpy and the dataset shuffle
    save_every: int = 1             # epochs between checkpoints; the last epoch is always saved
    keep_last: int = 0              # keep only the newest K checkpoints (0 = keep all)
    output_dir: str = "result"      # runs are written to OUTPUT_DIR/RUN_NAME
    run_name: str = ""              # "" = MODEL-YYYYmmdd-HHMMSS
    device_target: str = "CPU"      # one of DEVICES
    mode: str = "graph"             # one of MODES: graph compiles the step with ms.jit
    num_workers: int = 2            # dataset worker threads
    classes: list = field(default_factory=list)  # digits to train on, e.g. [8]; [] = all ten
    eval_every: int = 0             # epochs between sample-quality evaluations (0 = never); keeps a 'best' checkpoint by FD
    eval_samples: int = 10000       # samples per evaluation
    classifier: str = "data/mnist_classifier.ckpt"  # the MNIST classifier metrics use; trained on data_dir if absent
    num_grid: int = 64              # images in the per-epoch 8-column sample grid (cgan: always 10x10, rows 0-9)

    @property
    def conditional(self) -> bool:
        return self.model == "cgan"

    def validate(self) -> "TrainConfig":
        if self.model not in MODELS:
            raise UserError(f"unknown --model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.device_target not in DEVICES:
            raise UserError(f"unknown --device_target {self.device_target!r}; choose one of {', '.join(DEVICES)}")
        if self.mode not in MODES:
            raise UserError(f"unknown --mode {self.mode!r}; choose one of {', '.join(MODES)}")
        for name in ("epochs", "batch_size", "latent_dim", "ngf", "ndf", "save_every", "num_workers", "num_grid",
                     "eval_samples"):
            if getattr(self, name) <= 0:
                raise UserError(f"--{name} must be a positive integer, got {getattr(self, name)}")
        if self.lr_d < 0 or self.eval_every < 0:
            raise UserError("--lr_d and --eval_every must not be negative")
        bad = [c for c in self.classes if not (isinstance(c, int) and 0 <= c < self.num_classes)]
        if bad or len(set(self.classes)) != len(self.classes):
            raise UserError(f"--classes takes distinct digits 0-{self.num_classes - 1}, got {self.classes}")
        if self.keep_last < 0:
            raise UserError(f"--keep_last must be 0 (keep all) or positive, got {self.keep_last}")
        if not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise UserError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def save_config(config: TrainConfig, path: str) -> None:
    """Write config.json atomically (a reader never sees half a file)."""
    write_json(path, config.to_dict())


def load_config(path: str) -> TrainConfig:
    """Read a run's config.json; unknown keys (from newer versions) are an error, missing ones take defaults."""
    if not os.path.isfile(path):
        raise UserError(f"no config.json at {path}: is this a run directory written by scripts/train.py?")
    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path}: {e}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} does not hold a JSON object")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UserError(f"{path} has keys this version does not know: {', '.join(unknown)}")
    return TrainConfig(**raw).validate()
