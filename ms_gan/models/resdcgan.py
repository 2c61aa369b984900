"""A DCGAN with residual blocks in its generator: the example of docs/models.md's "add a model"."""

from mindspore import nn, ops
from mindspore.common.initializer import Normal

from ms_gan.models.dcgan import dcgan_discriminator
from ms_gan.models.layers import batch_norm, conv, conv_t
from ms_gan.registry import register_model


class ResidualBlock(nn.Cell):
    """x + conv(relu(bn(conv(relu(bn(x)))))), 3x3 convs that keep the channels and the size."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.SequentialCell(
            batch_norm(channels),
            nn.ReLU(),
            conv(channels, channels, 3, 1, 1),
            batch_norm(channels),
            nn.ReLU(),
            conv(channels, channels, 3, 1, 1),
        )

    def construct(self, x):
        return x + self.body(x)


class ResDCGANGenerator(nn.Cell):
    """z [N, latent] -> image [N, 1, 28, 28]: the DCGAN generator with a residual block at 7x7 and at 14x14."""

    def __init__(self, latent_dim: int = 100, ngf: int = 64):
        super().__init__()
        self.ngf = ngf
        self.project = nn.Dense(latent_dim, ngf * 4 * 7 * 7, weight_init=Normal(0.02), has_bias=False)
        self.model = nn.SequentialCell(
            ResidualBlock(ngf * 4),  # [N, 4ngf, 7, 7]
            batch_norm(ngf * 4),
            nn.ReLU(),
            conv_t(ngf * 4, ngf * 2, 4, 2, 1),  # -> [N, 2ngf, 14, 14]
            ResidualBlock(ngf * 2),
            batch_norm(ngf * 2),
            nn.ReLU(),
            conv_t(ngf * 2, ngf, 4, 2, 1),  # -> [N, ngf, 28, 28]
            batch_norm(ngf),
            nn.ReLU(),
            conv(ngf, 1, 3, 1, 1),  # -> [N, 1, 28, 28]
            nn.Tanh(),
        )

    def construct(self, z, labels=None):
        return self.model(ops.reshape(self.project(z), (-1, self.ngf * 4, 7, 7)))


register_model(
    "resdcgan",
    help="dcgan with residual blocks in G (the add-a-model example)",
    generator=lambda config: ResDCGANGenerator(config.latent_dim, config.ngf),
    discriminator=dcgan_discriminator,  # the DCGAN's own
    convolutional=True,
    ema_decay=0.999,
)
