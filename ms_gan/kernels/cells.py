"""The kernels as cells, and `accelerate`, the pass that puts them in place of MindSpore's layers in a built net.

Each kernel cell is made from the layer it replaces and keeps that layer's Parameter objects, so names,
values, checkpoints, optimizers and EMA shadows are exactly those of the plain net; only how the numbers are
computed changes (to float32 rounding).
"""

import numpy as np
from mindspore import Tensor, nn, ops
from mindspore import dtype as mstype

from ms_gan.kernels import geometry, load
from ms_gan.models.layers import ConditionalBatchNormReLU, SNConv2d, SpectralNorm


def _square(pair) -> int:
    """K of a (K, K) kernel size or stride; -1 when the two differ."""
    pair = tuple(pair) if isinstance(pair, (tuple, list)) else (pair, pair)
    return pair[0] if len(set(pair)) == 1 else -1


def _padding(layer) -> int:
    """The one padding a layer applies on all four sides, or -1 when the kernels cannot take its padding."""
    if layer.pad_mode == "valid":
        return 0
    if layer.pad_mode == "pad":
        pads = layer.padding if isinstance(layer.padding, (tuple, list)) else (layer.padding,)
        return pads[0] if len(set(pads)) == 1 else -1
    return -1  # "same": its split of an even padding is MindSpore's to choose


def _convertible(layer) -> bool:
    """Whether a MindSpore conv or transposed conv is one the kernels compute: NCHW, square kernel and stride,
    equal padding on all sides, no groups, no dilation (and for a transposed conv, no output padding)."""
    return (
        layer.data_format == "NCHW"
        and layer.group == 1
        and tuple(layer.dilation) in ((1, 1), (1, 1, 1, 1))
        and _square(layer.kernel_size) > 0
        and _square(layer.stride) > 0
        and _padding(layer) >= 0
        and getattr(layer, "output_padding", 0) == 0
    )


class _TransposedProduct(nn.Cell):
    """A transposed convolution (no bias) of x [N, in, H, W] with weight [in, out, k, k]: one matrix product, then
    Col2Im folds its [out * k * k, N, H, W] columns into the [N, out, Ho, Wo] output (the adjoint of the
    unfolding GemmConv2d multiplies)."""

    def __init__(self, kernel, stride, padding, precision: str = "fp32"):
        super().__init__()
        self.geometry = geometry(kernel, stride, padding)
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.ops = load(precision)
        self.cm_in = False  # x is [in, N, H, W], as the layer before hands it over (_plan_layouts)

    def construct(self, x, weight):
        if self.cm_in:
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


def _add_bias(y, bias):
    return y if bias is None else y + ops.reshape(bias, (1, -1, 1, 1))


