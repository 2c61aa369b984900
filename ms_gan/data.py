"""MNIST on disk (checking, downloading) and the dataset pipeline that feeds training."""

import os
import struct

import numpy as np

from ms_gan.errors import UserError

IMAGE_SIZE = 28
DEFAULT_DATA_DIR = os.path.join("data", "MNIST_Data")
SPLIT_FILES = {  # usage -> (images, labels), the names MindSpore's MnistDataset looks for
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_POINTER = "point --data_dir at a local MNIST_Data copy (a folder holding train/ and test/ with the raw IDX files)"


def check_split(data_dir: str, usage: str = "train") -> int:
    """Check DIR/usage holds a complete, 28x28 MNIST split; return its image count, or raise UserError."""
    split_dir = os.path.join(data_dir, usage)
    images_name, labels_name = SPLIT_FILES[usage]
    images_path, labels_path = os.path.join(split_dir, images_name), os.path.join(split_dir, labels_name)
    for path in (images_path, labels_path):
        if not os.path.isfile(path):
            raise UserError(f"MNIST {usage} split incomplete: {path} is missing; {_POINTER}")
    n_images, rows, cols = _read_header(images_path, magic=2051, dims=3)
    (n_labels,) = _read_header(labels_path, magic=2049, dims=1)
    if (rows, cols) != (IMAGE_SIZE, IMAGE_SIZE):
        raise UserError(f"{images_path} holds {rows}x{cols} images; ms_gan models expect 28x28")
    if n_images != n_labels:
        raise UserError(f"{images_path} has {n_images} images but {labels_path} has {n_labels} labels")
    if n_images == 0:
        raise UserError(f"{images_path} holds no images")
    for path, expected in ((images_path, 16 + n_images * rows * cols), (labels_path, 8 + n_labels)):
        size = os.path.getsize(path)
        if size != expected:
            raise UserError(f"{path} is truncated or corrupt: {size} bytes, its header implies {expected}")
    return n_images


def _read_header(path: str, magic: int, dims: int) -> tuple:
    with open(path, "rb") as f:
        head = f.read(4 + 4 * dims)
    if len(head) < 4 + 4 * dims or struct.unpack(">I", head[:4])[0] != magic:
        raise UserError(f"{path} is not an uncompressed MNIST IDX file (bad or missing header)")
    return struct.unpack(f">{dims}I", head[4:])


def resolve_data_dir(data_dir: str, data_url: str) -> str:
    """Return a checked MNIST_Data folder: DATA_DIR as given, else ./data/MNIST_Data, downloaded if absent."""
    if data_dir:
        if not os.path.isdir(data_dir):
            raise UserError(f"--data_dir {data_dir} does not exist; {_POINTER}")
        check_split(data_dir, "train")
        return data_dir
    if not os.path.isdir(os.path.join(DEFAULT_DATA_DIR, "train")):
        download_mnist(data_url, os.path.dirname(DEFAULT_DATA_DIR))
    check_split(DEFAULT_DATA_DIR, "train")
    return DEFAULT_DATA_DIR


def download_mnist(url: str, dest_root: str) -> str:
    """Fetch and unpack the tutorial's MNIST_Data.zip into DEST_ROOT/MNIST_Data; errors are one line."""
    from download import download

    print(f"MNIST not found under {dest_root}; downloading {url}", flush=True)
    try:
        download(url, dest_root, kind="zip", replace=True, progressbar=False, verbose=False, timeout=60)
    except Exception as e:  # the download package raises plain Exceptions, URLErrors, BadZipFile, ...
        reason = " ".join(str(e).split()) or type(e).__name__
        raise UserError(f"could not download MNIST from {url} ({reason}); {_POINTER}") from None
    target = os.path.join(dest_root, "MNIST_Data")
    if not os.path.isdir(os.path.join(target, "train")):
        raise UserError(f"{url} did not unpack to MNIST_Data/train under {dest_root}; {_POINTER}")
    return target


class _LatentSampler:
    """Batch-level map: scales uint8 images to [-1, 1] NCHW and draws a fresh standard-normal z.

    One vectorised call per batch is several times cheaper than per-sample Python maps, and a
    single seeded generator makes the noise sequence reproducible for a given seed.
    """

    def __init__(self, latent_dim: int, seed: int, mix: bool = False):
        self.latent_dim = latent_dim
        self.rng = np.random.default_rng(seed)
        # its own stream, so asking for `mix` leaves z exactly as it is without it
        self.mix_rng = np.random.default_rng([seed, 1]) if mix else None

    def __call__(self, images):
        # [N, 28, 28, 1] uint8 -> [N, 1, 28, 28] float32 in [-1, 1]
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32)
        images = images * np.float32(1 / 127.5) - np.float32(1.0)
        latent = self.rng.standard_normal((images.shape[0], self.latent_dim), dtype=np.float32)
        if self.mix_rng is None:
            return images, latent
        return images, latent, self.mix_rng.random((images.shape[0], 1, 1, 1), dtype=np.float32)


