"""MNIST-like data on disk (finding, unpacking, checking, downloading) and the pipeline that feeds training."""

import contextlib
import gzip
import hashlib
import logging
import os
import shutil
import struct
import zlib

import mindspore as ms
import mindspore.dataset as ds
import numpy as np
from download import download

from ms_gan.errors import UserError, one_line
from ms_gan.fileio import remove_quietly, temp_path, user_cache_dir

log = logging.getLogger(__name__)

IMAGE_SIZE = 28
SPLIT_FILES = {  # usage -> (images, labels), the names MindSpore's MnistDataset looks for
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DATASETS = {
    # name -> its folder in the user's data cache, where else to look before downloading, what to download
    # "env": the environment variables that name an offline copy and another download source (a mirror)
    "mnist": {
        "title": "MNIST",
        "dir": "MNIST_Data",
        "local": (),
        "env": ("MS_GAN_MNIST_DIR", "MS_GAN_MNIST_URL"),
        "url": "https://mindspore-website.obs.cn-north-4.myhuaweicloud.com/notebook/datasets/MNIST_Data.zip",
    },
    "fashion_mnist": {
        "title": "Fashion-MNIST",
        "dir": "FashionMNIST_Data",
        "env": ("MS_GAN_FASHION_MNIST_DIR", "MS_GAN_FASHION_MNIST_URL"),
        "local": ("/usr/share/datasets/fashion-mnist",),  # Debian: apt install dataset-fashion-mnist
        "url": FASHION_URL,
        "classes": ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"),
    },
}


def class_names(dataset: str, labels) -> list:
    """How grids label their rows: the dataset's class names (Fashion-MNIST), else the digits themselves."""
    names = DATASETS.get(dataset, {}).get("classes")
    return [names[i] if names else str(i) for i in labels]


def default_data_dir(dataset: str) -> str:
    """Where DATASET is downloaded to when --data_dir is not given: the user's cache, not the current folder."""
    return user_cache_dir("data", DATASETS[dataset]["dir"])


_POINTER = (
    "point --data_dir at a local copy (a folder holding train/ and test/, or the four files side by "
    "side, as raw or gzipped IDX)"
)


def split_dir(data_dir: str, usage: str = "train") -> str:
    """The folder holding USAGE's raw IDX files, as MnistDataset reads them. Accepted: DIR/usage/ (MindSpore's
    MNIST_Data layout) or DIR/ itself (the original distribution's), raw or gzipped (.gz files are unpacked
    once into the user's cache). Raises UserError naming the missing file."""
    names = SPLIT_FILES[usage]
    candidates = [os.path.join(data_dir, usage), data_dir]
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, n)) for n in names):
            return folder
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, n + ".gz")) for n in names):
            return _gunzip_split(folder, usage)
    folder = next(
        (c for c in candidates if any(os.path.isfile(os.path.join(c, n + z)) for n in names for z in ("", ".gz"))),
        candidates[0],
    )
    missing = next(n for n in names if not os.path.isfile(os.path.join(folder, n)))
    raise UserError(f"{usage} split incomplete: {os.path.join(folder, missing)} is missing; {_POINTER}")


def _gunzip_split(folder: str, usage: str) -> str:
    """Unpack FOLDER's gzipped USAGE files into the cache (once; atomically); return the cache folder."""

    source = os.path.abspath(folder)
    key = hashlib.sha1(source.encode()).hexdigest()[:12]
    target = user_cache_dir("unpacked", f"{os.path.basename(source) or 'root'}-{key}", usage)
    for name in SPLIT_FILES[usage]:
        packed, unpacked = os.path.join(source, name + ".gz"), os.path.join(target, name)
        if os.path.isfile(unpacked) and os.path.getmtime(unpacked) >= os.path.getmtime(packed):
            continue
        try:
            os.makedirs(target, exist_ok=True)
            tmp = temp_path(unpacked)
            with gzip.open(packed, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, unpacked)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise UserError(f"cannot unpack {packed} into {target}: {getattr(e, 'strerror', None) or e}") from None
    return target


def check_split(data_dir: str, usage: str = "train") -> int:
    """Check DATA_DIR holds a complete, 28x28 split USAGE (see split_dir); its image count, or a UserError."""
    folder = split_dir(data_dir, usage)
    images_name, labels_name = SPLIT_FILES[usage]
    images_path, labels_path = os.path.join(folder, images_name), os.path.join(folder, labels_name)
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
        raise UserError(f"{path} is not an MNIST IDX file (bad or missing header)")
    return struct.unpack(f">{dims}I", head[4:])


