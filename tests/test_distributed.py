"""Data-parallel training with msrun on CPU: two workers end with identical parameters, and train like one
process with the same global batch."""

import os
import re
import socket
import subprocess
import sys

import numpy as np
from conftest import ROOT
from test_scripts import assert_one_line_error, run_script

FLAGS = ["--model", "dcgan", "--ngf", 8, "--ndf", 8, "--latent_dim", 16, "--epochs", 2, "--batch_size", 64]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_log(run_dir):
    from ms_gan.runlog import read_log as read

    return read(os.path.join(run_dir, "log.csv"))


def test_two_workers_hold_identical_parameters_and_match_one_process(tiny_mnist, tmp_path):
    out, logs = tmp_path / "runs", tmp_path / "msrun_log"
    env = dict(
        os.environ,
        LOG_DIR=str(logs),
        MASTER_PORT=str(free_port()),
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    )
    done = subprocess.run(
        [
            "bash",
            os.path.join(ROOT, "scripts", "run_distribute_train.sh"),
            "2",
            *map(str, FLAGS),
            "--data_dir",
            tiny_mnist,
            "--output_dir",
            str(out),
            "--run_name",
            "dp",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    worker_logs = {r: (logs / f"worker_{r}.log").read_text() for r in (0, 1)}
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:] + worker_logs[1][-2000:]

    # every parameter (BatchNorm statistics and optimizer moments included) is the same on both ranks
    sums = {
        r: re.findall(rf"rank {r} of 2: parameter checksum ([0-9a-f]{{64}})", text) for r, text in worker_logs.items()
    }
    assert len(sums[0]) == 1 and sums[0] == sums[1]
    # only rank 0 wrote: one run directory, with everything in it
    assert os.listdir(out) == ["dp"]
    assert os.path.isfile(out / "dp" / "checkpoints" / "epoch002-step0000008" / "generator.ckpt")
    assert "images/s" in worker_logs[0] and "images/s" not in worker_logs[1]

    single = run_script("train.py", *FLAGS, "--data_dir", tiny_mnist, "--output_dir", out, "--run_name", "single")
    assert single.returncode == 0, single.stderr[-3000:]
    parallel, alone = read_log(out / "dp"), read_log(out / "single")
    assert len(parallel["step"]) == len(alone["step"]) == 8  # the same steps per epoch at the same global batch
    for column in ("d_loss_real", "d_loss_fake", "g_loss", "d_acc_real", "d_acc_fake"):
        assert np.all(np.isfinite(parallel[column]))
        # other noise and other batch splits, so not equal, but the same training: means within 0.05
        assert abs(parallel[column].mean() - alone[column].mean()) < 0.05, column
    infer = run_script("infer.py", "--ckpt", out / "dp", "--num", 8, "--output_dir", tmp_path / "samples")
    assert infer.returncode == 0, infer.stderr[-3000:]


def test_distribute_without_msrun_is_a_one_line_error(tiny_mnist, tmp_path):
    result = run_script("train.py", *FLAGS, "--distribute", "--data_dir", tiny_mnist, "--output_dir", tmp_path)
    assert_one_line_error(result, "--distribute needs the workers started by msrun")
    assert os.listdir(tmp_path) == []


def test_wrapper_rejects_a_bad_worker_count():
    done = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "run_distribute_train.sh"), "two"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "usage:" in done.stderr


def test_stop_on_failure_stops_every_worker(tiny_mnist, tmp_path):
    """Rank 0 diagnoses the run; with --stop_on_failure both workers end after the epoch the failure is found
    (before, rank 1 went on into the next step and waited there for rank 0)."""
    out, logs = tmp_path / "runs", tmp_path / "msrun_log"
    env = dict(
        os.environ,
        LOG_DIR=str(logs),
        MASTER_PORT=str(free_port()),
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    )
    losing = ["--model", "fc", "--batch_size", 16, "--latent_dim", 16, "--lr", 1e-5, "--lr_d", 5e-3, "--epochs", 3]
    done = subprocess.run(
        [
            "bash",
            os.path.join(ROOT, "scripts", "run_distribute_train.sh"),
            "2",
            *map(str, losing),
            "--stop_on_failure",
            "--data_dir",
            tiny_mnist,
            "--output_dir",
            str(out),
            "--run_name",
            "dp",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    worker_logs = {r: (logs / f"worker_{r}.log").read_text() for r in (0, 1)}
    assert done.returncode != 0
    assert "stopped on failure (--stop_on_failure): convergence failure after epoch 1" in worker_logs[0]
    assert "stopped on failure (--stop_on_failure): rank 0's diagnosis found a failure" in worker_logs[1]
    assert sorted(os.listdir(out / "dp" / "checkpoints")) == ["epoch001-step0000016"]
