"""A small MNIST classifier that reads generated digits: which digit is this, and how sure?

The metrics live in its feature space, so they mean the same everywhere only if everyone uses the same
weights, as FID uses one frozen Inception network. ms_gan ships one classifier per dataset in assets/,
made by scripts/train_classifier.py (seeded, on the real data), and records its test accuracy and SHA-256
in assets/classifiers.json. Metrics files name the classifier's hash."""

import json
import os

import mindspore as ms
import numpy as np
from mindspore import nn, ops

from ms_gan.checkpoint import load_into, save_cell
from ms_gan.config import ASSETS, default_classifier
from ms_gan.data import read_split
from ms_gan.errors import UserError
from ms_gan.fileio import sha256, write_json
from ms_gan.kernels import accelerate, resolve
from ms_gan.models.layers import conv

REGISTRY = os.path.join(ASSETS, "classifiers.json")


def build_classifier():
    """The classifier's layers: MindSpore's, with ms_gan's CPU kernels swapped in on CPU, where MindSpore's own
    convolutions were ~10x slower in GRAPH mode and ~40x in PyNative mode (same parameters either way). The
    classifier is differentiated at most once (its own training), so the kernels serve it in PyNative mode too,
    which the generators' WGAN-GP rules out."""
    # [N,1,28,28] -conv5+pool-> [N,32,14,14] -conv3+pool-> [N,64,7,7] -> [N,128] -> [N,10]
    net = nn.SequentialCell(
        conv(1, 32, 5, 1, 2),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        conv(32, 64, 3, 1, 1),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Dense(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(p=0.3),
        nn.Dense(128, 10),
    )
    return accelerate(net) if resolve("auto", ms.get_context("device_target"), "graph") == "gemm" else net


def _as_input(images_u8: np.ndarray) -> np.ndarray:
    return (images_u8.reshape(-1, 1, 28, 28).astype(np.float32) / 127.5 - 1.0).astype(np.float32)


def predict(net, images_u8: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """uint8 [N, 28, 28] -> predicted digit [N]."""
    return features_and_probs(net, images_u8, batch_size)[1].argmax(1)


def features_and_probs(net, images_u8: np.ndarray, batch_size: int = 500):
    """uint8 [N, 28, 28] -> (penultimate features [N, 128], class probabilities [N, 10]), in inference mode."""

    net.set_train(False)
    body, head = net[:-2], net[-1]  # features: everything up to the last ReLU; Dropout is identity at inference
    features, probs = [], []
    for i in range(0, len(images_u8), batch_size):
        f = body(ms.Tensor(_as_input(images_u8[i : i + batch_size])))
        features.append(f.asnumpy())
        probs.append(ops.softmax(head(f), axis=1).asnumpy())
    return np.concatenate(features).astype(np.float64), np.concatenate(probs).astype(np.float64)


def train_classifier(data_dir: str, path: str, epochs: int = 8, seed: int = 0, log=print):
    """Train on DATA_DIR/train, report accuracy on DATA_DIR/test, save to PATH;
    returns (net, test accuracy, training images)."""

    ms.set_seed(seed)
    train_x, train_y = read_split(data_dir, "train")
    test_x, test_y = read_split(data_dir, "test")
    net = build_classifier()
    batch = 128
    steps = len(train_x) // batch
    # Adam, its learning rate falling from 1e-3 to 1e-5 along a cosine over the run
    schedule = nn.cosine_decay_lr(1e-5, 1e-3, steps * epochs, steps, epochs)
    opt = nn.Adam(net.trainable_params(), learning_rate=schedule)

    def forward(x, y):
        return ops.cross_entropy(net(x), y)

    grad_fn = ms.value_and_grad(forward, None, opt.parameters)

    @ms.jit
    def step(x, y):
        loss, grads = grad_fn(x, y)
        opt(grads)
        return loss

    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        net.set_train(True)
        order = rng.permutation(len(train_x))
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i : i + batch]
            step(ms.Tensor(_as_input(train_x[idx])), ms.Tensor(train_y[idx].astype(np.int32)))
        accuracy = float((predict(net, test_x) == test_y).mean())
        log(f"classifier epoch {epoch}/{epochs}: test accuracy {accuracy:.4f}")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    save_cell(net, path)
    return net, accuracy, len(train_x)


def shipped_path(dataset: str) -> str:
    return default_classifier(dataset)


def registry() -> dict:
    """{dataset: {file, sha256, test_accuracy, train_images, epochs, seed, command}} of the shipped classifiers."""
    if not os.path.isfile(REGISTRY):
        return {}
    with open(REGISTRY) as f:
        return json.load(f)


def install_classifier(dataset: str, entry: dict) -> None:

    entries = registry()
    entries[dataset] = entry
    write_json(REGISTRY, entries)


def classifier_id(path: str) -> str:
    """What metrics files record about the classifier that made them: its file name and SHA-256 prefix."""

    return f"{os.path.basename(path)} sha256:{sha256(path)[:16]}"


def load_classifier(path: str):
    """The evaluation classifier at PATH (ms_gan's shipped one unless the user trained another)."""

    if not os.path.isfile(path):
        raise UserError(
            f"no evaluation classifier at {path}; make one with scripts/train_classifier.py "
            f"--output {path}, or leave --classifier unset to use the shipped one"
        )
    net = build_classifier()
    load_into(net, path, what="evaluation classifier")
    return net
