"""The compiled GAN update, in GRAPH and PYNATIVE mode."""

import numpy as np
import pytest
from conftest import numpy_params, rng_inputs, small_config

MODES = pytest.mark.parametrize("graph_or_pynative", ["graph", "pynative"], indirect=True)


def build(model):
    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_optimizers

    config = small_config(model)
    net_g, net_d = build_generator(config), build_discriminator(config)
    net_g.set_train(True)
    net_d.set_train(True)
    return config, net_g, net_d, *make_optimizers(net_g, net_d, config)


def changed(before: dict, after: dict) -> list:
    return [name for name in before if not np.array_equal(before[name], after[name])]


def test_learning_rate_schedules():
    from ms_gan.train_step import learning_rates

    assert learning_rates(small_config("fc", lr=1e-3, lr_d=4e-3), "d", 100) == 4e-3  # constant: a plain number
    linear = learning_rates(small_config("fc", lr=1e-3, lr_schedule="linear"), "g", 100).asnumpy()
    assert linear.shape == (100,)
    np.testing.assert_allclose(linear[:51], 1e-3)
    assert np.all(np.diff(linear[50:]) < 0) and 0 < linear[-1] < 1e-4
    cosine = learning_rates(small_config("fc", lr=1e-3, lr_d=2e-3, lr_schedule="cosine", n_critic=5), "d", 100)
    cosine = cosine.asnumpy()
    assert cosine[0] == np.float32(2e-3) and np.all(np.diff(cosine) < 0) and cosine[-1] < 1e-5
    np.testing.assert_allclose(cosine[50], 1e-3, rtol=1e-6)
    # G updates once per n_critic steps: its curve covers the run in 20 points
    g_curve = learning_rates(small_config("fc", lr=1e-3, lr_schedule="cosine", n_critic=5), "g", 100).asnumpy()
    assert g_curve.shape == (20,) and g_curve[-1] < 1e-4


def test_default_rates_cgans_d_twice_gs_unless_told():
    from ms_gan.config import TrainConfig
    from ms_gan.errors import UserError

    rates = {
        m: (c.learning_rates("g", 10), c.learning_rates("d", 10))
        for m, c in ((m, TrainConfig(model=m).settled()) for m in ("fc", "dcgan", "cgan"))
    }
    assert rates == {"fc": (2e-4, 2e-4), "dcgan": (1e-3, 1e-3), "cgan": (2e-4, 4e-4)}
    assert TrainConfig(model="cgan", lr=1e-3).settled().lr_d == 2e-3  # the multiple follows --lr
    assert TrainConfig(model="cgan", lr_d=0.0).settled().learning_rates("d", 10) == 2e-4  # 0: G's rate
    assert TrainConfig(model="dcgan").settled().lr_d == 0.0  # as config.json had it before the default
    with pytest.raises(UserError, match=r"--lr_d takes a number in \[0, 10\]"):
        TrainConfig(model="cgan", lr_d=-1.0).settled()


@MODES
@pytest.mark.parametrize("model", ["fc", "dcgan", "cgan"])
def test_train_step_runs_and_losses_are_finite(graph_or_pynative, model):
    from ms_gan.train_step import STEP_METRICS, make_steps

    config, net_g, net_d, opt_g, opt_d = build(model)
    step = make_steps(net_g, net_d, opt_g, opt_d, jit=graph_or_pynative == "graph")[0]
    real, z, labels = rng_inputs(config, config.batch_size)
    g_before, d_before = numpy_params(net_g), numpy_params(net_d)
    for _ in range(3):
        values = step(real, z, labels).asnumpy()
    assert values.shape == (len(STEP_METRICS),)
    assert np.all(np.isfinite(values))
    assert np.all((values[3:] >= 0) & (values[3:] <= 1))  # accuracies
    assert changed(g_before, numpy_params(net_g)) and changed(d_before, numpy_params(net_d))


