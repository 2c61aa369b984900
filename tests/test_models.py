"""Every model's shapes, value ranges and parameter names."""

import numpy as np
import pytest
from conftest import rng_inputs, small_config


@pytest.mark.parametrize("model", ["fc", "dcgan", "cgan"])
def test_generator_and_discriminator_shapes(model):
    from ms_gan.models import build_discriminator, build_generator

    config = small_config(model)
    net_g, net_d = build_generator(config), build_discriminator(config)
    _, z, labels = rng_inputs(config, 5)
    images = net_g(z, labels)
    assert images.shape == (5, 1, 28, 28)
    values = images.asnumpy()
    assert values.min() >= -1.0 and values.max() <= 1.0 and values.std() > 0
    logits = net_d(images, labels)
    assert logits.shape == (5,)
    assert np.all(np.isfinite(logits.asnumpy()))


@pytest.mark.parametrize("model", ["fc", "dcgan", "cgan"])
def test_parameter_names_never_collide(model):
    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_optimizers

    config = small_config(model)
    net_g, net_d = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(net_g, net_d, config)
    g_names = [p.name for p in net_g.get_parameters()]
    d_names = [p.name for p in net_d.get_parameters()]
    assert all(n.startswith("generator.") for n in g_names)
    assert all(n.startswith("discriminator.") for n in d_names)
    own = lambda opt, nets: [p.name for _, p in opt.parameters_and_names() if p.name not in nets]  # noqa: E731
    g_state, d_state = own(opt_g, g_names), own(opt_d, d_names)
    assert g_state and all(n.startswith("optim_g.") for n in g_state)
    assert d_state and all(n.startswith("optim_d.") for n in d_state)
    everything = g_names + d_names + g_state + d_state
    assert len(everything) == len(set(everything))


def test_model_dependent_defaults():
    """dcgan trains at its measured lr 1e-3, the others at the tutorials' 2e-4; the conv models average G
    (0.999), the fc models do not; a value given wins, and the config written for a run holds the number."""
    from ms_gan.config import TrainConfig

    for model, lr, ema in (
        ("fc", 2e-4, 0.0),
        ("fc_improved", 2e-4, 0.0),
        ("dcgan", 1e-3, 0.999),
        ("cgan", 2e-4, 0.999),
    ):
        config = TrainConfig(model=model).settled()
        assert (config.lr, config.ema_decay) == (lr, ema)
        assert config.to_dict()["lr"] == lr
    assert TrainConfig(model="dcgan", lr=1e-4, ema_decay=0.0).settled().lr == 1e-4


def test_validate_only_checks_and_settled_fills_in_a_copy():
    """validate() changes nothing (the model's defaults stay None); settled() returns a new config with them."""
    import dataclasses

    from ms_gan.config import TrainConfig
    from ms_gan.errors import UserError

    given = TrainConfig(model="cgan", clusters=5)
    before = dataclasses.asdict(given)
    assert given.validate() is given and dataclasses.asdict(given) == before
    settled = given.settled()
    assert settled is not given and dataclasses.asdict(given) == before
    assert (settled.lr, settled.lr_d, settled.ema_decay, settled.num_classes) == (2e-4, 4e-4, 0.999, 5)
    with pytest.raises(UserError, match="--clusters trains a conditional model's networks"):
        TrainConfig(model="dcgan", clusters=5).validate()


def test_the_run_record_is_kept_apart_from_the_settings(tmp_path):
    """config.json holds both, flat as before; load_config gives the settings, load_record what the run found."""
    import json

    from ms_gan.config import RunRecord, TrainConfig, load_config, load_record, save_config

    path = str(tmp_path / "config.json")
    record = RunRecord(data_fingerprint="train 3 sha256:ab", cluster_shares=[0.5, 0.5], cured_from="run-x (D dominant)")
    save_config(TrainConfig(model="cgan", clusters=2).settled(), path, record)
    assert json.load(open(path))["cluster_shares"] == [0.5, 0.5]
    settings = load_config(path)
    assert not hasattr(settings, "data_fingerprint") and settings.clusters == 2
    assert load_record(path) == record


