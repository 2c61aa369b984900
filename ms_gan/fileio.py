"""Atomic writes: a temporary file in the same folder, then a rename, so no reader sees half a file."""

import json
import os


def temp_path(path: str, suffix: str = "") -> str:
    """A hidden temporary name beside PATH, unique to this process."""
    return os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{os.getpid()}{suffix}")


def write_json(path: str, data) -> None:
    tmp = temp_path(path)
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def write_text(path: str, text: str) -> None:
    tmp = temp_path(path)
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
