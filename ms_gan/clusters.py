"""Labels without labels: k-means clusters of the training images, which the conditional networks learn in place of
the digits (--clusters), and the cluster ids to draw from such a generator."""

import numpy as np

from ms_gan.errors import UserError


def kmeans(x: np.ndarray, k: int, seed: int, max_iters: int = 100) -> np.ndarray:
    """Centroids float32 [K, D] of the rows of X (float32 [N, D]): k-means++ seeding from SEED, then Lloyd's
    iterations until no centroid moves or MAX_ITERS. An emptied cluster keeps its centroid."""
    if not 2 <= k <= len(x):
        raise UserError(f"--clusters needs 2 to {len(x)} clusters for {len(x)} images, got {k}")
    rng = np.random.default_rng(seed)
    centroids = [x[rng.integers(len(x))]]
    nearest = ((x - centroids[0]) ** 2).sum(1)  # squared distance to the nearest centroid so far
    for _ in range(k - 1):  # each new seed drawn with odds its squared distance (Arthur & Vassilvitskii, 2007)
        centroids.append(x[rng.choice(len(x), p=nearest / nearest.sum())])
        nearest = np.minimum(nearest, ((x - centroids[-1]) ** 2).sum(1))
    centroids = np.stack(centroids)
    for _ in range(max_iters):
        members = assign(x, centroids)
        onehot = np.zeros((k, len(x)), dtype=np.float32)
        onehot[members, np.arange(len(x))] = 1.0
        counts = onehot.sum(1)
        # each centroid moves to its members' mean: one product sums them all
        moved = np.where(counts[:, None] > 0, (onehot @ x) / np.maximum(counts, 1.0)[:, None], centroids)
        if np.array_equal(moved, centroids):
            break
        centroids = moved.astype(np.float32)
    return centroids


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """int32 [N]: the nearest of CENTROIDS [K, D] to each row of X [N, D]."""
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2, and |x|^2 is the same for every c
    return np.argmin((centroids ** 2).sum(1) - 2.0 * x @ centroids.T, axis=1).astype(np.int32)


def pixels(images_u8: np.ndarray) -> np.ndarray:
    """uint8 images [N, ...] -> float32 [N, pixels] in [0, 1], the space the clusters live in."""
    return images_u8.reshape(len(images_u8), -1).astype(np.float32) / np.float32(255.0)


def fit(images_u8: np.ndarray, k: int, seed: int) -> tuple:
    """(centroids float32 [K, 784], shares [K]: each cluster's part of the images, as floats) of uint8 IMAGES."""
    x = pixels(images_u8)
    centroids = kmeans(x, k, seed)
    counts = np.bincount(assign(x, centroids), minlength=k)
    return centroids, [float(c) for c in counts / counts.sum()]


def draw_counts(shares, num: int) -> np.ndarray:
    """int32 [NUM]: cluster ids in blocks, cluster j NUM * SHARES[j] times, rounded so the counts add up to NUM
    (largest remainders first, ties to the lower id): samples follow the training images' clusters, and
    the same NUM always gets the same ids."""
    exact = np.asarray(shares, dtype=np.float64) * num
    counts = np.floor(exact).astype(np.int64)
    short = num - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return np.repeat(np.arange(len(counts), dtype=np.int32), counts)


class ClusterLabeller:
    """Batch-level map (image uint8 [N, 28, 28, 1], label) -> (image, its cluster id int32 [N]): the nearest
    centroid replaces the dataset's label, so the labels are never used."""

    def __init__(self, centroids: np.ndarray):
        self.centroids = np.asarray(centroids, dtype=np.float32)

    def __call__(self, images, labels):
        return images, assign(pixels(images), self.centroids)
