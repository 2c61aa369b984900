"""Fully connected GANs for 28x28 digits: the MindSpore GAN tutorial's pair, and its improved generator."""

from mindspore import nn, ops

from ms_gan.models.layers import dense, is_per_sample
from ms_gan.registry import register_model

IMAGE_PIXELS = 28 * 28


class FCGenerator(nn.Cell):
    """z [N, latent] -> image [N, 1, 28, 28] in [-1, 1]: 100->128->256->512->1024->784, BatchNorm + ReLU."""

    def __init__(self, latent_dim: int = 100):
        super().__init__()
        stack = [nn.Dense(latent_dim, 128), nn.ReLU()]
        for width_in, width_out in ((128, 256), (256, 512), (512, 1024)):
            stack += [nn.Dense(width_in, width_out), nn.BatchNorm1d(width_out), nn.ReLU()]
        stack += [nn.Dense(1024, IMAGE_PIXELS), nn.Tanh()]
        self.model = nn.SequentialCell(stack)

    def construct(self, z, labels=None):  # labels: ignored, kept for the shared G(z, labels) signature
        # [N, latent] -> [N, 784] -> [N, 1, 28, 28]
        return ops.reshape(self.model(z), (-1, 1, 28, 28))


class FCImprovedGenerator(nn.Cell):
    """The tutorial's improved MLP generator: the same widths, LayerNorm + LeakyReLU(0.2) in place of
    BatchNorm + ReLU. LayerNorm normalises each sample on its own, so a sample does not depend on its
    batch-mates and training and inference behave alike; LeakyReLU keeps a gradient for negative inputs."""

    def __init__(self, latent_dim: int = 100):
        super().__init__()
        stack = [nn.Dense(latent_dim, 128), nn.LeakyReLU(0.2)]
        for width_in, width_out in ((128, 256), (256, 512), (512, 1024)):
            stack += [nn.Dense(width_in, width_out), nn.LayerNorm((width_out,)), nn.LeakyReLU(0.2)]
        stack += [nn.Dense(1024, IMAGE_PIXELS), nn.Tanh()]
        self.model = nn.SequentialCell(stack)

    def construct(self, z, labels=None):
        # [N, latent] -> [N, 784] -> [N, 1, 28, 28]
        return ops.reshape(self.model(z), (-1, 1, 28, 28))


class FCDiscriminator(nn.Cell):
    """image [N, 1, 28, 28] -> real/fake logit [N]: 784->512->256->1 with LeakyReLU(0.2).
    SPECTRAL puts spectral normalisation on every layer. PER_SAMPLE: see layers.is_per_sample."""

    def __init__(self, spectral: bool = False):
        super().__init__()
        self.per_sample = is_per_sample("none", spectral, minibatch=False)
        self.model = nn.SequentialCell(
            dense(IMAGE_PIXELS, 512, spectral),
            nn.LeakyReLU(0.2),
            dense(512, 256, spectral),
            nn.LeakyReLU(0.2),
            dense(256, 1, spectral),  # a logit: the tutorial's Sigmoid lives inside the BCE-with-logits loss
        )

    def construct(self, images, labels=None):
        # [N, 1, 28, 28] -> [N, 784] -> [N]
        return self.model(ops.reshape(images, (-1, IMAGE_PIXELS))).squeeze(-1)


register_model(
    "fc",
    help="the tutorial's fully connected GAN",
    generator=lambda config: FCGenerator(config.latent_dim),
    discriminator=lambda config: FCDiscriminator(config.spectral_norm),
)
register_model(
    "fc_improved",
    help="fc with the tutorial's LayerNorm + LeakyReLU generator",
    generator=lambda config: FCImprovedGenerator(config.latent_dim),
    discriminator=lambda config: FCDiscriminator(config.spectral_norm),
)
