"""The cells the models share where MindSpore has none (conditional BatchNorm, minibatch discrimination, spectral
normalisation, a LayerNorm that differentiates twice), and the DCGAN-initialised convs the discriminators pick
between. Plain MindSpore: on CPU, ms_gan.kernels.accelerate swaps in its own kernels after a net is built."""

from mindspore import Parameter, nn, ops
from mindspore.common.initializer import Normal, initializer

D_NORMS = ("batch", "layer", "none")  # what follows the discriminator's hidden convs


def dense(c_in, c_out, spectral: bool = False, **kwargs):
    return (SNDense if spectral else nn.Dense)(c_in, c_out, **kwargs)


def conv(c_in, c_out, kernel, stride, padding, spectral: bool = False):
    """nn.Conv2d without bias, DCGAN's N(0, 0.02) init, "pad" mode; with SPECTRAL, spectrally normalised."""
    cls = SNConv2d if spectral else nn.Conv2d
    return cls(c_in, c_out, kernel, stride, pad_mode="pad", padding=padding, weight_init=Normal(0.02), has_bias=False)


def conv_t(c_in, c_out, kernel, stride, padding):
    """nn.Conv2dTranspose without bias, DCGAN's N(0, 0.02) init, "pad" mode."""
    return nn.Conv2dTranspose(
        c_in, c_out, kernel, stride, pad_mode="pad", padding=padding, weight_init=Normal(0.02), has_bias=False
    )


def is_per_sample(norm: str, spectral: bool, minibatch: bool) -> bool:
    """Whether a discriminator scores each image from that image alone, and scores it the same however many
    calls a step makes: no BatchNorm (batch statistics, and running ones moved at every call), no minibatch
    discrimination (it compares a batch's images) and no spectral normalisation (one power iteration per call).
    train_step then scores a batch of reals and its fakes in one call of twice the batch (the same logits in
    half the calls, which makes an fc step measurably quicker)."""
    return norm != "batch" and not spectral and not minibatch


def batch_norm(channels):
    # DCGAN init: gamma ~ N(1, 0.02), beta = 0
    return nn.BatchNorm2d(channels, gamma_init=Normal(0.02, 1.0))


def d_norm(kind: str, channels: int, size: int):
    """The normalisation after a discriminator conv with CHANNELS x SIZE x SIZE outputs.
    batch: DCGAN's BatchNorm. layer: per-sample, as WGAN-GP needs (BatchNorm mixes the samples whose
    gradients the penalty norms one by one). none: for spectral normalisation, which bounds D by itself."""
    if kind == "batch":
        return batch_norm(channels)
    if kind == "layer":
        return LayerNorm2d((channels, size, size))
    return nn.Identity()


class MinibatchDiscrimination(nn.Cell):
    """Minibatch discrimination (Salimans et al., 2016; the DCGAN guide's cure for mode collapse):
    features [N, A] -> [N, B], how alike each sample is to the rest of its batch. M = features @ T is read as
    B rows of C numbers per sample; feature b of sample i is the mean over the other samples j of
    exp(-||M_ib - M_jb||_1). A batch of near-copies scores ~1 on every b, a varied batch of real digits
    less; D, seeing this beside its own features, can tell a collapsed G's batches from real ones.
    (A mean, not the paper's sum, so the scale does not depend on the batch size.)"""

    def __init__(self, in_features: int, num_kernels: int = 32, kernel_dim: int = 8):
        super().__init__()
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        # scaled so that at the start ||M_ib - M_jb||_1 is about 1 for features of unit size: exp(-d) neither
        # 0 nor 1, so the layer has a gradient from the first step
        self.T = Parameter(
            initializer(Normal(0.1 / in_features**0.5), (in_features, num_kernels * kernel_dim)), name="T"
        )

    def construct(self, features):
        n = features.shape[0]
        # [N, A] @ [A, B * C] -> [N, B, C]
        m = ops.reshape(ops.matmul(features, self.T), (n, self.num_kernels, self.kernel_dim))
        # [N, 1, B, C] - [1, N, B, C] -> L1 over C -> [N, N, B]
        distances = ops.sum(ops.abs(ops.expand_dims(m, 1) - ops.expand_dims(m, 0)), dim=3)
        # each sample is at distance 0 from itself: drop that exp(0) = 1 from the mean over the others
        return (ops.sum(ops.exp(-distances), dim=1) - 1.0) / max(n - 1, 1)


