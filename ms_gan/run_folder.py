"""A run's folder while it trains: created or resumed under a lock (one writer per run), its settings and record,
its log, its fixed grid noise and its checkpoints."""

import os
import time

import numpy as np

from ms_gan.checkpoint import CONFIG_NAME, list_checkpoints, save_checkpoint
from ms_gan.config import RunRecord, TrainConfig, save_config
from ms_gan.errors import UserError
from ms_gan.fileio import remove_quietly, save_npz
from ms_gan.runlock import LOCK_NAME, RunLock
from ms_gan.runlog import LOG_NAME, read_log, rewrite_log
from ms_gan.sampling import grid_inputs

CLUSTERS_NAME = "clusters.npz"  # a --clusters run's centroids and their space, beside its config


class RunFolder:
    """The folder a process trains into. A new run's folder is created and locked before it is checked for being
    empty, so two processes starting the same --run_name at once cannot both pass; a resumed one is locked as
    is. WRITES: False for the data-parallel workers other than rank 0, which write nothing."""

    def __init__(self, config: TrainConfig, resume_dir: str, writes: bool = True):
        self.lock, self.new = None, not resume_dir
        if not writes:
            self.path = resume_dir
        elif resume_dir:
            self.path = resume_dir
            self.lock = RunLock(resume_dir, hint="copy the run somewhere writable and --resume the copy")
        else:
            self.path, self.lock = _make_run_dir(config)
        self.writes = writes
        self.log_path = os.path.join(self.path, LOG_NAME) if self.path else os.devnull

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def release(self) -> None:
        """Let go of the run: its lock, and a new run's folder if set-up failed before writing anything."""
        if self.lock:
            self.lock.release()
            self.lock = None
            if self.new and not os.path.isfile(self.file(CONFIG_NAME)):
                _remove_unstarted(self.path)

    def start(self, config: TrainConfig, record: RunRecord, clusters, start_step: int) -> float:
        """Write the run's config.json (settings and record) and clusters, and cut its log back to START_STEP
        (a resumed run redoes the steps after its checkpoint). Returns the seconds trained before START_STEP."""
        if self.writes:
            save_config(config, self.file(CONFIG_NAME), record)
            if clusters is not None:
                clusters.save(self.file(CLUSTERS_NAME))
            rewrite_log(self.log_path, read_log(self.log_path, up_to_step=start_step))
        return float(read_log(self.log_path)["seconds"][-1]) if start_step else 0.0

    def grid_noise(self, config: TrainConfig):
        """(z, labels, columns) of the per-epoch grid: fixed_noise.npz of the run, written when it starts, so a
        resumed run keeps drawing from the very same noise."""
        z, labels, cols = grid_inputs(config, seed=config.seed + 1)
        path = self.file("fixed_noise.npz")
        if os.path.isfile(path):
            with np.load(path) as saved:
                z, labels = saved["z"], saved["labels"]
        elif self.writes:
            save_npz(path, z=z, labels=labels)
        return z, labels, cols

    def save(self, cells: dict, state: dict, keep_last: int) -> str:
        """Save every cell as the checkpoint of STATE's step (rank 0 alone; nothing half-written is left)."""
        if not self.writes:
            return "(by rank 0)"
        try:
            return save_checkpoint(self.path, state, cells, keep_last=keep_last)
        except OSError as e:  # a full disk, a folder made read-only under the run
            raise UserError(
                f"cannot save the checkpoint of step {state['step']} in {self.path}/checkpoints "
                f"({e.strerror or e}); the checkpoints before it are intact: make room, then --resume {self.path}"
            ) from None

    def last_good_checkpoint(self) -> str:
        last = list_checkpoints(self.path) if self.path else []
        return (
            f"last good checkpoint {last[-1]} is intact: resume it with a lower --lr"
            if last
            else "no checkpoint had been saved yet"
        )


def _make_run_dir(config: TrainConfig) -> tuple:
    """(the new run's folder, its RunLock)."""
    name = config.run_name or f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = os.path.join(config.output_dir, name)
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UserError(f"--run_name {name}: {run_dir} exists and is a file; pick another --run_name")
    try:
        os.makedirs(run_dir, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"cannot create run directory {run_dir}: {e.strerror or e}; pick a writable --output_dir"
        ) from None
    lock = RunLock(run_dir, hint="pick a writable --output_dir")
    if set(os.listdir(run_dir)) - {LOCK_NAME}:
        lock.release()
        raise UserError(
            f"run directory {run_dir} already exists and is not empty; pick another --run_name "
            f"or continue it with --resume {run_dir}"
        )
    try:
        os.makedirs(os.path.join(run_dir, "images"), exist_ok=True)
    except OSError as e:
        lock.release()
        raise UserError(f"cannot write run directory {run_dir}: {e.strerror or e}") from None
    return run_dir, lock


def _remove_unstarted(run_dir: str) -> None:
    """Remove a new run's folder that set-up failed in before anything of the run was written into it."""
    if set(os.listdir(run_dir)) <= {LOCK_NAME, "images"} and not os.listdir(os.path.join(run_dir, "images")):
        remove_quietly(run_dir)
