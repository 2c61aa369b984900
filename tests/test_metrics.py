"""Sample metrics on known cases, the diagnosis on synthetic and real logs, evaluate.py and diagnose.py."""

import json
import os

import numpy as np
import pytest
from conftest import ROOT, real_mnist_dir, real_subset
from mindspore import nn, ops
from test_scripts import run_script

from ms_gan.config import default_classifier
from ms_gan.diagnose import diagnose, prescribe
from ms_gan.metrics import Evaluator, frechet_distance, inception_score, precision_recall
from ms_gan.runlog import LOG_COLUMNS


def test_frechet_distance_known_values():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20000, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, a + 3.0) == pytest.approx(4 * 9.0, rel=1e-6)  # mean shift only: d * c^2
    b = 2.0 * rng.standard_normal((20000, 4))  # cov 4I vs I: d * (1 + 4 - 2 * 2) = 4
    assert frechet_distance(a, b) == pytest.approx(4.0, rel=0.05)


def test_inception_score_bounds():
    confident_all_classes = np.eye(10)[np.arange(1000) % 10]
    assert inception_score(confident_all_classes)[0] == pytest.approx(10.0, rel=1e-6)
    assert inception_score(np.eye(10)[np.zeros(1000, int)])[0] == pytest.approx(1.0, rel=1e-6)
    assert inception_score(np.full((1000, 10), 0.1))[0] == pytest.approx(1.0, rel=1e-6)


def test_precision_recall_identical_and_disjoint():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 8))
    assert precision_recall(x, x) == (1.0, 1.0)
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)
    narrow = 0.01 * rng.standard_normal((500, 8))  # all fakes in one spot: precise, no recall
    precision, recall = precision_recall(x, narrow)
    assert precision == 1.0 and recall < 0.1


def test_inception_score_ignores_sample_order():
    """infer.py writes cgan samples sorted by label; split in order, each chunk would hold one digit."""
    rng = np.random.default_rng(3)
    labels = np.sort(np.arange(1000) % 10)
    probs = 0.9 * np.eye(10)[labels] + 0.1 * rng.dirichlet(np.ones(10), 1000)
    sorted_score = inception_score(probs)
    shuffled = inception_score(probs[rng.permutation(1000)])
    assert sorted_score == pytest.approx(shuffled, rel=1e-12, abs=1e-12)
    assert sorted_score[0] > 5  # ten digits, confidently read: far from the 1.0 of one digit per chunk


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    """The shipped classifier, and an Evaluator on a real data folder of 4,000 + 1,000 digits."""
    from ms_gan.metrics import Evaluator

    root = str(tmp_path_factory.mktemp("metric_data"))
    x, y = real_mnist_dir(root, 4000, 1000)
    ev = Evaluator(default_classifier("mnist"), root, num_samples=1000)
    assert ev.classifier_test_accuracy > 0.97, ev.classifier_test_accuracy
    return ev, x, y


def test_real_digits_score_far_better_than_noise(evaluator):
    ev, _, _ = evaluator
    noise = np.random.default_rng(0).integers(0, 256, (1000, 28, 28), dtype=np.uint8)
    noise_scores = ev.score_images(noise)
    real = ev.real_row
    assert real["fd"] * 10 < noise_scores["fd"]
    assert real["inception_score"] > 6 and real["inception_score"] > 2 * noise_scores["inception_score"]
    assert real["precision"] > 0.7 and real["recall"] > 0.7
    # noise lands on one spot of feature space: no recall and no diversity at all. k-NN precision can count
    # that spot as inside the real manifold (one outlying real digit's radius covers it: with the shipped
    # classifier, noise scores precision 0.998), which is why precision is never read alone
    assert noise_scores["recall"] < 0.1 and noise_scores["diversity"] < 0.2 * real["diversity"]
    assert real["digits_covered"] == 10 and real["label_accuracy"] > 0.9