class MinibatchHead(nn.Cell):
    """The conv discriminators' minibatch-discrimination term: features [N, C, H, W] -> MinibatchDiscrimination
    -> [N, B] -> a dense layer -> [N], added to D's logit (the same as appending the B numbers to the features
    the head reads)."""

    def __init__(self, in_features: int, spectral: bool = False, num_kernels: int = 32):
        super().__init__()
        self.discrimination = MinibatchDiscrimination(in_features, num_kernels)
        self.dense = dense(num_kernels, 1, spectral, weight_init=Normal(0.02), has_bias=False)

    def construct(self, features):
        # [N, C, H, W] -> [N, C * H * W] -> [N, B] -> [N, 1] -> [N]
        flat = ops.reshape(features, (features.shape[0], -1))
        return ops.reshape(self.dense(self.discrimination(flat)), (-1,))


class LayerNorm2d(nn.Cell):
    """LayerNorm over [C, H, W] per sample, from plain ops: MindSpore 2.10's fused LayerNorm has no
    second-order gradient in PyNative mode, and the WGAN-GP penalty differentiates D twice."""

    def __init__(self, shape, eps: float = 1e-5):
        super().__init__()
        self.gamma = Parameter(initializer("ones", shape), name="gamma")
        self.beta = Parameter(initializer("zeros", shape), name="beta")
        self.eps = eps

    def construct(self, x):
        mean = ops.mean(x, axis=(1, 2, 3), keep_dims=True)
        var = ops.mean((x - mean) ** 2, axis=(1, 2, 3), keep_dims=True)
        return (x - mean) / ops.sqrt(var + self.eps) * self.gamma + self.beta


def _l2_normalize(x):
    return x / (ops.sqrt(ops.sum(x * x)) + 1e-12)


class SpectralNorm:
    """Spectral normalisation (Miyato et al., 2018): the layer uses W / sigma(W), sigma estimated by one
    power iteration per training forward pass, with the running singular vector u kept as a non-trainable
    parameter (so it is checkpointed and resumes exactly). Listed first among a layer's bases, so the layer
    builds its weight before u is sized from it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        out_channels = self.weight.shape[0]
        self.sn_u = Parameter(initializer(Normal(1.0), (1, out_channels)), name="sn_u", requires_grad=False)

    def normalized_weight(self):
        # W [out, ...] -> [out, in]; u [1, out], v [1, in]
        w_mat = ops.reshape(self.weight, (self.weight.shape[0], -1))
        u = self.sn_u
        v = _l2_normalize(ops.matmul(u, w_mat))
        u = _l2_normalize(ops.matmul(v, w_mat.T))
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        if self.training:
            ops.assign(self.sn_u, u)
        sigma = ops.sum(ops.matmul(u, w_mat) * v)
        return self.weight / sigma


class SNConv2d(SpectralNorm, nn.Conv2d):
    def construct(self, x):
        output = self.conv2d(x, self.normalized_weight())
        if self.has_bias:
            output = self.bias_add(output, self.bias)
        return output


class SNDense(SpectralNorm, nn.Dense):
    def construct(self, x):
        # the discriminators only feed [N, features] to dense layers
        output = ops.matmul(x, self.normalized_weight().T)
        if self.has_bias:
            output = self.bias_add(output, self.bias)
        return output


class ConditionalBatchNormReLU(nn.Cell):
    """BatchNorm whose scale and shift depend on the label, then ReLU: relu(x_hat * gamma[y] + beta[y]), where
    x_hat is normalised with the batch's statistics (running ones in inference), as nn.BatchNorm2d without its
    own affine part (de Vries et al., 2017). DCGAN's init: gamma ~ N(1, 0.02), beta = 0, for every label."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels, embedding_table=Normal(0.02, 1.0))
        self.beta = nn.Embedding(num_classes, channels, embedding_table="zeros")

    def construct(self, x, labels):
        # [N] -> [N, C] -> [N, C, 1, 1], broadcast over H and W
        scale = ops.expand_dims(ops.expand_dims(self.gamma(labels), 2), 3)
        shift = ops.expand_dims(ops.expand_dims(self.beta(labels), 2), 3)
        return ops.relu(self.norm(x) * scale + shift)
