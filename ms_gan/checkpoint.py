"""Run directories and checkpoints: atomic saves, finding the newest complete one, loading with clear errors.

A checkpoint is a folder `checkpoints/epochEEE-stepSSSSSSS/` holding generator.ckpt, discriminator.ckpt,
optim_g.ckpt, optim_d.ckpt, generator_ema.ckpt when G is averaged (--ema_decay; a plain generator's file),
and state.json. It is written under a temporary name and renamed into place
whole, so a reader (or a resumed run) never sees half of one.
"""

import json
import logging
import os
import re
import shutil

import mindspore as ms

from ms_gan.config import load_config, load_record
from ms_gan.errors import UserError, one_line
from ms_gan.fileio import atomic, remove_quietly, write_json

log = logging.getLogger(__name__)

CKPT_DIR = "checkpoints"
CONFIG_NAME = "config.json"
_NAME_RE = re.compile(r"^epoch(\d+)-step(\d+)$")


def save_cell(cell, path: str) -> None:
    """Save a Cell's parameters to PATH (.ckpt) via a temporary file and a rename, with a CRC. A cell with
    a `ckpt_prefix` (the generator EMA) is saved with that prefix dropped from its parameter names."""

    path = path if path.endswith(".ckpt") else path + ".ckpt"
    if getattr(cell, "ckpt_prefix", ""):
        cell = [{"name": name, "data": param.value()} for name, param in _saved_parameters(cell).items()]
    with atomic(path, ".ckpt") as tmp:
        ms.save_checkpoint(cell, tmp, crc_check=True)


def checkpoint_name(epoch: int, step: int) -> str:
    return f"epoch{epoch:03d}-step{step:07d}"


def save_checkpoint(run_dir: str, state: dict, cells: dict, keep_last: int = 0, name: str = "") -> str:
    """Write CELLS (part name -> Cell) and STATE (epoch, step, ...) as one checkpoint folder, atomically;
    then, with KEEP_LAST > 0, delete all but the newest KEEP_LAST. NAME (e.g. "best") replaces the
    epoch/step name; such a folder is never pruned nor taken as the newest. Returns the folder."""
    root = os.path.join(run_dir, CKPT_DIR)
    final = os.path.join(root, name or checkpoint_name(state["epoch"], state["step"]))
    tmp = os.path.join(root, f".tmp-{os.getpid()}-{os.path.basename(final)}")
    remove_quietly(tmp)
    try:
        os.makedirs(tmp)
        for part, cell in cells.items():
            save_cell(cell, os.path.join(tmp, f"{part}.ckpt"))
        write_json(os.path.join(tmp, "state.json"), state)
        if os.path.exists(final):  # the same step saved again (e.g. Ctrl-C right after an epoch-end save)
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:  # a full disk, a signal: the older checkpoints stay, and no half folder is left
        remove_quietly(tmp)
        raise
    if keep_last > 0:
        for old in list_checkpoints(run_dir)[:-keep_last]:
            shutil.rmtree(old)
    return final


def list_checkpoints(run_dir: str) -> list:
    """Complete checkpoint folders of RUN_DIR, oldest first."""
    root = os.path.join(run_dir, CKPT_DIR)
    found = []
    if os.path.isdir(root):
        for name in os.listdir(root):
            match = _NAME_RE.match(name)
            if match and os.path.isfile(os.path.join(root, name, "state.json")):
                found.append((int(match.group(2)), os.path.join(root, name)))
    return [path for _, path in sorted(found)]


def read_state(checkpoint_dir: str) -> dict:
    """A checkpoint's state.json, checked: a UserError names a damaged one and how to go on without it."""
    path = os.path.join(checkpoint_dir, "state.json")
    try:
        with open(path) as f:
            state = json.load(f)
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    except ValueError:
        state = None
    if not (isinstance(state, dict) and all(type(state.get(k)) is int and state[k] >= 0 for k in ("epoch", "step"))):
        raise UserError(
            f"{path} is damaged (empty, truncated or edited): move {checkpoint_dir} out of "
            f"{os.path.dirname(checkpoint_dir)} to go on from the checkpoint before it"
        )
    return state


def run_to_resume(path: str) -> str:
    """The run folder --resume PATH means: PATH itself, or the run a checkpoint folder or file of it belongs to
    (said in a note); a UserError for anything else, before anything is written."""
    if not os.path.exists(path):
        raise UserError(f"--resume {path} does not exist")
    run_dir = find_run_dir(path)
    if os.path.abspath(path) != run_dir:
        log.info(f"note: --resume {path} is inside run {run_dir}; resuming that run from its newest checkpoint")
    if not (os.path.isfile(os.path.join(run_dir, "log.csv")) or os.path.isdir(os.path.join(run_dir, CKPT_DIR))):
        raise UserError(f"{run_dir} holds a config.json but no log.csv or checkpoints: it is not a run train.py made")
    return run_dir


