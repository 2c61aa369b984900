"""The per-step training log (log.csv): its columns, reading it back, trimming it for a resume."""

import csv
import io
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


def log_row(epoch, step, values, seconds) -> list:
    """One log.csv row: the step's STEP_METRICS VALUES to 6 significant digits, wall-clock SECONDS to the ms."""
    return [str(int(epoch)), str(int(step))] + [f"{v:.6g}" for v in values] + [f"{seconds:.3f}"]


def csv_writer(f):
    """How ms_gan writes every CSV (log.csv, metrics.csv): the csv module, plain newlines."""
    return csv.writer(f, lineterminator="\n")


def rewrite_log(path: str, log: dict) -> None:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(LOG_COLUMNS)
    writer.writerows(
        log_row(log["epoch"][i], log["step"][i], [log[k][i] for k in STEP_METRICS], log["seconds"][i])
        for i in range(len(log["step"]))
    )
    write_text(path, buffer.getvalue())
