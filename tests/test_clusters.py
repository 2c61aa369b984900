"""--clusters: k-means pseudo-labels in place of the digits, from the clustering to a trained, resumed, drawn run."""

import json
import os

import numpy as np
import pytest
from conftest import small_config
from test_scripts import assert_one_line_error, run_script

from ms_gan import clusters
from ms_gan.data import create_dataset, read_split
from ms_gan.errors import UserError


def blobs(seed=0):
    """90 points in 3 tight blobs far apart, shuffled: (x float32 [90, 5], blob id [90])."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.repeat(np.arange(3), 30))
    centres = np.array([[0, 0, 0, 0, 0], [5, 5, 0, 0, 0], [0, 0, 5, 5, 5]], dtype=np.float32)
    return (centres[ids] + rng.normal(0, 0.1, (90, 5))).astype(np.float32), ids


def test_kmeans_finds_separated_blobs_and_is_seeded():
    x, ids = blobs()
    centroids = clusters.kmeans(x, 3, seed=0)
    members = clusters.assign(x, centroids)
    # one cluster per blob, whatever the numbering
    assert sorted(len(set(members[ids == b])) for b in range(3)) == [1, 1, 1]
    assert len(set(members.tolist())) == 3
    np.testing.assert_array_equal(clusters.kmeans(x, 3, seed=0), centroids)
    for b in range(3):  # each centroid is its blob's mean
        np.testing.assert_allclose(centroids[members[ids == b][0]], x[ids == b].mean(0), atol=1e-5)


def test_kmeans_refuses_more_clusters_than_images():
    with pytest.raises(UserError, match="--clusters needs 2 to 4 clusters"):
        clusters.kmeans(np.zeros((4, 3), np.float32), 5, seed=0)


@pytest.mark.parametrize(
    "shares, num, expected",
    [
        ([0.5, 0.3, 0.2], 7, [4, 2, 1]),  # 3.5, 2.1, 1.4: the largest remainder (cluster 0's) gets the spare one
        ([0.25, 0.25, 0.25, 0.25], 6, [2, 2, 1, 1]),  # ties go to the lower id
        ([0.9, 0.1], 10000, [9000, 1000]),
    ],
)
def test_draw_counts_follow_the_shares_and_add_up(shares, num, expected):
    drawn = clusters.draw_counts(shares, num)
    assert drawn.dtype == np.int32 and len(drawn) == num
    assert np.bincount(drawn, minlength=len(shares)).tolist() == expected
    assert np.all(np.diff(drawn) >= 0)  # in blocks, cluster by cluster


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (dict(model="dcgan", clusters=10), "use --model cgan"),
        (dict(model="cgan", clusters=10, classes=[3]), "learns without labels"),
        (dict(model="cgan", clusters=1), "between 2 and 255"),
        (dict(model="cgan", clusters=256), "--clusters takes an integer from 0 to 255"),
        (dict(model="cgan", clusters=-3), "--clusters takes an integer from 0 to 255"),
    ],
)
def test_bad_cluster_options_are_user_errors(overrides, fragment):
    with pytest.raises(UserError, match=fragment):
        small_config(**overrides)


def test_clusters_set_the_class_count_and_drop_label_scoring():
    config = small_config("cgan", clusters=20)
    assert config.num_classes == 20 and config.conditional and not config.labelled
    assert config.digit_classes == 10  # the samples should still cover all ten digits
    assert small_config("cgan").labelled


def slanted_bar(slant: float) -> np.ndarray:
    """uint8 [28, 28]: a 3-pixel-wide vertical bar through the centre, sheared by SLANT columns per row."""
    rows, cols = np.mgrid[:28, :28]
    image = np.zeros((28, 28), np.uint8)
    image[(np.abs(cols - 14 - slant * (rows - 14)) <= 1.5) & (rows >= 4) & (rows <= 24)] = 255
    return image


def ink_slant(images: np.ndarray) -> np.ndarray:
    """[N]: the covariance of each image's ink between row and column over the row variance."""
    x = images.reshape(len(images), 28, 28).astype(np.float64)
    rows, cols = np.mgrid[:28, :28]
    ink = x.sum((1, 2))
    r = (x * rows).sum((1, 2)) / ink
    c = (x * cols).sum((1, 2)) / ink
    cov = (x * (rows - r[:, None, None]) * (cols - c[:, None, None])).sum((1, 2)) / ink
    return cov / ((x * (rows - r[:, None, None]) ** 2).sum((1, 2)) / ink)


