"""Conditional DCGAN: the digit label joins z and sets BatchNorm's scale and shift in G; in D it is an input
channel and a projection."""

from mindspore import nn, ops
from mindspore.common.initializer import Normal

from ms_gan.models.dcgan import discriminator_features
from ms_gan.models.layers import NATIVE, MinibatchHead, is_per_sample


class CGANGenerator(nn.Cell):
    """(z [N, latent], labels [N] int32) -> image [N, 1, 28, 28] of that digit.

    The DCGAN generator's layers with the label fed twice: embedded and joined to z before the first layer,
    and as conditional BatchNorm (de Vries et al., 2017; the generator of Miyato & Koyama's projection
    cGAN) after every layer, where each digit has its own BatchNorm scale and shift. With the label at the
    input alone, ~2% of the samples of 950 steps read as another digit (5s and 7s the worst, ~5%)."""

    def __init__(self, latent_dim: int = 100, ngf: int = 64, num_classes: int = 10, embed_dim: int = 50, layers=NATIVE):
        super().__init__()
        self.ngf = ngf
        # unit-scale init: the label must be as loud as z from the first step, or G learns to ignore it
        self.embed = nn.Embedding(num_classes, embed_dim, embedding_table=Normal(1.0))
        # [N, latent + embed] -> [N, 4ngf * 7 * 7], as DCGANGenerator.project
        self.project = nn.Dense(latent_dim + embed_dim, ngf * 4 * 7 * 7, weight_init=Normal(0.02), has_bias=False)
        # each norm hands its conv the layout the conv multiplies in (Layers.conv_t: channel_major)
        self.norm1 = ConditionalBatchNormReLU(ngf * 4, num_classes, layers, channel_major=True)
        self.up1 = layers.conv_t(ngf * 4, ngf * 2, 4, 2, 1, channel_major=True)  # [N, 4ngf, 7, 7] -> [N, 2ngf, 14, 14]
        self.norm2 = ConditionalBatchNormReLU(ngf * 2, num_classes, layers, channel_major=True)
        self.up2 = layers.conv_t(ngf * 2, ngf, 4, 2, 1, channel_major=True)  # -> [N, ngf, 28, 28]
        self.norm3 = ConditionalBatchNormReLU(ngf, num_classes, layers, channel_major=True)
        self.out = layers.conv(ngf, 1, 3, 1, 1, channel_major=True)  # -> [N, 1, 28, 28]
        self.tanh = nn.Tanh()

    def construct(self, z, labels):
        # [N, latent] ++ [N, embed] -> [N, 4ngf * 49] -> [N, 4ngf, 7, 7]
        x = ops.reshape(self.project(ops.concat((z, self.embed(labels)), axis=1)), (-1, self.ngf * 4, 7, 7))
        x = self.up1(self.norm1(x, labels))
        x = self.up2(self.norm2(x, labels))
        return self.tanh(self.out(self.norm3(x, labels)))


class ConditionalBatchNormReLU(nn.Cell):
    """BatchNorm whose scale and shift depend on the label, then ReLU: relu(x_hat * gamma[y] + beta[y]), where
    x_hat is normalised with the batch's statistics (running ones in inference), as nn.BatchNorm2d without its
    own affine part. DCGAN's init: gamma ~ N(1, 0.02), beta = 0, for every label. The scale, shift and ReLU are
    one layer (LAYERS.scale_shift_relu: one pass each way with the CPU kernels), and with the kernels, in
    training, the BatchNorm too (layers.FusedBatchNorm: the whole layer in one kernel each way). CHANNEL_MAJOR:
    see Layers.conv_t."""

    def __init__(self, channels: int, num_classes: int, layers=NATIVE, channel_major: bool = False):
        super().__init__()
        self.norm = layers.plain_batch_norm(channels, channel_major)
        self.gamma = nn.Embedding(num_classes, channels, embedding_table=Normal(0.02, 1.0))
        self.beta = nn.Embedding(num_classes, channels, embedding_table="zeros")
        self.scale_shift_relu = layers.scale_shift_relu()
        self.fused = layers.impl == "gemm"

    def construct(self, x, labels):
        # [N] -> [N, C] each
        scale, shift = self.gamma(labels), self.beta(labels)
        if self.fused and self.training:
            return self.norm.normalize_scale_shift_relu(x, scale, shift)
        y = self.scale_shift_relu(self.norm(x), scale, shift)
        return self.norm.handover(y) if self.fused else y


class CGANDiscriminator(nn.Cell):
    """(image [N, 1, 28, 28], labels [N]) -> logit [N]: is this a real image *of this digit*?

    The DCGAN discriminator's layers with the label fed twice: as a learned 28x28 plane stacked on the image, so
    the first convolutions can look for the digit's strokes, and as a projection (Miyato & Koyama, 2018)
    on the last features, logit = <w + e_y, h>, which gives G a direct, per-digit gradient. With the
    input plane alone, 5 epochs left ~13% of samples reading as the wrong digit. MINIBATCH: as in
    DCGANDiscriminator. PER_SAMPLE: see layers.is_per_sample."""

    def __init__(
        self,
        ndf: int = 64,
        num_classes: int = 10,
        norm: str = "batch",
        spectral: bool = False,
        minibatch: bool = False,
        layers=NATIVE,
    ):
        super().__init__()
        self.ndf = ndf
        self.per_sample = is_per_sample(norm, spectral, minibatch)
        self.embed = nn.Embedding(num_classes, 28 * 28, embedding_table=Normal(1.0))
        # [N, 2, 28, 28] (image and label plane) -> [N, 4ndf, 4, 4]
        self.features = discriminator_features(layers, 2, ndf, norm, spectral)
        # [N, 4ndf, 4, 4] -> [N, 1, 1, 1]: the unconditional part of the logit
        self.head = layers.conv(ndf * 4, 1, 4, 1, 0, spectral)
        # one [4ndf * 4 * 4] vector per digit, initialised like the head's weights
        self.project = nn.Embedding(num_classes, ndf * 4 * 4 * 4, embedding_table=Normal(0.02))
        self.minibatch = MinibatchHead(ndf * 4 * 4 * 4, spectral) if minibatch else None

    def construct(self, images, labels):
        # [N] -> [N, 784] -> [N, 1, 28, 28], stacked on the image: [N, 2, 28, 28]
        label_map = ops.reshape(self.embed(labels), (-1, 1, 28, 28))
        features = self.features(ops.concat((images, label_map), axis=1))
        unconditional = ops.reshape(self.head(features), (-1,))
        # [N, 4ndf * 16] . [N, 4ndf * 16] -> [N]
        conditional = ops.sum(ops.reshape(features, (-1, self.ndf * 4 * 16)) * self.project(labels), dim=1)
        logits = unconditional + conditional
        if self.minibatch is not None:
            logits = logits + self.minibatch(features)
        return logits