class GemmConv2d(nn.Cell):
    """CONV (an nn.Conv2d) as one matrix product: the weights [out, in * k * k] times the input unfolded to
    [in * k * k, N * Ho * Wo].

    With stride 1 and fewer outputs than inputs (the generators' last layer, 64 channels -> 1), the input's
    unfolding would be k * k times the input, written once forward and read and written again backward, for a
    product of almost no arithmetic. There the same convolution runs as a transposed one with the kernel
    flipped, whose unfolded side is the k * k times smaller output."""

    def __init__(self, conv, precision: str = "fp32"):
        super().__init__()
        self.weight, self.bias = conv.weight, conv.bias if conv.has_bias else None
        c_out, c_in, kernel, _ = conv.weight.shape
        stride, padding = _square(conv.stride), _padding(conv)
        self.kernel, self.padding = kernel, padding
        self.geometry = geometry(kernel, stride, padding)
        self.ops = load(precision)
        self.stride = stride
        self.as_transposed = stride == 1 and c_out < c_in and padding <= kernel - 1
        if self.as_transposed:
            # conv(x, W, pad p) = conv_transpose(x, flip(W) with in and out swapped, pad k - 1 - p), stride 1
            self.transposed = _TransposedProduct(kernel, 1, kernel - 1 - padding, precision)
        self.cm_in = self.cm_out = False
        self.gives_cm = not self.as_transposed and not conv.has_bias  # (_plan_layouts)

    def set_layouts(self, cm_in: bool, cm_out: bool) -> None:
        """Take x as [in, N, H, W] (CM_IN) and give y as [out, N, Ho, Wo], the product's own layout (CM_OUT)."""
        self.cm_in, self.cm_out = cm_in, cm_out
        self.geometry = geometry(self.kernel, self.stride, self.padding, cm_in)
        if self.as_transposed:
            self.transposed.cm_in = cm_in

    def construct(self, x):
        return _add_bias(self.convolve(x, self.weight), self.bias)

    def convolve(self, x, weight):
        n, h, w = x.shape[1 if self.cm_in else 0], x.shape[2], x.shape[3]
        c_out = weight.shape[0]
        if h == self.kernel and w == self.kernel and self.padding == 0 and not self.cm_in and not self.cm_out:
            # the kernel covers the whole input (the discriminators' last layer): a plain dense layer
            # [N, in * k * k] @ [out, in * k * k]^T -> [N, out, 1, 1]
            y = self.ops.mm_nt(ops.reshape(x, (n, -1)), ops.reshape(weight, (c_out, -1)))
            return ops.reshape(y, (n, c_out, 1, 1))
        if self.as_transposed:
            # [out, in, k, k] -> flipped in space -> [in, out, k, k]
            return self.transposed(x, ops.transpose(ops.flip(weight, (2, 3)), (1, 0, 2, 3)))
        cols = self.ops.im2col(x, self.geometry)  # [N, in, H, W] (or [in, N, H, W]) -> [in * k * k, N, Ho, Wo]
        rows, n, ho, wo = cols.shape
        # [out, in * k * k] @ [in * k * k, N * Ho * Wo] -> [out, N, Ho, Wo] (-> [N, out, Ho, Wo])
        y = ops.reshape(
            self.ops.mm(ops.reshape(weight, (c_out, rows)), ops.reshape(cols, (rows, n * ho * wo))), (c_out, n, ho, wo)
        )
        return y if self.cm_out else self.ops.swap_nc(y)


class SNGemmConv2d(GemmConv2d):
    """A spectrally normalised conv (models.layers.SNConv2d) as GemmConv2d, with its running vector sn_u."""

    normalized_weight = SpectralNorm.normalized_weight

    def __init__(self, conv, precision: str = "fp32"):
        super().__init__(conv, precision)
        self.sn_u = conv.sn_u

    def construct(self, x):
        return _add_bias(self.convolve(x, self.normalized_weight()), self.bias)


class GemmConv2dTranspose(nn.Cell):
    """CONV_T (an nn.Conv2dTranspose) as one matrix product followed by Col2Im, the adjoint of GemmConv2d."""

    def __init__(self, conv_t, precision: str = "fp32"):
        super().__init__()
        self.weight, self.bias = conv_t.weight, conv_t.bias if conv_t.has_bias else None
        self.product = _TransposedProduct(conv_t.weight.shape[2], _square(conv_t.stride), _padding(conv_t), precision)

    def set_layouts(self, cm_in: bool, cm_out: bool) -> None:
        self.product.cm_in = cm_in  # (its output is always [N, out, Ho, Wo])

    def construct(self, x):
        return _add_bias(self.product(x, self.weight), self.bias)


class GemmDense(nn.Cell):
    """DENSE (an nn.Dense without activation) as the kernels' product x @ W^T, then the bias: used for bfloat16
    products (in float32, MindSpore's MatMul is as fast on these shapes)."""

    def __init__(self, dense, precision: str):
        super().__init__()
        self.weight, self.bias = dense.weight, dense.bias if dense.has_bias else None
        self.has_bias, self.activation_flag = dense.has_bias, False
        self.ops = load(precision)

    def construct(self, x):
        y = self.ops.mm_nt(x, self.weight)
        return y if self.bias is None else y + self.bias


class FusedLeakyReLU(nn.Cell):
    """nn.LeakyReLU in one pass forward and one backward (kernels' LeakyReLU)."""

    def __init__(self, alpha: float):
        super().__init__()
        self.slope = Tensor([alpha], mstype.float32)
        self.ops = load()

    def construct(self, x):
        return self.ops.leaky_relu(x, self.slope)


