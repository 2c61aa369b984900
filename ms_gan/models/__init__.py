"""The networks, built by name from a TrainConfig, with parameter names that never collide."""

import os
import tempfile

import mindspore as ms

from ms_gan.kernels import resolve
from ms_gan.models.cgan import CGANDiscriminator, CGANGenerator
from ms_gan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ms_gan.models.fc import FCDiscriminator, FCGenerator, FCImprovedGenerator
from ms_gan.models.layers import Layers

G_PREFIX, D_PREFIX = "generator", "discriminator"


def conv_implementation(config) -> str:
    """The convolutions CONFIG's networks use: 'gemm' (ms_gan's CPU kernels) or 'native' (kernels.resolve)."""
    return resolve(config.conv_impl, config.device_target, config.mode, twice_differentiated=config.loss == "wgan-gp")


def build_generator(config):
    return _named(_generator(config, Layers(conv_implementation(config))), G_PREFIX)


def build_discriminator(config):
    return _named(_discriminator(config, Layers(conv_implementation(config))), D_PREFIX)


def _named(net, prefix: str):
    net.update_parameters_name(prefix + ".")
    return net


def _generator(config, layers):
    if config.model == "fc":
        return FCGenerator(config.latent_dim, layers=layers)
    elif config.model == "fc_improved":
        return FCImprovedGenerator(config.latent_dim, layers=layers)
    elif config.model == "dcgan":
        return DCGANGenerator(config.latent_dim, config.ngf, layers=layers)
    else:
        return CGANGenerator(config.latent_dim, config.ngf, config.num_classes, layers=layers)


def _discriminator(config, layers):
    if config.model in ("fc", "fc_improved"):
        return FCDiscriminator(config.spectral_norm, layers=layers)
    elif config.model == "dcgan":
        return DCGANDiscriminator(
            config.ndf,
            norm=config.d_norm,
            spectral=config.spectral_norm,
            minibatch=config.minibatch_disc,
            layers=layers,
        )
    else:
        return CGANDiscriminator(
            config.ndf,
            config.num_classes,
            norm=config.d_norm,
            spectral=config.spectral_norm,
            minibatch=config.minibatch_disc,
            layers=layers,
        )


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
