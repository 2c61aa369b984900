"""The MindSpore GAN tutorial's fully connected generator and discriminator for 28x28 digits."""

from mindspore import nn, ops

IMAGE_PIXELS = 28 * 28


class FCGenerator(nn.Cell):
    """z [N, latent] -> image [N, 1, 28, 28] in [-1, 1]: 100->128->256->512->1024->784, BatchNorm + ReLU."""

    def __init__(self, latent_dim: int = 100):
        super().__init__()
        layers = [nn.Dense(latent_dim, 128), nn.ReLU()]
        for width_in, width_out in ((128, 256), (256, 512), (512, 1024)):
            layers += [nn.Dense(width_in, width_out), nn.BatchNorm1d(width_out), nn.ReLU()]
        layers += [nn.Dense(1024, IMAGE_PIXELS), nn.Tanh()]
        self.model = nn.SequentialCell(layers)

    def construct(self, z, labels=None):  # labels: ignored, kept for the shared G(z, labels) signature
        # [N, latent] -> [N, 784] -> [N, 1, 28, 28]
        return ops.reshape(self.model(z), (-1, 1, 28, 28))


class FCDiscriminator(nn.Cell):
    """image [N, 1, 28, 28] -> real/fake logit [N]: 784->512->256->1 with LeakyReLU(0.2)."""

    def __init__(self):
        super().__init__()
        self.model = nn.SequentialCell(
            nn.Dense(IMAGE_PIXELS, 512), nn.LeakyReLU(0.2),
            nn.Dense(512, 256), nn.LeakyReLU(0.2),
            nn.Dense(256, 1),  # a logit: the tutorial's Sigmoid lives inside the BCE-with-logits loss
        )

    def construct(self, images, labels=None):
        # [N, 1, 28, 28] -> [N, 784] -> [N]
        return self.model(ops.reshape(images, (-1, IMAGE_PIXELS))).squeeze(-1)