def _move_running_statistics(norm, mean, var, count: int):
    """Move NORM's (a MindSpore BatchNorm's) running statistics towards a batch's MEAN and biased VAR over COUNT
    values per channel, as its own training forward does: by momentum, with the unbiased variance."""
    keep = 1.0 - norm.momentum
    ops.assign(norm.moving_mean, norm.moving_mean * keep + ops.stop_gradient(mean) * norm.momentum)
    unbiased = ops.stop_gradient(var) * (count / max(count - 1, 1))
    ops.assign(norm.moving_variance, norm.moving_variance * keep + unbiased * norm.momentum)


def _bn_settings(norm, slope: float, cm_in: bool = False, cm_out: bool = False):
    # [eps, slope], shaped [2, 1, L]: the kernel reads the layouts from L: 1 [N, C, H, W] in and out, 2 out
    # [C, N, H, W], 3 in and out [C, N, H, W]
    layout = 3 if cm_in else 2 if cm_out else 1
    return Tensor(np.array([norm.eps, slope], np.float32).reshape(2, 1, 1).repeat(layout, 2))


def _batch_norm_relu(ops_, norm, settings, x, scale, shift):
    """Training: relu(x_hat * scale + shift) (leaky per SETTINGS), x_hat normalised with the batch's statistics,
    which move NORM's running ones as nn.BatchNorm2d does. SCALE and SHIFT [1, C] or [N, C] (per sample)."""
    y, mean, var = ops_.bn_ssr(x, scale, shift, settings)
    count = x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3] // norm.num_features
    _move_running_statistics(norm, mean, var, count)
    return y


class FusedBatchNormReLU(nn.Cell):
    """NORM (an nn.BatchNorm2d) then ReLU, or LeakyReLU with a SLOPE: in training one kernel each way (kernels'
    BatchNormScaleShiftReLU: two passes each way, where BatchNorm, ReLU and their gradients each read and write
    the whole activation); in inference NORM's own forward and the activation."""

    gives_cm = True  # (_plan_layouts)

    def __init__(self, norm, slope: float = 0.0):
        super().__init__()
        self.norm, self.slope = norm, slope
        self.ops = load()
        self.set_layouts(False, False)

    def set_layouts(self, cm_in: bool, cm_out: bool) -> None:
        """Take x as [C, N, H, W] (CM_IN, which needs CM_OUT) and give y as [C, N, H, W] (CM_OUT)."""
        self.cm_in, self.cm_out = cm_in, cm_out or cm_in
        self.settings = _bn_settings(self.norm, self.slope, self.cm_in, self.cm_out)

    def construct(self, x):
        if self.training:
            channels = self.norm.num_features
            scale, shift = ops.reshape(self.norm.gamma, (1, channels)), ops.reshape(self.norm.beta, (1, channels))
            return _batch_norm_relu(self.ops, self.norm, self.settings, x, scale, shift)
        y = self.norm(self.ops.swap_nc(x) if self.cm_in else x)
        y = ops.maximum(y, y * self.slope) if self.slope > 0 else ops.relu(y)
        return self.ops.swap_nc(y) if self.cm_out else y


class FusedConditionalBatchNormReLU(nn.Cell):
    """models.layers.ConditionalBatchNormReLU (CBN: its norm and its gamma and beta embeddings) with its
    training forward in one kernel each way, as FusedBatchNormReLU, the scale and shift per sample; in inference,
    its norm's own forward, then the scale, shift and ReLU in one pass (kernels' ScaleShiftReLU)."""

    def __init__(self, cbn):
        super().__init__()
        self.norm, self.gamma, self.beta = cbn.norm, cbn.gamma, cbn.beta
        self.settings = _bn_settings(cbn.norm, 0.0)
        self.ops = load()

    def construct(self, x, labels):
        scale, shift = self.gamma(labels), self.beta(labels)  # [N] -> [N, C] each
        if self.training:
            return _batch_norm_relu(self.ops, self.norm, self.settings, x, scale, shift)
        return self.ops.scale_shift_relu(self.norm(x), scale, shift)  # one pass, where broadcasting takes three


class FusedBatchNorm1dReLU(nn.Cell):
    """NORM (an nn.BatchNorm1d) then ReLU, for features [N, C]: in training one kernel each way (kernels'
    BatchNorm1dReLU, on the calling thread), where MindSpore's BatchNorm and ReLU and their gradients are four
    operators; in inference NORM's own forward and ReLU."""

    def __init__(self, norm):
        super().__init__()
        self.norm = norm
        self.settings = Tensor(np.array([norm.eps, 0.0], np.float32))  # [eps, slope]
        self.ops = load()

    def construct(self, x):
        if self.training:
            y, mean, var = self.ops.bn1d_relu(x, self.norm.gamma, self.norm.beta, self.settings)
            _move_running_statistics(self.norm, mean, var, x.shape[0])
            return y
        return ops.relu(self.norm(x))


