"""Losses, the WGAN-GP penalty, EMA, spectral norm, clipping: values by hand, and short real runs."""

import os

import numpy as np
import pytest
from conftest import ROOT, rng_inputs, small_config
from test_robustness import log_values
from test_scripts import run_script

MODES = pytest.mark.parametrize("graph_or_pynative", ["graph", "pynative"], indirect=True)


def tensor(values):
    import mindspore as ms

    return ms.Tensor(np.asarray(values, np.float32))


def test_each_loss_matches_hand_computed_values():
    from ms_gan import registry

    real, fake = [2.0, -0.5], [0.5, -3.0]
    expected = {
        # (D on real, D on fake, G), by hand from the formulas in the papers
        "lsgan": (
            0.5 * ((2 - 1) ** 2 + (-0.5 - 1) ** 2) / 2,
            0.5 * (0.5**2 + 3**2) / 2,
            0.5 * ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2,
        ),
        "hinge": ((0 + 1.5) / 2, (1.5 + 0) / 2, -(0.5 - 3) / 2),
        "wgan-gp": (-(2 - 0.5) / 2, (0.5 - 3) / 2, -(0.5 - 3) / 2),
    }
    for name, (d_real, d_fake, g) in expected.items():
        d_loss, g_loss = registry.loss(name).d_loss, registry.loss(name).g_loss
        got_real, got_fake = d_loss(tensor(real), tensor(fake))
        got = [float(got_real.asnumpy()), float(got_fake.asnumpy()), float(g_loss(tensor(fake)).asnumpy())]
        np.testing.assert_allclose(got, [d_real, d_fake, g], rtol=1e-6, err_msg=name)


def test_every_loss_is_declared_and_the_flags_take_exactly_those():
    """--loss's choices are the registered losses; each declares a curve label and its functions."""
    import dataclasses

    from ms_gan import registry
    from ms_gan.config import TrainConfig, choices_of

    losses = registry.losses()
    assert set(losses) == {"bce", "lsgan", "hinge", "wgan-gp"}
    assert choices_of(TrainConfig.__dataclass_fields__["loss"]) == tuple(losses)
    for loss in losses.values():
        assert loss.curve_label and callable(loss.d_loss) and callable(loss.g_loss) and callable(loss.threshold)
    assert [name for name, loss in losses.items() if loss.targets] == ["bce", "lsgan"]
    assert [name for name, loss in losses.items() if loss.gradient_penalty] == ["wgan-gp"]
    assert dataclasses.is_dataclass(loss)


def test_two_sided_smoothing_raises_the_fake_target():
    from ms_gan.losses import bce_d_loss, lsgan_d_loss

    real, fake = tensor([2.0, -0.5]), tensor([0.5, -3.0])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    _, smoothed_fake = bce_d_loss(real, fake, 0.9, 0.1)
    np.testing.assert_allclose(
        float(smoothed_fake.asnumpy()),
        np.mean(softplus(np.array([0.5, -3.0])) - 0.1 * np.array([0.5, -3.0])),
        rtol=1e-6,
    )
    _, ls_fake = lsgan_d_loss(real, fake, 0.9, 0.1)
    np.testing.assert_allclose(float(ls_fake.asnumpy()), 0.5 * ((0.5 - 0.1) ** 2 + (-3 - 0.1) ** 2) / 2, rtol=1e-6)


def test_label_smoothing_lowers_only_the_real_target():
    from ms_gan.losses import bce_d_loss, lsgan_d_loss

    real, fake = tensor([2.0, -0.5]), tensor([0.5, -3.0])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    smoothed_real, smoothed_fake = bce_d_loss(real, fake, 0.9)
    # BCE(x, y) = softplus(x) - x y
    np.testing.assert_allclose(
        float(smoothed_real.asnumpy()),
        np.mean(softplus(np.array([2.0, -0.5])) - 0.9 * np.array([2.0, -0.5])),
        rtol=1e-6,
    )
    np.testing.assert_allclose(float(smoothed_fake.asnumpy()), float(bce_d_loss(real, fake)[1].asnumpy()))
    ls_real, _ = lsgan_d_loss(real, fake, 0.9)
    np.testing.assert_allclose(float(ls_real.asnumpy()), 0.5 * ((2 - 0.9) ** 2 + (-0.5 - 0.9) ** 2) / 2, rtol=1e-6)


