"""Building blocks the models share: DCGAN-initialised convs (MindSpore's, or ms_gan's GEMM convs on CPU),
LeakyReLU, the discriminator's normalisation choices and spectral normalisation."""

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore import dtype as mstype
from mindspore.common.initializer import Normal, initializer

from ms_gan import kernels

D_NORMS = ("batch", "layer", "none")  # what follows the discriminator's hidden convs

IMPLS = ("native", "gemm")  # what kernels.resolve chooses between


class Layers:
    """The layers whose implementation differs: "native" = MindSpore's convolutions and LeakyReLU, "gemm" =
    ms_gan's CPU kernels (see kernels.resolve, which picks one). Chosen once and handed to each model, which
    builds its convs from it. Both give the same parameters under the same names, so checkpoints move freely
    between them."""

    def __init__(self, impl: str = "native"):
        if impl not in IMPLS:
            raise ValueError(f"unknown layer implementation {impl!r}; one of {IMPLS}")
        self.impl = impl

    # channel_major (conv_t, conv, batch_norm_relu, plain_batch_norm): with the kernels, a BatchNorm hands the conv
    # after it its output as [C, N, H, W], the layout the conv multiplies in, a transposition fewer each way; set it
    # on both. In a discriminator (conv's channel_major_out, d_norm_leaky_relu's channel_major, see
    # discriminator_channel_major), every layer between its first conv and its features' end passes [C, N, H, W]
    # on. MindSpore's layers ignore it.
    def conv_t(self, c_in, c_out, kernel, stride, padding, channel_major: bool = False):
        if self.impl == "gemm":
            return GemmConv2dTranspose(c_in, c_out, kernel, stride, padding, channel_major)
        return nn.Conv2dTranspose(
            c_in, c_out, kernel, stride, pad_mode="pad", padding=padding, weight_init=Normal(0.02), has_bias=False
        )

    def conv(
        self,
        c_in,
        c_out,
        kernel,
        stride,
        padding,
        spectral: bool = False,
        channel_major: bool = False,
        channel_major_out: bool = False,
    ):
        if self.impl == "gemm":
            return (SNGemmConv2d if spectral else GemmConv2d)(
                c_in, c_out, kernel, stride, padding, channel_major, channel_major_out
            )
        cls = SNConv2d if spectral else nn.Conv2d
        return cls(
            c_in, c_out, kernel, stride, pad_mode="pad", padding=padding, weight_init=Normal(0.02), has_bias=False
        )

    def leaky_relu(self, alpha: float = 0.2):
        return FusedLeakyReLU(alpha) if self.impl == "gemm" else nn.LeakyReLU(alpha)

    def scale_shift_relu(self):
        """relu(x * scale + shift), x [N, C, H, W], scale and shift [N, C]: conditional BatchNorm's tail."""
        return FusedScaleShiftReLU() if self.impl == "gemm" else ScaleShiftReLU()

    def batch_norm_relu(self, channels, channel_major: bool = False):
        """The generators' BatchNorm (DCGAN init) and ReLU, as two cells, so that the parameters' names (model.0.gamma)
        are the same either way: nn.BatchNorm2d and nn.ReLU, or FusedBatchNormReLU and an identity."""
        if self.impl == "gemm":
            return FusedBatchNormReLU(channels, channel_major=channel_major), nn.Identity()
        return batch_norm(channels), nn.ReLU()

    def batch_norm_1d_relu(self, features):
        """The fc generator's BatchNorm1d (MindSpore's init) and ReLU, as two cells (see batch_norm_relu)."""
        if self.impl == "gemm":
            return FusedBatchNorm1dReLU(features), nn.Identity()
        return nn.BatchNorm1d(features), nn.ReLU()

    def d_norm_leaky_relu(self, kind: str, channels: int, size: int, alpha: float = 0.2, channel_major: bool = False):
        """d_norm(KIND, ...) and LeakyReLU(ALPHA), as two cells (see batch_norm_relu); BatchNorm's pair is fused
        with the kernels. CHANNEL_MAJOR: input and output [C, N, H, W] (discriminator_channel_major)."""
        if self.impl == "gemm" and kind == "batch":
            return FusedBatchNormReLU(channels, alpha, channel_major, channel_major_in=channel_major), nn.Identity()
        if channel_major and kind == "layer":
            raise ValueError("LayerNorm normalises each sample's [C, H, W]: it takes no channel-major input")
        return d_norm(kind, channels, size), self.leaky_relu(alpha)

    def discriminator_channel_major(self, d_norm_kind: str) -> bool:
        """Whether a discriminator with D_NORM_KIND keeps its features [C, N, H, W] from its first conv's output to
        the end of its features (the convs' products give that layout; sample-major, each conv would transpose
        its output and its gradient): with the kernels, and a norm that is per channel or none."""
        return self.impl == "gemm" and d_norm_kind in ("batch", "none")

    def sample_major(self, channel_major: bool):
        """The cell that ends a CHANNEL_MAJOR stack of layers: [C, N, H, W] -> [N, C, H, W] (else an identity)."""
        return SwapNC() if channel_major else nn.Identity()

    def plain_batch_norm(self, channels, channel_major: bool = False):
        """BatchNorm without its own scale and shift, for conditional BatchNorm. With the kernels, it also has
        normalize_scale_shift_relu, the training forward of the whole conditional layer in one kernel, and
        handover, which puts an output in the layout the next conv takes."""
        if self.impl == "gemm":
            return FusedBatchNorm(channels, channel_major=channel_major, affine=False)
        return nn.BatchNorm2d(channels, affine=False)