@MODES
@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_each_update_touches_only_its_own_network(graph_or_pynative, model):
    import mindspore as ms

    from ms_gan.train_step import make_updates

    config, net_g, net_d, opt_g, opt_d = build(model)
    update_d, update_g, _ = make_updates(net_g, net_d, opt_g, opt_d)
    if graph_or_pynative == "graph":
        update_d, update_g = ms.jit(update_d), ms.jit(update_g)
    real, z, labels = rng_inputs(config, config.batch_size)

    g0, d0 = numpy_params(net_g), numpy_params(net_d)
    d_stats = np.array([v.asnumpy() for v in update_d(real, z, labels)])
    g1, d1 = numpy_params(net_g), numpy_params(net_d)
    assert np.all(np.isfinite(d_stats))
    assert changed(g0, g1) == []  # D's update left every trainable G parameter alone
    assert len(changed(d0, d1)) == len(d0)  # and moved every D parameter

    g_loss = float(update_g(z, labels).asnumpy())
    g2, d2 = numpy_params(net_g), numpy_params(net_d)
    assert np.isfinite(g_loss)
    assert changed(d1, d2) == []  # G's update left every trainable D parameter alone
    assert len(changed(g1, g2)) == len(g1)


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_one_forward_of_g_gives_the_two_updates_in_a_row(model):
    """train_step's update_both (G's forward pass shared by both updates) lands on the same weights and numbers
    as update_d then update_g, each with its own forward pass. Only BatchNorm's running statistics, which
    every forward in training updates, move once instead of twice."""
    import mindspore as ms

    from ms_gan.train_step import make_updates

    def after(both: bool):
        ms.set_seed(0)
        config, net_g, net_d, opt_g, opt_d = build(model)
        update_d, update_g, update_both = make_updates(net_g, net_d, opt_g, opt_d)
        real, z, labels = rng_inputs(config, config.batch_size)
        if both:
            d_stats, g_loss = ms.jit(update_both)(real, z, labels)
        else:
            d_stats, g_loss = ms.jit(update_d)(real, z, labels), ms.jit(update_g)(z, labels)
        numbers = np.array([float(v.asnumpy()) for v in (*d_stats, g_loss)])
        return numbers, numpy_params(net_g), numpy_params(net_d)

    (numbers_2, g_2, d_2), (numbers_1, g_1, d_1) = after(False), after(True)
    np.testing.assert_allclose(numbers_1, numbers_2, rtol=1e-5)
    for name in g_2:
        np.testing.assert_allclose(g_1[name], g_2[name], rtol=1e-5, atol=1e-7, err_msg=name)
    for name in d_2:
        np.testing.assert_allclose(d_1[name], d_2[name], rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize(
    "model, overrides, per_sample",
    [
        ("fc", {}, True),
        ("fc", {"spectral_norm": True}, False),
        ("dcgan", {}, False),
        ("dcgan", {"loss": "wgan-gp"}, True),
        ("cgan", {"loss": "wgan-gp"}, True),
        ("cgan", {"minibatch_disc": True}, False),
    ],
)
def test_d_scores_reals_and_fakes_in_one_call_only_where_that_changes_nothing(model, overrides, per_sample):
    """A discriminator without BatchNorm, minibatch discrimination or spectral normalisation sees the reals and
    the fakes as one batch of twice the size; D's update then lands on the same losses and weights as with a call
    for each (up to float32 rounding). The cgan's wgan-gp case also compiles the gradient penalty of a critic that
    reads its labels, which MindSpore 2.10 refused while the penalty took them from a closure."""
    import mindspore as ms

    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_optimizers, make_steps

    config = small_config(model, **overrides)

    def after(one_call: bool):
        ms.set_seed(0)
        net_g, net_d = build_generator(config), build_discriminator(config)
        assert net_d.per_sample is per_sample
        net_d.per_sample = one_call and per_sample
        opt_g, opt_d = make_optimizers(net_g, net_d, config)
        train_step = make_steps(net_g, net_d, opt_g, opt_d, config)[0]
        real, z, labels = rng_inputs(config, config.batch_size)
        stats = train_step(real, z, labels, ms.Tensor(np.full((config.batch_size, 1, 1, 1), 0.3, np.float32)))
        return stats.asnumpy(), numpy_params(net_d)

    (numbers_1, d_1), (numbers_2, d_2) = after(True), after(False)
    np.testing.assert_allclose(numbers_1, numbers_2, rtol=1e-5, atol=1e-6)
    assert not changed(d_1, d_2) or per_sample  # without the merge both runs are the same code: bit for bit
    # Adam's first step moves each weight by about the rate (1e-3 here) whatever the gradient's size, so where a
    # gradient is ~0 its rounding decides the sign: allow 2% of a step, where a mixed-up real and fake half would
    # be off by whole steps
    for name in d_2:
        np.testing.assert_allclose(d_1[name], d_2[name], rtol=1e-5, atol=2e-5, err_msg=name)


def test_bce_losses_match_hand_computed_values():
    import mindspore as ms

    from ms_gan.losses import bce_d_loss, bce_g_loss

    real = ms.Tensor(np.array([2.0, -1.0], np.float32))
    fake = ms.Tensor(np.array([0.0, 30.0], np.float32))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    loss_real, loss_fake = bce_d_loss(real, fake)
    np.testing.assert_allclose(float(loss_real.asnumpy()), -np.mean(np.log(sigmoid(np.array([2.0, -1.0])))), rtol=1e-5)
    np.testing.assert_allclose(
        float(loss_fake.asnumpy()), (np.log(2) + 30.0) / 2, rtol=1e-5
    )  # -log(1-sigmoid(30)) ~ 30
    np.testing.assert_allclose(float(bce_g_loss(fake).asnumpy()), (np.log(2) + np.log1p(np.exp(-30.0))) / 2, rtol=1e-5)


@MODES
def test_loss_scaling_matches_float32_and_skips_overflowing_updates(graph_or_pynative):
    """The --amp_level path's dynamic loss scaling, run in float32: scaled-then-unscaled gradients give the
    plain update, and a step whose gradients overflow leaves D as it was instead of writing NaN."""
    import mindspore as ms

    from ms_gan.train_step import make_updates

    def d_after_update(loss_scale, real=None):
        ms.set_seed(0)
        config, net_g, net_d, opt_g, opt_d = build("dcgan")
        update_d, *_ = make_updates(net_g, net_d, opt_g, opt_d, loss_scale=loss_scale)
        update_d = ms.jit(update_d) if graph_or_pynative == "graph" else update_d
        inputs = rng_inputs(config, config.batch_size)
        update_d(real if real is not None else inputs[0], *inputs[1:])
        return numpy_params(net_d)

    plain, scaled = d_after_update(False), d_after_update(True)
    for name in plain:
        np.testing.assert_allclose(scaled[name], plain[name], rtol=1e-4, atol=1e-6, err_msg=name)

    overflowing = ms.Tensor(np.full((8, 1, 28, 28), 3e38, np.float32))
    ms.set_seed(0)
    untouched = numpy_params(build("dcgan")[2])
    skipped = d_after_update(True, overflowing)
    assert changed(untouched, skipped) == []
    assert not all(np.isfinite(v).all() for v in d_after_update(False, overflowing).values())