def critics():
    """Two tiny critics whose input gradients are known in closed form (Cells, so graph mode compiles them)."""
    from mindspore import nn, ops

    class Linear(nn.Cell):
        """critic(x) = <w, x_i> per sample: its gradient is w for every sample."""

        def __init__(self, w):
            super().__init__()
            self.w = tensor(w)

        def construct(self, x, labels):
            return ops.sum(ops.reshape(x * self.w, (x.shape[0], -1)), dim=1)

    class Square(nn.Cell):
        """critic(x) = c * ||x_i||^2 per sample: gradient 2c x_i, a different norm for each sample."""

        def __init__(self, c):
            super().__init__()
            self.c = c

        def construct(self, x, labels):
            return self.c * ops.sum(ops.reshape(x * x, (x.shape[0], -1)), dim=1)

    return Linear, Square


@MODES
def test_gradient_penalty_equals_hand_computed_values_per_sample(graph_or_pynative):
    import mindspore as ms

    from ms_gan.losses import gradient_penalty

    rng = np.random.default_rng(0)
    real = rng.standard_normal((3, 1, 2, 2)).astype(np.float32)
    fake = rng.standard_normal((3, 1, 2, 2)).astype(np.float32)
    mix = np.array([0.0, 0.3, 1.0], np.float32).reshape(3, 1, 1, 1)
    w = np.array([0.5, -1.0, 2.0, 0.25], np.float32).reshape(1, 1, 2, 2)

    def penalty(critic):
        fn = lambda r, f, m: gradient_penalty(critic, r, f, None, m)  # noqa: E731
        fn = ms.jit(fn) if graph_or_pynative == "graph" else fn
        return float(fn(tensor(real), tensor(fake), tensor(mix)).asnumpy())

    linear, square = critics()
    # linear critic: every sample's gradient is w, so the penalty is (||w|| - 1)^2 whatever the batch.
    # Norming the batch's gradient as one vector would give (sqrt(3) ||w|| - 1)^2 instead.
    np.testing.assert_allclose(penalty(linear(w)), (np.linalg.norm(w) - 1) ** 2, rtol=1e-5)
    # square critic: gradient 2c x_hat_i at x_hat_i = m_i real_i + (1 - m_i) fake_i
    x_hat = mix * real + (1 - mix) * fake
    norms = np.linalg.norm((2 * 0.7 * x_hat).reshape(3, -1), axis=1)
    np.testing.assert_allclose(penalty(square(0.7)), np.mean((norms - 1) ** 2), rtol=1e-5)


def test_ema_update_arithmetic():
    from ms_gan.ema import PREFIX, GeneratorEMA
    from ms_gan.models import build_generator

    config = small_config("fc")
    net_g = build_generator(config)
    ema = GeneratorEMA(net_g, build_generator(config), decay=0.9)
    weights = {p.name: p for p in net_g.get_parameters()}
    averages = {p.name[len(PREFIX) :]: p for p in ema.net.get_parameters()}
    assert sorted(averages) == sorted(weights)
    shadow = {n: p.asnumpy().copy() for n, p in weights.items()}  # the shadow starts as a copy of G
    for n in weights:
        np.testing.assert_array_equal(averages[n].asnumpy(), shadow[n])
    rng = np.random.default_rng(1)
    for n_updates in range(3):
        for param in weights.values():  # as if G had taken a step
            param.set_data(tensor(param.asnumpy() + rng.standard_normal(param.shape)))
        decay = min(0.9, (1 + n_updates) / (10 + n_updates))  # 0.1, 0.18, 0.25: warm-up first
        used = float(ema().asnumpy())
        np.testing.assert_allclose(used, decay, rtol=1e-6)
        for n, param in weights.items():
            shadow[n] = decay * shadow[n] + (1 - decay) * param.asnumpy()
            np.testing.assert_allclose(averages[n].asnumpy(), shadow[n], rtol=1e-5, atol=1e-6)


def test_the_ema_sweeps_p9_average_is_the_runs_own_moving_average():
    """benchmarks/ema_sweep.py: its numpy average with P = 9 follows GeneratorEMA (--ema_decay 0.999) bit for bit
    while the warm-up sets the decay, and P = 3 averages over more of the past (it keeps more of the start)."""
    import importlib.util

    from ms_gan.ema import PREFIX, GeneratorEMA
    from ms_gan.models import build_generator

    spec = importlib.util.spec_from_file_location("ema_sweep", os.path.join(ROOT, "benchmarks", "ema_sweep.py"))
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    config = small_config("fc")
    net_g = build_generator(config)
    ema = GeneratorEMA(net_g, build_generator(config), decay=0.999)
    averages = sweep.Averages([9, 3])
    averages.update(0, net_g)  # train() calls it with the starting weights first
    rng = np.random.default_rng(2)
    for step in range(1, 6):
        for param in net_g.get_parameters():  # as if G had taken a step
            param.set_data(tensor(param.asnumpy() + rng.standard_normal(param.shape)))
        ema()
        averages.update(step, net_g)
    own = {p.name[len(PREFIX) :]: p.asnumpy() for p in ema.net.get_parameters()}
    for name, p9, p3 in zip(averages.names, averages.values[9], averages.values[3]):
        np.testing.assert_array_equal(p9, own[name])
        if name.endswith("weight"):
            now = net_g.parameters_dict()[name].asnumpy()
            assert np.abs(p3 - now).mean() > np.abs(p9 - now).mean()  # further from G's latest weights


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--averages", "0,x"], "--averages takes positive integers"),
        (["--lr_schedule", "weekly"], "invalid choice: 'weekly'"),
    ],
)
def test_the_ema_sweep_refuses_bad_flags_before_training(flags, message):
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmarks", "ema_sweep.py"),
            *flags,
            "--output_dir",
            "/nonexistent/not-written",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr and not os.path.exists("/nonexistent/not-written")


