"""The IDX reader and the MNIST / Fashion-MNIST loaders, on tiny files written by the tests."""

from __future__ import annotations

import gzip
import re
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from faqnas_qiskit.data import IDX_FILES, load_dataset, read_idx_images, read_idx_labels
from faqnas_qiskit.data.idx import load_idx_dataset, locate_idx_files, parse_idx
from faqnas_qiskit.errors import DataError

Writer = Callable[[Path, npt.NDArray[np.uint8], bool], Path]
TinyWriter = Callable[[Path, bool], Path]
Arrays = dict[str, npt.NDArray[np.uint8]]


@pytest.mark.parametrize("compress", [False, True])
def test_images_and_labels_round_trip(tmp_path: Path, write_idx: Writer, compress: bool) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    images_path = write_idx(tmp_path / "train-images-idx3-ubyte", images, compress)
    labels_path = write_idx(tmp_path / "train-labels-idx1-ubyte", labels, compress)
    assert images_path.name.endswith(".gz") == compress
    got_images = read_idx_images(images_path)
    got_labels = read_idx_labels(labels_path)
    assert got_images.dtype == np.uint8 and got_images.shape == (7, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert not got_images.flags.writeable


def test_parse_idx_reads_big_endian_dimensions() -> None:
    payload = struct.pack(">IIII", 0x803, 2, 3, 4) + bytes(range(24))
    out = parse_idx(payload, expected_magic=0x803)
    assert out.shape == (2, 3, 4)
    assert out[1, 2, 3] == 23
    assert out[0, 1, 0] == 4


def test_labels_file_read_as_images_is_a_bad_magic_error(tmp_path: Path, write_idx: Writer) -> None:
    path = write_idx(tmp_path / "labels", np.zeros(5, dtype=np.uint8), False)
    with pytest.raises(DataError, match=r"0x00000803.*Got '0x00000801' instead") as info:
        read_idx_images(path)
    assert str(path) in str(info.value)


def test_garbage_magic_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="magic number"):
        read_idx_images(path)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_file_is_an_error_naming_the_file(
    tmp_path: Path, write_idx: Writer, compress: bool
) -> None:
    images = np.ones((3, 28, 28), dtype=np.uint8)
    payload = struct.pack(">IIII", 0x803, 3, 28, 28) + images.tobytes()[:-10]
    path = tmp_path / ("imgs.gz" if compress else "imgs")
    path.write_bytes(gzip.compress(payload) if compress else payload)
    expected = 16 + 3 * 28 * 28
    with pytest.raises(DataError) as info:
        read_idx_images(path)
    message = str(info.value)
    assert str(path) in message
    assert f"exactly {expected} bytes" in message
    assert f"Got {expected - 10} instead" in message
    assert "truncated" in message
    assert "\n" not in message


def test_trailing_bytes_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    path.write_bytes(struct.pack(">II", 0x801, 2) + b"\x01\x02\x03")
    with pytest.raises(DataError, match="extra bytes"):
        read_idx_labels(path)


@pytest.mark.parametrize("data", [b"", b"\x00\x00", struct.pack(">II", 0x803, 3)])
def test_file_shorter_than_its_header_is_an_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "short"
    path.write_bytes(data)
    with pytest.raises(DataError, match="bytes"):
        read_idx_images(path)


def test_broken_gzip_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">II", 0x801, 100) + bytes(100))[:30])
    with pytest.raises(DataError, match="gzip"):
        read_idx_labels(path)


# --- locating and loading ----------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_tiny_mnist_loads_and_pixels_survive(
    tmp_path: Path,
    write_tiny_idx: TinyWriter,
    tiny_idx: Arrays,
    recover_rows: Callable[..., dict[str, npt.NDArray[np.int64]]],
    compress: bool,
) -> None:
    write_tiny_idx(tmp_path, compress)
    ds = load_dataset("mnist", seed=0, data_dir=tmp_path)
    assert ds.name == "mnist"
    assert ds.sizes == {"train": 30, "val": 10, "test": 10}
    assert ds.n_features == 784
    assert ds.class_names == tuple("0123456789")
    assert ds.x_train.dtype == np.float64
    # Train and t10k parts are concatenated (train first), then split like any dataset.
    pixels = np.concatenate(
        [tiny_idx["train-images-idx3-ubyte"], tiny_idx["t10k-images-idx3-ubyte"]]
    ).reshape(50, 784)
    labels = np.concatenate(
        [tiny_idx["train-labels-idx1-ubyte"], tiny_idx["t10k-labels-idx1-ubyte"]]
    )
    rows = recover_rows(ds, pixels / 255.0)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(ds, f"y_{split}"), labels[rows[split]])
    assert sorted(np.concatenate(list(rows.values())).tolist()) == list(range(50))
    assert np.bincount(ds.y_val).tolist() == [1] * 10