def find_run_dir(path: str) -> str:
    """The run directory a checkpoint file or folder belongs to: the nearest parent holding config.json."""
    here = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path))
    for _ in range(3):
        if os.path.isfile(os.path.join(here, CONFIG_NAME)):
            return here
        here = os.path.dirname(here)
    raise UserError(f"no config.json in or above {path}: is this a run directory written by scripts/train.py?")


def run_record(path: str):
    """The RunRecord of the run PATH (a run, a checkpoint folder or a file in it) belongs to."""
    return load_record(os.path.join(find_run_dir(path), CONFIG_NAME))


def resolve_generator(ckpt: str, ema: bool = True):
    """--ckpt takes a run directory (its newest checkpoint), a checkpoint folder, or a generator .ckpt
    inside a run; returns (generator .ckpt path, TrainConfig). For a folder or run trained with
    --ema_decay, the averaged generator_ema.ckpt is picked unless EMA is False."""
    if not os.path.exists(ckpt):
        raise UserError(f"--ckpt {ckpt} does not exist")
    run_dir = find_run_dir(ckpt)
    config = load_config(os.path.join(run_dir, CONFIG_NAME))
    if os.path.isfile(ckpt):
        return ckpt, config
    folder = ckpt
    if not os.path.isfile(os.path.join(folder, "generator.ckpt")):
        checkpoints = list_checkpoints(run_dir)
        if not checkpoints:
            raise UserError(f"no complete checkpoint in {os.path.join(run_dir, CKPT_DIR)}")
        folder = checkpoints[-1]
    averaged = os.path.join(folder, "generator_ema.ckpt")
    return (averaged if ema and os.path.isfile(averaged) else os.path.join(folder, "generator.ckpt")), config


def discriminator_path(generator_path: str) -> str:
    """The discriminator.ckpt of the checkpoint folder GENERATOR_PATH (from resolve_generator) is in."""
    path = os.path.join(os.path.dirname(generator_path), "discriminator.ckpt")
    if not os.path.isfile(path):
        raise UserError(
            f"no discriminator.ckpt beside {generator_path}: --keep needs a checkpoint folder of a "
            "run (the showcase folders keep only the generator)"
        )
    return path


def load_into(cell, path: str, what: str = "checkpoint", keep=()) -> None:
    """Load PATH into CELL, requiring every parameter to be present and of the same shape (names in the
    file lack the cell's `ckpt_prefix`, if it has one); the parameters named in KEEP keep their values."""

    if not os.path.isfile(path):
        raise UserError(f"checkpoint {path} is missing")
    try:
        params = ms.load_checkpoint(path, crc_check=True)
    except Exception as e:  # MindSpore raises ValueError/RuntimeError with multi-line text
        raise UserError(f"{path} is not a readable MindSpore checkpoint ({one_line(e)})") from None
    prefix = getattr(cell, "ckpt_prefix", "")
    expected = {n: p for n, p in _saved_parameters(cell).items() if n not in keep}
    missing = sorted(set(expected) - set(params))
    mismatched = [
        f"{n} {tuple(params[n].shape)} vs {tuple(p.shape)}"
        for n, p in expected.items()
        if n in params and tuple(params[n].shape) != tuple(p.shape)
    ]
    if missing or mismatched:
        detail = "; ".join(
            filter(
                None,
                [
                    f"missing {len(missing)} parameters (e.g. {', '.join(missing[:3])})" if missing else "",
                    f"shape mismatch in {', '.join(mismatched[:3])} (checkpoint vs model)" if mismatched else "",
                ],
            )
        )
        raise UserError(f"{path} does not fit this {what} (other architecture or latent size?): {detail}")
    ms.load_param_into_net(cell, {prefix + name: params[name] for name in expected}, strict_load=True)


def _saved_parameters(cell) -> dict:
    """{name in the checkpoint file: parameter}. A cell with a `ckpt_prefix` owns only the parameters
    under that prefix (the EMA also refers to the generator's), and the file names drop it."""
    prefix = getattr(cell, "ckpt_prefix", "")
    return {p.name[len(prefix) :]: p for p in cell.get_parameters() if p.name.startswith(prefix)}
