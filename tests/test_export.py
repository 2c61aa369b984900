"""scripts/export.py: the exported MindIR draws the same images as the checkpoint it came from."""

import os

import numpy as np
import pytest
from conftest import small_config
from test_scripts import assert_one_line_error, run_script


def saved_run(root, model, **overrides):
    """A run directory with config.json and one checkpoint of a freshly initialised generator (its
    BatchNorm statistics set to non-trivial values, so eval-mode inference is what gets compared)."""
    import mindspore as ms

    from ms_gan.checkpoint import CONFIG_NAME, save_checkpoint
    from ms_gan.config import save_config
    from ms_gan.models import build_generator

    config = small_config(model, **overrides)
    net_g = build_generator(config)
    rng = np.random.default_rng(0)
    for p in net_g.get_parameters():
        if "moving_" in p.name:
            values = rng.uniform(0.5, 1.5, p.shape) if "variance" in p.name else rng.normal(0, 0.3, p.shape)
            p.set_data(ms.Tensor(values.astype(np.float32)))
    run_dir = os.path.join(root, model)
    os.makedirs(run_dir)
    save_config(config, os.path.join(run_dir, CONFIG_NAME))
    save_checkpoint(run_dir, {"epoch": 1, "step": 1}, {"generator": net_g})
    return run_dir, config, net_g


def reference_images(net_g, config, n: int, seed: int = 1):
    """(z, labels, what the checkpoint's generator draws from them in inference mode) for N samples."""
    import mindspore as ms

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, config.latent_dim)).astype(np.float32)
    labels = (np.arange(n) * 3 % 10).astype(np.int32)
    net_g.set_train(False)
    return z, labels, net_g(ms.Tensor(z), ms.Tensor(labels)).asnumpy()


@pytest.mark.parametrize("model", ["fc", "dcgan", "cgan"])
def test_mindir_takes_any_batch_and_gives_the_checkpoints_images(tmp_path, model):
    import mindspore as ms
    from mindspore import nn

    run_dir, config, net_g = saved_run(tmp_path, model)
    result = run_script("export.py", "--ckpt", run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    path = os.path.join(run_dir, "export", "generator.mindir")
    assert os.path.isfile(path) and path in result.stdout and "any N" in result.stdout
    graph = nn.GraphCell(ms.load(path))
    for n in (1, 8, 64):
        z, labels, expected = reference_images(net_g, config, n)
        exported = graph(ms.Tensor(z), ms.Tensor(labels)).asnumpy()
        assert exported.shape == (n, 1, 28, 28)
        np.testing.assert_allclose(exported, expected, atol=1e-5)


@pytest.mark.parametrize("model", ["fc", "dcgan", "cgan"])
def test_onnx_runs_in_onnxruntime_at_any_batch_and_gives_the_checkpoints_images(tmp_path, model):
    import onnxruntime

    run_dir, config, net_g = saved_run(tmp_path, model)
    result = run_script("export.py", "--ckpt", run_dir, "--file_format", "onnx")  # any case
    assert result.returncode == 0, result.stderr[-3000:]
    path = os.path.join(run_dir, "export", "generator.onnx")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for n in (1, 8, 11, 64):
        z, labels, expected = reference_images(net_g, config, n)
        (exported,) = session.run(None, {"z": z, "labels": labels})
        assert exported.shape == (n, 1, 28, 28)
        np.testing.assert_allclose(exported, expected, atol=1e-5)
    # a deployment file others can read, in a folder others can enter (MindSpore exports with umask 077)
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o755


def test_export_bad_input_is_one_line(tmp_path):
    run_dir, _, _ = saved_run(tmp_path, "dcgan")
    assert_one_line_error(
        run_script("export.py", "--ckpt", run_dir, "--output", tmp_path / "g.onnx"), "must end in .mindir"
    )
    assert_one_line_error(run_script("export.py", "--ckpt", tmp_path / "nothing"), "does not exist")
    assert_one_line_error(run_script("export.py", "--ckpt", run_dir, "--file_format", "pb"), "invalid choice")
    assert os.listdir(run_dir) == ["config.json", "checkpoints"] or sorted(os.listdir(run_dir)) == [
        "checkpoints",
        "config.json",
    ]
