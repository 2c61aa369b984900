"""Checkpoints: atomic save, rebuild from the saved config, identical outputs, clear errors."""

import json
import os

import numpy as np
import pytest

from conftest import rng_inputs, small_config
from ms_gan.errors import UserError


@pytest.mark.parametrize("model", ["fc", "dcgan", "cgan"])
def test_round_trip_rebuilds_from_config_with_identical_outputs(tmp_path, model):
    from ms_gan.checkpoint import load_into, resolve_generator, save_epoch
    from ms_gan.config import save_config
    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_optimizers, make_train_step

    config = small_config(model)
    net_g, net_d = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(net_g, net_d, config)
    step = make_train_step(net_g, net_d, opt_g, opt_d, jit=False)
    real, z, labels = rng_inputs(config, config.batch_size)
    for _ in range(2):
        step(real, z, labels)  # move weights and BatchNorm statistics away from their initial values
    run_dir = str(tmp_path)
    save_config(config, os.path.join(run_dir, "config.json"))
    save_epoch(run_dir, 1, net_g, net_d, opt_g, opt_d)
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints"))) == [
        "discriminator_epoch1.ckpt", "generator_epoch1.ckpt", "optim_d_epoch1.ckpt", "optim_g_epoch1.ckpt"]

    ckpt_path, loaded_config = resolve_generator(run_dir)
    assert ckpt_path.endswith("generator_epoch1.ckpt") and loaded_config == config
    rebuilt = build_generator(loaded_config)
    load_into(rebuilt, ckpt_path)
    net_g.set_train(False)
    rebuilt.set_train(False)
    np.testing.assert_array_equal(net_g(z, labels).asnumpy(), rebuilt(z, labels).asnumpy())


def test_loading_another_architecture_names_the_mismatch(tmp_path):
    from ms_gan.checkpoint import load_into, save_cell
    from ms_gan.models import build_generator

    path = str(tmp_path / "g.ckpt")
    save_cell(build_generator(small_config("dcgan", latent_dim=16)), path)
    with pytest.raises(UserError, match="shape mismatch in generator.project.weight"):
        load_into(build_generator(small_config("dcgan", latent_dim=32)), path)
    with pytest.raises(UserError, match="missing .* parameters"):
        load_into(build_generator(small_config("fc", latent_dim=16)), path)


def test_truncated_or_foreign_checkpoint_is_a_user_error(tmp_path):
    from ms_gan.checkpoint import load_into, save_cell
    from ms_gan.models import build_generator

    net = build_generator(small_config("fc"))
    path = tmp_path / "g.ckpt"
    save_cell(net, str(path))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserError, match="not a readable MindSpore checkpoint"):
        load_into(net, str(path))
    path.write_text("hello")
    with pytest.raises(UserError, match="not a readable MindSpore checkpoint"):
        load_into(net, str(path))


def test_save_leaves_no_temporary_files(tmp_path):
    from ms_gan.checkpoint import save_cell
    from ms_gan.models import build_generator

    save_cell(build_generator(small_config("fc")), str(tmp_path / "g.ckpt"))
    assert os.listdir(tmp_path) == ["g.ckpt"]


def test_run_dir_without_config_is_a_user_error(tmp_path):
    from ms_gan.checkpoint import resolve_generator

    with pytest.raises(UserError, match="no config.json"):
        resolve_generator(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model": "fc", "bogus": 1}))
    with pytest.raises(UserError, match="bogus"):
        resolve_generator(str(tmp_path))
