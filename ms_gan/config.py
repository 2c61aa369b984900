"""Training configuration: one dataclass, written next to the checkpoints as config.json."""

import dataclasses
import json
import os
from dataclasses import dataclass, field

import numpy as np

from ms_gan import registry
from ms_gan.errors import UserError, one_line
from ms_gan.fileio import write_json
from ms_gan.ranges import HUGE, SEED, Range, cores, count, share

DEVICES = ("CPU", "GPU", "Ascend")
MODES = ("graph", "pynative")
DATASET_NAMES = ("mnist", "fashion_mnist")
AMP_LEVELS = ("O0", "O1", "O2", "O3")
LR_SCHEDULES = ("constant", "linear", "cosine")
CLUSTER_SPACES = ("deskewed", "pixels")  # clusters.SPACES' keys, known here without importing it
DATASET_CLASSES = 10  # MNIST's digits, Fashion-MNIST's garments
PRECISIONS = ("fp32", "bf16", "auto")  # --precision: the operands of the CPU kernels' matrix products
CONV_IMPLS = ("auto", "gemm", "native")  # --conv_impl: auto = ms_gan's CPU kernels on CPU when they build, else native
ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")  # the shipped classifiers


STABILISERS = "losses and stabilisers"  # the --help group of the options below that change how D and G learn


