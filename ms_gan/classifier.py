"""A small MNIST classifier that reads generated digits: which digit is this, and how sure?"""

import os

import numpy as np

from ms_gan.errors import UserError

DEFAULT_PATH = os.path.join("data", "mnist_classifier.ckpt")


def build_classifier():
    from mindspore import nn

    # [N,1,28,28] -conv5+pool-> [N,32,14,14] -conv3+pool-> [N,64,7,7] -> [N,128] -> [N,10]
    return nn.SequentialCell(
        nn.Conv2d(1, 32, 5, pad_mode="same"), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, pad_mode="same"), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Dense(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(p=0.3), nn.Dense(128, 10),
    )


def _as_input(images_u8: np.ndarray) -> np.ndarray:
    return (images_u8.reshape(-1, 1, 28, 28).astype(np.float32) / 127.5 - 1.0).astype(np.float32)


def predict(net, images_u8: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """uint8 [N, 28, 28] -> predicted digit [N]."""
    return features_and_probs(net, images_u8, batch_size)[1].argmax(1)


def features_and_probs(net, images_u8: np.ndarray, batch_size: int = 500):
    """uint8 [N, 28, 28] -> (penultimate features [N, 128], class probabilities [N, 10]), in inference mode."""
    import mindspore as ms
    from mindspore import ops

    net.set_train(False)
    body, head = net[:-2], net[-1]  # features: everything up to the last ReLU; Dropout is identity at inference
    features, probs = [], []
    for i in range(0, len(images_u8), batch_size):
        f = body(ms.Tensor(_as_input(images_u8[i:i + batch_size])))
        features.append(f.asnumpy())
        probs.append(ops.softmax(head(f), axis=1).asnumpy())
    return np.concatenate(features).astype(np.float64), np.concatenate(probs).astype(np.float64)


def train_classifier(data_dir: str, path: str, epochs: int = 4, seed: int = 0, log=print):
    """Train on DATA_DIR/train, report accuracy on DATA_DIR/test, save to PATH; returns (net, test accuracy)."""
    import mindspore as ms
    from mindspore import nn, ops

    from ms_gan.checkpoint import save_cell
    from ms_gan.data import read_split

    ms.set_seed(seed)
    train_x, train_y = read_split(data_dir, "train")
    test_x, test_y = read_split(data_dir, "test")
    net = build_classifier()
    opt = nn.Adam(net.trainable_params(), learning_rate=1e-3)

    def forward(x, y):
        return ops.cross_entropy(net(x), y)

    grad_fn = ms.value_and_grad(forward, None, opt.parameters)

    @ms.jit
    def step(x, y):
        loss, grads = grad_fn(x, y)
        opt(grads)
        return loss

    rng = np.random.default_rng(seed)
    batch = 128
    for epoch in range(1, epochs + 1):
        net.set_train(True)
        order = rng.permutation(len(train_x))
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i:i + batch]
            step(ms.Tensor(_as_input(train_x[idx])), ms.Tensor(train_y[idx].astype(np.int32)))
        accuracy = float((predict(net, test_x) == test_y).mean())
        log(f"classifier epoch {epoch}/{epochs}: test accuracy {accuracy:.4f}")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    save_cell(net, path)
    return net, accuracy


def load_or_train_classifier(path: str, data_dir: str, log=print):
    """The cached classifier at PATH, trained on DATA_DIR first if it is not there yet."""
    from ms_gan.checkpoint import load_into

    if os.path.isfile(path):
        net = build_classifier()
        load_into(net, path, what="evaluation classifier")
        return net
    if not data_dir:
        raise UserError(f"no classifier at {path}; pass --data_dir so one can be trained")
    log(f"training the evaluation classifier once on {data_dir}, cached at {path}")
    return train_classifier(data_dir, path, log=log)[0]
