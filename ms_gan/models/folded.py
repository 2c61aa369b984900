"""The fc generator for drawing only: in inference each BatchNorm is a fixed scale and shift per feature, so it
folds into the Dense layer before it, and drawing runs one matrix product and one activation per layer."""

import mindspore as ms
import numpy as np
from mindspore import nn, ops

from ms_gan.kernels import load, resolve
from ms_gan.models.fc import FCGenerator


class FoldedFCGenerator(nn.Cell):
    """FCGenerator(z) in inference mode, to float32 rounding, with its three BatchNorm1d layers folded into the
    Dense layers before them: W' = W * s, b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps) per output
    feature. Its weights are a copy: `load_from` refreshes them from the generator before each drawing."""

    def __init__(self, source: FCGenerator):
        super().__init__()
        # (Dense, the BatchNorm1d after it or None), in order; every Dense but the last is followed by ReLU
        self.pairs = []
        cells = list(source.model.cells())
        for i, cell in enumerate(cells):
            if isinstance(cell, nn.Dense):
                following = cells[i + 1] if i + 1 < len(cells) else None
                self.pairs.append((cell, following if isinstance(following, nn.BatchNorm1d) else None))
        self.layers = nn.CellList([nn.Dense(dense.in_channels, dense.out_channels) for dense, _ in self.pairs])
        self.relu, self.tanh = nn.ReLU(), nn.Tanh()
        # on CPU, each hidden layer's product, bias and ReLU as one pass of ms_gan's kernels (kernels/gemm.cc)
        self.kernels = load() if resolve("auto", ms.get_context("device_target"), "graph") == "gemm" else None
        self.set_train(False)

    def load_from(self) -> "FoldedFCGenerator":
        """Fold the source generator's current weights and running statistics into this copy's layers."""
        for layer, (dense, norm) in zip(self.layers, self.pairs):
            weight, bias = np.array(dense.weight.asnumpy()), dense.bias.asnumpy().astype(np.float64)  # copies
            if norm is not None:  # the per-feature terms in float64, the weights scaled once in float32
                variance = norm.moving_variance.asnumpy().astype(np.float64)
                scale = norm.gamma.asnumpy() / np.sqrt(variance + norm.eps)
                weight = weight * scale.astype(np.float32)[:, None]
                bias = (bias - norm.moving_mean.asnumpy()) * scale + norm.beta.asnumpy()
            layer.weight.set_data(ms.Tensor(weight))
            layer.bias.set_data(ms.Tensor(bias.astype(np.float32)))
        return self

    def construct(self, z, labels=None):
        x = z
        last = self.layers[-1]
        if self.kernels is None:
            for layer in self.layers[:-1]:
                x = self.relu(layer(x))
            x = last(x)
        else:
            for layer in self.layers[:-1]:
                x = self.kernels.dense_relu(x, layer.weight, layer.bias)
            x = self.kernels.dense_bias(x, last.weight, last.bias)
        # [N, 784] -> [N, 1, 28, 28]
        return ops.reshape(self.tanh(x), (-1, 1, 28, 28))