def test_raw_idx_features_are_the_pixels_scaled_by_255(
    tmp_path: Path, write_tiny_idx: TinyWriter, tiny_idx: Arrays
) -> None:
    write_tiny_idx(tmp_path / "mnist", False)
    raw = load_idx_dataset("mnist", tmp_path)
    assert raw.features.dtype == np.uint8 and raw.features.shape == (50, 784)
    assert raw.feature_scale == 255.0
    np.testing.assert_array_equal(
        raw.features[:30], tiny_idx["train-images-idx3-ubyte"].reshape(30, 784)
    )
    np.testing.assert_array_equal(raw.labels[30:], tiny_idx["t10k-labels-idx1-ubyte"])
    assert raw.labels.dtype == np.int64


@pytest.mark.parametrize("sub", ["fashion_mnist", "fashion-mnist"])
def test_fashion_mnist_subfolders_are_searched(
    tmp_path: Path, write_tiny_idx: TinyWriter, sub: str
) -> None:
    write_tiny_idx(tmp_path / sub, True)
    ds = load_dataset("fashion_mnist", seed=1, data_dir=tmp_path)
    assert ds.class_names[0] == "T-shirt/top" and ds.n_classes == 10
    assert ds.name == "fashion_mnist"


def test_mnist_does_not_look_in_fashion_folders(tmp_path: Path, write_tiny_idx: TinyWriter) -> None:
    write_tiny_idx(tmp_path / "fashion-mnist", False)
    with pytest.raises(DataError, match="'mnist/' subfolder"):
        load_dataset("mnist", seed=0, data_dir=tmp_path)


def test_data_dir_itself_is_searched_first(tmp_path: Path, write_tiny_idx: TinyWriter) -> None:
    write_tiny_idx(tmp_path, False)
    write_tiny_idx(tmp_path / "mnist", True)
    paths = locate_idx_files("mnist", tmp_path)
    assert [p.parent for p in paths] == [tmp_path] * 4
    assert [p.name for p in paths] == list(IDX_FILES)


def test_dotted_file_names_are_accepted(
    tmp_path: Path, write_idx: Writer, tiny_idx: Arrays
) -> None:
    for base, array in tiny_idx.items():
        write_idx(tmp_path / base.replace("-idx", ".idx"), array, False)
    assert load_dataset("mnist", seed=0, data_dir=tmp_path).sizes["train"] == 30


def test_missing_files_error_names_files_directory_and_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("fashion_mnist", seed=0, data_dir=tmp_path)
    message = str(info.value)
    for base in IDX_FILES:
        assert base in message
    assert str(tmp_path) in message
    assert "--data-dir DIR" in message and "FAQNAS_DATA" in message
    assert "'fashion_mnist/' or 'fashion-mnist/'" in message
    assert "\n" not in message


def test_partly_missing_files_are_named(tmp_path: Path, write_tiny_idx: TinyWriter) -> None:
    write_tiny_idx(tmp_path, False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"lacks t10k-labels-idx1-ubyte\)\.$"):
        load_dataset("mnist", seed=0, data_dir=tmp_path)


def test_no_data_dir_is_an_error_even_with_faqnas_data_set(
    tmp_path: Path, write_tiny_idx: TinyWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tiny_idx(tmp_path, False)
    monkeypatch.setenv("FAQNAS_DATA", str(tmp_path))  # the library must not read it
    with pytest.raises(DataError, match=r"'data_dir' parameter .* Got None instead.*FAQNAS_DATA"):
        load_dataset("mnist", seed=0)


def test_data_dir_that_is_not_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=re.escape(repr(str(missing)))):
        load_dataset("mnist", seed=0, data_dir=missing)


def test_label_count_mismatch_is_an_error(
    tmp_path: Path, write_tiny_idx: TinyWriter, write_idx: Writer
) -> None:
    write_tiny_idx(tmp_path, False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(19, dtype=np.uint8), False)
    with pytest.raises(DataError, match=r"one label per image.*Got 19 instead"):
        load_dataset("mnist", seed=0, data_dir=tmp_path)


def test_label_out_of_range_is_an_error(
    tmp_path: Path, write_tiny_idx: TinyWriter, write_idx: Writer
) -> None:
    write_tiny_idx(tmp_path, False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(30, 10, dtype=np.uint8), False)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.*0\.\.9.*Got 10 instead"):
        load_dataset("mnist", seed=0, data_dir=tmp_path)


def test_train_and_test_image_sizes_must_agree(
    tmp_path: Path, write_tiny_idx: TinyWriter, write_idx: Writer
) -> None:
    write_tiny_idx(tmp_path, False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((20, 14, 14), dtype=np.uint8), False)
    with pytest.raises(DataError, match="size of the train images"):
        load_dataset("mnist", seed=0, data_dir=tmp_path)


def test_corrupt_file_in_data_dir_surfaces_through_load_dataset(
    tmp_path: Path, write_tiny_idx: TinyWriter
) -> None:
    write_tiny_idx(tmp_path, False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match=re.escape(str(path))):
        load_dataset("mnist", seed=0, data_dir=tmp_path)