def test_a_model_or_loss_is_known_by_its_declaration():
    """The flags' choices are the registered models and losses; what the config, the step and the diagnosis ask
    of a model comes from its declaration."""
    from ms_gan import registry
    from ms_gan.config import TrainConfig, choices_of

    models = registry.models()
    assert {"fc", "fc_improved", "dcgan", "cgan", "resdcgan"} <= set(models)
    assert choices_of(TrainConfig.__dataclass_fields__["model"]) == tuple(models)
    assert [n for n, m in models.items() if m.conditional] == ["cgan"]
    assert {n for n, m in models.items() if m.convolutional} == {"dcgan", "cgan", "resdcgan"}
    with pytest.raises(Exception, match="unknown --model 'nope'; choose one of"):
        registry.model("nope")


def test_fc_matches_the_tutorial_layout():
    from ms_gan.models import build_discriminator, build_generator

    config = small_config("fc", latent_dim=100)
    dense_g = [p.shape for p in build_generator(config).trainable_params() if p.name.endswith(".weight")]
    dense_d = [p.shape for p in build_discriminator(config).trainable_params() if p.name.endswith(".weight")]
    assert [tuple(s) for s in dense_g] == [(128, 100), (256, 128), (512, 256), (1024, 512), (784, 1024)]
    assert [tuple(s) for s in dense_d] == [(512, 784), (256, 512), (1, 256)]


def test_conditional_generator_listens_to_the_label():
    import mindspore as ms

    from ms_gan.models import build_generator

    config = small_config("cgan")
    net_g = build_generator(config)
    net_g.set_train(False)
    z = ms.Tensor(np.random.default_rng(0).standard_normal((10, config.latent_dim)).astype(np.float32))
    as_three = net_g(z, ms.Tensor(np.full(10, 3, np.int32))).asnumpy()
    as_seven = net_g(z, ms.Tensor(np.full(10, 7, np.int32))).asnumpy()
    # untrained, in inference mode, G's outputs are tiny (N(0, 0.02) weights in five layers); the label must
    # move them by a good share of their own spread
    assert np.abs(as_three - as_seven).mean() > 0.3 * as_three.std() > 0


def test_minibatch_discrimination_matches_its_formula_and_sees_copies():
    """o_ib = mean over j != i of exp(-||M_ib - M_jb||_1), M = x T: by hand in numpy; a batch of one image
    repeated scores exactly 1 everywhere, a varied batch less."""
    import mindspore as ms

    from ms_gan.models.layers import MinibatchDiscrimination

    layer = MinibatchDiscrimination(6, num_kernels=4, kernel_dim=3)
    x = np.random.RandomState(0).randn(5, 6).astype(np.float32)
    m = (x @ layer.T.asnumpy()).reshape(5, 4, 3)
    expected = (np.exp(-np.abs(m[:, None] - m[None]).sum(-1)).sum(1) - 1) / 4
    np.testing.assert_allclose(layer(ms.Tensor(x)).asnumpy(), expected, rtol=1e-5, atol=1e-6)
    assert 0.05 < expected.mean() < 0.95  # the init leaves the exponentials neither 0 nor 1: a gradient
    copies = layer(ms.Tensor(np.repeat(x[:1], 5, axis=0))).asnumpy()
    np.testing.assert_allclose(copies, 1.0, rtol=1e-6)


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_minibatch_disc_adds_its_layer_to_d_only(model):
    from ms_gan.config import TrainConfig
    from ms_gan.models import build_discriminator

    config = small_config(model)
    plain = {p.name for p in build_discriminator(config).get_parameters()}
    net_d = build_discriminator(TrainConfig(**{**config.to_dict(), "minibatch_disc": True}).settled())
    added = {p.name for p in net_d.get_parameters()} - plain
    assert added == {"discriminator.minibatch.discrimination.T", "discriminator.minibatch.dense.weight"}
    images, _, labels = rng_inputs(config, 4)
    assert net_d(images, labels).shape == (4,)


def test_docs_show_the_add_a_model_example_as_it_is():
    """docs/models.md quotes ms_gan/models/resdcgan.py whole: the quote is the file."""
    import os
    import re

    from conftest import ROOT

    page = open(os.path.join(ROOT, "docs", "models.md")).read()
    quoted = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert open(os.path.join(ROOT, "ms_gan", "models", "resdcgan.py")).read() in quoted
