"""Which models and losses exist and what each can do, declared once, next to each: a model file ends with
register_model(...), losses.py registers each loss with register_loss(...). Everything else (the flags and their
checks, the builders, the step, diagnosis, the curves) reads these declarations and never compares names.

This module imports nothing heavy: the declarations are loaded (importing ms_gan.models and ms_gan.losses, and with
them MindSpore) the first time a model or loss is looked up. A model of your own registers when its module is
imported, e.g. before ms_gan.train(model="mine").
"""

import importlib
from dataclasses import dataclass, field
from typing import Callable

from ms_gan.errors import UserError

BUILT_IN = ("ms_gan.models", "ms_gan.losses")  # the modules whose import registers ms_gan's own


@dataclass(frozen=True)
class Model:
    """A registered pair of networks. GENERATOR(config) and DISCRIMINATOR(config) build them (plain MindSpore
    cells; G(z [N, latent], labels [N]) -> images [N, 1, 28, 28] in [-1, 1], D(images, labels) -> logits [N])."""

    name: str
    help: str  # one line for --help
    generator: Callable
    discriminator: Callable
    conditional: bool = False  # G draws the label it is given, D judges image and label together
    convolutional: bool = False  # D ends in conv features, which minibatch discrimination can compare
    lr: float = 2e-4  # default Adam learning rate of G (and of D, times lr_d_factor)
    lr_d_factor: float = 1.0  # D's default rate as a multiple of G's (two time-scale updates)
    ema_decay: float = 0.0  # default --ema_decay: an averaged G draws cleaner digits from short conv runs


@dataclass(frozen=True)
class Loss:
    """A registered GAN loss on D's logits. D_LOSS(real_logits, fake_logits, real_target, fake_target) -> (on real,
    on fake); G_LOSS(fake_logits); THRESHOLD(real_logits, fake_logits): the logit D's accuracy is read against."""

    name: str
    help: str
    d_loss: Callable
    g_loss: Callable
    threshold: Callable
    curve_label: str  # the y axis of the loss curves
    targets: bool = False  # D regresses to targets, which --label_smoothing and --fake_label move
    gradient_penalty: bool = False  # WGAN-GP: D is differentiated twice, per sample (LayerNorm, no minibatch terms)
    # (diagnosis stats) -> the evidence line when the losses alone show D has won, else ""; None: a critic, for which
    # separating reals from fakes is expected and D winning is not checked
    d_won: Callable = field(default=None)


_MODELS: dict = {}
_LOSSES: dict = {}


def register_model(name: str, **declared) -> Model:
    """Declare a model (see Model for what to declare); returns the declaration."""
    model = Model(name=name, **declared)
    _MODELS[name] = model
    return model


def register_loss(name: str, **declared) -> Loss:
    """Declare a loss (see Loss for what to declare); returns the declaration."""
    loss = Loss(name=name, **declared)
    _LOSSES[name] = loss
    return loss


def _load() -> None:
    for module in BUILT_IN:
        importlib.import_module(module)


def models() -> dict:
    """{name: Model} of every registered model, ms_gan's own first."""
    _load()
    return dict(_MODELS)


def losses() -> dict:
    """{name: Loss} of every registered loss."""
    _load()
    return dict(_LOSSES)


def model(name: str) -> Model:
    found = models().get(name)
    if found is None:
        raise UserError(f"unknown --model {name!r}; choose one of {', '.join(_MODELS)}")
    return found


def loss(name: str) -> Loss:
    found = losses().get(name)
    if found is None:
        raise UserError(f"unknown --loss {name!r}; choose one of {', '.join(_LOSSES)}")
    return found
