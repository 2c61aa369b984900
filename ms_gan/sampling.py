"""Drawing images from a generator in inference mode (and picking among them as its discriminator says), and the
fixed noise a run is watched with."""

import mindspore as ms
import numpy as np

from ms_gan.errors import UserError


def grid_inputs(config, seed: int):
    """The fixed (z, labels) a run draws its per-epoch grid from: 8x8 samples, or for a conditional
    model a 10-column grid, one row per digit (or cluster), with the same z in each column, so only the label
    changes down a column."""
    rng = np.random.default_rng(seed)
    if config.conditional:
        cols = 10  # styles: one z per column
        z = np.tile(rng.standard_normal((cols, config.latent_dim), dtype=np.float32), (config.num_classes, 1))
        labels = np.repeat(np.arange(config.num_classes, dtype=np.int32), cols)
    else:
        z = rng.standard_normal((config.num_grid, config.latent_dim), dtype=np.float32)
        labels = np.zeros(config.num_grid, dtype=np.int32)
        cols = 8
    return z, labels, cols


def latent_codes(rng, num: int, latent_dim: int, truncation: float = 0.0) -> np.ndarray:
    """NUM latent codes from N(0, I), float32 [NUM, LATENT_DIM]. With TRUNCATION > 0, every component farther
    than TRUNCATION from 0 is drawn again until it is not: the truncation trick (Brock et al., 2019, BigGAN),
    which moves samples towards the generator's typical ones, trading variety (recall) for fidelity (precision).
    0 (off) draws exactly what rng.standard_normal would."""
    if truncation < 0:
        raise UserError(f"--truncation must be 0 (off) or positive, got {truncation}")
    z = rng.standard_normal((num, latent_dim), dtype=np.float32)
    if truncation > 0:
        outside = np.abs(z) > truncation
        while outside.any():
            z[outside] = rng.standard_normal(int(outside.sum()), dtype=np.float32)
            outside = np.abs(z) > truncation
    return z


def row_names(config, labels) -> list:
    """How grids name the rows of a conditional model's LABELS: the dataset's class names, or with --clusters
    the cluster ids ("k0", "k1", ...)."""
    from ms_gan.data import class_names

    return class_names(config.dataset, labels) if config.labelled else [f"k{i}" for i in labels]


def generate(net_g, z: np.ndarray, labels: np.ndarray, batch_size: int = 0) -> np.ndarray:
    """G(z, labels) in inference mode (BatchNorm uses running statistics), as float32 [N, 1, 28, 28], in
    batches of BATCH_SIZE (0: 500 for a generator with convolutions, whose unfolded columns grow with the batch,
    2,000 for one without)."""
    if not batch_size:
        convolutional = any("Conv" in type(cell).__name__ for _, cell in net_g.cells_and_names())
        batch_size = 500 if convolutional else 2000
    was_training = net_g.training
    net_g.set_train(False)
    try:
        return _draw(net_g, z, labels, batch_size)
    finally:
        net_g.set_train(was_training)


def draw_discriminator_picked(net_g, net_d, z: np.ndarray, labels: np.ndarray, wanted: np.ndarray, rng) -> tuple:
    """(images float32 [N, 1, 28, 28], labels [N]), N = len(WANTED): G(z, labels) drawn for every candidate in Z,
    and of those with each label, as many as WANTED (the labels the N samples are to have) holds, picked without
    replacement with odds exp(logit) from the discriminator NET_D, kept in drawing order. For a conditional
    model every digit keeps its own count, so the digits stay as balanced as they were asked for; an
    unconditional one's labels are all 0.

    Discriminator rejection sampling (Azadi et al., 2019): a discriminator D(x) = sigmoid(logit) trained to
    tell real from G's samples estimates p_data(x) / p_G(x) = D / (1 - D) = exp(logit), so samples of G
    kept with odds exp(logit) follow the real digits more closely than G does; the more candidates per kept
    sample, the closer. The picking uses the Gumbel top-k trick (logit + Gumbel noise, the highest kept),
    which is sampling without replacement with those odds, from RNG."""
    images = generate(net_g, z, labels)
    keys = discriminator_scores(net_d, images, labels) + rng.gumbel(size=len(z)).astype(np.float32)
    kept = []
    for label, count in zip(*np.unique(wanted, return_counts=True)):
        members = np.flatnonzero(labels == label)
        if len(members) < count:
            raise ValueError(f"{len(members)} candidates with label {label} for {count} samples")
        kept.append(members[np.argsort(-keys[members], kind="stable")[:count]])
    kept = np.sort(np.concatenate(kept))
    return images[kept], labels[kept]


def discriminator_scores(net_d, images: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """NET_D's logits float32 [N] for IMAGES (float in [-1, 1], [N, 1, 28, 28]), in inference mode
    (BatchNorm's running statistics)."""
    was_training = net_d.training
    net_d.set_train(False)
    try:
        return _draw(net_d, images, labels, batch_size).reshape(-1)
    finally:
        net_d.set_train(was_training)


def candidate_labels(wanted: np.ndarray, keep: float) -> np.ndarray:
    """The labels of the candidates to draw so that keeping a KEEP share of each label leaves the samples
    WANTED asks for: every label of WANTED, ceil(its count / KEEP) times, in order (int32)."""
    if not 0 < keep <= 1:
        raise UserError(f"--keep must be in (0, 1], got {keep}")
    values, counts = np.unique(wanted, return_counts=True)
    return np.repeat(values, np.ceil(counts / keep - 1e-9).astype(np.int64)).astype(np.int32)


def _draw(net, z, labels, batch_size: int) -> np.ndarray:
    chunks = []
    for i in range(0, len(z), batch_size):
        chunks.append(net(ms.Tensor(z[i : i + batch_size]), ms.Tensor(labels[i : i + batch_size])).asnumpy())
    return np.concatenate(chunks)


def slerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """STEPS points from z0 to z1 [latent] along the great circle, as float32 [STEPS, latent]. Straight
    lines between Gaussian samples pass through the low-norm middle that G never saw in training;
    spherical interpolation keeps the norm typical all the way."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    cos = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    theta = np.arccos(np.clip(cos, -1.0, 1.0))
    if theta < 1e-6:  # (anti)parallel-free degenerate case: the line is the arc
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    return ((np.sin((1 - t) * theta) * z0 + np.sin(t * theta) * z1) / np.sin(theta)).astype(np.float32)


def interpolation_inputs(config, steps: int, seed: int, label=None):
    """(z, labels, rows) for an interpolation strip between two latent points drawn from SEED: one row of
    STEPS images; for a conditional model without LABEL, one row per digit along the same path."""
    rng = np.random.default_rng(seed)
    path = slerp(*rng.standard_normal((2, config.latent_dim)), steps)
    if not config.conditional:
        return path, np.zeros(steps, dtype=np.int32), 1
    digits = [label] if label is not None else list(range(config.num_classes))
    return np.tile(path, (len(digits), 1)), np.repeat(np.array(digits, dtype=np.int32), steps), len(digits)


def style_grid_inputs(config, styles: int, seed: int):
    """(z, labels) for a digit x style grid: STYLES z's, the same z down each column, one row per digit."""
    rng = np.random.default_rng(seed)
    z = np.tile(rng.standard_normal((styles, config.latent_dim), dtype=np.float32), (config.num_classes, 1))
    return z, np.repeat(np.arange(config.num_classes, dtype=np.int32), styles)
