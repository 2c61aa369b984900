"""Runs survive kills, signals, bad input and divergence without losing work; same seed, same run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, real_subset
from test_scripts import assert_one_line_error, digest, run_script

from ms_gan.data import write_split

TRAIN = os.path.join(ROOT, "scripts", "train.py")
SMALL = ["--model", "fc", "--epochs", 4, "--batch_size", 64, "--latent_dim", 16]


def log_values(run_dir):
    """log.csv without its wall-clock column."""
    with open(os.path.join(run_dir, "log.csv")) as f:
        return [line.rsplit(",", 1)[0] for line in f.read().splitlines()]


@pytest.fixture(scope="module")
def reference(tiny_mnist, tmp_path_factory):
    """An uninterrupted 4-epoch run to compare interrupted ones against."""
    out = tmp_path_factory.mktemp("reference")
    result = run_script(
        "train.py", *SMALL, "--data_dir", tiny_mnist, "--output_dir", out, "--run_name", "ref", "--keep_last", 0
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return str(out / "ref")


def start_training(tiny_mnist, out, *extra):
    return subprocess.Popen(
        [
            sys.executable,
            TRAIN,
            *map(str, SMALL),
            "--data_dir",
            tiny_mnist,
            "--output_dir",
            str(out),
            "--run_name",
            "run",
            *map(str, extra),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path, process, timeout=120):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_sigkill_then_resume_continues_exactly_where_the_checkpoint_left_off(tiny_mnist, reference, tmp_path):
    process = start_training(tiny_mnist, tmp_path)
    wait_for(tmp_path / "run" / "checkpoints" / "epoch002-step0000008", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = len(log_values(tmp_path / "run")) - 1
    assert 8 <= killed_at < 16  # died part-way through the run

    result = run_script("train.py", "--resume", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming" in result.stdout
    run_dir = str(tmp_path / "run")
    assert os.path.isfile(os.path.join(run_dir, "checkpoints", "epoch004-step0000016", "generator.ckpt"))
    # the same steps, once each, with the very losses of the run that was never interrupted
    assert log_values(run_dir) == log_values(reference)
    infer = run_script("infer.py", "--ckpt", run_dir, "--num", 8, "--output_dir", tmp_path / "samples")
    assert infer.returncode == 0, infer.stderr[-3000:]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_saves_the_current_step_and_exits_cleanly(tiny_mnist, reference, tmp_path, signum):
    process = start_training(tiny_mnist, tmp_path)
    wait_for(tmp_path / "run" / "checkpoints" / "epoch001-step0000004", process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    # MindSpore relays a Ctrl-C that arrives while a graph runs as a SIGTERM of its own: it is still told apart
    assert process.returncode == 128 + signum, stderr[-3000:]
    said = "stopped by Ctrl-C (SIGINT)" if signum == signal.SIGINT else "stopped by signal 15 (SIGTERM)"
    assert "Traceback" not in stderr and said in stderr, stderr[-3000:]
    checkpoints = sorted(os.listdir(tmp_path / "run" / "checkpoints"))
    newest_step = int(checkpoints[-1].split("step")[1])
    assert newest_step == len(log_values(tmp_path / "run")) - 1  # saved at the step it stopped on

    result = run_script("train.py", "--resume", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-3000:]
    assert log_values(tmp_path / "run") == log_values(reference)


def test_keep_last_keeps_only_the_newest(tiny_mnist, tmp_path):
    result = run_script(
        "train.py", *SMALL, "--data_dir", tiny_mnist, "--output_dir", tmp_path, "--run_name", "k", "--keep_last", 2
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "k" / "checkpoints")) == ["epoch003-step0000012", "epoch004-step0000016"]


def test_divergence_stops_with_the_step_and_keeps_earlier_checkpoints(tiny_mnist, reference, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    for name in os.listdir(run_dir / "checkpoints")[:]:
        if not name.startswith("epoch001"):
            shutil.rmtree(run_dir / "checkpoints" / name)
    # weights an update too large has blown up: the first step's losses are no longer finite
    import mindspore as ms

    generator = str(run_dir / "checkpoints" / "epoch001-step0000004" / "generator.ckpt")
    blown = [
        {"name": name, "data": ms.Tensor(np.full(p.shape, np.nan, np.float32))}
        for name, p in ms.load_checkpoint(generator).items()
    ]
    ms.save_checkpoint(blown, generator)
    before = digest(run_dir / "checkpoints")
    result = run_script("train.py", "--resume", run_dir)
    assert_one_line_error(result, "training diverged: non-finite")
    assert "step " in result.stderr and "epoch001-step0000004" in result.stderr
    assert digest(run_dir / "checkpoints") == before


def resumed_from_epoch_2(run_dir, copy_dir):
    """A copy of RUN_DIR cut back to its epoch-2 checkpoint, then resumed to the end: COPY_DIR."""
    shutil.copytree(run_dir, copy_dir)
    for name in os.listdir(copy_dir / "checkpoints"):
        if not name.startswith(("epoch001", "epoch002")):
            shutil.rmtree(copy_dir / "checkpoints" / name)
    result = run_script("train.py", "--resume", copy_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return copy_dir


def test_a_linear_schedule_changes_only_the_second_half_and_resumes_on_its_curve(tiny_mnist, reference, tmp_path):
    """--lr_schedule linear keeps the full rate for the first half of the run, so its log equals the constant-rate
    run's up to there and differs after; a run resumed from its epoch-2 checkpoint picks the curve up where the
    optimizers' saved step counts say, ending exactly as the uninterrupted run; a longer --epochs then stretches it."""
    result = run_script(
        "train.py",
        *SMALL,
        "--data_dir",
        tiny_mnist,
        "--output_dir",
        tmp_path,
        "--run_name",
        "linear",
        "--lr_schedule",
        "linear",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scheduled, constant = log_values(tmp_path / "linear"), log_values(reference)
    # 16 steps: updates 1-9 at the full rate, so the rows of steps 1-9 agree (step 10's G loss comes after D's
    # tenth update, the first at a lower rate)
    assert scheduled[:10] == constant[:10]
    assert all(a != b for a, b in zip(scheduled[10:], constant[10:]))

    run_dir = resumed_from_epoch_2(tmp_path / "linear", tmp_path / "resumed")
    assert log_values(run_dir) == scheduled
    result = run_script("train.py", "--resume", run_dir, "--epochs", 6)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(log_values(run_dir)) == 1 + 24


def test_top_k_changes_gs_updates_and_resumes_on_its_schedule(tiny_mnist, reference, tmp_path):
    """--top_k trains G on fewer fakes from its second update on, so the log leaves the plain run's after step 2;
    a run resumed from its epoch-2 checkpoint reads the share at G's saved update count and ends exactly as the
    uninterrupted run."""
    result = run_script(
        "train.py", *SMALL, "--data_dir", tiny_mnist, "--output_dir", tmp_path, "--run_name", "top", "--top_k", 0.5
    )
    assert result.returncode == 0, result.stderr[-3000:]
    top, plain = log_values(tmp_path / "top"), log_values(reference)
    # rows 1-2 (steps 1-2) are read before G's second update, the first on fewer fakes, has changed anything
    assert top[:3] == plain[:3] and all(a != b for a, b in zip(top[3:], plain[3:]))
    assert log_values(resumed_from_epoch_2(tmp_path / "top", tmp_path / "resumed")) == top


def test_stop_on_failure_ends_a_losing_run_after_the_epoch_it_is_found(tiny_mnist, tmp_path):
    """D learning 500x faster than G wins within the first epoch: the diagnosis after epoch 1 finds the
    convergence failure, warns, and --stop_on_failure ends the run there with one line, the checkpoint and
    the run page kept; without the flag the same warning is printed and the run trains on."""
    losing = [
        "--model",
        "fc",
        "--batch_size",
        16,
        "--latent_dim",
        16,
        "--lr",
        1e-5,
        "--lr_d",
        5e-3,
        "--data_dir",
        tiny_mnist,
        "--output_dir",
        tmp_path,
    ]
    result = run_script("train.py", *losing, "--epochs", 3, "--run_name", "stopped", "--stop_on_failure")
    assert_one_line_error(result, "stopped on failure (--stop_on_failure): convergence failure after epoch 1")
    assert result.returncode == 1
    run_dir = tmp_path / "stopped"
    assert "warning: convergence failure after epoch 1" in result.stdout
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["epoch001-step0000016"]
    with open(run_dir / "diagnosis.json") as f:
        diagnosis = json.load(f)
    assert diagnosis["verdict"] == "convergence failure" and diagnosis["so_far"] == "after epoch 1, step 16"
    assert "so far, after epoch 1, step 16" in (run_dir / "index.html").read_text()
    # the cures, best first: one rate for both (fc's tested 2e-4, as G's 1e-5 is below it), then the others
    assert [cure["flags"] for cure in diagnosis["cures"]][:3] == [
        "--lr 0.0002 --lr_d 0",
        "--label_smoothing 0.9 --fake_label 0.1",
        "--loss hinge",
    ]
    assert "<code>--lr 0.0002 --lr_d 0</code>" in (run_dir / "index.html").read_text()

    result = run_script("train.py", *losing, "--epochs", 2, "--run_name", "warned")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "warning: convergence failure after epoch 1" in result.stdout
    assert "(cure: --lr 0.0002 --lr_d 0)" in result.stdout
    assert "so_far" not in (tmp_path / "warned" / "diagnosis.json").read_text()  # the run's own, at its end
    assert f"python scripts/train.py --cure {tmp_path / 'warned'} applies the first" in result.stdout

    # --cure: a new run beside the failed one with the first cure (and the flags given), the failed run untouched
    before = sorted(os.listdir(run_dir))
    result = run_script("train.py", "--cure", run_dir, "--epochs", 1)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"curing {run_dir} (convergence failure) with --lr 0.0002 --lr_d 0" in result.stdout
    with open(tmp_path / "stopped-cure1" / "config.json") as f:
        cured = json.load(f)
    assert (cured["lr"], cured["lr_d"], cured["epochs"], cured["latent_dim"]) == (2e-4, 0.0, 1, 16)
    assert cured["cured_from"] == f"{run_dir} (convergence failure): --lr 0.0002 --lr_d 0"
    assert sorted(os.listdir(run_dir)) == before
    result = run_script("train.py", "--cure", run_dir, "--cure_number", 3, "--epochs", 1)
    assert result.returncode == 0, result.stderr[-2000:]
    with open(tmp_path / "stopped-cure3" / "config.json") as f:
        assert json.load(f)["loss"] == "hinge"


def test_cure_refuses_what_it_cannot_cure(tiny_mnist, tmp_path):
    """Every way --cure can be misused: one line, exit 1, no new run."""
    from ms_gan.config import TrainConfig, save_config

    run_dir = tmp_path / "run"
    os.makedirs(run_dir)
    save_config(TrainConfig(model="fc", data_dir=str(tiny_mnist)).settled(), str(run_dir / "config.json"))
    for verdict, args, message in [
        ("stable", [], "was diagnosed 'stable': there is nothing to cure"),
        ("mode collapse", ["--cure_number", 9], "--cure_number 9: the diagnosis of"),
        ("mode collapse", ["--resume", run_dir], "--cure starts a new run from a diagnosed one"),
    ]:
        (run_dir / "diagnosis.json").write_text(json.dumps({"verdict": verdict, "evidence": []}))
        assert_one_line_error(run_script("train.py", "--cure", run_dir, *args), message)
    os.remove(run_dir / "diagnosis.json")
    assert_one_line_error(run_script("train.py", "--cure", run_dir), "has no diagnosis yet")
    assert_one_line_error(run_script("train.py", "--cure", tmp_path / "nothing"), "is not a directory")
    assert not os.path.exists(tmp_path / "run-cure1")


@pytest.mark.parametrize("mode", ["graph", "pynative"])
def test_same_seed_same_losses_and_samples(tiny_mnist, tmp_path, mode):
    for name in ("a", "b"):
        result = run_script(
            "train.py",
            "--model",
            "cgan",
            "--ngf",
            8,
            "--ndf",
            8,
            "--epochs",
            1,
            "--batch_size",
            64,
            "--latent_dim",
            16,
            "--data_dir",
            tiny_mnist,
            "--mode",
            mode,
            "--seed",
            5,
            "--output_dir",
            tmp_path,
            "--run_name",
            name,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        result = run_script("infer.py", "--ckpt", tmp_path / name, "--num", 10, "--seed", 1)
        assert result.returncode == 0, result.stderr[-3000:]
    assert log_values(tmp_path / "a") == log_values(tmp_path / "b")
    samples = [np.load(tmp_path / name / "samples" / "samples-001.npz")["images"] for name in ("a", "b")]
    np.testing.assert_array_equal(*samples)


# --- bad input: one line, non-zero exit, nothing on disk touched -------------------------------------


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory):
    """Data folders that are wrong in every way the checks know of."""
    root = tmp_path_factory.mktemp("bad_data")
    (x, y), _ = real_subset(64, 0)
    os.makedirs(root / "empty")
    write_split(str(root / "truncated"), "train", x, y)
    path = root / "truncated" / "train" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    write_split(str(root / "corrupt"), "train", x, y)
    path = root / "corrupt" / "train" / "train-labels-idx1-ubyte"
    path.write_bytes(b"\xff" * path.stat().st_size)
    os.makedirs(root / "wrong_size" / "train")
    (root / "wrong_size" / "train" / "train-images-idx3-ubyte").write_bytes(
        np.array([2051, 4, 32, 32], ">u4").tobytes() + bytes(4 * 32 * 32)
    )
    (root / "wrong_size" / "train" / "train-labels-idx1-ubyte").write_bytes(
        np.array([2049, 4], ">u4").tobytes() + bytes(4)
    )
    return root


@pytest.mark.parametrize(
    "case, args, fragment",
    [
        ("missing data dir", ["--data_dir", "{bad}/nope"], "does not exist"),
        ("empty data dir", ["--data_dir", "{bad}/empty"], "train-images-idx3-ubyte is missing"),
        ("truncated IDX", ["--data_dir", "{bad}/truncated"], "truncated or corrupt"),
        ("corrupt IDX header", ["--data_dir", "{bad}/corrupt"], "not an MNIST IDX file"),
        ("wrong image size", ["--data_dir", "{bad}/wrong_size"], "32x32 images"),
        ("epochs 0", ["--epochs", "0"], "argument --epochs: expected an integer from 1 to 100000, got '0'"),
        ("batch size 0", ["--batch_size", "0"], "argument --batch_size: expected an integer from 2 to 65536"),
        ("batch size 1", ["--batch_size", "1"], "argument --batch_size: expected an integer from 2 to 65536, got '1'"),
        ("negative lr", ["--lr", "-0.1"], "argument --lr: expected a number in (0, 10], got '-0.1'"),
        ("batch larger than data", ["--batch_size", "60000"], "larger than the 256 images"),
        ("unknown model", ["--model", "vae"], "invalid choice: 'vae'"),
        ("unknown device", ["--device_target", "TPU"], "invalid choice: 'TPU'"),
        ("GPU not installed", ["--device_target", "GPU"], "no usable GPU backend"),
        ("epochs not a number", ["--epochs", "ten"], "expected an integer from 1 to 100000, got 'ten'"),
        ("unwritable output", ["--output_dir", "{reference}/log.csv/runs"], "cannot create run directory"),
        ("resume without config", ["--resume", "{bad}/empty"], "no config.json"),
        ("resume changing the model", ["--resume", "{reference}", "--model", "dcgan"], "--model cannot change"),
        ("resume a finished run", ["--resume", "{reference}", "--epochs", "4"], "already at step 16 (epoch 4)"),
    ],
)
def test_train_bad_input(tiny_mnist, reference, bad_data, case, args, fragment):
    before = digest(reference)
    args = [a.format(bad=bad_data, reference=reference) for a in args]
    if "--data_dir" not in args and "--resume" not in args:
        args += ["--data_dir", tiny_mnist]
    result = run_script(
        "train.py", "--epochs", 1, "--batch_size", 64, "--output_dir", os.path.dirname(reference), *args
    )
    assert_one_line_error(result, fragment)
    assert digest(reference) == before


@pytest.fixture(scope="module")
def broken_checkpoints(reference, tiny_mnist, tmp_path_factory):
    """Copies of the reference run whose newest generator.ckpt is damaged, foreign or gone."""
    root = tmp_path_factory.mktemp("broken")
    from ms_gan.checkpoint import list_checkpoints

    runs = {}
    for case in ("truncated", "not a checkpoint", "other architecture", "other latent size", "missing"):
        run_dir = root / case.replace(" ", "_")
        shutil.copytree(reference, run_dir)
        generator = os.path.join(list_checkpoints(str(run_dir))[-1], "generator.ckpt")
        runs[case] = (str(run_dir), generator)
    _, g = runs["truncated"]
    open(g, "r+b").truncate(os.path.getsize(g) // 2)
    _, g = runs["not a checkpoint"]
    with open(g, "w") as f:
        f.write("this is not a checkpoint\n")
    _, g = runs["missing"]
    os.remove(g)
    for case, flags in (
        ("other architecture", ["--model", "dcgan", "--ngf", 8, "--ndf", 8]),
        ("other latent size", ["--model", "fc", "--latent_dim", 8]),
    ):
        out = root / f"donor_{case.replace(' ', '_')}"
        result = run_script(
            "train.py",
            *flags,
            "--epochs",
            1,
            "--batch_size",
            64,
            "--data_dir",
            tiny_mnist,
            "--output_dir",
            out,
            "--run_name",
            "d",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        donor = os.path.join(list_checkpoints(str(out / "d"))[-1], "generator.ckpt")
        shutil.copyfile(donor, runs[case][1])
    return runs


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("truncated", "not a readable MindSpore checkpoint"),
        ("not a checkpoint", "not a readable MindSpore checkpoint"),
        ("other architecture", "missing"),
        ("other latent size", "shape mismatch in generator.model.0.weight (128, 8) vs (128, 16)"),
        ("missing", "generator.ckpt is missing"),
    ],
)
def test_infer_bad_checkpoint(broken_checkpoints, tmp_path, case, fragment):
    run_dir, _ = broken_checkpoints[case]
    before = digest(run_dir)
    result = run_script("infer.py", "--ckpt", run_dir, "--output_dir", tmp_path)
    assert_one_line_error(result, fragment)
    assert digest(run_dir) == before
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--num", "0"], "argument --num: expected an integer from 1 to 100000, got '0'"),
        (["--label", "3"], "--label needs a conditional model"),
        (["--output_dir", "{reference}/log.csv/out"], "cannot create --output_dir"),
        (["--device_target", "Ascend"], "no usable Ascend backend"),
        (["--truncation", "-1"], "argument --truncation: expected a number in [0, 100], got '-1'"),
        (["--keep", "0"], "argument --keep: expected a number in (0, 1], got '0'"),
        (["--keep", "1.5"], "argument --keep: expected a number in (0, 1], got '1.5'"),
    ],
)
def test_infer_bad_input(reference, args, fragment):
    before = digest(reference)
    result = run_script("infer.py", "--ckpt", reference, *[a.format(reference=reference) for a in args])
    assert_one_line_error(result, fragment)
    assert digest(reference) == before


@pytest.mark.parametrize(
    "script, out_flag, out_name", [("infer.py", "--output_dir", "out"), ("evaluate.py", "--output", "out/metrics.json")]
)
def test_keep_needs_the_runs_discriminator(script, out_flag, out_name, tmp_path):
    """A showcase folder keeps only its generator: --keep says so in one line and writes nothing."""
    showcase = os.path.join(ROOT, "result", "showcase", "dcgan")
    before = digest(showcase)
    result = run_script(script, "--ckpt", showcase, "--keep", 0.5, out_flag, tmp_path / out_name)
    assert_one_line_error(result, "no discriminator.ckpt beside")
    assert digest(showcase) == before and os.listdir(tmp_path) == []