def create_dataset(data_dir: str, batch_size: int, latent_dim: int, conditional: bool = False,
                   usage: str = "train", seed: int = 0, num_workers: int = 2, shuffle: bool = True,
                   num_samples: int = None, classes=None, mix: bool = False):
    """MNIST -> batches of `image` [N,1,28,28] float32 in [-1,1], `latent_code` [N,latent_dim] float32
    (fresh every epoch), for conditional models `label` [N] int32, and with MIX `mix` [N,1,1,1] float32
    uniform in [0, 1) (WGAN-GP's interpolation weights, drawn here so a resumed run replays them).
    Shuffled, remainder dropped.
    CLASSES (e.g. [8]) keeps only those digits; NUM_SAMPLES keeps only the first N images."""
    import mindspore as ms
    import mindspore.dataset as ds

    n_images = check_split(data_dir, usage)
    if num_samples:
        n_images = min(n_images, num_samples)
    sampler = None
    if classes:
        labels = read_split(data_dir, usage, limit=n_images)[1]
        indices = np.flatnonzero(np.isin(labels, classes)).tolist()
        n_images = len(indices)
        sampler = ds.SubsetRandomSampler(indices) if shuffle else ds.SubsetSampler(indices)
    if batch_size > n_images:
        which = f" of digits {', '.join(map(str, classes))}" if classes else ""
        raise UserError(f"--batch_size {batch_size} is larger than the {n_images} images{which} in {data_dir}/{usage}")
    ds.config.set_seed(seed)
    if sampler is not None:
        dataset = ds.MnistDataset(os.path.join(data_dir, usage), usage=usage, sampler=sampler,
                                  num_parallel_workers=num_workers)
    else:
        dataset = ds.MnistDataset(os.path.join(data_dir, usage), usage=usage, shuffle=shuffle,
                                  num_parallel_workers=num_workers, num_samples=num_samples)
    columns = ["image", "label"] if conditional else ["image"]
    dataset = dataset.project(columns)
    if conditional:
        dataset = dataset.map(ds.transforms.TypeCast(ms.int32), input_columns="label")
    dataset = dataset.batch(batch_size, drop_remainder=True)
    noise = ["image", "latent_code"] + (["mix"] if mix else [])
    dataset = dataset.map(_LatentSampler(latent_dim, seed, mix), input_columns="image", output_columns=noise,
                          num_parallel_workers=1)
    return dataset.project(noise[:2] + (["label"] if conditional else []) + noise[2:])


def write_split(data_dir: str, usage: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write uint8 images [N, 28, 28] and labels [N] as DATA_DIR/USAGE in MNIST's raw IDX layout,
    so any 28x28 grayscale set can be trained on with --data_dir."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"images must be uint8 [N, 28, 28], got {images.dtype} {images.shape}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must be [N] = [{len(images)}], got {labels.shape}")
    split_dir = os.path.join(data_dir, usage)
    os.makedirs(split_dir, exist_ok=True)
    images_name, labels_name = SPLIT_FILES[usage]
    with open(os.path.join(split_dir, images_name), "wb") as f:
        f.write(struct.pack(">4I", 2051, len(images), IMAGE_SIZE, IMAGE_SIZE) + images.tobytes())
    with open(os.path.join(split_dir, labels_name), "wb") as f:
        f.write(struct.pack(">2I", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def read_split(data_dir: str, usage: str = "train", limit: int = None):
    """DATA_DIR/USAGE -> (uint8 images [N, 28, 28], uint8 labels [N]), checked first; LIMIT keeps the first N."""
    n = check_split(data_dir, usage)
    n = min(n, limit) if limit else n
    images_name, labels_name = SPLIT_FILES[usage]
    images = np.fromfile(os.path.join(data_dir, usage, images_name), dtype=np.uint8, count=n * 784, offset=16)
    labels = np.fromfile(os.path.join(data_dir, usage, labels_name), dtype=np.uint8, count=n, offset=8)
    return images.reshape(n, IMAGE_SIZE, IMAGE_SIZE), labels