class FoldedDenseStack(nn.Cell):
    """A stack of Dense layers, each followed by an optional BatchNorm1d and ReLU (the fc generator's), whose
    inference folds each BatchNorm into the Dense before it (W' = W * s, b' = (b - mean) * s + beta,
    s = gamma / sqrt(var + eps) per output feature) and runs each layer's product, bias and ReLU as one kernel
    pass. In training it is the stack as it was. LAYERS: the stack's cells; PLAN: (dense, fused norm or -1, relu)
    per Dense, indices into LAYERS; TAIL: the index from which the remaining cells (e.g. Tanh) run as they are."""

    def __init__(self, layers, plan, tail):
        super().__init__()
        self.layers = nn.CellList(layers)
        self.plan, self.tail = tuple(plan), tail
        self.ops = load()

    def construct(self, x):
        if self.training:
            for layer in self.layers:
                x = layer(x)
            return x
        for dense_at, norm_at, relu in self.plan:
            dense = self.layers[dense_at]
            weight, bias = dense.weight, dense.bias
            if norm_at >= 0:
                norm = self.layers[norm_at].norm  # a FusedBatchNorm1dReLU's BatchNorm1d
                scale = norm.gamma / ops.sqrt(norm.moving_variance + norm.eps)
                weight = weight * ops.reshape(scale, (-1, 1))
                bias = (bias - norm.moving_mean) * scale + norm.beta
            x = self.ops.dense_relu(x, weight, bias) if relu else self.ops.dense_bias(x, weight, bias)
        for layer in self.layers[self.tail :]:
            x = layer(x)
        return x


def _fold_plan(cells):
    """(plan, tail) of FoldedDenseStack for CELLS, or None unless they are Dense layers with bias, each followed by
    an optional fused BatchNorm1d + ReLU (FusedBatchNorm1dReLU and the Identity in the ReLU's place) or a ReLU, then
    only cells without parameters (the output activation)."""
    plan, i = [], 0
    while i < len(cells) and (type(cells[i]) is nn.Dense or isinstance(cells[i], GemmDense)):
        if not cells[i].has_bias or cells[i].activation_flag:
            return None
        following = cells[i + 1] if i + 1 < len(cells) else None
        if isinstance(following, FusedBatchNorm1dReLU):
            plan.append((i, i + 1, True))
            i += 3 if i + 2 < len(cells) and type(cells[i + 2]) is nn.Identity else 2
        elif type(following) is nn.ReLU:
            plan.append((i, -1, True))
            i += 2
        else:
            plan.append((i, -1, False))
            i += 1
    if any(list(cell.get_parameters()) for cell in cells[i:]):
        return None
    if not any(norm_at >= 0 for _, norm_at, _ in plan):
        return None  # nothing to fold
    return plan, i


def _replacement(cell, precision: str):
    """The kernel cell for one layer, or None."""
    if type(cell) is nn.Conv2d and _convertible(cell):
        return GemmConv2d(cell, precision)
    if type(cell) is SNConv2d and _convertible(cell):
        return SNGemmConv2d(cell, precision)
    if type(cell) is nn.Conv2dTranspose and _convertible(cell):
        return GemmConv2dTranspose(cell, precision)
    if type(cell) is nn.Dense and not cell.activation_flag and precision == "bf16" and len(cell.weight.shape) == 2:
        return GemmDense(cell, precision)
    if type(cell) is nn.LeakyReLU:
        return FusedLeakyReLU(float(cell.alpha))
    if type(cell) is ConditionalBatchNormReLU:
        return FusedConditionalBatchNormReLU(cell)
    return None


def _activation_slope(cell):
    """0 for nn.ReLU, the slope of nn.LeakyReLU (or of its kernel), None for anything else."""
    if type(cell) is nn.ReLU:
        return 0.0
    if type(cell) is nn.LeakyReLU:
        return float(cell.alpha)
    return None


