"""Building blocks the models share: DCGAN-initialised convs, the discriminator's normalisation choices and
spectral normalisation."""

from mindspore import Parameter, nn, ops
from mindspore.common.initializer import Normal, initializer

D_NORMS = ("batch", "layer", "none")  # what follows the discriminator's hidden convs


def conv_t(c_in, c_out, kernel, stride, padding):
    return nn.Conv2dTranspose(c_in, c_out, kernel, stride, pad_mode="pad", padding=padding,
                              weight_init=Normal(0.02), has_bias=False)


def conv(c_in, c_out, kernel, stride, padding, spectral: bool = False):
    cls = SNConv2d if spectral else nn.Conv2d
    return cls(c_in, c_out, kernel, stride, pad_mode="pad", padding=padding, weight_init=Normal(0.02),
               has_bias=False)


def dense(c_in, c_out, spectral: bool = False, **kwargs):
    return (SNDense if spectral else nn.Dense)(c_in, c_out, **kwargs)


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
    parameter (so it is checkpointed and resumes exactly)."""

    def _init_u(self):
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


class SNConv2d(nn.Conv2d, _SpectralNorm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_u()

    def construct(self, x):
        output = self.conv2d(x, self.normalized_weight())
        if self.has_bias:
            output = self.bias_add(output, self.bias)
        return output


class SNDense(nn.Dense, _SpectralNorm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_u()

    def construct(self, x):
        # the discriminators only feed [N, features] to dense layers
        output = ops.matmul(x, self.normalized_weight().T)
        if self.has_bias:
            output = self.bias_add(output, self.bias)
        return output
