"""Nothing on disk is lost, whatever the user does: one writer per run, tools that replace only their own files,
misaddressed, damaged, read-only and full run folders, flags and config.json fields out of range."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT
from test_robustness import SMALL, TRAIN, log_values
from test_scripts import assert_one_line_error, digest, run_script

# --- one writer per run -----------------------------------------------------------------------------------------


def start(*args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, TRAIN, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def wait_until(condition, process, what, timeout=180):
    deadline = time.time() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline, f"{what} never happened"
        time.sleep(0.05)


def test_a_second_process_cannot_write_into_a_running_run_and_a_killed_one_leaves_no_lock(tiny_mnist, tmp_path):
    run_dir = tmp_path / "run"
    first = start(*SMALL, "--epochs", 200, "--data_dir", tiny_mnist, "--output_dir", tmp_path, "--run_name", "run")
    try:
        wait_until(lambda: os.path.isdir(run_dir / "checkpoints"), first, "the first checkpoint")
        before = log_values(run_dir)
        # a second trainer on the same run, by --resume and by a new run of the same name, both at once
        resumed = start("--resume", run_dir, "--epochs", 300)
        renamed = start(*SMALL, "--data_dir", tiny_mnist, "--output_dir", tmp_path, "--run_name", "run")
        for second in (resumed, renamed):
            _, stderr = second.communicate(timeout=300)
            result = subprocess.CompletedProcess(second.args, second.returncode, "", stderr)
            assert_one_line_error(result, f"is in use by process {first.pid} (")
        assert first.poll() is None  # the first never noticed
        now = log_values(run_dir)
        assert now[: len(before)] == before and len(set(now[1:])) == len(now) - 1  # no step logged twice
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the lock died with the process: the run resumes at once, without anyone deleting a lock file
    newest = max(int(name[5:8]) for name in os.listdir(run_dir / "checkpoints") if name.startswith("epoch"))
    result = run_script("train.py", "--resume", run_dir, "--epochs", newest + 1)
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [int(line.split(",")[1]) for line in log_values(run_dir)[1:]]
    assert steps == list(range(1, len(steps) + 1))


def test_the_lock_names_its_holder_and_frees_on_release(tmp_path):
    from ms_gan.errors import UserError
    from ms_gan.runlock import RunLock

    lock = RunLock(str(tmp_path), hint="")
    holder = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "from ms_gan.runlock import RunLock; RunLock(sys.argv[2], hint='')",
            ROOT,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert holder.returncode != 0 and f"in use by process {os.getpid()}" in holder.stderr
    lock.release()
    RunLock(str(tmp_path), hint="").release()
    with pytest.raises(UserError, match="not writable"):
        RunLock(str(tmp_path / "missing"), hint="pick a writable --output_dir")


# --- no tool replaces or deletes a file it did not make ---------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tiny_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    result = run_script(
        "train.py", *SMALL, "--epochs", 2, "--data_dir", tiny_mnist, "--output_dir", out, "--run_name", "run"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "run"


def test_report_writes_pages_only_where_it_may(finished_run, tmp_path):
    site = tmp_path / "site"  # any website folder: a config.json and a hand-written page
    site.mkdir()
    (site / "config.json").write_text("{}")
    (site / "index.html").write_text("<p>my page</p>")
    assert_one_line_error(run_script("report.py", site), "is not a run directory")
    assert (site / "index.html").read_text() == "<p>my page</p>"

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    (run / "index.html").write_text("<p>hand-written</p>")  # a page in a run that ms_gan did not write
    assert_one_line_error(run_script("report.py", run), "was not written by ms_gan")
    assert (run / "index.html").read_text() == "<p>hand-written</p>"

    # --output: the comparison page alone; the runs' own pages stay byte for byte
    pages = {r: (r / "index.html").read_bytes() for r in (finished_run, run)}
    result = run_script("report.py", finished_run, run, "--output", tmp_path / "compare.html")
    assert result.returncode == 0, result.stderr[-3000:]
    assert {r: (r / "index.html").read_bytes() for r in pages} == pages
    assert "2 runs compared" in (tmp_path / "compare.html").read_text()
    (tmp_path / "theirs.html").write_text("not ours")
    assert_one_line_error(
        run_script("report.py", finished_run, "--output", tmp_path / "theirs.html"), "was not written by ms_gan"
    )
    assert_one_line_error(run_script("report.py", finished_run, "--output", tmp_path), "is a folder")
    assert sorted(os.listdir(tmp_path)) == ["compare.html", "run", "site", "theirs.html"]  # no temporary file


def test_a_failed_write_leaves_no_temporary_file_and_the_old_file_whole(tmp_path):
    from ms_gan.fileio import write_json, write_text

    write_text(str(tmp_path / "page.html"), "old")
    with pytest.raises(TypeError):
        write_json(str(tmp_path / "page.html"), {"not json": object()})
    assert os.listdir(tmp_path) == ["page.html"] and (tmp_path / "page.html").read_text() == "old"


@contextlib.contextmanager
def tmpfs(path, size):
    """A real file system of SIZE at PATH, where the OS lets this process mount one; unmounted after."""
    path.mkdir(exist_ok=True)
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("this machine does not let the tests mount a file system (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_full_disk_during_a_save_keeps_the_older_checkpoints_and_leaves_nothing_half_written(finished_run, tmp_path):
    run_bytes = sum(p.stat().st_size for p in finished_run.rglob("*") if p.is_file())
    checkpoint = max(sum(p.stat().st_size for p in c.iterdir()) for c in (finished_run / "checkpoints").iterdir())
    with tmpfs(tmp_path / "disk", f"{(run_bytes + checkpoint) // (1 << 20) + 16}m") as disk:
        shutil.copytree(finished_run, disk / "run")
        free = shutil.disk_usage(disk).free
        with open(disk / "filler", "wb") as f:  # room for the log and the grid, not for a checkpoint (~30 MB)
            f.write(b"\0" * max(0, free - (3 << 20)))
        before = sorted(os.listdir(disk / "run" / "checkpoints"))
        result = run_script("train.py", "--resume", disk / "run", "--epochs", 3)
        assert_one_line_error(result, "cannot save the checkpoint of step 12")
        assert "No space left on device" in result.stderr
        assert sorted(os.listdir(disk / "run" / "checkpoints")) == before  # no .tmp folder, nothing lost
        leftovers = [p for p in (disk / "run").rglob("*") if ".tmp" in p.name]
        assert leftovers == []
        # with room again, the run goes on from the checkpoint it had
        os.remove(disk / "filler")
        result = run_script("train.py", "--resume", disk / "run", "--epochs", 3)
        assert result.returncode == 0, result.stderr[-3000:]


def test_a_read_only_run_is_refused_before_any_work(finished_run, tmp_path):
    with tmpfs(tmp_path / "ro", "100m") as disk:
        shutil.copytree(finished_run, disk / "run")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        before = digest(disk / "run")
        started = time.time()
        result = run_script("train.py", "--resume", disk / "run", "--epochs", 3)
        assert_one_line_error(result, "is not writable (Read-only file system); copy the run somewhere writable")
        assert time.time() - started < 60  # before data, compile or training
        result = run_script("train.py", *SMALL, "--output_dir", disk, "--run_name", "new")
        assert_one_line_error(result, "pick a writable --output_dir")
        result = run_script("infer.py", "--ckpt", disk / "run")
        assert_one_line_error(result, "--output_dir")
        assert digest(disk / "run") == before


# --- misaddressed and damaged run folders -----------------------------------------------------------------------


@pytest.fixture
def run_copy(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    return run


def test_resume_given_a_checkpoint_folder_resumes_its_run(run_copy):
    checkpoint = sorted((run_copy / "checkpoints").iterdir())[-1]
    result = run_script("train.py", "--resume", checkpoint, "--epochs", 3)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"is inside run {run_copy}" in result.stdout
    assert sorted(os.listdir(checkpoint)) == sorted(os.listdir(sorted((run_copy / "checkpoints").iterdir())[0]))
    assert not (checkpoint / "config.json").exists() and (run_copy / "checkpoints" / "epoch003-step0000012").is_dir()


@pytest.mark.parametrize(
    "damage, fragment",
    [
        ("state.json:", "is damaged (empty, truncated or edited): move"),
        ('state.json:{"epoch": 2, "st', "is damaged"),
        ('state.json:{"epoch": "two", "step": 8}', "is damaged"),
        ("config.json:", "is empty, truncated or not JSON"),
        ('config.json:{"model": "dcgan", "epochs": "five"}', "config.json: epochs takes an integer"),
        ('config.json:{"lr": -1}', "config.json: lr takes a number in (0, 10]"),
        ("config.json:[1, 2]", "does not hold a JSON object"),
        ("dir:", "is not a run train.py made"),
    ],
)
def test_damaged_run_files_are_one_line_and_change_nothing(run_copy, tmp_path, damage, fragment):
    name, text = damage.split(":", 1)
    if name == "dir":  # a folder with a config.json and nothing else of a run
        for entry in os.listdir(run_copy):
            if entry != "config.json":
                path = run_copy / entry
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    elif name == "state.json":
        sorted((run_copy / "checkpoints").iterdir())[-1].joinpath(name).write_text(text)
    else:
        (run_copy / name).write_text(text)
    before = digest(run_copy)
    result = run_script("train.py", "--resume", run_copy, "--epochs", 3)
    assert_one_line_error(result, fragment)
    assert digest(run_copy) == before
    if name != "dir":
        for script, args in (
            ("infer.py", ["--ckpt", run_copy, "--output_dir", tmp_path / "out"]),
            ("report.py", [run_copy]),
        ):
            result = run_script(script, *args)
            if name == "state.json" and script == "infer.py":  # infer.py never reads the state
                continue
            if result.returncode != 0:
                assert "Traceback" not in result.stderr and result.stderr.startswith("error: "), result.stderr


# --- flags and config.json fields: one mechanism, every number ------------------------------------------------


def _numeric_flags(parser):
    from ms_gan.ranges import Range

    for action in parser._actions:
        parse = getattr(action.type, "__self__", None)
        if isinstance(parse, Range):
            yield action.option_strings[0], parse


SCRIPTS = ("train.py", "infer.py", "evaluate.py", "diagnose.py", "train_classifier.py")  # export.py reads no number
BAD = ("nan", "inf", "-inf", "-1", "0", "1e30", "99999999999", "1.5", "x")


def load_script(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(ROOT, "scripts", name))
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def required_args(name):
    return {
        "infer.py": ["--ckpt", "x"],
        "evaluate.py": ["--ckpt", "x"],
        "diagnose.py": ["x"],
        "export.py": ["--ckpt", "x"],
    }.get(name, [])


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_numeric_flag_refuses_what_it_cannot_take(script, capsys):
    """Each number a script reads goes through one Range check: every flag is fed non-finite, negative, zero,
    huge and fractional values; each is refused in one argparse line or parses to a value its Range allows."""
    module = load_script(script)
    flags = list(_numeric_flags(_build_parser(module)))
    assert flags, f"{script} declares no numeric flag through ranges.Range"
    for flag, allowed in flags:
        for value in BAD:
            try:
                args = module.parse_args(required_args(script) + [flag, value])
            except SystemExit as e:
                assert e.code == 2
                err = capsys.readouterr().err
                assert err.count("\n") == 1 and err.startswith("error: argument " + flag), err
                continue
            parsed = getattr(args, flag[2:])
            assert allowed.check(flag, parsed) == parsed and np.isfinite(parsed), (flag, value)
            if script == "train.py":  # the config built from it validates too, or refuses in one line
                from ms_gan.errors import UserError

                with contextlib.suppress(UserError):
                    module.build_config(args)


def _build_parser(module):
    """The script's argparse parser, caught as parse_args builds it."""
    built = []
    cli = module.parse_args.__globals__["_cli"]
    original = cli.Parser.parse_args

    def capture(self, *a, **k):
        built.append(self)
        raise SystemExit(0)

    cli.Parser.parse_args = capture
    try:
        with contextlib.suppress(SystemExit):
            module.parse_args([])
    finally:
        cli.Parser.parse_args = original
    return built[0]