def resolve_data_dir(data_dir: str, data_url: str = "", dataset: str = "mnist") -> str:
    """Return a checked data folder, as an absolute path (runs must not depend on the folder they start from):
    DATA_DIR as given; else DATASET's folder in the user's cache, else a local system copy (Fashion-MNIST:
    Debian's dataset-fashion-mnist), else the cache folder, downloaded from DATA_URL (default: the
    dataset's own)."""
    if data_dir:
        if not os.path.isdir(data_dir):
            what = "is a file, not a folder" if os.path.exists(data_dir) else "does not exist"
            raise UserError(f"--data_dir {data_dir} {what}; {_POINTER}")
        check_split(data_dir, "train")
        return os.path.abspath(data_dir)
    spec = DATASETS[dataset]
    dir_var, url_var = spec["env"]
    offline = os.environ.get(dir_var, "")
    if offline:  # named on purpose: used as it is, or a clear error, never silently passed over
        if not _has_split(offline, "train"):
            raise UserError(f"${dir_var} names {offline}, which holds no {spec['title']} train split; {_POINTER}")
        check_split(offline, "train")
        return os.path.abspath(offline)
    cached = default_data_dir(dataset)
    for folder in (cached, *spec["local"]):
        if _has_split(folder, "train"):
            check_split(folder, "train")
            return os.path.abspath(folder)
    url = data_url or os.environ.get(url_var, "") or spec["url"]
    if dataset == "mnist":
        download_mnist(url, os.path.dirname(cached))
    else:
        download_idx(url, cached, spec["title"])
    check_split(cached, "train")
    return cached


def run_data_dir(config, fingerprint: str) -> str:
    """Where a finished run's data is now: its recorded folder, else (a run made on another machine, or
    moved) where train.py would find its dataset; the test split must be the one the run recorded, since
    every sample metric is measured against it (FINGERPRINT, the run's RunRecord.data_fingerprint)."""
    folder = config.data_dir if os.path.isdir(config.data_dir) else ""
    data_dir = resolve_data_dir(folder, "", config.dataset)
    check_same_data(data_dir, fingerprint, "this run was evaluated against", splits=("test",))
    return data_dir


def _has_split(folder: str, usage: str) -> bool:
    try:
        split_dir(folder, usage)
        return True
    except UserError:
        return False


_RETRY = "nothing was kept; run the command again to retry, or " + _POINTER


def download_mnist(url: str, dest_root: str) -> str:
    """Fetch and unpack the tutorial's MNIST_Data.zip into DEST_ROOT/MNIST_Data; errors are one line.
    Everything lands in a temporary folder first and moves into place only once both splits check out, so a
    failed or damaged download leaves the cache as it was."""

    log.info(f"MNIST not found under {dest_root}; downloading {url}")
    target = os.path.join(dest_root, "MNIST_Data")
    with _staging(target) as staging:
        try:
            download(url, staging, kind="zip", replace=True, progressbar=False, verbose=False, timeout=60)
        except Exception as e:  # the download package raises plain Exceptions, URLErrors, BadZipFile, ...
            raise UserError(f"could not download MNIST from {url} ({one_line(e, 300)}); {_RETRY}") from None
        unpacked = os.path.join(staging, "MNIST_Data")
        if not os.path.isdir(os.path.join(unpacked, "train")):
            raise UserError(f"{os.path.basename(url)} from {url} did not unpack to MNIST_Data/train; {_RETRY}")
        _check_download(unpacked, url)
        os.replace(unpacked, target)
    return target


def download_idx(base_url: str, dest: str, title: str) -> str:
    """Fetch the four gzipped IDX files (train-*, t10k-*) from BASE_URL into DEST, side by side (as
    download_mnist: all four, checked, or nothing)."""

    log.info(f"{title} not found; downloading it from {base_url} into {dest}")
    with _staging(dest) as staging:
        for name in (n for names in SPLIT_FILES.values() for n in names):
            url = base_url.rstrip("/") + "/" + name + ".gz"
            try:
                download(
                    url,
                    os.path.join(staging, name + ".gz"),
                    kind="file",
                    replace=True,
                    progressbar=False,
                    verbose=False,
                    timeout=60,
                )
            except Exception as e:
                raise UserError(f"could not download {title} from {url} ({one_line(e, 300)}); {_RETRY}") from None
        _check_download(staging, base_url)
        if os.path.isdir(dest) and not os.listdir(dest):
            os.rmdir(dest)
        os.replace(staging, dest)
    return dest


