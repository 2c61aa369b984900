"""The networks: each model file in this folder declares its pair with registry.register_model (every module here is
imported, so a new model is one new file); build_generator and build_discriminator make a config's pair, with ms_gan's
CPU kernels swapped in where they run (kernels.accelerate) and parameter names that never collide."""

import dataclasses
import importlib
import os
import pkgutil
import tempfile

import mindspore as ms

from ms_gan import registry
from ms_gan.checkpoint import discriminator_path, load_into
from ms_gan.kernels import accelerate, resolve, resolve_precision

for _module in pkgutil.iter_modules(__path__):  # each model file registers its models when imported
    importlib.import_module(f"{__name__}.{_module.name}")

G_PREFIX, D_PREFIX = "generator", "discriminator"


def conv_implementation(config) -> str:
    """'gemm' (ms_gan's CPU kernels) or 'native' (MindSpore's layers) for CONFIG's networks (kernels.resolve)."""
    twice = registry.loss(config.loss).gradient_penalty
    return resolve(config.conv_impl, config.device_target, config.mode, twice_differentiated=twice)


def build_generator(config):
    return _built(registry.model(config.model).generator(config), config, G_PREFIX)


def build_discriminator(config):
    return _built(registry.model(config.model).discriminator(config), config, D_PREFIX)


def precision(config) -> str:
    """'bf16' or 'fp32': what CONFIG's --precision comes to here (kernels.resolve_precision)."""
    if config.precision == "fp32":
        return "fp32"  # without building the kernels to find out whether they run
    return resolve_precision(config.precision, config.device_target, conv_implementation(config))


def _built(net, config, prefix: str):
    if conv_implementation(config) == "gemm":
        net = accelerate(net, precision(config))
    for param in net.get_parameters():  # prepended, not rebuilt from the cells' paths, which accelerate changes
        param.name = f"{prefix}.{param.name}"
    return net


def for_drawing(config):
    """CONFIG as a trained net is drawn from: a bf16-trained run draws with bfloat16 products where this CPU has
    them and in float32 where not (its checkpoint is the same float32 file either way)."""
    return dataclasses.replace(config, precision="auto") if config.precision == "bf16" else config


def load_generator(config, ckpt_path: str):
    """CONFIG's generator with the weights at CKPT_PATH (from resolve_generator); the context must be set up."""

    net_g = build_generator(for_drawing(config))
    load_into(net_g, ckpt_path, what=f"{config.model} generator (latent_dim {config.latent_dim})")
    return net_g


def load_discriminator(config, generator_path: str):
    """CONFIG's discriminator from the checkpoint folder GENERATOR_PATH is in; the context must be set up."""
    net_d = build_discriminator(for_drawing(config))
    load_into(net_d, discriminator_path(generator_path), what=f"{config.model} discriminator")
    return net_d


def to_mixed_precision(net, amp_level: str):
    """MindSpore's auto_mixed_precision, keeping our parameter names: at O1 it rewrites the network and
    renames its parameters (dropping the generator./discriminator. prefixes that keep G and D apart). The
    rewrite also saves the new network's source (which GRAPH mode parses) to ./rewritten_network; it is
    done from a temporary folder so the user's working directory stays clean."""

    names = {id(p): p.name for p in net.get_parameters()}
    here = os.getcwd()
    os.chdir(tempfile.mkdtemp(prefix="ms_gan-amp-"))
    try:
        net = ms.amp.auto_mixed_precision(net, amp_level)
    finally:
        os.chdir(here)
    for param in net.get_parameters():
        param.name = names.get(id(param), param.name)
    return net