def option(
    default, help: str, choices=(), resumable: bool = False, group: str = "", flag: bool = True, allowed: Range = None
):
    """A TrainConfig field that also describes its scripts/train.py flag: HELP, CHOICES (checked by validate; a
    function, such as registry.models, gives {name: declaration with .help}, listed in the flag's help),
    whether --resume may change it (RESUMABLE), its --help GROUP, whether it is a flag at all (FLAG), and for a
    number the Range of values it ALLOWED (checked by validate, and by the flag's parser)."""
    metadata = {
        "help": help,
        "choices": choices,
        "resumable": resumable,
        "group": group,
        "flag": flag,
        "allowed": allowed,
    }
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Everything a run is: each field is a train.py flag (see option), and config.json holds them all."""

    model: str = option("dcgan", "the networks", registry.models)
    dataset: str = option(
        "mnist", "picks the default data folder, download source and evaluation classifier", DATASET_NAMES
    )
    data_dir: str = option(
        "",
        "folder with train/ and test/ (MindSpore's MNIST_Data layout) or the four IDX files "
        "side by side, raw or .gz (default: ~/.cache/ms_gan/data/MNIST_Data or "
        "FashionMNIST_Data, downloaded when absent); on --resume, another copy of the same data",
        resumable=True,
    )
    data_url: str = option(
        "",
        "where to download from when --data_dir is not given (MNIST: a zip; Fashion-MNIST: "
        "the folder URL of the four .gz files)",
    )
    epochs: int = option(5, "passes over the training split", resumable=True, allowed=count(1, 100_000))
    batch_size: int = option(
        128, "images per step (with --distribute: the global batch, split evenly)", allowed=count(2, 65_536)
    )
    latent_dim: int = option(100, "length of the noise vector z", allowed=count(1, 4096))
    num_classes: int = option(
        10, "labels the conditional model knows (digits 0-9, or --clusters)", flag=False, allowed=count(1, 255)
    )
    clusters: int = option(
        0,
        "cgan without labels: K k-means clusters of the training images take the "
        "digits' place in training, and samples are drawn from each cluster as often as it holds "
        "images (self-conditioning; 0 = the dataset's labels)",
        allowed=count(0, 255),
    )
    cluster_space: str = option(
        "deskewed",
        "what --clusters are taken in: deskewed (each image sheared upright "
        "first, so clusters follow shapes, not slants) or pixels (as they are)",
        CLUSTER_SPACES,
    )
    lr: float = option(
        None,
        "Adam learning rate of G, and of D unless --lr_d (default: the model's, 1e-3 for dcgan, the "
        "tutorials' 2e-4 for the others)",
        resumable=True,
        allowed=Range(float, 0.0, 10.0, low_open=True, none=True),
    )
    lr_d: float = option(
        None,
        "Adam learning rate of D (default: twice --lr for cgan, --lr for the other models; 0 = --lr)",
        resumable=True,
        allowed=Range(float, 0.0, 10.0, none=True),
    )
    lr_schedule: str = option(
        "constant",
        "constant; linear: flat for the first half of the run, then down to 0 "
        "at the last step; cosine: half a cosine down to 0 (both nets; the run's length is "
        "--epochs, so a resume with more epochs moves the curve)",
        LR_SCHEDULES,
    )
    beta1: float = option(0.5, "Adam first-moment decay", allowed=share(high_open=True))
    beta2: float = option(0.999, "Adam second-moment decay", allowed=share(high_open=True))
    ngf: int = option(
        64, "generator width (conv models: hidden layers of 4ngf, 2ngf and ngf channels)", allowed=count(1, 1024)
    )
    ndf: int = option(64, "discriminator width (conv models: ndf, 2ndf and 4ndf channels)", allowed=count(1, 1024))
    seed: int = option(0, "seeds MindSpore, numpy and the dataset shuffle", allowed=SEED)
    save_every: int = option(
        1, "epochs between checkpoints; the last epoch is always saved", resumable=True, allowed=count(1, 100_000)
    )
    keep_last: int = option(
        3,
        "keep only the newest K checkpoints, each of G, D and both optimizers (a default "
        "run's take fc 32 MB, dcgan 45 MB, cgan 59 MB each); checkpoints/best is always kept (0 = keep all)",
        resumable=True,
        allowed=count(0, 100_000),
    )
    output_dir: str = option("result", "runs are written to OUTPUT_DIR/RUN_NAME")
    run_name: str = option("", "the run's folder name (default: MODEL-YYYYmmdd-HHMMSS)")
    device_target: str = option("CPU", "where to train", DEVICES, resumable=True)
    mode: str = option(
        "graph", "graph: the step compiled with ms.jit; pynative: eager, for debugging", MODES, resumable=True
    )
    conv_impl: str = option(
        "auto",
        "convolutions: gemm = ms_gan's CPU kernels (compiled on first use with g++), "
        "native = MindSpore's; auto = gemm on CPU when they build, else native",
        CONV_IMPLS,
        resumable=True,
    )
    precision: str = option(
        "fp32",
        "the CPU kernels' matrix products: fp32; bf16 = bfloat16 operands, float32 sums (weights, optimizer, "
        "statistics, losses and checkpoints stay float32), for CPUs with AMX or AVX512_BF16; auto = bf16 where "
        "the CPU has them, else fp32",
        PRECISIONS,
        resumable=True,
    )
    num_workers: int = option(min(2, cores()), "dataset worker threads", resumable=True, allowed=count(1, cores))
    distribute: bool = option(
        False,
        "data-parallel training over the workers msrun starts: msrun --worker_num=N "
        "--local_worker_num=N scripts/train.py --distribute ...",
        resumable=True,
    )
    amp_level: str = option(
        "O0",
        "mixed precision on GPU/Ascend (O1: listed ops, O2: all but BatchNorm, O3: all "
        "float16) with dynamic loss scaling; on CPU a notice, and float32",
        AMP_LEVELS,
        resumable=True,
    )
    classes: list = option([], "digits to train on, e.g. 8 or 3,5,8 (default: all ten)")
    eval_every: int = option(
        0,
        "evaluate sample quality every K epochs (FD, IS, precision, recall, coverage) and "
        "keep checkpoints/best by FD (0 = never)",
        resumable=True,
        allowed=count(0, 100_000),
    )
    eval_samples: int = option(10000, "samples per evaluation", resumable=True, allowed=count(100, HUGE))
    classifier: str = option(
        "",
        "evaluation classifier for the metrics (default: the dataset's shipped one in "
        "ms_gan/assets; scripts/train_classifier.py makes another)",
        resumable=True,
    )
    num_grid: int = option(
        64,
        "images in the per-epoch 8-column sample grid (cgan: always 10x10, rows 0-9)",
        flag=False,
        allowed=count(1, 1024),
    )
    loss: str = option("bce", "the GAN loss", registry.losses, group=STABILISERS)
    gp_weight: float = option(
        10.0, "wgan-gp: weight (lambda) of the gradient penalty", group=STABILISERS, allowed=Range(float, 0.0, 1e6)
    )
    n_critic: int = option(1, "D updates per G update (wgan-gp: try 5)", group=STABILISERS, allowed=count(1, 100))
    label_smoothing: float = option(
        1.0,
        "D's target for real images, e.g. 0.9 = one-sided label smoothing (losses with targets: bce, lsgan; 1 = off)",
        group=STABILISERS,
        allowed=share(low_open=True),
    )
    fake_label: float = option(
        0.0,
        "D's target for generated images, e.g. 0.1 with --label_smoothing 0.9 = "
        "two-sided label smoothing (bce and lsgan; 0 = off)",
        group=STABILISERS,
        allowed=share(high_open=True),
    )
    minibatch_disc: bool = option(
        False,
        "minibatch discrimination in D (conv models): D also sees how alike the "
        "images of a batch are, so a G that draws one image for all noise is caught",
        group=STABILISERS,
    )
    ema_decay: float = option(
        None,
        "decay of an exponential moving average of G, which grids, evaluation and "
        "infer.py then use, e.g. 0.999, reached after a warm-up of min(d, (1+n)/(10+n)) over "
        "the first n updates; 0 = off (default: 0.999 for dcgan and cgan, off for the fc models)",
        group=STABILISERS,
        allowed=Range(float, 0.0, 1.0, high_open=True, none=True),
    )
    spectral_norm: bool = option(
        False, "spectral normalisation on every D layer (replaces D's BatchNorm)", group=STABILISERS
    )
    clip_grad_norm: float = option(
        0.0,
        "clip each net's gradients to this global L2 norm (0 = off)",
        group=STABILISERS,
        allowed=Range(float, 0.0, 1e6),
    )
    top_k: float = option(
        1.0,
        "top-k training: G learns only from the share of each batch's fakes that D scores "
        "most real, going linearly from all of them at the first step to this share at the last "
        "(e.g. 0.5; 1 = off)",
        group=STABILISERS,
        allowed=share(low_open=True),
    )
    stop_on_failure: bool = option(
        False,
        "stop the run (its checkpoints kept) when the diagnosis after an epoch "
        "finds a convergence failure, or with --eval_every a mode collapse; without it, "
        "such an epoch prints a warning and training goes on",
        resumable=True,
    )

    @property
    def conditional(self) -> bool:
        return registry.model(self.model).conditional

    @property
    def labelled(self) -> bool:
        """Whether the conditional model's labels are the dataset's classes (digits), not --clusters."""
        return self.conditional and not self.clusters

    @property
    def digit_classes(self) -> int:
        """How many of the dataset's classes the samples should cover: --classes, else all of them."""
        return len(self.classes) or DATASET_CLASSES

    @property
    def mixed_precision(self) -> bool:
        """Whether --amp_level takes effect: float16 is for accelerators (on CPU it is slower, not faster)."""
        return self.amp_level != "O0" and self.device_target != "CPU"

    @property
    def classifier_path(self) -> str:
        return self.classifier or default_classifier(self.dataset)

    @property
    def d_norm(self) -> str:
        """What follows D's hidden convs: per-sample LayerNorm under a gradient penalty (it needs each sample's
        own gradient), nothing under spectral normalisation, DCGAN's BatchNorm otherwise."""
        if registry.loss(self.loss).gradient_penalty:
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

    def top_k_shares(self, total_steps: int) -> np.ndarray:
        """float32 [G updates]: the share of each batch's fakes G learns from at each of its updates (--top_k)."""
        updates = max(1, total_steps // self.n_critic)
        return (1.0 - (1.0 - self.top_k) * np.arange(updates) / max(1, updates - 1)).astype(np.float32)

    def validate(self) -> "TrainConfig":
        """Check every setting and how they combine; raises UserError naming the flag. Changes nothing."""
        for f in dataclasses.fields(self):
            _checked(f, getattr(self, f.name))
        model, loss = registry.model(self.model), registry.loss(self.loss)
        bad = [c for c in self.classes if not (isinstance(c, int) and 0 <= c < DATASET_CLASSES)]
        if bad or len(set(self.classes)) != len(self.classes):
            raise UserError(f"--classes takes distinct digits 0-{DATASET_CLASSES - 1}, got {self.classes}")
        if self.clusters:
            if not model.conditional:
                conditional = ", ".join(name for name, m in registry.models().items() if m.conditional)
                raise UserError(
                    f"--clusters trains a conditional model's networks on clusters; use --model {conditional}, "
                    f"not {self.model}"
                )
            if self.classes:
                raise UserError("--clusters learns without labels; --classes picks digits by their labels")
            if not 2 <= self.clusters <= 255:
                raise UserError(f"--clusters must be between 2 and 255 (0 = off), got {self.clusters}")
        if not 0 <= self.fake_label < self.label_smoothing:
            raise UserError(
                f"--fake_label is D's target for generated images, in [0, --label_smoothing), got {self.fake_label}"
            )
        for name, off in (("label_smoothing", 1.0), ("fake_label", 0.0)):
            if getattr(self, name) != off and not loss.targets:
                with_targets = " or ".join(name for name, spec in registry.losses().items() if spec.targets)
                raise UserError(f"--{name} works with --loss {with_targets}; {self.loss} has no targets to smooth")
        if self.minibatch_disc and not model.convolutional:
            raise UserError(f"--minibatch_disc compares conv features; {self.model} has none")
        if self.minibatch_disc and loss.gradient_penalty:
            raise UserError(
                f"--minibatch_disc compares the images of a batch; {self.loss}'s penalty needs each image's "
                "gradient on its own"
            )
        return self

    def settled(self) -> "TrainConfig":
        """A validated copy with every setting left to the model (None) given its value, and each number as its
        field's type: what a run trains with and config.json holds."""
        self.validate()
        model = registry.model(self.model)
        values = {f.name: _checked(f, getattr(self, f.name)) for f in dataclasses.fields(self)}
        if values["lr"] is None:
            values["lr"] = model.lr
        if values["lr_d"] is None:  # as G's (0), or the model's multiple of it
            values["lr_d"] = model.lr_d_factor * values["lr"] if model.lr_d_factor != 1.0 else 0.0
        if values["ema_decay"] is None:
            values["ema_decay"] = model.ema_decay
        if self.clusters:
            values["num_classes"] = self.clusters
        return TrainConfig(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FIELD_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list}


def _checked(f: dataclasses.Field, value):
    """VALUE of field F as its type, within its Range; a UserError names the field as its flag."""
    allowed, name, choices = f.metadata.get("allowed"), "--" + f.name, choices_of(f)
    if choices and value not in choices:
        raise UserError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
    if allowed is not None:
        return allowed.check(name, value)
    kind = f.type if isinstance(f.type, type) else FIELD_TYPES[f.type]
    numbers = kind is not list or (
        isinstance(value, list) and all(type(v) in (int, float) and np.isfinite(v) for v in value)
    )
    if not isinstance(value, kind) or not numbers:
        raise UserError(f"{name} takes {'a list of numbers' if kind is list else 'a ' + kind.__name__}, got {value!r}")
    return value


def choices_of(f: dataclasses.Field) -> tuple:
    """The names field F may take (empty: any)."""
    choices = f.metadata.get("choices") or ()
    return tuple(choices()) if callable(choices) else tuple(choices)


def described_choices(f: dataclasses.Field) -> str:
    """ "name: help; ..." for a field whose choices are declarations (registry.models, registry.losses), else ""."""
    choices = f.metadata.get("choices")
    return "; ".join(f"{name}: {spec.help}" for name, spec in choices().items()) if callable(choices) else ""


def default_classifier(dataset: str) -> str:
    """The evaluation classifier ms_gan ships for DATASET (ms_gan/assets)."""
    return os.path.join(ASSETS, f"{dataset}_classifier.ckpt")


@dataclass
class RunRecord:
    """What a run found out when it started, kept beside its settings in config.json (none of it is a flag)."""

    data_fingerprint: str = ""  # image counts and checksums of the data's splits: a resume or evaluation on
    # another --data_dir must match it
    cluster_shares: list = field(default_factory=list)  # --clusters: each cluster's share of the training images
    cured_from: str = ""  # train.py --cure: the run this one cures, its verdict and the cure's flags

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


RECORD_KEYS = {f.name for f in dataclasses.fields(RunRecord)}


def save_config(config: TrainConfig, path: str, record: RunRecord = None) -> None:
    """Write config.json atomically (a reader never sees half a file): CONFIG's settings and RECORD."""
    write_json(path, {**config.to_dict(), **(record or RunRecord()).to_dict()})


def load_record(path: str) -> RunRecord:
    """The RunRecord in a run's config.json (load_config has checked the file)."""
    raw = _read_json(path)
    return RunRecord(**{k: v for k, v in raw.items() if k in RECORD_KEYS})


def _read_json(path: str) -> dict:
    if not os.path.isfile(path):
        raise UserError(f"no config.json at {path}: is this a run directory written by scripts/train.py?")
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise UserError(
            f"{path} is empty, truncated or not JSON ({one_line(e, 80)}); train.py writes it whole, so it "
            "was damaged or hand-edited"
        ) from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} does not hold a JSON object")
    return raw


def load_config(path: str) -> TrainConfig:
    """Read a run's settings from its config.json; unknown keys (from newer versions) are an error, missing ones
    take defaults."""
    raw = _read_json(path)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known - RECORD_KEYS)
    if unknown:
        raise UserError(f"{path} has keys this version does not know: {', '.join(unknown)}")
    settings = {k: v for k, v in raw.items() if k in known}
    if isinstance(settings.get("num_workers"), int) and settings["num_workers"] > cores():
        settings["num_workers"] = cores()  # how this machine reads the data, not a property of the run
    try:
        return TrainConfig(**settings).settled()
    except UserError as e:
        raise UserError(f"{path}: {str(e).replace('--', '', 1)}") from None
