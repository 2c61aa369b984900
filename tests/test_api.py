"""The Python API (ms_gan.load_generator, Generator.sample, ms_gan.train), as a notebook would use it."""

import os

import numpy as np
import pytest
from conftest import ROOT
from test_scripts import run_script

SHOWCASE = os.path.join(ROOT, "result", "showcase")


def test_the_readme_example_draws_the_digit_asked_for():
    import ms_gan
    from ms_gan.classifier import load_classifier, predict, shipped_path

    g = ms_gan.load_generator(os.path.join(SHOWCASE, "cgan"))
    images = g.sample(16, labels=7, seed=0)
    assert images.dtype == np.uint8 and images.shape == (16, 28, 28) and images.max() > 200
    np.testing.assert_array_equal(g.sample(16, labels=7, seed=0), images)  # same seed, same digits
    assert not np.array_equal(g.sample(16, labels=7, seed=1), images)
    read = predict(load_classifier(shipped_path("mnist")), images)
    assert (read == 7).mean() >= 0.9, read
    images, labels = g.sample_with_labels(20)  # no labels: every digit in turn
    assert labels.tolist() == np.repeat(np.arange(10), 2).tolist()


def test_infer_draws_through_the_api(tmp_path):
    import ms_gan

    result = run_script(
        "infer.py",
        "--ckpt",
        os.path.join(SHOWCASE, "cgan"),
        "--num",
        12,
        "--label",
        3,
        "--seed",
        5,
        "--output_dir",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = np.load(tmp_path / "samples-001.npz")
    g = ms_gan.load_generator(os.path.join(SHOWCASE, "cgan"))
    np.testing.assert_array_equal(drawn["images"], g.sample(12, labels=3, seed=5))
    assert drawn["labels"].tolist() == [3] * 12


def test_bad_requests_are_user_errors():
    import ms_gan
    from ms_gan.errors import UserError

    cgan, fc = (
        ms_gan.load_generator(os.path.join(SHOWCASE, "cgan")),
        ms_gan.load_generator(os.path.join(SHOWCASE, "fc")),
    )
    assert fc.sample(5).shape == (5, 28, 28) and not fc.conditional and cgan.conditional
    for call, fragment in [
        (lambda: fc.sample(4, labels=1), "need a conditional model"),
        (lambda: cgan.sample(4, labels=10), "labels must be one class in 0-9"),
        (lambda: cgan.sample(4, labels=[1, 2]), "or 4 of them"),
        (lambda: cgan.sample(0), "positive number of images"),
        (lambda: ms_gan.load_generator("nowhere"), "does not exist"),
        (lambda: ms_gan.load_generator(os.path.join(SHOWCASE, "fc"), device="TPU"), "device"),
        (lambda: ms_gan.train(model="fc", epochs=0), "--epochs takes"),
        (lambda: ms_gan.train(modle="fc"), "unknown settings: modle"),
    ]:
        with pytest.raises(UserError, match=fragment):
            call()


def test_train_makes_a_run_that_load_generator_draws_from(tiny_mnist, tmp_path):
    import ms_gan

    run = ms_gan.train(
        model="fc", epochs=1, batch_size=64, latent_dim=16, data_dir=tiny_mnist, output_dir=str(tmp_path), run_name="nb"
    )
    assert run == os.path.join(str(tmp_path), "nb") and os.path.isfile(os.path.join(run, "log.csv"))
    assert ms_gan.load_generator(run).sample(3, seed=1).shape == (3, 28, 28)
    again = ms_gan.train(resume=run, epochs=2)
    assert again == run and len(open(os.path.join(run, "log.csv")).read().splitlines()) == 1 + 2 * 4


def test_importing_ms_gan_does_not_import_mindspore():
    import subprocess
    import sys

    code = "import sys, ms_gan; print(ms_gan.__version__, 'mindspore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False"
    import tomllib

    assert "version" in tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))["project"]["dynamic"]


def test_pip_install_dot_ships_what_the_package_needs(tmp_path):
    """`pip install .` (not only -e .): the installed copy imports from its own folder, carries the shipped
    classifiers and the kernels' sources, and draws from a conv generator with kernels it builds itself."""
    import importlib.util
    import shutil
    import subprocess
    import sys

    source = tmp_path / "source"  # a copy, so that the build's own folders land outside the checkout
    shutil.copytree(os.path.join(ROOT, "ms_gan"), source / "ms_gan", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    target = tmp_path / "site"
    # with setuptools at hand, build with it; else pip fetches it from PyPI, as for any user
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            *isolation,
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    code = (
        "import os, sys, ms_gan; from ms_gan.classifier import shipped_path; "
        "assert ms_gan.__file__.startswith(sys.argv[1]), ms_gan.__file__; "
        "assert os.path.isfile(shipped_path('mnist')); "
        "g = ms_gan.load_generator(sys.argv[2]); print(ms_gan.__version__, g.sample(2).shape)"
    )
    env = dict(os.environ, PYTHONPATH=str(target), MS_GAN_CACHE=str(tmp_path / "cache"))
    result = subprocess.run(
        [sys.executable, "-c", code, str(target), os.path.join(SHOWCASE, "dcgan")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import ms_gan

    last = result.stdout.strip().splitlines()[-1]  # the kernels' build notice comes first
    assert last.split()[0] == ms_gan.__version__ and "(2, 28, 28)" in last
    assert "building ms_gan's CPU kernels" in result.stdout  # said on screen, once
    assert list((tmp_path / "cache" / "kernels").glob("gemm_conv-*.so"))
