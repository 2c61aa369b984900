"""scripts/train.py and scripts/infer.py run for real, as subprocesses, on a small real MNIST subset."""

import csv
import hashlib
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, small_config


def run_script(name, *args, cwd=None):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", name), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def assert_one_line_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and fragment in error_lines[0], result.stderr[-2000:]


@pytest.mark.parametrize(
    "script", ["train.py", "infer.py", "evaluate.py", "diagnose.py", "export.py", "train_classifier.py", "report.py"]
)
def test_scripts_read_their_flags_before_mindspore_is_imported(script):
    """prepare_process must run before MindSpore's import (it sets switches MindSpore reads once), so
    what a script imports at the top, and everything --help needs, stays free of MindSpore."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", os.path.join(ROOT, "scripts", script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "usage:" in result.stdout, result.stderr[-2000:]
    imported = [
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    ]
    assert "ms_gan.errors" in imported
    mindspore = [i for i, name in enumerate(imported) if name.split(".")[0] == "mindspore"]
    if script == "train.py":  # its flags list the registered models, whose files import MindSpore: after preparing
        assert mindspore
        assert "MS_DEV_HOST_BLOCKING_RUN" in _environment_at_import(script)
    else:
        assert not mindspore


def _environment_at_import(script: str) -> str:
    """The MS_* switches set when MindSpore is first imported by SCRIPT --help (a sitecustomize hook reports them)."""
    import tempfile

    hook = tempfile.mkdtemp()
    with open(os.path.join(hook, "sitecustomize.py"), "w") as f:
        f.write(
            "import builtins, os, sys\n"
            "_real = builtins.__import__\n"
            "def _watch(name, *args, **kwargs):\n"
            "    if name.split('.')[0] == 'mindspore' and 'mindspore' not in sys.modules:\n"
            "        sys.stderr.write('AT-IMPORT ' + ' '.join(k for k in os.environ if k.startswith('MS_')) + '\\n')\n"
            "    return _real(name, *args, **kwargs)\n"
            "builtins.__import__ = _watch\n"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MS_DEV")}
    env["PYTHONPATH"] = hook + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", script), "--help"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return next(line for line in result.stderr.splitlines() if line.startswith("AT-IMPORT"))


@pytest.fixture(scope="module", params=["fc", "cgan"])
def trained_run(request, tiny_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"runs_{request.param}")
    result = run_script(
        "train.py",
        "--model",
        request.param,
        "--data_dir",
        tiny_mnist,
        "--epochs",
        2,
        "--batch_size",
        64,
        "--latent_dim",
        16,
        "--ngf",
        8,
        "--ndf",
        8,
        "--save_every",
        1,
        "--output_dir",
        out,
        "--run_name",
        "run",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return request.param, str(out / "run"), result


def test_train_writes_config_log_images_curves_and_checkpoints(trained_run):
    model, run_dir, result = trained_run
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    assert config["model"] == model and config["latent_dim"] == 16 and config["epochs"] == 2
    with open(os.path.join(run_dir, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * (256 // 64)
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    for key in ("d_loss_real", "d_loss_fake", "g_loss", "d_acc_real", "d_acc_fake"):
        values = np.array([float(r[key]) for r in rows])
        assert np.all(np.isfinite(values)), key
    for name in ("images/epoch_001.png", "images/epoch_002.png", "curves.png", "fixed_noise.npz"):
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints"))) == ["epoch001-step0000004", "epoch002-step0000008"]
    for part in ("generator", "discriminator", "optim_g", "optim_d"):
        assert os.path.isfile(os.path.join(run_dir, "checkpoints", "epoch002-step0000008", f"{part}.ckpt"))
    assert "epoch 2/2" in result.stderr  # the progress display
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    assert summary["steps"] == 8 and summary["images_per_second"] > 0


def test_infer_draws_from_the_saved_generator(trained_run, tmp_path):
    model, run_dir, _ = trained_run
    result = run_script("infer.py", "--ckpt", run_dir, "--num", 20, "--output_dir", tmp_path, "--seed", 3)
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.getsize(tmp_path / "samples-001.png") > 0
    samples = np.load(tmp_path / "samples-001.npz")
    assert samples["images"].shape == (20, 28, 28) and samples["images"].dtype == np.uint8
    assert samples["images"].std() > 0
    if model == "cgan":
        assert sorted(set(samples["labels"].tolist())) == list(range(10))
    else:
        assert "labels" not in samples
    folder = os.path.join(run_dir, "checkpoints", "epoch002-step0000008")
    # a run directory stands for its newest generator: the moving average where there is one (cgan's default)
    name = "generator_ema.ckpt" if os.path.isfile(os.path.join(folder, "generator_ema.ckpt")) else "generator.ckpt"
    assert (name == "generator_ema.ckpt") == (model == "cgan")
    again = run_script(
        "infer.py", "--ckpt", os.path.join(folder, name), "--num", 20, "--output_dir", tmp_path / "again", "--seed", 3
    )
    assert again.returncode == 0, again.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "again" / "samples-001.npz")["images"], samples["images"])


def test_infer_keep_draws_the_discriminators_favourites(trained_run, tmp_path):
    model, run_dir, _ = trained_run
    plain = run_script("infer.py", "--ckpt", run_dir, "--num", 20, "--output_dir", tmp_path / "plain")
    kept = run_script("infer.py", "--ckpt", run_dir, "--num", 20, "--keep", 0.25, "--output_dir", tmp_path / "kept")
    assert plain.returncode == 0 and kept.returncode == 0, kept.stderr[-3000:]
    plain, kept = np.load(tmp_path / "plain" / "samples-001.npz"), np.load(tmp_path / "kept" / "samples-001.npz")
    assert kept["images"].shape == (20, 28, 28) and not np.array_equal(kept["images"], plain["images"])
    if model == "cgan":  # the same two images of each digit, row by row
        assert kept["labels"].tolist() == plain["labels"].tolist()


def test_infer_label_draws_one_digit_or_refuses(trained_run, tmp_path):
    model, run_dir, _ = trained_run
    result = run_script("infer.py", "--ckpt", run_dir, "--num", 8, "--label", 7, "--output_dir", tmp_path)
    if model == "cgan":
        assert result.returncode == 0, result.stderr[-3000:]
        assert np.load(tmp_path / "samples-001.npz")["labels"].tolist() == [7] * 8
        assert_one_line_error(
            run_script("infer.py", "--ckpt", run_dir, "--label", 10, "--output_dir", tmp_path), "--label must be in 0-9"
        )
    else:
        assert_one_line_error(result, "--label needs a conditional model")


def digest(folder):
    return {
        os.path.relpath(os.path.join(d, f), folder): hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
        for d, _, files in os.walk(folder)
        for f in files
    }


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--device_target", "GPU"], "no usable GPU backend"),
        (["--device_target", "Ascend"], "no usable Ascend backend"),
        (["--epochs", "0"], "argument --epochs: expected an integer from 1 to 100000, got '0'"),
        (["--lr", "-1"], "argument --lr: expected a number in (0, 10], got '-1'"),
        (["--ema_decay", "-1"], "argument --ema_decay: expected a number in [0, 1), got '-1'"),
        (["--batch_size", "1000"], "larger than the 256 images"),
        (["--data_dir", "/nonexistent/mnist"], "does not exist"),
    ],
)
def test_train_bad_input_is_one_line_and_touches_nothing(tiny_mnist, trained_run, args, fragment):
    _, run_dir, _ = trained_run
    output_dir = os.path.dirname(run_dir)
    before = digest(output_dir)
    base = ["--data_dir", tiny_mnist, "--output_dir", output_dir, "--epochs", 1, "--batch_size", 64]
    result = run_script("train.py", *base, *args)
    assert_one_line_error(result, fragment)
    assert digest(output_dir) == before


def test_train_refuses_to_overwrite_an_existing_run(tiny_mnist, trained_run):
    _, run_dir, _ = trained_run
    before = digest(run_dir)
    result = run_script(
        "train.py",
        "--data_dir",
        tiny_mnist,
        "--output_dir",
        os.path.dirname(run_dir),
        "--run_name",
        "run",
        "--epochs",
        1,
        "--batch_size",
        64,
    )
    assert_one_line_error(result, "already exists")
    assert digest(run_dir) == before


def test_infer_bad_checkpoints_are_one_line_errors(tmp_path):
    assert_one_line_error(run_script("infer.py", "--ckpt", tmp_path / "nothing"), "does not exist")
    assert_one_line_error(run_script("infer.py", "--ckpt", tmp_path), "no config.json")


def test_the_end_of_run_diagnosis_scores_the_final_generator(trained_run):
    """Without --eval_every, training still checks for mode collapse with the shipped classifier."""
    _, run_dir, result = trained_run
    diagnosis = json.load(open(os.path.join(run_dir, "diagnosis.json")))
    assert any(line.startswith("sample diversity") for line in diagnosis["evidence"]), diagnosis
    assert "not checked" not in result.stdout and "diagnosis: " + diagnosis["verdict"] in result.stdout


def test_config_records_where_the_data_is_and_what_it_is(trained_run, tiny_mnist):
    _, run_dir, _ = trained_run
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert os.path.isabs(config["data_dir"]) and os.path.samefile(config["data_dir"], tiny_mnist)
    assert (
        config["data_fingerprint"].startswith("train 256 sha256:") and ", test 64 sha256:" in config["data_fingerprint"]
    )


def test_a_run_works_from_any_folder_and_with_a_copy_of_its_data(tiny_mnist, tmp_path):
    """Started with a relative --data_dir, evaluated and resumed from elsewhere, the data moved: same data
    under another path is accepted, other data is refused in one line and nothing is written."""
    import shutil

    shutil.copytree(tiny_mnist, tmp_path / "mnist")
    result = run_script(
        "train.py",
        "--model",
        "fc",
        "--data_dir",
        "mnist",
        "--epochs",
        1,
        "--batch_size",
        64,
        "--latent_dim",
        16,
        "--output_dir",
        "out",
        "--run_name",
        "r",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 epoch x 4 steps" in result.stdout
    run_dir = tmp_path / "out" / "r"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_script("evaluate.py", "--ckpt", run_dir, "--num", 100, cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]

    shutil.move(tmp_path / "mnist", tmp_path / "moved")
    assert_one_line_error(run_script("train.py", "--resume", run_dir, "--epochs", 2, cwd=elsewhere), "is gone")
    other = tmp_path / "other"
    from conftest import real_subset

    from ms_gan.data import write_split

    (x, y), (tx, ty) = real_subset(320, 128)
    write_split(str(other), "train", x[64:], y[64:])
    write_split(str(other), "test", tx[64:], ty[64:])
    before = digest(run_dir)
    result = run_script("train.py", "--resume", run_dir, "--epochs", 2, "--data_dir", other, cwd=elsewhere)
    assert_one_line_error(result, "holds other data than")
    assert_one_line_error(run_script("evaluate.py", "--ckpt", run_dir, "--data_dir", other), "holds other data than")
    assert digest(run_dir) == before
    result = run_script("train.py", "--resume", run_dir, "--epochs", 2, "--data_dir", tmp_path / "moved", cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.load(open(run_dir / "config.json"))
    assert config["data_dir"] == str(tmp_path / "moved") and config["epochs"] == 2


def test_infer_grid_has_one_row_per_digit_for_any_num(trained_run, tmp_path):
    model, run_dir, _ = trained_run
    result = run_script("infer.py", "--ckpt", run_dir, "--num", 64, "--output_dir", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    samples = np.load(tmp_path / "samples-001.npz")
    assert samples["images"].shape == (64, 28, 28)
    if model != "cgan":  # an unconditional grid has no rows by label
        assert "labels" not in samples
        return
    labels = samples["labels"]
    assert np.bincount(labels).tolist() == [7, 7, 7, 7, 6, 6, 6, 6, 6, 6]  # 64 as even as it goes, sorted by row
    assert labels.tolist() == sorted(labels.tolist())


def test_evaluate_rejects_a_bad_samples_file_before_loading_anything(tmp_path):
    (tmp_path / "x.png").write_bytes(b"\x89PNG not an npz")
    result = run_script("evaluate.py", "--samples", tmp_path / "x.png", "--data_dir", tmp_path)
    assert_one_line_error(result, "is not a samples.npz")
    assert "classifier" not in result.stdout  # rejected before the classifier or the data were touched


def test_mindspores_compile_cache_is_turned_off_with_a_note(tiny_mnist, tmp_path, monkeypatch):
    """MindSpore 2.10's compile cache gave a second run of the same graphs NaN losses at its first step (fc and
    dcgan, MindSpore's own layers too): train.py turns it off, says so, and both runs train normally."""
    monkeypatch.setenv("MS_COMPILER_CACHE_ENABLE", "1")
    monkeypatch.setenv("MS_COMPILER_CACHE_PATH", str(tmp_path / "compile_cache"))
    for name in ("first", "second"):
        result = run_script(
            "train.py",
            "--model",
            "fc",
            "--epochs",
            1,
            "--batch_size",
            64,
            "--latent_dim",
            16,
            "--data_dir",
            tiny_mnist,
            "--output_dir",
            tmp_path,
            "--run_name",
            name,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.startswith("note: MS_COMPILER_CACHE_ENABLE ignored")
    assert not os.path.exists(tmp_path / "compile_cache")


def test_profile_step_tables_a_steps_operators_and_leaves_nothing_behind(tmp_path):
    """benchmarks/profile_step.py: MindSpore's profiler over one fc step, per operator type, in ms per step that add
    up to the total it prints, and ms_gan's kernels by name; its profiler and graph files go to a temporary folder
    that is removed, and nothing lands in the working folder."""
    work, scratch = tmp_path / "work", tmp_path / "tmp"
    work.mkdir(), scratch.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmarks", "profile_step.py"),
            "--model",
            "fc",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--top",
            "3",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env=dict(os.environ, TMPDIR=str(scratch)),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    total = float(result.stdout.split("fc, batch 128, fp32: ")[1].split(" ms")[0])
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| ") and "%" in line]
    by_type = {row[1].strip(): float(row[3]) for row in rows}
    calls = {row[1].strip(): int(row[2]) for row in rows}
    assert by_type["MatMul"] > 0
    # bench_train.py's fc floor holds the products this step runs: one MatMul each
    bench = _load_benchmark("bench_train")
    dense_g = [(128, 100), (256, 128), (512, 256), (1024, 512), (784, 1024)]
    dense_d = [(512, 784), (256, 512), (1, 256)]
    assert calls["MatMul"] == len(bench.step_products(dense_g, dense_d, 128, d_in_one_call=True)) == 28
    assert sum(by_type.values()) == pytest.approx(total, abs=0.05 * len(by_type) + 0.5)  # rows under 0.05 ms left out
    # the step's wall time beside the operators': every operator call counted, the rows above among them, and
    # the operators inside the profiled steps' wall time
    wall = result.stdout.split("wall time per step: ")[1]
    assert float(wall.split(" ms profiled")[0]) > total * 0.9
    assert int(wall.split("unprofiled); ")[1].split(" operator calls")[0]) >= sum(calls.values())
    assert len([line for line in result.stdout.splitlines() if "-op" in line]) == 3  # --top 3
    # the fc D's LeakyReLU is ms_gan's kernel on CPU, named from the compiled graph in its own table: D's two, once
    # in D's update (reals and fakes in one call) and once in G's
    kernels = result.stdout.split("ms_gan's kernels")[1].split("largest operators")[0]
    assert "| LeakyReLU | 4 |" in kernels and "| LeakyReLUGrad | 4 |" in kernels and "(unnamed)" not in kernels
    # and G's three BatchNorm1d + ReLU are one kernel each way
    assert "| BatchNorm1dReLU | 3 |" in kernels and "| BatchNorm1dReLUGrad | 3 |" in kernels
    assert "BatchNorm" not in by_type
    assert os.listdir(work) == [] and os.listdir(scratch) == []


def _load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # MindSpore's graph compiler looks a compiled function's module up by name
    spec.loader.exec_module(module)
    return module


def test_the_fc_floor_counts_each_frameworks_products():
    """bench_train.step_products: ms_gan's D update scores reals and fakes in one call (the same arithmetic in
    fewer, taller products); PyTorch's step in two. Same GFLOP either way."""
    bench = _load_benchmark("bench_train")
    g, d = [(128, 100), (1024, 128), (784, 1024)], [(512, 784), (1, 512)]
    apart, together = (bench.step_products(g, d, 64, d_in_one_call=one) for one in (False, True))
    flop = [sum(2 * m * k * n for m, k, n in products) for products in (apart, together)]
    assert flop[0] == flop[1] > 0
    # G: 3 forward, 3 weight and 2 input gradients; D's update: 2 + 2 + 1 a call; G's update through D: 2 + 2
    assert (len(apart), len(together)) == (8 + 2 * 5 + 4, 8 + 5 + 4)
    assert [m for m, _, _ in together[8:10]] == [128, 512]  # D's first layer on both batches: forward, dW


def test_the_fc_floor_runs_the_steps_products_in_its_dataflow():
    """bench_train.step_dataflow runs exactly step_products' products, each on the activation or gradient the one
    before it gave, as a step does; MindSpore's floor graph computes with MatMul what numpy computes from the same
    operands, so it drops and changes none of them."""
    bench = _load_benchmark("bench_train")
    g, d = [(128, 16), (1024, 128), (784, 1024)], [(512, 784), (1, 512)]
    for one in (False, True):
        ran = []

        def mm(a, b, ta, tb):
            a, b = (a.T if ta else a), (b.T if tb else b)
            ran.append((a.shape[0], a.shape[1], b.shape[1]))
            return a @ b

        kept = bench.step_dataflow(mm, *bench.floor_operands(g, d, 64, one, np.asarray), one)
        assert sorted(ran) == sorted(bench.step_products(g, d, 64, one))
        # read by nothing else: D's logits and weight gradients per update call, its logits for G, G's gradients
        assert len(kept) == (1 if one else 2) * (1 + 2) + 1 + 3
    from ms_gan.models import build_discriminator, build_generator

    config = small_config("fc")
    net_g, net_d = build_generator(config), build_discriminator(config)
    run, products = bench.matmul_floor_graph(net_g, net_d, 64)
    g, d = (
        [tuple(p.shape) for p in net.trainable_params() if p.name.endswith("weight") and p.ndim == 2]
        for net in (net_g, net_d)
    )
    assert products == bench.step_products(g, d, 64, net_d.per_sample) and len(products) == 28
    expected = bench.step_dataflow(
        lambda a, b, ta, tb: (a.T if ta else a) @ (b.T if tb else b),
        *bench.floor_operands(g, d, 64, net_d.per_sample, np.asarray),
        net_d.per_sample,
    )
    np.testing.assert_allclose(run().asnumpy(), np.array(expected), rtol=1e-4, atol=1e-4)


def test_profile_step_refuses_bad_flags_in_one_line():
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "profile_step.py"), "--steps", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(result, "--steps and --warmup must be at least 1")


def test_a_new_model_trains_for_an_epoch_from_its_one_file(tiny_mnist, tmp_path):
    """resdcgan, docs/models.md's example, exists only as ms_gan/models/resdcgan.py: it trains (on CPU with the
    kernels swapped in), checkpoints, and infer.py draws from it."""
    result = run_script(
        "train.py",
        "--model",
        "resdcgan",
        "--ngf",
        8,
        "--ndf",
        8,
        "--batch_size",
        32,
        "--epochs",
        1,
        "--data_dir",
        tiny_mnist,
        "--output_dir",
        tmp_path,
        "--run_name",
        "res",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.load(open(tmp_path / "res" / "config.json"))
    assert config["model"] == "resdcgan" and config["ema_decay"] == 0.999  # its declared default
    drawn = run_script("infer.py", "--ckpt", tmp_path / "res", "--num", 8, "--output_dir", tmp_path / "drawn")
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    assert np.load(tmp_path / "drawn" / "samples-001.npz")["images"].std() > 0
