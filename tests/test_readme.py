"""The README's commands, run as a user runs them on a fresh clone: the figures it prints come back to the
printed digit, and nothing tracked by git changes."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, mnist_dir

README = os.path.join(ROOT, "README.md")
FASHION = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist, which .ci/run installs


def readme_commands(script: str) -> list:
    """Every `python scripts/SCRIPT ...` line of the README's bash blocks that runs as written on a clone
    (on a committed showcase run: no <run> placeholder, no example path), without its trailing comment."""
    text = open(README).read()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(f"python scripts/{script}") and "--ckpt result/showcase/" in line and "<" not in line:
                commands.append(line.split()[1:])
    return commands


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A git clone of this repository, an empty user cache, and MNIST where train.py would find it."""
    root = tmp_path_factory.mktemp("readme")
    subprocess.run(["git", "clone", "-q", ROOT, str(root / "clone")], check=True)
    env = dict(os.environ, MS_GAN_CACHE=str(root / "cache"), MS_GAN_MNIST_DIR=mnist_dir(), PYTHONUNBUFFERED="1")
    return root / "clone", env


def run(clone_dir, env, args):
    result = subprocess.run(
        [sys.executable, *args], cwd=clone_dir, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, (args, result.stderr[-3000:])
    return result.stdout


def readme_row(name: str) -> list:
    """The cells of the README's Results row of run NAME (the run, model, seed, epochs columns dropped)."""
    for line in open(README):
        if line.startswith(f"| {name} |"):
            return [cell.strip() for cell in line.strip().strip("|").split("|")][4:]
    raise AssertionError(f"no Results row {name!r} in the README")


def readme_python_blocks() -> list:
    return re.findall(r"```python\n(.*?)```", open(README).read(), flags=re.S)


def test_readme_commands_leave_the_clone_clean_and_reproduce_the_table(clone):
    clone_dir, env = clone
    infer, evaluate = readme_commands("infer.py"), readme_commands("evaluate.py")
    assert len(infer) >= 2 and any("result/showcase/fc" in " ".join(c) for c in evaluate)
    for command in infer + readme_commands("export.py"):
        run(clone_dir, env, command)
    if not os.path.isdir(FASHION):  # scoring needs the real images; without Debian's copy it would download
        evaluate = [c for c in evaluate if "fashion" not in " ".join(c)]
    for command in evaluate:
        full = "result/showcase/fc" in command  # one showcase generator, scored exactly as the README did
        stdout = run(clone_dir, env, command if full else command + ["--num", "500"])
        if full:
            # | samples | n | FD | IS | precision | recall | digits covered | diversity | label acc. |
            row = next(line for line in stdout.splitlines() if line.startswith("| fc ("))
            cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
            fd, inception, precision, recall = readme_row("fc")[:4]
            assert cells[2:6] == [fd, inception, precision, recall], (cells, readme_row("fc"))
    # the README's Python, as written, in the clone (the ONNX file is the export command's)
    blocks = readme_python_blocks()
    assert len(blocks) >= 2 and any("load_generator" in b for b in blocks) and any("onnxruntime" in b for b in blocks)
    for block in blocks:  # the drawing blocks end with images; the add-a-model one with a registered model
        check = "images.shape, images.dtype" if "images" in block else "__import__('ms_gan.registry').registry.models()"
        run(clone_dir, env, ["-c", block + f"\nprint({check})"])
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=clone_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == "", status
    written = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=clone_dir, capture_output=True, text=True, check=True
    ).stdout
    assert "samples/" in written and "export/" in written  # the outputs exist, in the ignored folders
    shutil.rmtree(clone_dir)
