"""The Dataset and RawData records validate themselves and cannot be changed."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from faqnas_qiskit.data import Dataset, RawData
from faqnas_qiskit.errors import DataError, FaqnasError


def _fields(**overrides: Any) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    fields: dict[str, Any] = {
        "name": "toy",
        "x_train": rng.normal(size=(6, 3)),
        "y_train": np.array([0, 1, 2, 0, 1, 2], dtype=np.int64),
        "x_val": rng.normal(size=(2, 3)),
        "y_val": np.array([0, 2], dtype=np.int64),
        "x_test": rng.normal(size=(3, 3)),
        "y_test": np.array([1, 1, 0], dtype=np.int64),
        "class_names": ("a", "b", "c"),
    }
    fields.update(overrides)
    return fields


def test_valid_dataset_has_properties_and_read_only_arrays() -> None:
    ds = Dataset(**_fields())
    assert ds.n_features == 3
    assert ds.n_classes == 3
    assert ds.sizes == {"train": 6, "val": 2, "test": 3}
    with pytest.raises(ValueError, match="read-only"):
        ds.x_train[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        ds.y_test[0] = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"  # type: ignore[misc]
    assert "sizes={'train': 6, 'val': 2, 'test': 3}" in repr(ds)


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"x_val": np.zeros((2, 3), dtype=np.float32)}, r"'x_val' field must be of dtype float64"),
        ({"y_train": np.zeros(6, dtype=np.int32)}, r"'y_train' field must be of dtype int64"),
        ({"x_test": np.zeros(3)}, r"'x_test' field must be a 2-D array.*Got \(3,\) instead"),
        ({"x_val": np.zeros((2, 4))}, r"'x_val' field .* feature columns"),
        ({"y_val": np.array([0, 3], dtype=np.int64)}, r"class indices in 0\.\.2.*Got 3"),
        ({"y_val": np.array([-1, 0], dtype=np.int64)}, r"Got -1 instead"),
        ({"y_test": np.array([0, 1], dtype=np.int64)}, r"one label per row of x_test \(3 rows\)"),
        ({"x_val": np.zeros((0, 3)), "y_val": np.zeros(0, dtype=np.int64)}, "non-empty"),
        ({"x_train": np.full((6, 3), np.nan)}, "finite"),
        ({"class_names": ("a",)}, "at least 2 class names"),
        ({"class_names": ("a", "a", "b")}, "duplicates"),
        ({"class_names": ["a", "b", "c"]}, "tuple of strings"),
        ({"name": ""}, "'name' field"),
        ({"x_train": [[0.0, 1.0]]}, "numpy array"),
    ],
)
def test_invalid_dataset_is_rejected(overrides: dict[str, Any], pattern: str) -> None:
    with pytest.raises(DataError, match=pattern) as info:
        Dataset(**_fields(**overrides))
    assert isinstance(info.value, FaqnasError)
    assert "\n" not in str(info.value)


def test_raw_data_validates_and_freezes() -> None:
    raw = RawData(
        name="toy",
        features=np.arange(6, dtype=np.uint8).reshape(3, 2),
        labels=np.array([0, 1, 1], dtype=np.int64),
        class_names=("x", "y"),
    )
    assert (raw.n_samples, raw.n_features, raw.n_classes) == (3, 2, 2)
    assert not raw.features.flags.writeable
    with pytest.raises(DataError, match="one label per row"):
        RawData(
            name="toy",
            features=np.zeros((3, 2)),
            labels=np.array([0, 1], dtype=np.int64),
            class_names=("x", "y"),
        )
    with pytest.raises(DataError, match="integer or floating"):
        RawData(
            name="toy",
            features=np.array([["a"], ["b"]]),
            labels=np.array([0, 1], dtype=np.int64),
            class_names=("x", "y"),
        )
    with pytest.raises(DataError, match="feature_scale"):
        RawData(
            name="toy",
            features=np.zeros((2, 1)),
            labels=np.array([0, 1], dtype=np.int64),
            class_names=("x", "y"),
            feature_scale=0.0,
        )