@contextlib.contextmanager
def _staging(target: str):
    """A fresh temporary folder beside TARGET, removed when the block ends, whatever happens in it."""
    staging = temp_path(target)
    remove_quietly(staging)
    os.makedirs(staging)
    try:
        yield staging
    finally:
        remove_quietly(staging)


def _check_download(folder: str, url: str) -> None:
    """Both splits of a fresh download whole, raw (FOLDER/usage/) or gzipped (FOLDER/*.gz, read through to the end
    without unpacking anything to disk), else a one-line UserError naming the damaged file."""
    for usage, names in SPLIT_FILES.items():
        counts = []
        for name, magic, dims in zip(names, (2051, 2049), (3, 1)):
            raw, packed = os.path.join(folder, usage, name), os.path.join(folder, name + ".gz")
            path = raw if os.path.isfile(raw) else packed
            try:
                with open(path, "rb") if path == raw else gzip.open(path, "rb") as f:
                    head = f.read(4 + 4 * dims)
                    size = len(head) + sum(len(block) for block in iter(lambda: f.read(1 << 20), b""))
            except (OSError, EOFError, zlib.error) as e:
                raise UserError(
                    f"the download from {url} is damaged: {os.path.basename(path)} cannot be read "
                    f"({one_line(e, 80)}); {_RETRY}"
                ) from None
            whole = len(head) == 4 + 4 * dims and struct.unpack(">I", head[:4])[0] == magic
            shape = struct.unpack(f">{dims}I", head[4:]) if whole else (0,)
            if not whole or size != 4 + 4 * dims + int(np.prod(shape, dtype=np.int64)):
                raise UserError(
                    f"the download from {url} is damaged: {os.path.basename(path)} is truncated or not "
                    f"an MNIST IDX file; {_RETRY}"
                )
            counts.append(shape[0])
        if counts[0] != counts[1]:
            raise UserError(
                f"the download from {url} is damaged: {usage} has {counts[0]} images but {counts[1]} labels; {_RETRY}"
            )