def test_every_config_field_with_a_number_has_a_range_and_types_are_checked():
    import dataclasses

    from ms_gan.config import TrainConfig
    from ms_gan.errors import UserError

    for f in dataclasses.fields(TrainConfig):
        if f.type in (int, float):
            assert f.metadata["allowed"] is not None, f"{f.name} has no Range"
            for value in (float("nan"), float("inf"), -1e30, 1e30, "3", True):
                with pytest.raises(UserError, match=f"--{f.name} takes"):
                    TrainConfig(**{f.name: value}).settled()
        else:
            wrong = 3 if f.type is not int else "x"
            with pytest.raises(UserError):
                TrainConfig(**{f.name: wrong}).settled()


@pytest.mark.parametrize("flag", ["--data_dir", "--output_dir", "--classifier", "--resume", "--cure"])
@pytest.mark.parametrize("kind", ["missing", "file", "folder", "unwritable"])
def test_every_path_flag_of_train_is_refused_cleanly_or_used(flag, kind, tiny_mnist, tmp_path):
    """A missing path, a file, an (empty) folder and an unwritable place, for each path flag of train.py: a
    one-line refusal, or, where that value is fine, a run that trains."""
    path = {
        "missing": tmp_path / "missing",
        "file": tmp_path / "file.txt",
        "folder": tmp_path / "folder",
        "unwritable": "/proc/ms_gan",
    }[kind]
    (tmp_path / "file.txt").write_text("not data")
    (tmp_path / "folder").mkdir()
    args = [*SMALL, "--epochs", 1, "--data_dir", tiny_mnist, "--output_dir", tmp_path / "runs", flag, path]
    result = run_script("train.py", *args)
    if flag == "--output_dir" and kind in ("missing", "folder"):  # the only values that are fine
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        assert result.returncode != 0 and "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, result.stderr[-2000:]
    assert (tmp_path / "file.txt").read_text() == "not data"  # never written over


