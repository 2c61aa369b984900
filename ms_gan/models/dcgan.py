"""The DCGAN tutorial's convolutional pair, sized for 28x28 digits (7 -> 14 -> 28)."""

from mindspore import nn, ops
from mindspore.common.initializer import Normal

from ms_gan.models.layers import MinibatchHead, batch_norm, conv, conv_t, d_norm, is_per_sample
from ms_gan.registry import register_model


class DCGANGenerator(nn.Cell):
    """z [N, latent] -> image [N, 1, 28, 28]: transposed convs with BatchNorm + ReLU, Tanh out.

    Two stride-2 transposed convs take 7x7 to 28x28, as in the tutorial; a 3x3 conv at full resolution
    then draws the image from ngf channels, where the tutorial's last transposed conv draws it straight
    from 2ngf channels at 14x14. That extra layer is what makes strokes smooth and closed early (its A/B is in the
    git history of this file)."""

    def __init__(self, latent_dim: int = 100, ngf: int = 64):
        super().__init__()
        self.ngf = ngf
        # [N, latent] -> [N, 4ngf * 7 * 7]. The tutorial's first layer is a 7x7 transposed conv on a
        # 1x1 input, which is exactly this linear map; as a Dense it runs much faster on CPU.
        self.project = nn.Dense(latent_dim, ngf * 4 * 7 * 7, weight_init=Normal(0.02), has_bias=False)
        self.model = nn.SequentialCell(
            batch_norm(ngf * 4),
            nn.ReLU(),
            conv_t(ngf * 4, ngf * 2, 4, 2, 1),  # [N, 4ngf, 7, 7] -> [N, 2ngf, 14, 14]
            batch_norm(ngf * 2),
            nn.ReLU(),
            conv_t(ngf * 2, ngf, 4, 2, 1),  # -> [N, ngf, 28, 28]
            batch_norm(ngf),
            nn.ReLU(),
            conv(ngf, 1, 3, 1, 1),  # -> [N, 1, 28, 28]
            nn.Tanh(),
        )

    def construct(self, z, labels=None):  # labels: ignored, kept for the shared G(z, labels) signature
        # [N, 4ngf * 49] -> [N, 4ngf, 7, 7]
        return self.model(ops.reshape(self.project(z), (-1, self.ngf * 4, 7, 7)))


def discriminator_features(in_channels: int, ndf: int, norm: str, spectral: bool):
    """The conv discriminators' stack (DCGANDiscriminator's, and the cgan's on image + label plane):
    [N, IN_CHANNELS, 28, 28] -> [N, 4ndf, 4, 4], strided convs with LeakyReLU(0.2), NORM after the hidden ones."""
    return nn.SequentialCell(
        conv(in_channels, ndf, 4, 2, 1, spectral),  # [N, C, 28, 28] -> [N, ndf, 14, 14]; no norm here, as in DCGAN
        nn.LeakyReLU(0.2),
        conv(ndf, ndf * 2, 4, 2, 1, spectral),  # -> [N, 2ndf, 7, 7]
        d_norm(norm, ndf * 2, 7),
        nn.LeakyReLU(0.2),
        conv(ndf * 2, ndf * 4, 3, 2, 1, spectral),  # -> [N, 4ndf, 4, 4]
        d_norm(norm, ndf * 4, 4),
        nn.LeakyReLU(0.2),
    )


class DCGANDiscriminator(nn.Cell):
    """image [N, C, 28, 28] -> real/fake logit [N]: strided convs with LeakyReLU(0.2).
    NORM (layers.D_NORMS) follows the hidden convs after the first; SPECTRAL puts spectral normalisation
    on every conv; MINIBATCH adds minibatch discrimination on the last features (layers.MinibatchHead).
    PER_SAMPLE: see layers.is_per_sample."""

    def __init__(
        self, ndf: int = 64, in_channels: int = 1, norm: str = "batch", spectral: bool = False, minibatch: bool = False
    ):
        super().__init__()
        self.ndf = ndf
        self.per_sample = is_per_sample(norm, spectral, minibatch)
        self.features = discriminator_features(in_channels, ndf, norm, spectral)
        self.head = conv(ndf * 4, 1, 4, 1, 0, spectral)  # [N, 4ndf, 4, 4] -> [N, 1, 1, 1]
        self.minibatch = MinibatchHead(ndf * 4 * 4 * 4, spectral) if minibatch else None

    def construct(self, images, labels=None):
        features = self.features(images)
        logits = ops.reshape(self.head(features), (-1,))
        if self.minibatch is not None:
            logits = logits + self.minibatch(features)
        return logits


def dcgan_discriminator(config) -> DCGANDiscriminator:
    """CONFIG's DCGAN discriminator: its width, the norm its loss allows, and the stabilisers asked for."""
    return DCGANDiscriminator(
        config.ndf, norm=config.d_norm, spectral=config.spectral_norm, minibatch=config.minibatch_disc
    )


register_model(
    "dcgan",
    help="the DCGAN tutorial's conv GAN",
    generator=lambda config: DCGANGenerator(config.latent_dim, config.ngf),
    discriminator=dcgan_discriminator,
    convolutional=True,
    # short runs train cleaner strokes at 1e-3 with G averaged (the measurements are in git history)
    lr=1e-3,
    ema_decay=0.999,
)