NATIVE = Layers("native")  # the models' default


def dense(c_in, c_out, spectral: bool = False, **kwargs):
    return (SNDense if spectral else nn.Dense)(c_in, c_out, **kwargs)


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


class _SpectralNorm:
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


class SNConv2d(_SpectralNorm, nn.Conv2d):
    def construct(self, x):
        output = self.conv2d(x, self.normalized_weight())
        if self.has_bias:
            output = self.bias_add(output, self.bias)
        return output


class SNDense(_SpectralNorm, nn.Dense):
    def construct(self, x):
        # the discriminators only feed [N, features] to dense layers
        output = ops.matmul(x, self.normalized_weight().T)
        if self.has_bias:
            output = self.bias_add(output, self.bias)
        return output


class GemmConv2d(nn.Cell):
    """nn.Conv2d (no bias, "pad" mode) as one matrix product (kernels' oneDNN sgemm): the weights
    [out, in * k * k] times the input unfolded to [in * k * k, N * Ho * Wo]. Same parameter ("weight",
    [out, in, k, k]) and init as nn.Conv2d.

    With stride 1 and fewer outputs than inputs (the generators' last layer, 64 channels -> 1), the input's
    unfolding would be k * k times the input (231 MB for G's 3x3 at batch 128), written once forward and
    read and written again backward, for a product of almost no arithmetic. There the same convolution runs as
    a transposed one with the kernel flipped, whose unfolded side is the k * k times smaller output."""

    def __init__(
        self, c_in, c_out, kernel, stride, padding, channel_major: bool = False, channel_major_out: bool = False
    ):
        super().__init__()
        self.weight = Parameter(initializer(Normal(0.02), (c_out, c_in, kernel, kernel)), name="weight")
        # CHANNEL_MAJOR: x is [in, N, H, W]; CHANNEL_MAJOR_OUT: y is [out, N, Ho, Wo], the product's own layout
        self.geometry = kernels.geometry(kernel, stride, padding, channel_major)
        self.kernel, self.padding = kernel, padding
        self.channel_major, self.channel_major_out = channel_major, channel_major_out
        self.ops = kernels.load()
        self.as_transposed = stride == 1 and c_out < c_in and padding <= kernel - 1
        if channel_major_out and self.as_transposed:
            raise ValueError("a conv that runs as a transposed one gives its output [N, out, Ho, Wo]")
        if self.as_transposed:
            # conv(x, W, pad p) = conv_transpose(x, flip(W) with in and out swapped, pad k - 1 - p), stride 1
            self.transposed = _TransposedProduct(kernel, 1, kernel - 1 - padding, channel_major)

    def construct(self, x):
        return self.convolve(x, self.weight)

    def convolve(self, x, weight):
        n, h, w = x.shape[1 if self.channel_major else 0], x.shape[2], x.shape[3]
        c_out = weight.shape[0]
        if h == self.kernel and w == self.kernel and self.padding == 0 and not self.channel_major:
            # the kernel covers the whole input (the discriminators' last layer): a plain dense layer
            # [N, in * k * k] @ [out, in * k * k]^T -> [N, out, 1, 1]
            y = self.ops.mm_nt(ops.reshape(x, (n, -1)), ops.reshape(weight, (c_out, -1)))
            return ops.reshape(y, (n, c_out, 1, 1))
        if self.as_transposed:
            return self.transposed(x, self.flipped(weight))
        cols = self.ops.im2col(x, self.geometry)  # [N, in, H, W] or [in, N, H, W] -> [in * k * k, N, Ho, Wo]
        rows, n, ho, wo = cols.shape
        # [out, in * k * k] @ [in * k * k, N * Ho * Wo] -> [out, N, Ho, Wo] (-> [N, out, Ho, Wo])
        y = ops.reshape(
            self.ops.mm(ops.reshape(weight, (c_out, rows)), ops.reshape(cols, (rows, n * ho * wo))), (c_out, n, ho, wo)
        )
        return y if self.channel_major_out else self.ops.swap_nc(y)

    @staticmethod
    def flipped(weight):
        # [out, in, k, k] -> flipped in space -> [in, out, k, k]
        return ops.transpose(ops.flip(weight, (2, 3)), (1, 0, 2, 3))