def test_deskewing_stands_slanted_strokes_upright():
    bars = np.stack([slanted_bar(s) for s in (0.0, 0.3, -0.4)])
    assert np.abs(ink_slant(bars)[1:]).min() > 0.25
    upright = clusters.deskewed(bars)
    assert upright.shape == (3, 784) and upright.dtype == np.float32
    assert np.abs(ink_slant(upright)).max() < 0.03
    np.testing.assert_allclose(upright[0], clusters.pixels(bars[:1])[0], atol=1e-6)  # upright already: untouched
    assert np.abs(upright[1] - upright[0]).mean() < np.abs(clusters.pixels(bars[1:2])[0] - upright[0]).mean() / 3
    blank = clusters.deskewed(np.zeros((2, 28, 28, 1), np.uint8))  # no ink: no slant, no NaN
    assert np.array_equal(blank, np.zeros((2, 784), np.float32))


@pytest.mark.parametrize("space", ["deskewed", "pixels"])
def test_the_pipeline_labels_each_image_with_its_cluster(tiny_mnist, space):
    images = read_split(tiny_mnist, "train")[0]
    found, shares = clusters.fit(images, 4, seed=0, space=space)
    assert found.space == space and found.centroids.shape == (4, 784)
    assert len(shares) == 4 and abs(sum(shares) - 1) < 1e-9
    dataset = create_dataset(tiny_mnist, 64, 8, conditional=True, shuffle=False, num_workers=1, clusters=found)
    labels = np.concatenate([b["label"] for b in dataset.create_dict_iterator(num_epochs=1, output_numpy=True)])
    expected = clusters.assign(clusters.SPACES[space](images), found.centroids)
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.int32
    assert not np.array_equal(labels, read_split(tiny_mnist, "train")[1])  # not the digits


def test_saved_clusters_keep_their_space_and_older_ones_read_as_pixels(tmp_path):
    centroids = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    clusters.Clusters(centroids, "deskewed").save(str(tmp_path / "new.npz"))
    loaded = clusters.Clusters.load(str(tmp_path / "new.npz"))
    assert loaded.space == "deskewed"
    np.testing.assert_array_equal(loaded.centroids, centroids)
    np.savez(tmp_path / "old.npz", centroids=centroids)  # what runs saved before --cluster_space
    assert clusters.Clusters.load(str(tmp_path / "old.npz")).space == "pixels"


def test_a_clusters_run_trains_draws_by_share_evaluates_and_resumes(tiny_mnist, tmp_path):
    run_dir = tmp_path / "run"
    common = ("--data_dir", tiny_mnist, "--batch_size", 64, "--latent_dim", 16, "--ngf", 8, "--ndf", 8)
    result = run_script(
        "train.py",
        "--model",
        "cgan",
        "--clusters",
        3,
        "--epochs",
        1,
        *common,
        "--output_dir",
        tmp_path,
        "--run_name",
        "run",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "3 k-means clusters of the training images (deskewed)" in result.stdout
    config = json.load(open(run_dir / "config.json"))
    assert config["clusters"] == 3 and config["num_classes"] == 3 and len(config["cluster_shares"]) == 3
    assert config["cluster_space"] == "deskewed"
    found = clusters.Clusters.load(str(run_dir / "clusters.npz"))
    assert found.space == "deskewed" and found.centroids.shape == (3, 784)
    expected_shares = np.bincount(found.ids(read_split(tiny_mnist, "train")[0]), minlength=3) / 256
    np.testing.assert_allclose(config["cluster_shares"], expected_shares)

    drawn = run_script("infer.py", "--ckpt", run_dir, "--num", 30, "--output_dir", tmp_path / "drawn")
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    with np.load(tmp_path / "drawn" / "samples-001.npz") as samples:
        assert "labels" not in samples  # cluster ids are not the digits evaluate.py would score them as
        np.testing.assert_array_equal(samples["clusters"], clusters.draw_counts(config["cluster_shares"], 30))

    scored = run_script("evaluate.py", "--ckpt", run_dir, "--num", 200)
    assert scored.returncode == 0, scored.stderr[-3000:]
    metrics = json.load(open(run_dir / "samples" / "metrics.json"))["samples"]
    assert metrics["num_samples"] == 200 and "label_accuracy" not in metrics

    resumed = run_script("train.py", "--resume", run_dir, "--epochs", 2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "k-means" not in resumed.stdout  # the run's own centroids, not new ones
    after = json.load(open(run_dir / "config.json"))
    assert after["cluster_shares"] == config["cluster_shares"] and after["cluster_space"] == "deskewed"
    os.remove(run_dir / "clusters.npz")
    assert_one_line_error(run_script("train.py", "--resume", run_dir, "--epochs", 3), "clusters.npz is missing")
