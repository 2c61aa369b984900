"""Atomic writes: a temporary file in the same folder, then a rename, so no reader sees half a file, and no
failure (a full disk, a signal, a bug) leaves the temporary file behind or touches the file being replaced."""

import contextlib
import hashlib
import json
import os
import shutil

import numpy as np


def user_cache_dir(*parts: str) -> str:
    """A folder in this user's cache ($MS_GAN_CACHE, else $XDG_CACHE_HOME/ms_gan, else ~/.cache/ms_gan):
    downloads, unpacked data and compiled kernels live there, whatever folder a command starts from."""
    root = os.environ.get("MS_GAN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ms_gan"
    )
    return os.path.join(os.path.abspath(root), *parts)


def temp_path(path: str, suffix: str = "") -> str:
    """A hidden temporary name beside PATH, unique to this process."""
    return os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{os.getpid()}{suffix}")


@contextlib.contextmanager
def atomic(path: str, suffix: str = ""):
    """Yield a temporary name beside PATH to write to; when the block ends normally it replaces PATH, and on
    any exception it is removed (file or folder) and PATH stays as it was. SUFFIX: an ending the writer
    needs (np.savez appends .npz to a name without it, matplotlib picks the format by it)."""
    tmp = temp_path(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def remove_quietly(path: str) -> None:
    """Remove PATH (a file or a folder) if it exists; a failure to remove is not an error of its own."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.remove(path)


def write_json(path: str, data) -> None:
    with atomic(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def save_npz(path: str, **arrays) -> None:
    """np.savez, atomically."""
    with atomic(path, ".npz") as tmp:
        np.savez(tmp, **arrays)


def write_text(path: str, text: str) -> None:
    with atomic(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def sha256(path: str) -> str:
    """The hex SHA-256 of a file's bytes."""

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