class _TransposedProduct(nn.Cell):
    """A transposed convolution (no bias) of x [N, in, H, W] (CHANNEL_MAJOR: [in, N, H, W]) with weight
    [in, out, k, k]: one matrix product, then Col2Im folds its [out * k * k, N, H, W] columns into the
    [N, out, Ho, Wo] output (the adjoint of GemmConv2d's unfolding)."""

    def __init__(self, kernel, stride, padding, channel_major: bool = False):
        super().__init__()
        self.geometry = kernels.geometry(kernel, stride, padding)
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.channel_major = channel_major
        self.ops = kernels.load()

    def construct(self, x, weight):
        if self.channel_major:
            c_in, n, h, w = x.shape
        else:
            n, c_in, h, w = x.shape
            x = self.ops.swap_nc(x)
        # [in, N, H, W] -> [in, N * H * W]
        x_cols = ops.reshape(x, (c_in, n * h * w))
        # [in, out * k * k]^T @ [in, N * H * W] -> [out * k * k, N, H, W]
        cols = ops.reshape(self.ops.mm_tn(ops.reshape(weight, (c_in, -1)), x_cols), (-1, n, h, w))
        size = (
            (h - 1) * self.stride - 2 * self.padding + self.kernel,
            (w - 1) * self.stride - 2 * self.padding + self.kernel,
        )
        # -> [N, out, Ho, Wo]; the zeros only tell Col2Im the output size
        return self.ops.col2im(cols, self.geometry, ops.zeros(size, x.dtype))


class GemmConv2dTranspose(nn.Cell):
    """nn.Conv2dTranspose (no bias, "pad" mode) as one matrix product followed by Col2Im, the adjoint of
    GemmConv2d. Same parameter ("weight", [in, out, k, k]) and init as nn.Conv2dTranspose."""

    def __init__(self, c_in, c_out, kernel, stride, padding, channel_major: bool = False):
        super().__init__()
        self.weight = Parameter(initializer(Normal(0.02), (c_in, c_out, kernel, kernel)), name="weight")
        self.product = _TransposedProduct(kernel, stride, padding, channel_major)

    def construct(self, x):
        return self.product(x, self.weight)


class SNGemmConv2d(_SpectralNorm, GemmConv2d):
    def construct(self, x):
        return self.convolve(x, self.normalized_weight())


class ScaleShiftReLU(nn.Cell):
    """relu(x * scale + shift) for x [N, C, H, W] and a scale and shift [N, C] per sample and channel. Each is
    spread over H and W by a MatMul with a row of ones, so that its gradient, a sum over H and W, is a MatMul
    too: MindSpore 2.10's CPU ReduceSum over the last two axes, which broadcasting's gradient uses, is slow (47
    ms of a 630 ms cgan step went to the six it took). Plain ops, so it also differentiates twice."""

    def __init__(self):
        super().__init__()
        self.matmul = ops.MatMul()

    def construct(self, x, scale, shift):
        n, c, h, w = x.shape
        ones = ops.ones((1, h * w), x.dtype)
        # [N * C, 1] @ [1, H * W] -> [N, C, H, W]
        scale_map = ops.reshape(self.matmul(ops.reshape(scale, (n * c, 1)), ones), (n, c, h, w))
        shift_map = ops.reshape(self.matmul(ops.reshape(shift, (n * c, 1)), ones), (n, c, h, w))
        return ops.relu(x * scale_map + shift_map)


class FusedScaleShiftReLU(nn.Cell):
    """ScaleShiftReLU in one pass forward and one backward (kernels' ScaleShiftReLU, CPU)."""

    def __init__(self):
        super().__init__()
        self.ops = kernels.load()

    def construct(self, x, scale, shift):
        return self.ops.scale_shift_relu(x, scale, shift)


class SwapNC(nn.Cell):
    """[A, B, ...] -> [B, A, ...] (kernels' SwapNC): a channel-major stack's output back to [N, C, H, W]."""

    def __init__(self):
        super().__init__()
        self.ops = kernels.load()

    def construct(self, x):
        return self.ops.swap_nc(x)


