"""The dataset pipeline, the on-disk checks and the download path."""

import gzip
import http.server
import io
import os
import threading
import zipfile

import numpy as np
import pytest
from conftest import real_subset

from ms_gan.data import (
    SPLIT_FILES,
    check_split,
    create_dataset,
    download_mnist,
    read_split,
    resolve_data_dir,
    split_dir,
    write_split,
)
from ms_gan.errors import UserError


def first_batches(dataset, epochs=1):
    it = dataset.create_dict_iterator(num_epochs=epochs, output_numpy=True)
    return [next(iter(it)) for _ in range(epochs)]


@pytest.mark.parametrize("conditional", [False, True])
def test_pipeline_columns_shapes_and_range(tiny_mnist, conditional):
    dataset = create_dataset(tiny_mnist, batch_size=32, latent_dim=20, conditional=conditional, num_workers=1)
    expected = ["image", "latent_code"] + (["label"] if conditional else [])
    assert dataset.get_col_names() == expected
    assert dataset.get_dataset_size() == 256 // 32
    batch = first_batches(dataset)[0]
    assert batch["image"].shape == (32, 1, 28, 28) and batch["image"].dtype == np.float32
    assert batch["image"].min() == -1.0 and batch["image"].max() == 1.0  # MNIST has pure black and pure white
    assert batch["latent_code"].shape == (32, 20) and batch["latent_code"].dtype == np.float32
    assert abs(batch["latent_code"].mean()) < 0.2 and 0.8 < batch["latent_code"].std() < 1.2
    if conditional:
        assert batch["label"].dtype == np.int32 and batch["label"].shape == (32,)
        assert set(batch["label"]) <= set(range(10))


def test_pipeline_matches_the_files_and_drops_the_remainder(tmp_path):
    (x, y), _ = real_subset(100, 0)
    write_split(str(tmp_path), "train", x, y)
    dataset = create_dataset(str(tmp_path), batch_size=30, latent_dim=4, conditional=True, shuffle=False, num_workers=1)
    batches = list(dataset.create_dict_iterator(num_epochs=1, output_numpy=True))
    assert len(batches) == 3  # 100 images, batch 30: the last 10 are dropped
    np.testing.assert_allclose(batches[0]["image"][:, 0], x[:30] / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(batches[0]["label"], y[:30])


def test_latent_code_is_fresh_every_epoch_and_seeded(tiny_mnist):
    def codes(seed):
        dataset = create_dataset(tiny_mnist, 64, 8, seed=seed, num_workers=1)
        return [b["latent_code"] for b in first_batches(dataset, epochs=2)]

    a_epoch1, a_epoch2 = codes(seed=3)
    b_epoch1, _ = codes(seed=3)
    assert not np.allclose(a_epoch1, a_epoch2)
    np.testing.assert_array_equal(a_epoch1, b_epoch1)


def test_batch_larger_than_dataset_is_a_user_error(tiny_mnist):
    with pytest.raises(UserError, match="larger than the 256 images"):
        create_dataset(tiny_mnist, batch_size=512, latent_dim=8)


def test_check_split_reports_missing_truncated_and_wrong_size(tmp_path):
    with pytest.raises(UserError, match="missing; point --data_dir"):
        check_split(str(tmp_path), "train")
    (x, y), _ = real_subset(10, 0)
    write_split(str(tmp_path), "train", x, y)
    assert check_split(str(tmp_path), "train") == 10
    images = tmp_path / "train" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated or corrupt"):
        check_split(str(tmp_path), "train")
    images.write_bytes(b"\x00\x00\x08\x03" + bytes(12) + bytes(784))  # header claims 0x0 images
    with pytest.raises(UserError, match="0x0 images"):
        check_split(str(tmp_path), "train")
    images.write_bytes(b"not an idx file at all")
    with pytest.raises(UserError, match="not an MNIST IDX file"):
        check_split(str(tmp_path), "train")


def _mnist_zip(n: int) -> bytes:
    """A small MNIST_Data.zip laid out like the tutorial's, built from real digits."""
    (x, y), (tx, ty) = real_subset(n, n)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for usage, images, labels, (img_name, lbl_name) in (
            ("train", x, y, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")),
            ("test", tx, ty, ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
        ):
            archive.writestr(
                f"MNIST_Data/{usage}/{img_name}", np.array([2051, n, 28, 28], ">u4").tobytes() + images.tobytes()
            )
            archive.writestr(f"MNIST_Data/{usage}/{lbl_name}", np.array([2049, n], ">u4").tobytes() + labels.tobytes())
    return buffer.getvalue()


def _gzipped_split_files(n: int) -> dict:
    """The four IDX files of N real digits per split, gzipped, by file name (the original distribution's form)."""
    (x, y), (tx, ty) = real_subset(n, n)
    files = {}
    for images, labels, (img_name, lbl_name) in ((x, y, SPLIT_FILES["train"]), (tx, ty, SPLIT_FILES["test"])):
        files[img_name + ".gz"] = gzip.compress(np.array([2051, n, 28, 28], ">u4").tobytes() + images.tobytes())
        files[lbl_name + ".gz"] = gzip.compress(np.array([2049, n], ">u4").tobytes() + labels.tobytes())
    return files


@pytest.fixture
def http_server():
    """A local HTTP server on 127.0.0.1 serving /MNIST_Data.zip and /fashion/<the four .gz files> (404 otherwise)."""
    payloads = {"/MNIST_Data.zip": _mnist_zip(50)}
    payloads.update({f"/fashion/{name}": data for name, data in _gzipped_split_files(40).items()})
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path not in payloads:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payloads[self.path])))
            self.end_headers()
            self.wfile.write(payloads[self.path])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_download_fetches_and_unpacks_the_zip(tmp_path, http_server, monkeypatch):
    base, hits = http_server
    monkeypatch.delenv("MS_GAN_MNIST_DIR", raising=False)  # .ci/run names an offline copy; here it is a download
    monkeypatch.setenv("MS_GAN_CACHE", str(tmp_path / "cache"))  # downloads go to the user's cache, not ./data
    monkeypatch.chdir(tmp_path)
    data_dir = resolve_data_dir("", f"{base}/MNIST_Data.zip")
    assert data_dir == str(tmp_path / "cache" / "data" / "MNIST_Data")
    assert not os.path.exists(tmp_path / "data")
    assert hits and set(hits) == {"/MNIST_Data.zip"}  # the download package probes the size first
    assert check_split(data_dir, "train") == 50 and check_split(data_dir, "test") == 50
    requests_so_far = len(hits)
    resolve_data_dir("", f"{base}/MNIST_Data.zip")  # present now: no second download
    assert len(hits) == requests_so_far


