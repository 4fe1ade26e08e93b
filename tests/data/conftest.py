"""Shared fixtures for the data-layer tests: tiny IDX files and a row-recovery helper."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pytest

if TYPE_CHECKING:
    from faqnas_qiskit.data import Dataset


def _write_idx(path: Path, array: npt.NDArray[np.uint8], compress: bool) -> Path:
    """Write ``array`` as an IDX file of unsigned bytes (images 3-D, labels 1-D)."""
    magic = 0x00000800 | array.ndim
    payload = struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


@pytest.fixture
def write_idx() -> Callable[[Path, npt.NDArray[np.uint8], bool], Path]:
    """``write_idx(path, uint8_array, compress) -> written path`` (``.gz`` added if compressed)."""
    return _write_idx


@pytest.fixture
def tiny_idx() -> dict[str, npt.NDArray[np.uint8]]:
    """30 train + 20 test 28x28 images, 10 classes, 5 samples per class over both parts."""
    rng = np.random.default_rng(1234)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.repeat(np.arange(10, dtype=np.uint8), 3),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.tile(np.arange(10, dtype=np.uint8), 2),
    }


@pytest.fixture
def write_tiny_idx(
    tiny_idx: dict[str, npt.NDArray[np.uint8]],
) -> Callable[[Path, bool], Path]:
    """``write_tiny_idx(directory, compress)`` writes the four tiny IDX files there."""

    def write(directory: Path, compress: bool) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for base, array in tiny_idx.items():
            _write_idx(directory / base, array, compress)
        return directory

    return write


def _recover_rows(
    ds: Dataset,
    raw: npt.NDArray[np.float64],
    known: tuple[str, npt.NDArray[np.int64]] | None = None,
) -> dict[str, npt.NDArray[np.int64]]:
    """Map every row of every split back to its row in ``raw``, independently of the library.

    Standardisation is one per-feature affine map x = (r - m) / s shared by all splits. Without
    ``known``, the splits must partition ``raw`` and (s, m) follow from the mean and std of all
    rows in both spaces; with ``known = (split, raw_rows)``, they are fitted on that split, whose
    raw rows are given in order. Each un-standardised row must then be a row of ``raw``;
    duplicated raw rows are handed out once each (a multiset match).
    """
    if known is None:
        every = np.concatenate([ds.x_train, ds.x_val, ds.x_test])
        assert every.shape[0] == raw.shape[0]
        s = raw.std(axis=0) / every.std(axis=0)
        m = raw.mean(axis=0) - s * every.mean(axis=0)
    else:
        x, r = getattr(ds, f"x_{known[0]}"), raw[known[1]]
        s = ((x - x.mean(0)) * (r - r.mean(0))).mean(0) / x.var(axis=0)
        m = r.mean(axis=0) - s * x.mean(axis=0)
    lookup: dict[bytes, list[int]] = {}
    for i, row in enumerate(np.round(raw, 6) + 0.0):  # + 0.0 folds -0.0 into 0.0
        lookup.setdefault(row.tobytes(), []).append(i)
    found: dict[str, npt.NDArray[np.int64]] = {}
    for split in ("train", "val", "test"):
        x = getattr(ds, f"x_{split}")
        recovered = x * s + m
        rows = []
        for row in recovered:
            key = (np.round(row, 6) + 0.0).tobytes()
            assert lookup.get(key), f"a {split} row is not a row of the raw data"
            i = lookup[key].pop()
            np.testing.assert_allclose(row, raw[i], rtol=0, atol=1e-9)
            rows.append(i)
        found[split] = np.asarray(rows, dtype=np.int64)
    return found


@pytest.fixture
def recover_rows() -> Callable[..., dict[str, npt.NDArray[np.int64]]]:
    """``recover_rows(dataset, raw_features) -> {split: raw row indices}`` (see _recover_rows)."""
    return _recover_rows
