"""The fc generator for drawing only: in inference each BatchNorm is a fixed scale and shift per feature, so it
folds into the Dense layer before it, and drawing runs one matrix product and one activation per layer."""

import mindspore as ms
import numpy as np
from mindspore import nn, ops

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
        self.set_train(False)

    def load_from(self) -> "FoldedFCGenerator":
        """Fold the source generator's current weights and running statistics into this copy's layers."""
        for layer, (dense, norm) in zip(self.layers, self.pairs):
            weight, bias = dense.weight.asnumpy().astype(np.float64), dense.bias.asnumpy().astype(np.float64)
            if norm is not None:
                variance = norm.moving_variance.asnumpy().astype(np.float64)
                scale = norm.gamma.asnumpy() / np.sqrt(variance + norm.eps)
                weight = weight * scale[:, None]
                bias = (bias - norm.moving_mean.asnumpy()) * scale + norm.beta.asnumpy()
            layer.weight.set_data(ms.Tensor(weight.astype(np.float32)))
            layer.bias.set_data(ms.Tensor(bias.astype(np.float32)))
        return self

    def construct(self, z, labels=None):
        x = z
        for layer in self.layers[:-1]:
            x = self.relu(layer(x))
        # [N, 784] -> [N, 1, 28, 28]
        return ops.reshape(self.tanh(self.layers[-1](x)), (-1, 1, 28, 28))
