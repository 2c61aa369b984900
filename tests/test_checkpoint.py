"""Checkpoints: atomic save, rebuild from the saved config, identical outputs, clear errors."""

import json
import os

import numpy as np
import pytest
from conftest import rng_inputs, small_config

from ms_gan.errors import UserError


@pytest.mark.parametrize("model", ["fc", "dcgan", "cgan"])
def test_round_trip_rebuilds_from_config_with_identical_outputs(tmp_path, model):
    from ms_gan.checkpoint import load_into, resolve_generator, save_checkpoint
    from ms_gan.config import save_config
    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_optimizers, make_steps

    config = small_config(model)
    net_g, net_d = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(net_g, net_d, config)
    step = make_steps(net_g, net_d, opt_g, opt_d, jit=False)[0]
    real, z, labels = rng_inputs(config, config.batch_size)
    for _ in range(2):
        step(real, z, labels)  # move weights and BatchNorm statistics away from their initial values
    run_dir = str(tmp_path)
    save_config(config, os.path.join(run_dir, "config.json"))
    cells = {"generator": net_g, "discriminator": net_d, "optim_g": opt_g, "optim_d": opt_d}
    saved = save_checkpoint(run_dir, {"epoch": 1, "step": 2}, cells)
    assert os.listdir(os.path.join(run_dir, "checkpoints")) == ["epoch001-step0000002"]
    assert sorted(os.listdir(saved)) == [
        "discriminator.ckpt",
        "generator.ckpt",
        "optim_d.ckpt",
        "optim_g.ckpt",
        "state.json",
    ]

    ckpt_path, loaded_config = resolve_generator(run_dir)
    assert ckpt_path == os.path.join(saved, "generator.ckpt") and loaded_config == config
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
    (tmp_path / "config.json").write_text(json.dumps({"model": "fc"}))
    with pytest.raises(UserError, match="no complete checkpoint"):
        resolve_generator(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model": "fc", "bogus": 1}))
    with pytest.raises(UserError, match="bogus"):
        resolve_generator(str(tmp_path))


def test_keep_last_prunes_only_after_the_new_checkpoint_is_complete(tmp_path):
    from ms_gan.checkpoint import list_checkpoints, save_checkpoint
    from ms_gan.models import build_generator

    cells = {"generator": build_generator(small_config("fc"))}
    for step in (10, 20, 30):
        save_checkpoint(str(tmp_path), {"epoch": step // 10, "step": step}, cells, keep_last=2)
    assert [os.path.basename(p) for p in list_checkpoints(str(tmp_path))] == [
        "epoch002-step0000020",
        "epoch003-step0000030",
    ]
    # a folder left half-written by a kill (no state.json, temporary name) is never taken as a checkpoint
    os.makedirs(tmp_path / "checkpoints" / ".tmp-123-epoch004-step0000040")
    os.makedirs(tmp_path / "checkpoints" / "epoch004-step0000040")
    assert len(list_checkpoints(str(tmp_path))) == 2