# --- malformed samples and downloads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        ({"pictures": np.zeros((200, 28, 28), np.uint8)}, "has no 'images' array"),
        ({"images": np.zeros((200, 28, 28), np.float32)}, "images must be uint8 [N, 28, 28]"),
        ({"images": np.zeros((200, 32, 32), np.uint8)}, "images must be uint8 [N, 28, 28]"),
        ({"images": np.zeros((200, 784), np.uint8)}, "images must be uint8 [N, 28, 28]"),
        ({"images": np.zeros((20, 28, 28), np.uint8)}, "the metrics need at least 100"),
        (
            {"images": np.zeros((200, 28, 28), np.uint8), "labels": np.zeros(199, np.int32)},
            "labels must be one per image",
        ),
        (
            {"images": np.zeros((200, 28, 28), np.uint8), "labels": np.full(200, 12, np.int32)},
            "labels must be the digits",
        ),
        (
            {"images": np.zeros((200, 28, 28), np.uint8), "labels": np.zeros(200, np.float32)},
            "labels must be the digits",
        ),
        ("truncated", "is not a samples.npz"),
        ("text", "is not a samples.npz"),
    ],
)
def test_evaluate_checks_a_samples_file_as_a_whole(tiny_mnist, tmp_path, arrays, fragment):
    path = tmp_path / "samples.npz"
    if arrays == "truncated":
        np.savez(path, images=np.zeros((200, 28, 28), np.uint8))
        path.write_bytes(path.read_bytes()[:300])
    elif arrays == "text":
        path.write_text("hello")
    else:
        np.savez(path, **arrays)
    result = run_script("evaluate.py", "--samples", path, "--data_dir", tiny_mnist)
    assert_one_line_error(result, fragment)
    assert os.listdir(tmp_path) == ["samples.npz"]