class FusedLeakyReLU(nn.Cell):
    """nn.LeakyReLU in one pass forward and one backward (kernels.LeakyReLU)."""

    def __init__(self, alpha: float = 0.2):
        super().__init__()
        self.slope = Tensor([alpha], mstype.float32)
        self.ops = kernels.load()

    def construct(self, x):
        return self.ops.leaky_relu(x, self.slope)


def move_running_statistics(norm, mean, var, count: int):
    """Move NORM's (a MindSpore BatchNorm's) running statistics towards a batch's MEAN and biased VAR over COUNT
    values per channel, as its own training forward does: by momentum, with the unbiased variance."""
    keep = 1.0 - norm.momentum
    ops.assign(norm.moving_mean, norm.moving_mean * keep + ops.stop_gradient(mean) * norm.momentum)
    unbiased = ops.stop_gradient(var) * (count / max(count - 1, 1))
    ops.assign(norm.moving_variance, norm.moving_variance * keep + unbiased * norm.momentum)


class FusedBatchNorm1dReLU(nn.BatchNorm1d):
    """nn.BatchNorm1d (same parameters, same running statistics) and ReLU, for features [N, C]: in training one
    kernel each way (kernels' BatchNorm1dReLU, on the calling thread), where MindSpore's BatchNorm and ReLU and
    their gradients are four operators; in inference nn.BatchNorm1d's own forward and ReLU."""

    def __init__(self, features):
        super().__init__(features)
        self.ops = kernels.load()
        self.settings = Tensor(np.array([self.eps, 0.0], np.float32))  # [eps, slope]

    def construct(self, x):
        if self.training:
            y, mean, var = self.ops.bn1d_relu(x, self.gamma, self.beta, self.settings)
            move_running_statistics(self, mean, var, x.shape[0])
            return y
        return ops.relu(super().construct(x))


class FusedBatchNorm(nn.BatchNorm2d):
    """nn.BatchNorm2d (same parameters, same running statistics) that can run its training forward together with
    a scale, a shift and ReLU after it as one kernel (kernels' BatchNormScaleShiftReLU: two passes each way,
    where BatchNorm, the scale and shift, ReLU and their gradients each read and write the whole activation)."""

    def __init__(
        self, channels, slope: float = 0.0, channel_major: bool = False, channel_major_in: bool = False, **kwargs
    ):
        super().__init__(channels, **kwargs)
        if channel_major_in and not channel_major:
            raise ValueError("a channel-major input gives a channel-major output")
        self.ops = kernels.load()
        self.slope, self.channel_major, self.channel_major_in = slope, channel_major, channel_major_in
        # [eps, slope], shaped [2, 1, L] to tell the kernel the layouts: L = 2 output channel-major, 3 both
        layout = 1 + channel_major + channel_major_in
        self.settings = Tensor(np.array([self.eps, slope], np.float32).reshape(2, 1, 1).repeat(layout, 2))

    def normalize_scale_shift_relu(self, x, scale, shift):
        """Training: relu(x_hat * scale + shift) (leaky with a SLOPE), x_hat normalised with the batch's statistics,
        which move the running ones as nn.BatchNorm2d does (the mean, and the unbiased variance, by momentum).
        scale and shift [1, C] (one per channel) or [N, C] (one per sample and channel). Returns y in the
        layout CHANNEL_MAJOR says (x in the one CHANNEL_MAJOR_IN says)."""
        y, mean, var = self.ops.bn_ssr(x, scale, shift, self.settings)
        count = x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3] // self.num_features
        move_running_statistics(self, mean, var, count)
        return y

    def handover(self, y):
        """An output of this layer computed [N, C, H, W] (in inference), in the layout CHANNEL_MAJOR says."""
        return self.ops.swap_nc(y) if self.channel_major else y


class FusedBatchNormReLU(FusedBatchNorm):
    """batch_norm(channels) then ReLU, or LeakyReLU with a SLOPE; in training one kernel each way
    (FusedBatchNorm), in inference nn.BatchNorm2d's own forward and the activation."""

    def __init__(self, channels, slope: float = 0.0, channel_major: bool = False, channel_major_in: bool = False):
        super().__init__(channels, slope, channel_major, channel_major_in, gamma_init=Normal(0.02, 1.0))

    def construct(self, x):
        if self.training:
            channels = self.num_features
            return self.normalize_scale_shift_relu(
                x, ops.reshape(self.gamma, (1, channels)), ops.reshape(self.beta, (1, channels))
            )
        y = super().construct(self.ops.swap_nc(x) if self.channel_major_in else x)
        return self.handover(ops.maximum(y, y * self.slope) if self.slope > 0 else ops.relu(y))