def test_failed_download_is_one_line_pointing_at_data_dir(tmp_path, http_server):
    base, _ = http_server
    with pytest.raises(UserError) as info:
        download_mnist(f"{base}/missing.zip", str(tmp_path))
    message = str(info.value)
    assert "\n" not in message and "could not download MNIST" in message and "--data_dir" in message


def test_missing_data_dir_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        resolve_data_dir(str(tmp_path / "nope"), "http://127.0.0.1:9/unused.zip")


def test_gzipped_files_side_by_side_are_read_through_a_cache(tmp_path, monkeypatch):
    """The original distribution's layout (four .gz files in one folder) trains like MNIST_Data/ does."""
    source = tmp_path / "flat"
    source.mkdir()
    for name, data in _gzipped_split_files(64).items():
        (source / name).write_bytes(data)
    monkeypatch.setenv("MS_GAN_CACHE", str(tmp_path / "cache"))
    assert check_split(str(source), "train") == 64 and check_split(str(source), "test") == 64
    unpacked = split_dir(str(source), "train")
    assert unpacked.startswith(str(tmp_path / "cache" / "unpacked"))
    assert sorted(os.listdir(source)) == sorted(_gzipped_split_files(1))  # the source is left as it was
    (x, y), _ = real_subset(64, 64)
    images, labels = read_split(str(source), "train")
    np.testing.assert_array_equal(images, x)
    np.testing.assert_array_equal(labels, y)
    batch = next(
        create_dataset(str(source), 16, 8, conditional=True, shuffle=False).create_dict_iterator(
            num_epochs=1, output_numpy=True
        )
    )
    np.testing.assert_array_equal(batch["label"], y[:16])
    assert split_dir(str(source), "train") == unpacked  # unpacked once, then reused


def test_corrupt_gzip_is_a_one_line_error(tmp_path, monkeypatch):
    for name, data in _gzipped_split_files(8).items():
        (tmp_path / name).write_bytes(data[:40] if name.startswith("train-images") else data)
    monkeypatch.setenv("MS_GAN_CACHE", str(tmp_path / "cache"))
    with pytest.raises(UserError) as info:
        check_split(str(tmp_path), "train")
    assert "\n" not in str(info.value) and "cannot unpack" in str(info.value)


def test_fashion_mnist_comes_from_a_local_copy_or_is_downloaded(tmp_path, http_server, monkeypatch):
    from ms_gan import data

    base, hits = http_server
    monkeypatch.setenv("MS_GAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(data.DATASETS, "fashion_mnist", dict(data.DATASETS["fashion_mnist"], local=()))
    folder = resolve_data_dir("", f"{base}/fashion/", "fashion_mnist")
    assert folder == str(tmp_path / "cache" / "data" / "FashionMNIST_Data")
    assert sorted(os.listdir(folder)) == sorted(_gzipped_split_files(1))  # the four .gz files, as served
    assert check_split(folder, "train") == 40 and check_split(folder, "test") == 40
    count = len(hits)
    assert resolve_data_dir("", f"{base}/fashion/", "fashion_mnist") == folder and len(hits) == count

    # a system copy (Debian's dataset-fashion-mnist layout) is used before any download
    system = tmp_path / "usr-share-fashion"
    system.mkdir()
    for name, payload in _gzipped_split_files(24).items():
        (system / name).write_bytes(payload)
    monkeypatch.setenv("MS_GAN_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setitem(data.DATASETS, "fashion_mnist", dict(data.DATASETS["fashion_mnist"], local=(str(system),)))
    assert resolve_data_dir("", "http://127.0.0.1:9/never", "fashion_mnist") == str(system)
    with pytest.raises(UserError) as info:
        data.download_idx(f"{base}/missing/", str(tmp_path / "x"), "Fashion-MNIST")
    assert "\n" not in str(info.value) and "could not download Fashion-MNIST" in str(info.value)