@pytest.fixture(scope="module")
def mnist_server(tmp_path_factory, tiny_mnist):
    """A local HTTP server (127.0.0.1) serving MNIST_Data.zip made from the tiny real subset, and damaged copies."""
    import http.server
    import threading
    import zipfile

    root = tmp_path_factory.mktemp("www")
    with zipfile.ZipFile(root / "MNIST_Data.zip", "w") as z:
        for usage in ("train", "test"):
            for name in os.listdir(os.path.join(tiny_mnist, usage)):
                z.write(os.path.join(tiny_mnist, usage, name), f"MNIST_Data/{usage}/{name}")
    whole = (root / "MNIST_Data.zip").read_bytes()
    (root / "cut.zip").write_bytes(whole[: len(whole) // 2])
    with zipfile.ZipFile(root / "short.zip", "w") as z:  # a whole zip whose train images end early
        for usage in ("train", "test"):
            for name in os.listdir(os.path.join(tiny_mnist, usage)):
                data = open(os.path.join(tiny_mnist, usage, name), "rb").read()
                z.writestr(f"MNIST_Data/{usage}/{name}", data[:-100] if "images" in name and usage == "train" else data)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("cut.zip", "could not download MNIST"),
        ("short.zip", "is damaged: train-images-idx3-ubyte is truncated"),
        ("absent.zip", "could not download MNIST"),
    ],
)
def test_a_damaged_download_is_one_line_and_leaves_the_cache_as_it_was(mnist_server, tmp_path, name, fragment):
    cache = tmp_path / "cache"
    (cache / "data").mkdir(parents=True)
    (cache / "data" / "keep.txt").write_text("mine")
    env = dict(os.environ, MS_GAN_CACHE=str(cache), MS_GAN_MNIST_URL=f"{mnist_server}/{name}")
    env.pop("MS_GAN_MNIST_DIR", None)
    result = subprocess.run(
        [sys.executable, TRAIN, *map(str, SMALL), "--output_dir", tmp_path / "runs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_one_line_error(result, fragment)
    assert "run the command again to retry" in result.stderr
    assert sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*")) == ["data", "data/keep.txt"]
    assert not (tmp_path / "runs").exists() or os.listdir(tmp_path / "runs") == []


def test_a_fresh_clone_passes_its_data_tests_with_mnist_downloaded_from_a_local_server(mnist_server, tmp_path):
    """The suite on a user's clone: no ../shared beside it, an empty cache, MNIST downloaded (from 127.0.0.1)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", ROOT, str(clone)], check=True)
    for name in ("ms_gan", "tests", "scripts"):  # what this change has not committed yet counts too
        shutil.rmtree(clone / name)
        shutil.copytree(os.path.join(ROOT, name), clone / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    assert not (tmp_path / "shared").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MS_GAN_", "PYTEST_", "COV_"))}
    env.update(
        MS_GAN_CACHE=str(tmp_path / "cache"), MS_GAN_MNIST_URL=f"{mnist_server}/MNIST_Data.zip", PYTHONPATH=str(clone)
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "tests/test_data.py",
            "-k",
            "not fashion",
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout.splitlines()[-1] and "failed" not in result.stdout.splitlines()[-1]
    assert (tmp_path / "cache" / "data" / "MNIST_Data" / "train").is_dir()  # downloaded, as train.py would


def test_nothing_committed_names_a_path_of_the_machine_it_was_made_on():
    import re

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    machine = re.compile(r"(?<![\w.])/(?:work|home|root|tmp|Users|mnt|data)/[\w.-]+")
    found = []
    for name in files:
        if name.endswith((".png", ".gif", ".ckpt", ".npz")):
            continue
        with open(os.path.join(ROOT, name), errors="replace") as f:
            for number, line in enumerate(f, 1):
                if machine.search(line):
                    found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert found == []
    for path in files:
        if path.endswith("config.json") and path.startswith("result/"):
            config = json.load(open(os.path.join(ROOT, path)))
            assert config["data_dir"] == "" and not os.path.isabs(config["output_dir"]), path


def test_a_missing_device_is_reported_before_the_data(tmp_path):
    """Offline, without the GPU it names: the user hears about the GPU, not about the download."""
    env = dict(os.environ, MS_GAN_CACHE=str(tmp_path / "cache"), MS_GAN_MNIST_URL="http://127.0.0.1:9/none.zip")
    env.pop("MS_GAN_MNIST_DIR", None)
    result = subprocess.run(
        [sys.executable, TRAIN, "--device_target", "GPU", "--output_dir", tmp_path / "runs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_one_line_error(result, "--device_target GPU: this MindSpore installation has no usable GPU backend")
    assert "download" not in result.stdout + result.stderr
    assert not (tmp_path / "runs").exists() or os.listdir(tmp_path / "runs") == []


SHOWCASE_FC = os.path.join(ROOT, "result", "showcase", "fc")
# (script, the flag, the other arguments it needs): every path a script other than train.py reads or writes
PATH_FLAGS = [
    ("infer.py", "--ckpt", ["--num", "4", "--output_dir", "{tmp}/out"]),
    ("infer.py", "--output_dir", ["--ckpt", SHOWCASE_FC, "--num", "4"]),
    ("evaluate.py", "--ckpt", ["--num", "100", "--output", "{tmp}/m.json"]),
    ("evaluate.py", "--samples", ["--data_dir", "{mnist}"]),
    ("evaluate.py", "--data_dir", ["--ckpt", SHOWCASE_FC, "--num", "100", "--output", "{tmp}/m.json"]),
    ("evaluate.py", "--classifier", ["--ckpt", SHOWCASE_FC, "--num", "100", "--output", "{tmp}/m.json"]),
    ("evaluate.py", "--output", ["--ckpt", SHOWCASE_FC, "--num", "100"]),
    ("diagnose.py", "", ["--no_samples"]),
    ("diagnose.py", "--classifier", [SHOWCASE_FC, "--num", "100"]),
    ("export.py", "--ckpt", ["--output", "{tmp}/g.mindir"]),
    ("export.py", "--output", ["--ckpt", SHOWCASE_FC]),
    ("report.py", "", []),
    ("report.py", "--output", [SHOWCASE_FC]),
]


@pytest.mark.parametrize("script, flag, others", PATH_FLAGS, ids=[f"{s} {f or 'positional'}" for s, f, _ in PATH_FLAGS])
def test_every_path_of_the_other_scripts_is_refused_cleanly_or_used(script, flag, others, tiny_mnist, tmp_path):
    """Each given a missing path, a file, a folder and an unwritable place: a one-line refusal or a success, never a
    traceback, and nothing of a committed run changed."""
    from conftest import mnist_dir

    (tmp_path / "file.txt").write_text("not what it wants")
    (tmp_path / "folder").mkdir()
    before = digest(SHOWCASE_FC)
    for kind, path in (
        ("missing", tmp_path / "missing"),
        ("file", tmp_path / "file.txt"),
        ("folder", tmp_path / "folder"),
        ("unwritable", "/proc/ms_gan/x"),
    ):
        args = [a.format(tmp=tmp_path, mnist=mnist_dir()) for a in others]
        result = run_script(script, *(([flag] if flag else []) + [path] + args))
        assert "Traceback" not in result.stderr, (kind, result.stderr[-2000:])
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
            assert len(errors) == 1, (kind, result.stderr[-2000:])
        assert (tmp_path / "file.txt").read_text() == "not what it wants"  # never written over
    assert digest(SHOWCASE_FC) == before


def test_infer_calls_never_replace_each_others_files(tmp_path):
    first = run_script("infer.py", "--ckpt", SHOWCASE_FC, "--num", 8, "--output_dir", tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    kept = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    assert sorted(kept) == ["samples-001.npz", "samples-001.png"]
    second = run_script(
        "infer.py", "--ckpt", SHOWCASE_FC, "--num", 8, "--seed", 1, "--output_dir", tmp_path, "--interpolate", 4
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert "samples-002.npz, samples-002.png, interpolation-002.png" in second.stdout
    assert all((tmp_path / name).read_bytes() == data for name, data in kept.items())