def test_a_single_repeated_image_is_collapsed(evaluator):
    ev, x, _ = evaluator
    repeated = np.repeat(x[:1], 1000, axis=0)
    scores = ev.score_images(repeated)
    assert scores["digits_covered"] == 1 and scores["diversity"] == pytest.approx(0.0, abs=1e-6)
    verdict, evidence = diagnose(synthetic_log("stable"), scores, ev.real_row)
    assert verdict == "mode collapse" and any("diversity" in line for line in evidence)
    verdict, _ = diagnose(synthetic_log("stable"), ev.real_row, ev.real_row)
    assert verdict == "stable"
    # varied enough by diversity, yet next to no real digit has a sample near it (the 1-d latent run on 8s)
    few_shapes = dict(ev.real_row, diversity=0.61 * ev.real_row["diversity"], recall=0.0)
    verdict, evidence = diagnose(synthetic_log("stable"), few_shapes, ev.real_row)
    assert verdict == "mode collapse" and "recall below 25% of real digits'" in evidence[-1]
    # D right about nearly all of both, and hardly a sample looks like a digit: D won, whatever the losses say
    no_digits = dict(ev.real_row, diversity=0.2 * ev.real_row["diversity"], recall=0.0, precision=0.015)
    verdict, evidence = diagnose(synthetic_log("dominant"), no_digits, ev.real_row)
    assert verdict == "convergence failure" and any("G never learned to draw them" in line for line in evidence)


