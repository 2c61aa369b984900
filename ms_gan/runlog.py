"""The per-step training log (log.csv): its columns, reading it back, trimming it for a resume."""

import csv
import os

import numpy as np

from ms_gan.fileio import write_text

LOG_NAME = "log.csv"
# What the compiled step returns, in order; the log, the progress display and the diagnosis use these names.
STEP_METRICS = ("d_loss_real", "d_loss_fake", "g_loss", "d_acc_real", "d_acc_fake")
LOG_COLUMNS = ("epoch", "step") + STEP_METRICS + ("seconds",)


def read_log(path: str, up_to_step: int = None) -> dict:
    """log.csv -> {column: np.ndarray}; rows past UP_TO_STEP and a torn last line (after a kill) are dropped."""
    rows = []
    if os.path.isfile(path):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    values = [float(row[k]) for k in LOG_COLUMNS]
                except (TypeError, ValueError, KeyError):
                    continue
                if up_to_step is None or values[1] <= up_to_step:
                    rows.append(values)
    table = np.array(rows, dtype=np.float64).reshape(-1, len(LOG_COLUMNS))
    return {k: table[:, i] for i, k in enumerate(LOG_COLUMNS)}


def rewrite_log(path: str, log: dict) -> None:
    lines = [",".join(LOG_COLUMNS)]
    for i in range(len(log["step"])):
        lines.append(",".join([str(int(log["epoch"][i])), str(int(log["step"][i]))]
                              + [f"{log[k][i]:.6g}" for k in STEP_METRICS] + [f"{log['seconds'][i]:.3f}"]))
    write_text(path, "\n".join(lines) + "\n")
