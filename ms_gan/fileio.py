"""Atomic writes: a temporary file in the same folder, then a rename, so no reader sees half a file."""

import hashlib
import json
import os

import numpy as np


def user_cache_dir(*parts: str) -> str:
    """A folder in this user's cache ($MS_GAN_CACHE, else $XDG_CACHE_HOME/ms_gan, else ~/.cache/ms_gan):
    downloads, unpacked data and compiled kernels live there, whatever folder a command starts from."""
    root = os.environ.get("MS_GAN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ms_gan")
    return os.path.join(os.path.abspath(root), *parts)


def temp_path(path: str, suffix: str = "") -> str:
    """A hidden temporary name beside PATH, unique to this process."""
    return os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{os.getpid()}{suffix}")


def write_json(path: str, data) -> None:
    tmp = temp_path(path)
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def save_npz(path: str, **arrays) -> None:
    """np.savez, atomically."""

    tmp = temp_path(path, ".npz")  # np.savez appends .npz to a name without it
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def write_text(path: str, text: str) -> None:
    tmp = temp_path(path)
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def sha256(path: str) -> str:
    """The hex SHA-256 of a file's bytes."""

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
