"""The DCGAN tutorial's convolutional pair, sized for 28x28 digits (7 -> 14 -> 28)."""

from mindspore import nn, ops
from mindspore.common.initializer import Normal

from ms_gan.models.layers import batch_norm, conv, conv_t, d_norm, leaky_relu


class DCGANGenerator(nn.Cell):
    """z [N, latent] -> image [N, 1, 28, 28]: transposed convs with BatchNorm + ReLU, Tanh out."""

    def __init__(self, latent_dim: int = 100, ngf: int = 64, in_extra: int = 0):
        super().__init__()
        self.ngf = ngf
        # [N, latent] -> [N, 4ngf * 7 * 7]. The tutorial's first layer is a 7x7 transposed conv on a
        # 1x1 input, which is exactly this linear map; as a Dense it runs ~5x faster on CPU.
        self.project = nn.Dense(latent_dim + in_extra, ngf * 4 * 7 * 7, weight_init=Normal(0.02), has_bias=False)
        self.model = nn.SequentialCell(
            batch_norm(ngf * 4), nn.ReLU(),
            # [N, 4ngf, 7, 7] -> [N, 2ngf, 14, 14]
            conv_t(ngf * 4, ngf * 2, 4, 2, 1), batch_norm(ngf * 2), nn.ReLU(),
            # [N, 2ngf, 14, 14] -> [N, 1, 28, 28]
            conv_t(ngf * 2, 1, 4, 2, 1), nn.Tanh(),
        )

    def construct(self, z, labels=None):  # labels: ignored, kept for the shared G(z, labels) signature
        # [N, 4ngf * 49] -> [N, 4ngf, 7, 7]
        return self.model(ops.reshape(self.project(z), (-1, self.ngf * 4, 7, 7)))


class DCGANDiscriminator(nn.Cell):
    """image [N, C, 28, 28] -> real/fake logit [N]: strided convs with LeakyReLU(0.2).
    NORM (layers.D_NORMS) follows the second conv; SPECTRAL puts spectral normalisation on every conv."""

    def __init__(self, ndf: int = 64, in_channels: int = 1, norm: str = "batch", spectral: bool = False):
        super().__init__()
        self.model = nn.SequentialCell(
            # [N, C, 28, 28] -> [N, ndf, 14, 14]; no normalisation on the input layer, as in DCGAN
            conv(in_channels, ndf, 4, 2, 1, spectral), leaky_relu(0.2),
            # [N, ndf, 14, 14] -> [N, 2ndf, 7, 7]
            conv(ndf, ndf * 2, 4, 2, 1, spectral), d_norm(norm, ndf * 2, 7), leaky_relu(0.2),
            # [N, 2ndf, 7, 7] -> [N, 1, 1, 1]
            conv(ndf * 2, 1, 7, 1, 0, spectral),
        )

    def construct(self, images, labels=None):
        return ops.reshape(self.model(images), (-1,))
