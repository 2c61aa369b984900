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
    """(image [N, 1, 28, 28], labels [N]) -> logit [N]: is this a real image *of this digit*?"""

    def __init__(self, ndf: int = 64, num_classes: int = 10):
        super().__init__()
        self.embed = nn.Embedding(num_classes, 28 * 28, embedding_table=Normal(1.0))
        self.body = DCGANDiscriminator(ndf, in_channels=2)

    def construct(self, images, labels):
        # [N] -> [N, 784] -> [N, 1, 28, 28], stacked on the image: [N, 2, 28, 28]
        label_map = ops.reshape(self.embed(labels), (-1, 1, 28, 28))
        return self.body(ops.concat((images, label_map), axis=1))