def test_blobs_under_a_winning_d_are_a_convergence_failure_not_a_collapse(evaluator):
    """The run of issue 39: D right about 99% of reals and 100% of fakes, D loss 0.07, G loss 6 and climbing
    from a higher start, grids of shapeless blobs (alike, so low diversity, and unlike digits: low precision)."""
    ev, _, _ = evaluator
    log = synthetic_log("stable")
    n = len(log["step"])
    log.update(
        d_acc_real=np.full(n, 0.99),
        d_acc_fake=np.full(n, 1.0),
        d_loss_real=np.full(n, 0.04),
        d_loss_fake=np.full(n, 0.03),
        g_loss=np.linspace(7.5, 6.0, n),
    )
    log["g_loss"][-n // 3 :] = np.linspace(5.0, 6.5, n // 3)  # climbing again, still below its start
    blobs = dict(
        ev.real_row,
        diversity=0.3 * ev.real_row["diversity"],
        recall=0.0,
        precision=0.3 * ev.real_row["precision"],
        digits_covered=4,
    )
    for metrics in (None, blobs):  # by the losses alone, and with the samples' evidence
        verdict, evidence = diagnose(log, metrics, ev.real_row if metrics else None)
        assert verdict == "convergence failure", evidence
    from ms_gan.config import TrainConfig

    cures = prescribe(verdict, TrainConfig(model="dcgan").settled())
    assert cures and not any("minibatch_disc" in cure.changes for cure in cures)
    # the same blobs with D not winning are not its failure: then low diversity is a collapse
    verdict, _ = diagnose(synthetic_log("stable"), blobs, ev.real_row)
    assert verdict == "mode collapse"
    # realistic but alike samples under a winning D: a collapse, as on the digit-8 run with a 1-d latent
    alike = dict(ev.real_row, diversity=0.5 * ev.real_row["diversity"], recall=0.0)
    assert diagnose(synthetic_log("dominant"), alike, ev.real_row)[0] == "mode collapse"


def test_a_short_run_is_too_early_to_judge(evaluator):
    ev, x, _ = evaluator
    log = {k: v[:380] for k, v in synthetic_log("stable").items()}  # the quick start's 2 fc epochs
    collapsed = ev.score_images(np.repeat(x[:1], 1000, axis=0))
    verdict, evidence = diagnose(log, collapsed, ev.real_row)
    assert verdict == "too early to judge"
    assert "(380 steps): it reads mode collapse so far" in evidence[-1] and "the default 5 epochs" in evidence[-1]
    two_epochs = {k: v[:380] for k, v in synthetic_log("stable", n=1000).items()}
    two_epochs["epoch"] = 1 + np.arange(380) // 190
    two_epochs["step"] = 1 + np.arange(380) * 2.5  # the quick start's 936 steps, in fewer rows
    verdict, evidence = diagnose(two_epochs, collapsed, ev.real_row)
    assert verdict == "too early to judge" and "only 2 epochs" in evidence[-1]
    assert diagnose({k: v[:380] for k, v in synthetic_log("dominant").items()})[0] == "too early to judge"
    # what is wrong early is still said: a diverged or beaten run is not waved through
    assert diagnose({k: v[:380] for k, v in synthetic_log("convergence failure").items()})[0] == "convergence failure"
    from ms_gan.config import TrainConfig

    assert prescribe("too early to judge", TrainConfig(model="fc").settled()) == []


@pytest.mark.parametrize(
    "run, expected",
    [
        ("stable", "stable"),
        ("mode_collapse", "mode collapse"),
        ("convergence_failure", "convergence failure"),
        ("mode_collapse-cure1", "stable"),
        ("convergence_failure-cure1", "stable"),
    ],
)
def test_the_guides_digit_8_runs_are_diagnosed_again_from_their_own_files(run, expected):
    """result/showcase/failure_modes: each run's log.csv and last evaluation (metrics.csv), against the real 8s."""
    import csv

    from ms_gan.config import load_config
    from ms_gan.data import resolve_data_dir
    from ms_gan.runlog import read_log

    folder = os.path.join(ROOT, "result", "showcase", "failure_modes", run)
    config = load_config(os.path.join(folder, "config.json"))
    with open(os.path.join(folder, "metrics.csv"), newline="") as f:
        last = {k: float(v) for k, v in list(csv.DictReader(f))[-1].items() if v}
    real = Evaluator.for_run(config, resolve_data_dir("", "", "mnist"), 2000).real_row
    verdict, evidence = diagnose(
        read_log(os.path.join(folder, "log.csv")), last, real, expected_classes=config.digit_classes, loss=config.loss
    )
    assert verdict == expected, evidence


def test_a_discriminator_that_is_always_right_is_not_called_balance(evaluator):
    """The showcase dcgan's log: D right about 98% of reals and 99% of fakes, with varied samples."""
    ev, _, _ = evaluator
    verdict, evidence = diagnose(synthetic_log("dominant"), ev.real_row, ev.real_row)
    assert verdict == "D dominant"
    assert any(line.startswith("warning: D is right about 98% of reals and 99% of fakes") for line in evidence)
    assert not any("balance" in line for line in evidence)
    assert diagnose(synthetic_log("dominant"))[0] == "D dominant"  # the log alone shows it too


def test_the_log_alone_never_makes_a_run_stable():
    verdict, evidence = diagnose(synthetic_log("stable"))
    assert verdict == "no failure in the log"
    assert any("mode collapse was not checked" in line for line in evidence)


def synthetic_log(kind: str, n: int = 600) -> dict:
    """Logs with the failure-mode guide's signatures."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, n)
    noise = lambda s: s * rng.standard_normal(n)  # noqa: E731
    log = {"epoch": 1 + np.arange(n) // 30, "step": 1 + np.arange(n), "seconds": 0.03 * np.arange(n)}
    if kind == "convergence failure":
        log.update(
            d_loss_real=0.5 * np.exp(-8 * t) + 0.005,
            d_loss_fake=0.5 * np.exp(-8 * t) + 0.005,
            g_loss=1 + 6 * t + noise(0.1),
            d_acc_real=np.minimum(1, 0.6 + t),
            d_acc_fake=np.minimum(1, 0.6 + t),
        )
    else:
        log.update(
            d_loss_real=0.6 + noise(0.05),
            d_loss_fake=0.6 + noise(0.05),
            g_loss=0.9 + noise(0.1),
            d_acc_real=0.7 + noise(0.05),
            d_acc_fake=0.7 + noise(0.05),
        )
    if kind == "dominant":
        log.update(
            d_acc_real=np.full(n, 0.98),
            d_acc_fake=np.full(n, 0.99),
            d_loss_real=np.full(n, 0.15),
            d_loss_fake=np.full(n, 0.1),
            g_loss=np.full(n, 3.2),
        )
    if kind == "diverged":
        log["g_loss"][200:] = np.nan
    return {k: np.asarray(log[k], dtype=np.float64) for k in LOG_COLUMNS}


@pytest.mark.parametrize("kind", ["stable", "convergence failure", "diverged"])
def test_diagnosis_of_synthetic_logs(kind, evaluator):
    ev, _, _ = evaluator
    verdict, evidence = diagnose(synthetic_log(kind), ev.real_row, ev.real_row)
    assert verdict == kind
    if kind == "diverged":
        assert "step 201" in evidence[0] and "g_loss" in evidence[0]
    if kind == "convergence failure":
        assert any("discriminator has won" in line for line in evidence)


def test_the_diagnosis_says_since_when_d_has_won():
    from ms_gan.diagnose import d_winning_since

    log = synthetic_log("convergence failure")
    verdict, evidence = diagnose(log)
    since = d_winning_since(log)
    # D's accuracy, min(1, 0.6 + t), reaches 0.95 at t = 0.35: step 211 of 600, and stays there
    assert verdict == "convergence failure" and since == 211
    assert f"D has won since step {since}: G gets no useful gradient from it" in evidence
    assert d_winning_since(synthetic_log("stable")) is None


def test_diagnosis_of_an_empty_log():
    assert diagnose({k: np.array([]) for k in LOG_COLUMNS})[0] == "unknown"


@pytest.fixture(scope="module")
def short_run(tiny_mnist, tmp_path_factory):
    """A real (tiny) run trained with --eval_every, scored with the shipped classifier."""
    out = tmp_path_factory.mktemp("eval_run")
    result = run_script(
        "train.py",
        "--model",
        "cgan",
        "--ngf",
        8,
        "--ndf",
        8,
        "--latent_dim",
        16,
        "--epochs",
        2,
        "--batch_size",
        64,
        "--data_dir",
        tiny_mnist,
        "--output_dir",
        out,
        "--run_name",
        "r",
        "--eval_every",
        1,
        "--eval_samples",
        200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return str(out / "r"), default_classifier("mnist"), result.stdout


def test_eval_every_logs_metrics_keeps_best_and_diagnoses(short_run):
    run_dir, classifier, stdout = short_run
    assert os.path.isfile(classifier)
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        rows = f.read().splitlines()
    assert rows[0].startswith("epoch,step,fd,") and len(rows) == 3
    assert os.path.isfile(os.path.join(run_dir, "checkpoints", "best", "generator.ckpt"))
    assert "diagnosis: " in stdout
    diagnosis = json.load(open(os.path.join(run_dir, "diagnosis.json")))
    assert diagnosis["verdict"] in ("stable", "mode collapse", "convergence failure", "D dominant")
    assert diagnosis["evidence"]


def test_the_shipped_classifier_reads_alike_in_both_modes_through_the_gemm_kernels():
    """PyNative runs score with the same kernels as graph runs (MindSpore's own CPU convolutions took 40x
    longer there), so a metric does not depend on the mode a run trained in."""
    import mindspore as ms

    from ms_gan.classifier import features_and_probs, load_classifier
    from ms_gan.kernels.cells import GemmConv2d

    _, (images, labels) = real_subset(0, 200)
    read = {}
    mode_before = ms.get_context("mode")
    try:
        for mode in (ms.PYNATIVE_MODE, ms.GRAPH_MODE):
            ms.set_context(mode=mode)
            net = load_classifier(default_classifier("mnist"))
            assert sum(isinstance(cell, GemmConv2d) for _, cell in net.cells_and_names()) == 2
            read[mode] = features_and_probs(net, images)
    finally:
        ms.set_context(mode=mode_before)
    features, probs = read[ms.PYNATIVE_MODE]
    assert (probs.argmax(1) == labels).mean() > 0.97
    np.testing.assert_allclose(features, read[ms.GRAPH_MODE][0], rtol=1e-4, atol=1e-4)


def test_the_real_digits_row_is_cached_under_everything_it_depends_on(tmp_path, monkeypatch):
    """The real reference (features, k-NN radii) is computed once per data and classifier, the real row once per
    held-out set; cached ones equal fresh ones exactly, other digits get their own, a broken file is redone."""
    import ms_gan.metrics as metrics

    monkeypatch.setenv("MS_GAN_CACHE", str(tmp_path / "cache"))
    cache = tmp_path / "cache" / "metrics"
    data = tmp_path / "data"
    real_mnist_dir(str(data), 200, 100)
    fresh = metrics.Evaluator(default_classifier("mnist"), str(data), None, 100)
    reference_file, row_file = sorted(cache.iterdir())  # reference-*.npz, real-row-*.json

    def no_features(*args):
        raise AssertionError("the cached reference should have been used")

    with monkeypatch.context() as patch:
        patch.setattr(metrics, "features_and_probs", no_features)
        cached = metrics.Evaluator(default_classifier("mnist"), str(data), None, 100)
    np.testing.assert_array_equal(cached.reference, fresh.reference)
    np.testing.assert_array_equal(cached.reference_radii, fresh.reference_radii)
    assert cached.real_row == fresh.real_row and cached.classifier_test_accuracy == fresh.classifier_test_accuracy
    images = real_subset(300, 0)[0][0][200:]
    assert cached.score_images(images) == fresh.score_images(images)

    # another sample count (other held-out digits) shares the reference and gets its own row; a digit subset
    # gets both of its own
    computed, features_and_probs = [], metrics.features_and_probs

    def counted(net, images):
        computed.append(len(images))
        return features_and_probs(net, images)

    with monkeypatch.context() as patch:
        patch.setattr(metrics, "features_and_probs", counted)
        fifty = metrics.Evaluator(default_classifier("mnist"), str(data), None, 50)
    assert computed == [50] and fifty.real_row["num_samples"] == 50
    metrics.Evaluator(default_classifier("mnist"), str(data), [3, 8], 100)
    assert len(list(cache.iterdir())) == 5
    for path in (reference_file, row_file):
        path.write_bytes(b"broken")
        again = metrics.Evaluator(default_classifier("mnist"), str(data), None, 100)
        assert again.real_row == fresh.real_row
        np.testing.assert_array_equal(again.reference_radii, fresh.reference_radii)
        assert path.stat().st_size > 100  # written again


def test_truncated_latent_codes_stay_inside_the_threshold_and_off_means_plain_normal():
    from ms_gan.errors import UserError
    from ms_gan.sampling import latent_codes

    plain = latent_codes(np.random.default_rng(3), 500, 16)
    np.testing.assert_array_equal(plain, np.random.default_rng(3).standard_normal((500, 16), dtype=np.float32))
    assert np.abs(plain).max() > 2.5  # 8,000 normal draws: some lie far out
    truncated = latent_codes(np.random.default_rng(3), 500, 16, truncation=1.0)
    assert truncated.shape == (500, 16) and truncated.dtype == np.float32
    assert np.abs(truncated).max() <= 1.0
    inside = np.abs(plain) <= 1.0  # components already inside the threshold are kept as drawn
    np.testing.assert_array_equal(truncated[inside], plain[inside])
    # a normal truncated at 1 has standard deviation 0.54
    assert 0.5 < truncated.std() < 0.58
    np.testing.assert_array_equal(truncated, latent_codes(np.random.default_rng(3), 500, 16, truncation=1.0))
    with pytest.raises(UserError, match="--truncation must be 0"):
        latent_codes(np.random.default_rng(3), 5, 16, truncation=-1.0)


class _Brightness(nn.Cell):
    """A stand-in G: every pixel of image i is z[i, 0]; labels ignored."""

    def construct(self, z, labels):
        return ops.tile(ops.reshape(z[:, :1], (-1, 1, 1, 1)), (1, 1, 28, 28))


class _MeanPixel(nn.Cell):
    """A stand-in D: the brighter the image, the more real; labels ignored."""

    def construct(self, images, labels):
        return ops.mean(images, axis=(1, 2, 3))


def test_discriminator_picking_keeps_each_labels_count_in_drawing_order_with_ds_odds():
    from ms_gan.errors import UserError
    from ms_gan.sampling import candidate_labels, draw_discriminator_picked

    wanted = np.array([0, 0, 0, 1, 1, 2], dtype=np.int32)
    candidates = candidate_labels(wanted, 0.4)  # ceil(3 / 0.4) = 8, ceil(2 / 0.4) = 5, ceil(1 / 0.4) = 3
    assert candidates.tolist() == [0] * 8 + [1] * 5 + [2] * 3
    assert candidate_labels(wanted, 1.0).tolist() == wanted.tolist()
    with pytest.raises(UserError, match=r"--keep must be in \(0, 1\]"):
        candidate_labels(wanted, 0.0)

    # logits 100 apart: the odds leave no choice, each label keeps its best candidates, in drawing order
    z = np.zeros((len(candidates), 4), dtype=np.float32)
    z[:, 0] = 100.0 * np.random.default_rng(0).permutation(len(candidates))
    images, labels = draw_discriminator_picked(
        _Brightness(), _MeanPixel(), z, candidates, wanted, np.random.default_rng(1)
    )
    assert images.shape == (6, 1, 28, 28) and labels.tolist() == wanted.tolist()
    expected = []
    for label, count in ((0, 3), (1, 2), (2, 1)):
        members = np.flatnonzero(candidates == label)
        expected += sorted(members[np.argsort(-z[members, 0])[:count]].tolist())
    np.testing.assert_array_equal(images[:, 0, 0, 0], z[expected, 0])

    # logit log(3) against 0: a candidate of the first kind is picked three times as often
    z = np.zeros((8000, 4), dtype=np.float32)
    z[::2, 0] = np.log(3.0)
    images, _ = draw_discriminator_picked(
        _Brightness(), _MeanPixel(), z, np.zeros(8000, np.int32), np.zeros(400, np.int32), np.random.default_rng(2)
    )
    likelier = int(np.sum(images[:, 0, 0, 0] > 0.5))
    assert 260 < likelier < 335, likelier  # 400 * 3/4 = 300, binomial sd 8.7 (a little under: no replacement)


def test_evaluate_and_diagnose_scripts(short_run, tmp_path):
    run_dir, classifier, _ = short_run
    result = run_script("evaluate.py", "--ckpt", run_dir, "--classifier", classifier, "--num", 200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| real digits (held-out train vs test) |" in result.stdout
    metrics = json.load(open(os.path.join(run_dir, "samples", "metrics.json")))
    assert metrics["classifier"].startswith("mnist_classifier.ckpt sha256:")
    for key in ("fd", "inception_score", "precision", "recall", "digits_covered", "label_accuracy"):
        assert key in metrics["samples"] and key in metrics["real"], key
    assert metrics["samples"]["num_samples"] == 200

    untruncated = open(os.path.join(run_dir, "samples", "metrics.json")).read()
    result = run_script("evaluate.py", "--ckpt", run_dir, "--classifier", classifier, "--num", 200, "--truncation", 1)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ", truncation 1 |" in result.stdout
    truncated = json.load(open(os.path.join(run_dir, "samples", "metrics_truncation1.json")))
    assert truncated["truncation"] == 1.0 and truncated["samples"]["num_samples"] == 200
    assert truncated["samples"] != metrics["samples"]  # other latent codes, other images
    assert open(os.path.join(run_dir, "samples", "metrics.json")).read() == untruncated  # kept as it was

    result = run_script("evaluate.py", "--ckpt", run_dir, "--classifier", classifier, "--num", 200, "--keep", 0.5)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ", D picks 0.5 |" in result.stdout
    kept = json.load(open(os.path.join(run_dir, "samples", "metrics_keep0.5.json")))
    assert kept["keep"] == 0.5 and kept["samples"]["num_samples"] == 200
    assert "label_accuracy" in kept["samples"]
    assert kept["samples"] != metrics["samples"]
    assert open(os.path.join(run_dir, "samples", "metrics.json")).read() == untruncated

    result = run_script("infer.py", "--ckpt", run_dir, "--num", 100, "--output_dir", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_script(
        "evaluate.py",
        "--samples",
        tmp_path / "samples-001.npz",
        "--classifier",
        classifier,
        "--data_dir",
        json.load(open(os.path.join(run_dir, "config.json")))["data_dir"],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.load(open(tmp_path / "metrics.json"))["samples"]["num_samples"] == 100

    result = run_script("diagnose.py", run_dir, "--classifier", classifier, "--num", 200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("diagnosis: ") and "sample diversity" in result.stdout
    result = run_script("diagnose.py", run_dir, "--no_samples")
    assert result.returncode == 0 and "mode collapse was not checked" in result.stdout
    assert result.stdout.startswith("diagnosis: no failure in the log") or "D dominant" in result.stdout


def test_classes_subset_trains_on_those_digits_only(tiny_mnist):
    from ms_gan.data import create_dataset, read_split

    labels = read_split(tiny_mnist, "train")[1]
    dataset = create_dataset(tiny_mnist, 8, 4, conditional=True, classes=[3, 8], num_workers=1)
    seen = np.concatenate([b["label"] for b in dataset.create_dict_iterator(num_epochs=1, output_numpy=True)])
    assert set(seen) == {3, 8}
    assert len(seen) == (np.isin(labels, [3, 8]).sum() // 8) * 8


@pytest.mark.parametrize("verdict", ["mode collapse", "convergence failure", "D dominant", "diverged"])
@pytest.mark.parametrize(
    "settings",
    [
        {"model": "dcgan"},
        {"model": "dcgan", "latent_dim": 1},
        {"model": "cgan", "lr_d": 5e-3, "minibatch_disc": True},
        {"model": "fc", "label_smoothing": 0.9},
        {"model": "dcgan", "loss": "hinge", "spectral_norm": True},
        {"model": "dcgan", "loss": "wgan-gp", "n_critic": 5},
    ],
    ids=lambda s: " ".join(f"{k}={v}" for k, v in s.items()),
)
def test_every_prescribed_cure_is_new_and_makes_a_valid_config(verdict, settings):
    """A cure changes something the run did not already have, and the run with it applied is a config
    train.py accepts (switching the loss drops the options the new loss refuses)."""
    import dataclasses

    from ms_gan.config import TrainConfig
    from ms_gan.diagnose import prescribe

    config = TrainConfig(**settings).settled()
    cures = prescribe(verdict, config)
    assert cures, "every failure has at least one cure left to try"
    for cure in cures:
        assert any(getattr(config, k) != v for k, v in cure.changes.items()), cure.flags
        dataclasses.replace(config, **cure.changes).settled()


def test_cures_come_in_the_measured_order():
    from ms_gan.config import TrainConfig
    from ms_gan.diagnose import prescribe

    def flags(verdict, **settings):
        return [cure.flags for cure in prescribe(verdict, TrainConfig(**settings).settled())]

    assert flags("mode collapse", latent_dim=1)[0] == "--latent_dim 100"  # the cause itself, when it is that
    assert flags("mode collapse")[0] == "--minibatch_disc"
    assert flags("convergence failure", lr=2e-5, lr_d=2e-3)[0] == "--lr 0.001 --lr_d 0"  # G's rate too low
    assert flags("convergence failure", lr=2e-3, lr_d=8e-3)[0] == "--lr_d 0"
    assert flags("convergence failure", lr=2e-5)[0] == "--label_smoothing 0.9 --fake_label 0.1"
    assert flags("stable") == [] and flags("no failure in the log") == []
    assert "--loss wgan-gp --n_critic 5 without --minibatch_disc" in flags("mode collapse", minibatch_disc=True)
