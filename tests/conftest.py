"""Shared fixtures: a small real MNIST subset on disk, and MindSpore set up for fast CPU tests."""

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from ms_gan.runtime import prepare_process  # noqa: E402

prepare_process("CPU")  # before anything imports MindSpore, as scripts/train.py does
import mindspore  # noqa: E402

mindspore.set_device("CPU")  # once: the device cannot change after the first op has run


_MNIST = []


def mnist_dir() -> str:
    """Real MNIST, found as train.py finds it: $MS_GAN_MNIST_DIR (an offline copy; .ci/run names the
    development copy), else the user cache, else downloaded into it ($MS_GAN_MNIST_URL: from a mirror)."""
    if not _MNIST:
        from ms_gan.data import resolve_data_dir
        from ms_gan.errors import UserError

        try:
            _MNIST.append(resolve_data_dir("", "", "mnist"))
        except UserError as e:
            pytest.fail(f"the tests need real MNIST: {e}")
    return _MNIST[0]


def real_subset(n_train: int, n_test: int):
    """The first N real MNIST images of each split."""
    from ms_gan.data import read_split

    return read_split(mnist_dir(), "train", n_train), read_split(mnist_dir(), "test", n_test)


def real_mnist_dir(root: str, n_train: int, n_test: int) -> tuple:
    """Write the first N real digits of each split to ROOT in the MNIST_Data layout; returns the train split."""
    from ms_gan.data import write_split

    (train_x, train_y), (test_x, test_y) = real_subset(n_train, n_test)
    write_split(root, "train", train_x, train_y)
    write_split(root, "test", test_x, test_y)
    return train_x, train_y


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory):
    """MNIST_Data layout with 256 real training and 64 real test digits."""
    root = str(tmp_path_factory.mktemp("tiny_mnist"))
    real_mnist_dir(root, 256, 64)
    return root


@pytest.fixture
def graph_or_pynative(request):
    import mindspore as ms

    mode = request.param
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    yield mode
    ms.set_context(mode=ms.PYNATIVE_MODE)


def small_config(model: str, **overrides):
    from ms_gan.config import TrainConfig

    fields = dict(model=model, batch_size=8, latent_dim=16, ngf=8, ndf=8, num_workers=1)
    fields.update(overrides)
    return TrainConfig(**fields).settled()


def numpy_params(cell) -> dict:
    return {p.name: p.asnumpy().copy() for p in cell.trainable_params()}


def rng_inputs(config, n: int, seed: int = 0):
    import mindspore as ms

    rng = np.random.default_rng(seed)
    real = ms.Tensor(rng.uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32))
    z = ms.Tensor(rng.standard_normal((n, config.latent_dim)).astype(np.float32))
    labels = ms.Tensor(rng.integers(0, 10, n).astype(np.int32))
    return real, z, labels
