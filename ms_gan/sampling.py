"""Drawing images from a generator in inference mode, and the fixed noise a run is watched with."""

import numpy as np


def grid_inputs(config, seed: int):
    """The fixed (z, labels) a run draws its per-epoch grid from: 8x8 samples, or for a conditional
    model a 10x10 grid, one row per digit, with the same z in each column, so only the label changes down a column."""
    rng = np.random.default_rng(seed)
    if config.conditional:
        cols = config.num_classes
        z = np.tile(rng.standard_normal((cols, config.latent_dim), dtype=np.float32), (config.num_classes, 1))
        labels = np.repeat(np.arange(config.num_classes, dtype=np.int32), cols)
    else:
        z = rng.standard_normal((config.num_grid, config.latent_dim), dtype=np.float32)
        labels = np.zeros(config.num_grid, dtype=np.int32)
        cols = 8
    return z, labels, cols


def generate(net_g, z: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """G(z, labels) in inference mode (BatchNorm uses running statistics), as float32 [N, 1, 28, 28]."""
    import mindspore as ms

    was_training = net_g.training
    net_g.set_train(False)
    try:
        chunks = []
        for i in range(0, len(z), batch_size):
            chunks.append(net_g(ms.Tensor(z[i:i + batch_size]), ms.Tensor(labels[i:i + batch_size])).asnumpy())
        return np.concatenate(chunks)
    finally:
        net_g.set_train(was_training)
