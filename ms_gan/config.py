"""Training configuration: one dataclass, written next to the checkpoints as config.json."""

import dataclasses
import json
import os
from dataclasses import dataclass, field

import numpy as np

from ms_gan.errors import UserError
from ms_gan.fileio import write_json
from ms_gan.kernels import CONV_IMPLS

MODELS = ("fc", "fc_improved", "dcgan", "cgan")
LOSS_NAMES = ("bce", "lsgan", "hinge", "wgan-gp")  # losses.LOSSES' keys, known here without importing MindSpore
DEVICES = ("CPU", "GPU", "Ascend")
MODES = ("graph", "pynative")
DATASET_NAMES = ("mnist", "fashion_mnist")
AMP_LEVELS = ("O0", "O1", "O2", "O3")
LR_SCHEDULES = ("constant", "linear", "cosine")


@dataclass
class TrainConfig:
    model: str = "dcgan"            # one of MODELS
    dataset: str = "mnist"          # one of DATASET_NAMES; picks the default data folder, download and classifier
    data_dir: str = ""              # DIR/{train,test} or the four IDX files in DIR, raw or .gz; "" = the dataset's
                                    # ./data folder (Fashion-MNIST: or Debian's copy), downloaded if absent
    data_url: str = ""              # where to download from when data_dir is ""; "" = the dataset's own source
    data_fingerprint: str = ""      # image counts and checksums of data_dir's splits, recorded when a run starts;
                                    # --resume and evaluate.py accept another --data_dir only if it matches
    epochs: int = 5                 # passes over the training split
    batch_size: int = 128           # images per step
    latent_dim: int = 100           # length of the noise vector z
    num_classes: int = 10           # labels the conditional model knows (digits 0-9)
    lr: float = 2e-4                # Adam learning rate of G (and of D unless lr_d is set)
    lr_d: float = 0.0               # Adam learning rate of D; 0 = same as lr
    lr_schedule: str = "constant"   # one of LR_SCHEDULES: constant; linear = flat for half the run, then down to 0;
                                    # cosine = half a cosine down to 0 over the run (both nets' rates)
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
    conv_impl: str = "auto"         # one of CONV_IMPLS: gemm = ms_gan's CPU convolutions (kernels/), native =
                                    # MindSpore's; auto = gemm on CPU if a C++ compiler builds them, else native
    num_workers: int = 2            # dataset worker threads
    distribute: bool = False        # data-parallel over the workers msrun started; batch_size is the global batch
    amp_level: str = "O0"           # one of AMP_LEVELS: mixed precision on GPU/Ascend (O1 lists, O2 all but BatchNorm,
                                    # O3 all float16) with dynamic loss scaling; CPU trains in float32 regardless
    classes: list = field(default_factory=list)  # digits to train on, e.g. [8]; [] = all ten
    eval_every: int = 0             # epochs between sample-quality evaluations (0 = never); keeps a 'best' checkpoint by FD
    eval_samples: int = 10000       # samples per evaluation
    classifier: str = ""            # the classifier metrics use; "" = the dataset's shipped one (ms_gan/assets)
    num_grid: int = 64              # images in the per-epoch 8-column sample grid (cgan: always 10x10, rows 0-9)
    loss: str = "bce"               # one of LOSS_NAMES: bce (non-saturating), lsgan, hinge, wgan-gp
    gp_weight: float = 10.0         # wgan-gp: weight (lambda) of the gradient penalty
    n_critic: int = 1               # D updates per G update (wgan-gp usually 5)
    label_smoothing: float = 1.0    # D's target for real images (bce, lsgan); 0.9 = one-sided label smoothing
    ema_decay: float = -1.0         # decay of the generator's exponential moving average (0 = off; e.g. 0.999);
                                    # -1 = the model's default: 0.999 for dcgan and cgan, off for the fc models
    spectral_norm: bool = False     # spectral normalisation on every D layer (replaces D's BatchNorm)
    clip_grad_norm: float = 0.0     # clip each net's gradients to this global L2 norm (0 = off)

    @property
    def conditional(self) -> bool:
        return self.model == "cgan"

    @property
    def mixed_precision(self) -> bool:
        """Whether --amp_level takes effect: float16 is for accelerators (on CPU it is slower, not faster)."""
        return self.amp_level != "O0" and self.device_target != "CPU"

    @property
    def classifier_path(self) -> str:
        return self.classifier or default_classifier(self.dataset)

    @property
    def d_norm(self) -> str:
        """What follows D's hidden convs: per-sample LayerNorm for wgan-gp (its penalty needs each sample's
        own gradient), nothing under spectral normalisation, DCGAN's BatchNorm otherwise."""
        if self.loss == "wgan-gp":
            return "layer"
        return "none" if self.spectral_norm else "batch"

    def learning_rates(self, net: str, total_steps: int):
        """NET's ("g" or "d") learning rate over a run of TOTAL_STEPS steps: a float when --lr_schedule is
        constant, else float32 [updates], the rate of each of its updates. G updates once every n_critic
        steps, so its curve has that many fewer points."""
        base = float(self.lr if net == "g" else (self.lr_d or self.lr))
        if self.lr_schedule == "constant":
            return base
        updates = max(1, total_steps // self.n_critic if net == "g" else total_steps)
        progress = np.arange(updates) / updates
        if self.lr_schedule == "linear":  # flat for the first half, then straight down to ~0 (pix2pix)
            factors = np.minimum(1.0, 2.0 * (1.0 - progress))
        else:  # cosine: half a cosine from the full rate to ~0
            factors = 0.5 * (1.0 + np.cos(np.pi * progress))
        return (base * factors).astype(np.float32)

    def validate(self) -> "TrainConfig":
        if self.model not in MODELS:
            raise UserError(f"unknown --model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.device_target not in DEVICES:
            raise UserError(f"unknown --device_target {self.device_target!r}; choose one of {', '.join(DEVICES)}")
        if self.mode not in MODES:
            raise UserError(f"unknown --mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.dataset not in DATASET_NAMES:
            raise UserError(f"unknown --dataset {self.dataset!r}; choose one of {', '.join(DATASET_NAMES)}")
        if self.conv_impl not in CONV_IMPLS:
            raise UserError(f"unknown --conv_impl {self.conv_impl!r}; choose one of {', '.join(CONV_IMPLS)}")
        if self.amp_level not in AMP_LEVELS:
            raise UserError(f"unknown --amp_level {self.amp_level!r}; choose one of {', '.join(AMP_LEVELS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise UserError(f"unknown --lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        if self.loss not in LOSS_NAMES:
            raise UserError(f"unknown --loss {self.loss!r}; choose one of {', '.join(LOSS_NAMES)}")
        for name in ("epochs", "batch_size", "latent_dim", "ngf", "ndf", "save_every", "num_workers", "num_grid",
                     "eval_samples", "n_critic"):
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
        if not 0 < self.label_smoothing <= 1:
            raise UserError(f"--label_smoothing is D's target for real images, in (0, 1], got {self.label_smoothing}")
        if self.label_smoothing != 1 and self.loss not in ("bce", "lsgan"):
            raise UserError(f"--label_smoothing works with --loss bce or lsgan; {self.loss} has no real-image target")
        if self.ema_decay == -1:  # measured: at 950 steps the averaged DCGAN G scores FD 95 against 155
            self.ema_decay = 0.999 if self.model in ("dcgan", "cgan") else 0.0
        if not 0 <= self.ema_decay < 1:
            raise UserError(f"--ema_decay must be in [0, 1) (0 = off), got {self.ema_decay}")
        if self.gp_weight < 0 or self.clip_grad_norm < 0:
            raise UserError("--gp_weight and --clip_grad_norm must not be negative")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def default_classifier(dataset: str) -> str:
    from ms_gan.classifier import shipped_path

    return shipped_path(dataset)


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