@MODES
@pytest.mark.parametrize("layer", ["dense", "conv"])
def test_spectral_norm_keeps_the_largest_singular_value_near_one(graph_or_pynative, layer):
    import mindspore as ms

    from ms_gan.models.layers import SNConv2d, SNDense

    if layer == "dense":
        cell, x = SNDense(20, 12), tensor(np.ones((2, 20)))
    else:
        cell, x = SNConv2d(3, 8, 3, pad_mode="pad", padding=1), tensor(np.ones((2, 3, 5, 5)))
    # seeded weights and u, with sigma about 7 to start with (the initialisers are unseeded: how many power iterations
    # reach 1% depends on the weights' spectral gap, and now and then a draw needed more than 30)
    rng = np.random.default_rng(0)
    cell.weight.set_data(tensor(rng.normal(0.0, 1.0, cell.weight.shape)))
    cell.sn_u.set_data(tensor(rng.normal(0.0, 1.0, cell.sn_u.shape)))
    cell.set_train(True)
    raw_sigma = np.linalg.svd(cell.weight.asnumpy().reshape(cell.weight.shape[0], -1), compute_uv=False)[0]
    assert raw_sigma > 5
    forward = ms.jit(cell.construct) if graph_or_pynative == "graph" else cell
    for _ in range(30):  # one power iteration per training forward pass
        forward(x)
    normalized = cell.normalized_weight().asnumpy().reshape(cell.weight.shape[0], -1)
    assert abs(np.linalg.svd(normalized, compute_uv=False)[0] - 1.0) < 1e-2


def test_gradient_clipping_bounds_the_update():
    import mindspore as ms
    from mindspore import nn

    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_updates

    def d_update_norm(clip):
        config = small_config("fc")
        ms.set_seed(0)
        net_g, net_d = build_generator(config), build_discriminator(config)
        # plain SGD with lr 1: the change in D's parameters is exactly the (clipped) gradient
        opt_g = nn.SGD(net_g.trainable_params(), learning_rate=1.0)
        opt_d = nn.SGD(net_d.trainable_params(), learning_rate=1.0)
        update_d, *_ = make_updates(net_g, net_d, opt_g, opt_d, clip_grad_norm=clip)
        before = [p.asnumpy().copy() for p in net_d.trainable_params()]
        update_d(*rng_inputs(config, config.batch_size))
        return np.sqrt(sum(((p.asnumpy() - b) ** 2).sum() for p, b in zip(net_d.trainable_params(), before)))

    assert d_update_norm(0.0) > 0.2
    np.testing.assert_allclose(d_update_norm(0.05), 0.05, rtol=1e-4)


@MODES
def test_top_k_takes_gs_gradient_from_its_best_fakes_only(graph_or_pynative):
    import mindspore as ms

    from ms_gan import registry
    from ms_gan.losses import top_k_fakes

    logits = np.array([0.5, -1.0, 2.0, 0.1, -3.0, 1.0], np.float32)
    sigmoid = 1 / (1 + np.exp(-logits))
    for name in ("bce", "hinge"):
        g_loss = registry.loss(name).g_loss

        def objective(x, share):
            kept, factor = top_k_fakes(x, share)
            return g_loss(kept) * factor

        grad = ms.grad(objective)
        grad = ms.jit(grad) if graph_or_pynative == "graph" else grad
        # d/dx of the mean over the k kept: bce's per-sample gradient is sigmoid(x) - 1, hinge's (-D(G(z))) is -1
        per_sample = sigmoid - 1 if name == "bce" else -np.ones_like(logits)
        for share, kept in ((1.0, [0, 1, 2, 3, 4, 5]), (0.5, [2, 5, 0]), (0.34, [2, 5]), (0.01, [2])):
            expected = np.zeros_like(logits)
            expected[kept] = per_sample[kept] / len(kept)
            got = grad(tensor(logits), ms.Tensor(share, ms.float32)).asnumpy()
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7, err_msg=f"{name} share {share}")


