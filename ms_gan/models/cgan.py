"""Conditional DCGAN: the digit label joins z and sets BatchNorm's scale and shift in G; in D it is an input
channel and a projection."""

from mindspore import nn, ops
from mindspore.common.initializer import Normal

from ms_gan.models.dcgan import discriminator_features
from ms_gan.models.layers import ConditionalBatchNormReLU, MinibatchHead, conv, conv_t, is_per_sample
from ms_gan.registry import register_model


class CGANGenerator(nn.Cell):
    """(z [N, latent], labels [N] int32) -> image [N, 1, 28, 28] of that digit.

    The DCGAN generator's layers with the label fed twice: embedded and joined to z before the first layer,
    and as conditional BatchNorm (de Vries et al., 2017; the generator of Miyato & Koyama's projection
    cGAN) after every layer, where each digit has its own BatchNorm scale and shift. With the label at the
    input alone, ~2% of the samples of 950 steps read as another digit (5s and 7s the worst, ~5%)."""

    def __init__(self, latent_dim: int = 100, ngf: int = 64, num_classes: int = 10, embed_dim: int = 50):
        super().__init__()
        self.ngf = ngf
        # unit-scale init: the label must be as loud as z from the first step, or G learns to ignore it
        self.embed = nn.Embedding(num_classes, embed_dim, embedding_table=Normal(1.0))
        # [N, latent + embed] -> [N, 4ngf * 7 * 7], as DCGANGenerator.project
        self.project = nn.Dense(latent_dim + embed_dim, ngf * 4 * 7 * 7, weight_init=Normal(0.02), has_bias=False)
        self.norm1 = ConditionalBatchNormReLU(ngf * 4, num_classes)
        self.up1 = conv_t(ngf * 4, ngf * 2, 4, 2, 1)  # [N, 4ngf, 7, 7] -> [N, 2ngf, 14, 14]
        self.norm2 = ConditionalBatchNormReLU(ngf * 2, num_classes)
        self.up2 = conv_t(ngf * 2, ngf, 4, 2, 1)  # -> [N, ngf, 28, 28]
        self.norm3 = ConditionalBatchNormReLU(ngf, num_classes)
        self.out = conv(ngf, 1, 3, 1, 1)  # -> [N, 1, 28, 28]
        self.tanh = nn.Tanh()

    def construct(self, z, labels):
        # [N, latent] ++ [N, embed] -> [N, 4ngf * 49] -> [N, 4ngf, 7, 7]
        x = ops.reshape(self.project(ops.concat((z, self.embed(labels)), axis=1)), (-1, self.ngf * 4, 7, 7))
        x = self.up1(self.norm1(x, labels))
        x = self.up2(self.norm2(x, labels))
        return self.tanh(self.out(self.norm3(x, labels)))


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
    ):
        super().__init__()
        self.ndf = ndf
        self.per_sample = is_per_sample(norm, spectral, minibatch)
        self.embed = nn.Embedding(num_classes, 28 * 28, embedding_table=Normal(1.0))
        # [N, 2, 28, 28] (image and label plane) -> [N, 4ndf, 4, 4]
        self.features = discriminator_features(2, ndf, norm, spectral)
        # [N, 4ndf, 4, 4] -> [N, 1, 1, 1]: the unconditional part of the logit
        self.head = conv(ndf * 4, 1, 4, 1, 0, spectral)
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


register_model(
    "cgan",
    help="conditional conv GAN that draws the digit you ask for",
    generator=lambda config: CGANGenerator(config.latent_dim, config.ngf, config.num_classes),
    discriminator=lambda config: CGANDiscriminator(
        config.ndf,
        config.num_classes,
        norm=config.d_norm,
        spectral=config.spectral_norm,
        minibatch=config.minibatch_disc,
    ),
    conditional=True,
    convolutional=True,
    # D at twice G's rate (TTUR) gave a clearly lower FD on both seeds at 5 epochs; higher rates lost recall
    lr_d_factor=2.0,
    ema_decay=0.999,
)