def fingerprint(data_dir: str, splits=("train", "test")) -> str:
    """What makes two data folders the same data: each split's image count and a SHA-256 of its image and
    label bytes (not its path, so a copy or another mount point of the same files matches)."""

    parts = []
    for usage in splits:
        n = check_split(data_dir, usage)
        digest = hashlib.sha256()
        folder = split_dir(data_dir, usage)
        for name in SPLIT_FILES[usage]:
            with open(os.path.join(folder, name), "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    digest.update(block)
        parts.append(f"{usage} {n} sha256:{digest.hexdigest()[:16]}")
    return ", ".join(parts)


def check_same_data(data_dir: str, expected: str, what: str, splits=("train", "test")) -> str:
    """DATA_DIR's fingerprint, or a UserError if its SPLITS differ from EXPECTED (a run's recorded
    fingerprint; "" = unknown, accepted)."""
    found = fingerprint(data_dir)
    recorded = dict(part.split(" ", 1) for part in expected.split(", ")) if expected else {}
    now = dict(part.split(" ", 1) for part in found.split(", "))
    differ = [u for u in splits if u in recorded and recorded[u] != now[u]]
    if differ:
        detail = "; ".join(f"{u}: {now[u]} here, {recorded[u]} in the run" for u in differ)
        raise UserError(f"{data_dir} holds other data than {what} ({detail})")
    return found


class _LatentSampler:
    """Batch-level map: scales uint8 images to [-1, 1] NCHW and draws a fresh standard-normal z.

    One vectorised call per batch is several times cheaper than per-sample Python maps, and a
    single seeded generator makes the noise sequence reproducible for a given seed.
    """

    def __init__(self, latent_dim: int, seed: int, mix: bool = False, shard_id: int = 0):
        self.latent_dim = latent_dim
        # each data-parallel worker draws its own noise; worker 0 draws what a single process would
        self.rng = np.random.default_rng([seed, shard_id] if shard_id else seed)
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


def create_dataset(
    data_dir: str,
    batch_size: int,
    latent_dim: int,
    conditional: bool = False,
    usage: str = "train",
    seed: int = 0,
    num_workers: int = 2,
    shuffle: bool = True,
    num_samples: int = None,
    classes=None,
    mix: bool = False,
    num_shards: int = 1,
    shard_id: int = 0,
    clusters=None,
):
    """MNIST -> batches of `image` [N,1,28,28] float32 in [-1,1], `latent_code` [N,latent_dim] float32
    (fresh every epoch), for conditional models `label` [N] int32, and with MIX `mix` [N,1,1,1] float32
    uniform in [0, 1) (WGAN-GP's interpolation weights, drawn here so a resumed run replays them).
    Shuffled, remainder dropped. NUM_SHARDS > 1: this worker reads only its shard SHARD_ID of the images
    (BATCH_SIZE is then the worker's own batch).
    CLASSES (e.g. [8]) keeps only those digits; NUM_SAMPLES keeps only the first N images. CLUSTERS
    (a clusters.Clusters, --clusters): each image's `label` is its cluster's index, not the dataset's."""

    n_images = check_split(data_dir, usage)
    if num_samples:
        n_images = min(n_images, num_samples)
    sampler = None
    if classes:
        labels = read_split(data_dir, usage, limit=n_images)[1]
        indices = np.flatnonzero(np.isin(labels, classes)).tolist()[shard_id::num_shards]
        n_images = len(indices)
        sampler = ds.SubsetRandomSampler(indices) if shuffle else ds.SubsetSampler(indices)
    elif num_shards > 1:
        n_images //= num_shards
    if batch_size > n_images:
        which = f" of digits {', '.join(map(str, classes))}" if classes else ""
        raise UserError(f"--batch_size {batch_size} is larger than the {n_images} images{which} in {data_dir}/{usage}")
    ds.config.set_seed(seed)
    if sampler is not None:
        dataset = ds.MnistDataset(
            split_dir(data_dir, usage), usage=usage, sampler=sampler, num_parallel_workers=num_workers
        )
    else:
        shards = {"num_shards": num_shards, "shard_id": shard_id} if num_shards > 1 else {}
        dataset = ds.MnistDataset(
            split_dir(data_dir, usage),
            usage=usage,
            shuffle=shuffle,
            num_parallel_workers=num_workers,
            num_samples=num_samples,
            **shards,
        )
    columns = ["image", "label"] if conditional else ["image"]
    dataset = dataset.project(columns)
    if conditional:
        dataset = dataset.map(ds.transforms.TypeCast(ms.int32), input_columns="label")
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if conditional and clusters is not None:  # a clusters.Clusters: each image's cluster replaces its label
        dataset = dataset.map(
            clusters, input_columns=["image", "label"], output_columns=["image", "label"], num_parallel_workers=1
        )
    noise = ["image", "latent_code"] + (["mix"] if mix else [])
    dataset = dataset.map(
        _LatentSampler(latent_dim, seed, mix, shard_id),
        input_columns="image",
        output_columns=noise,
        num_parallel_workers=1,
    )
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
    folder = os.path.join(data_dir, usage)
    os.makedirs(folder, exist_ok=True)
    images_name, labels_name = SPLIT_FILES[usage]
    with open(os.path.join(folder, images_name), "wb") as f:
        f.write(struct.pack(">4I", 2051, len(images), IMAGE_SIZE, IMAGE_SIZE) + images.tobytes())
    with open(os.path.join(folder, labels_name), "wb") as f:
        f.write(struct.pack(">2I", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def read_split(data_dir: str, usage: str = "train", limit: int = None):
    """DATA_DIR/USAGE -> (uint8 images [N, 28, 28], uint8 labels [N]), checked first; LIMIT keeps the first N."""
    n = check_split(data_dir, usage)
    n = min(n, limit) if limit else n
    images_name, labels_name = SPLIT_FILES[usage]
    folder = split_dir(data_dir, usage)
    images = np.fromfile(os.path.join(folder, images_name), dtype=np.uint8, count=n * 784, offset=16)
    labels = np.fromfile(os.path.join(folder, labels_name), dtype=np.uint8, count=n, offset=8)
    return images.reshape(n, IMAGE_SIZE, IMAGE_SIZE), labels
