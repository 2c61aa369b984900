"""Conditional DCGAN: the digit label, embedded, joins z in G and the image (as a channel) in D."""

from mindspore import nn, ops
from mindspore.common.initializer import Normal

from ms_gan.models.dcgan import DCGANDiscriminator, DCGANGenerator


class CGANGenerator(nn.Cell):
    """(z [N, latent], labels [N] int32) -> image [N, 1, 28, 28] of that digit."""

    def __init__(self, latent_dim: int = 100, ngf: int = 64, num_classes: int = 10, embed_dim: int = 50):
        super().__init__()
        # unit-scale init: the label must be as loud as z from the first step, or G learns to ignore it
        self.embed = nn.Embedding(num_classes, embed_dim, embedding_table=Normal(1.0))
        self.body = DCGANGenerator(latent_dim, ngf, in_extra=embed_dim)

    def construct(self, z, labels):
        # [N, latent] ++ [N, embed] -> [N, latent + embed]
        return self.body(ops.concat((z, self.embed(labels)), axis=1))


class CGANDiscriminator(nn.Cell):
    """(image [N, 1, 28, 28], labels [N]) -> logit [N]: is this a real image *of this digit*?

    The label enters as a learned per-digit bias on the first conv's output: the same as stacking ten
    one-hot label planes onto the image (up to the zero padding at the border), without convolving them.
    """

    def __init__(self, ndf: int = 64, num_classes: int = 10):
        super().__init__()
        body = DCGANDiscriminator(ndf, in_channels=1)
        self.first, self.rest = body.model[0], body.model[1:]
        # std of a one-hot plane through a 4x4 conv with N(0, 0.02) weights: 0.02 * sqrt(16)
        self.label_bias = nn.Embedding(num_classes, ndf, embedding_table=Normal(0.08))

    def construct(self, images, labels):
        # [N, 1, 28, 28] -> [N, ndf, 14, 14], plus the digit's bias [N, ndf, 1, 1]
        h = self.first(images) + ops.reshape(self.label_bias(labels), (labels.shape[0], -1, 1, 1))
        return ops.reshape(self.rest(h), (-1,))