def test_top_k_share_goes_linearly_from_all_to_the_flag_over_gs_updates():
    from ms_gan.errors import UserError

    shares = small_config("dcgan", top_k=0.5).top_k_shares(total_steps=11)
    np.testing.assert_allclose(shares, np.linspace(1.0, 0.5, 11), rtol=1e-6)
    # with 3 D updates per G update, G updates 4 times in 12 steps
    np.testing.assert_allclose(small_config("dcgan", top_k=0.25, n_critic=3).top_k_shares(12), [1, 0.75, 0.5, 0.25])
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(UserError, match=r"--top_k takes a number in \(0, 1\]"):
            small_config("dcgan", top_k=bad)


def read_log(run_dir):
    from ms_gan.runlog import read_log as read

    return read(os.path.join(run_dir, "log.csv"))


TINY = ["--epochs", 1, "--batch_size", 64, "--latent_dim", 16, "--ngf", 8, "--ndf", 8]


@pytest.mark.parametrize(
    "options",
    [  # every option at least once; options that combine share a run
        ["--model", "dcgan", "--loss", "lsgan", "--top_k", 0.5],
        ["--model", "dcgan", "--loss", "hinge", "--minibatch_disc"],
        ["--model", "dcgan", "--loss", "wgan-gp", "--n_critic", 2],
        ["--model", "cgan", "--loss", "wgan-gp", "--spectral_norm"],
        ["--model", "dcgan", "--label_smoothing", 0.9, "--fake_label", 0.1, "--spectral_norm"],
        ["--model", "cgan", "--minibatch_disc", "--spectral_norm", "--ema_decay", 0.99],
        ["--model", "dcgan", "--lr", 1e-4, "--lr_d", 4e-4, "--clip_grad_norm", 1.0],
        ["--model", "dcgan", "--ema_decay", 0, "--amp_level", "O2"],  # the conv models' EMA off; O2 on CPU: a notice
        ["--model", "fc_improved"],
    ],
    ids=lambda o: " ".join(map(str, o)),
)
def test_short_real_run_per_option_stays_finite(tiny_mnist, tmp_path, options):
    result = run_script(
        "train.py", *options, *TINY, "--data_dir", tiny_mnist, "--output_dir", tmp_path, "--run_name", "run"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "run"
    log = read_log(run_dir)
    assert len(log["step"]) == 4
    for column in ("d_loss_real", "d_loss_fake", "g_loss", "d_acc_real", "d_acc_fake"):
        assert np.all(np.isfinite(log[column])), column
    (checkpoint,) = os.listdir(run_dir / "checkpoints")
    saved = sorted(os.listdir(run_dir / "checkpoints" / checkpoint))
    # the conv models average G by default (0.999); fc does not; --ema_decay sets it either way
    ema = float(options[options.index("--ema_decay") + 1]) if "--ema_decay" in options else None
    averaged = ema > 0 if ema is not None else options[1] in ("dcgan", "cgan")
    assert ("generator_ema.ckpt" in saved) == averaged
    infer = run_script("infer.py", "--ckpt", run_dir, "--num", 10, "--output_dir", tmp_path / "samples")
    assert infer.returncode == 0, infer.stderr[-3000:]
    assert ("generator_ema.ckpt" in infer.stdout) == averaged
    assert ("note: --amp_level O2 is for GPU/Ascend" in result.stdout) == ("--amp_level" in options)


def test_stabilised_run_resumes_exactly(tiny_mnist, tmp_path):
    """WGAN-GP's interpolation weights, the n_critic rhythm, the EMA and spectral norm's power-iteration
    vector all survive a stop and --resume: the log matches an uninterrupted run loss for loss."""
    options = [
        "--model",
        "fc",
        "--loss",
        "wgan-gp",
        "--n_critic",
        3,
        "--ema_decay",
        0.9,
        "--spectral_norm",
        "--batch_size",
        64,
        "--latent_dim",
        16,
        "--data_dir",
        tiny_mnist,
        "--output_dir",
        tmp_path,
    ]
    straight = run_script("train.py", *options, "--epochs", 4, "--run_name", "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    first = run_script("train.py", *options, "--epochs", 2, "--run_name", "resumed")
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_script("train.py", "--resume", tmp_path / "resumed", "--epochs", 4)
    assert second.returncode == 0, second.stderr[-3000:]
    assert log_values(tmp_path / "resumed") == log_values(tmp_path / "straight")
    final = os.path.join("checkpoints", "epoch004-step0000016", "generator_ema.ckpt")
    import mindspore as ms

    a, b = (ms.load_checkpoint(str(tmp_path / run / final)) for run in ("straight", "resumed"))
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name].asnumpy(), b[name].asnumpy())