def _accelerate_sequence(seq) -> None:
    """Inside a SequentialCell or CellList, a BatchNorm and the ReLU or LeakyReLU after it become one fused cell
    and an Identity (the pair's parameters stay in the BatchNorm, under the same names)."""
    keys = list(seq._cells.keys())
    for here, after in zip(keys, keys[1:]):
        cell, following = seq._cells[here], seq._cells[after]
        slope = _activation_slope(following)
        if slope is None:
            continue
        if type(cell) is nn.BatchNorm2d:
            seq._cells[here], seq._cells[after] = FusedBatchNormReLU(cell, slope), nn.Identity()
        elif type(cell) is nn.BatchNorm1d and slope == 0.0:
            seq._cells[here], seq._cells[after] = FusedBatchNorm1dReLU(cell), nn.Identity()


class SwapNC(nn.Cell):
    """[C, N, H, W] -> [N, C, H, W]: ends a sequence whose last layers passed their output on channel-major."""

    def __init__(self):
        super().__init__()
        self.ops = load()

    def construct(self, x):
        return self.ops.swap_nc(x)


_PASS_THROUGH = (FusedLeakyReLU, nn.Identity, nn.ReLU, nn.Tanh, nn.Sigmoid)  # elementwise: any layout in, same out


def _takes_cm(cell) -> bool:
    return isinstance(cell, (GemmConv2d, GemmConv2dTranspose, FusedBatchNormReLU))


def _plan_layouts(seq) -> None:
    """Inside SEQ (a SequentialCell of kernel cells), hand activations between kernels in [C, N, H, W], the layout
    a conv's product gives and the next conv's unfolding reads, instead of transposing them back to [N, C, H, W] at
    every layer and again in every gradient: a layer that can give it does when the next layer that is not
    elementwise takes it. SEQ's input and output stay [N, C, H, W] (a SwapNC is appended if its last layers
    give [C, N, H, W])."""
    cells = list(seq._cells.values())
    cm = False  # the layout of the activation flowing at this point of SEQ
    for i, cell in enumerate(cells):
        if isinstance(cell, _PASS_THROUGH):
            continue
        if not hasattr(cell, "set_layouts"):
            continue  # (cm is False here: a layer gives CM only to one that takes it)
        following = next((c for c in cells[i + 1 :] if not isinstance(c, _PASS_THROUGH)), None)
        give = getattr(cell, "gives_cm", False) and _takes_cm(following) if following is not None else False
        give = give or (cm and isinstance(cell, FusedBatchNormReLU))  # which gives what it takes
        cell.set_layouts(cm, give)
        cm = give
    if cm:
        seq._cells["to_sample_major"] = SwapNC()


def _walk(cell, precision: str):
    """Accelerate CELL's children, depth first; returns what replaces CELL itself (or CELL)."""
    if isinstance(cell, (nn.SequentialCell, nn.CellList)):
        _accelerate_sequence(cell)  # the pairs first, while their activations are MindSpore's
    for key, child in list(cell._cells.items()):
        if child is not None:
            cell._cells[key] = _walk(child, precision)
    if isinstance(cell, (nn.SequentialCell, nn.CellList)):
        if isinstance(cell, nn.SequentialCell):
            _plan_layouts(cell)
            cell.cell_list = list(cell._cells.values())
            folding = _fold_plan(cell.cell_list)
            if folding is not None:
                return FoldedDenseStack(cell.cell_list, *folding)
    return _replacement(cell, precision) or cell


def accelerate(net, precision: str = "fp32"):
    """NET with ms_gan's CPU kernels in place of the layers they compute faster: convolutions and transposed
    convolutions (also spectrally normalised), LeakyReLU, BatchNorm followed by ReLU or LeakyReLU, conditional
    BatchNorm, and stacks of Dense + BatchNorm1d + ReLU, which fold their BatchNorms when drawing. Every
    Parameter is kept (the same objects, the same names), so checkpoints, optimizers and EMA shadows see no
    difference. With PRECISION "bf16", the convolutions' and Dense layers' products round their operands to bfloat16
    and accumulate in float32 (weights, gradients, statistics and everything else stay float32). Changes NET in place
    and returns it (or, if NET itself is replaced, its replacement)."""
    names = {id(p): p.name for p in net.get_parameters()}
    net = _walk(net, precision)
    for param in net.get_parameters():
        param.name = names.get(id(param), param.name)
    return net
