"""The registry: built-in names, spellings, and errors for names that do not exist."""

from __future__ import annotations

import numpy as np
import pytest

from faqnas_qiskit.data import DATASET_NAMES, load_dataset, load_raw
from faqnas_qiskit.errors import ConfigError, DataError


def test_dataset_names_are_the_documented_seven() -> None:
    assert DATASET_NAMES == (
        "iris",
        "wine",
        "breast_cancer",
        "digits",
        "mnist5k",
        "mnist",
        "fashion_mnist",
    )


@pytest.mark.parametrize(
    ("name", "n", "n_features", "n_classes"),
    [
        ("iris", 150, 4, 3),
        ("wine", 178, 13, 3),
        ("breast_cancer", 569, 30, 2),
        ("digits", 1797, 64, 10),
    ],
)
def test_bundled_datasets_load_whole(name: str, n: int, n_features: int, n_classes: int) -> None:
    ds = load_dataset(name, seed=0)
    assert sum(ds.sizes.values()) == n
    assert ds.sizes["test"] == ds.sizes["val"] == -(-n // 5)
    assert (ds.n_features, ds.n_classes) == (n_features, n_classes)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert set(ds.y_train.tolist()) == set(range(n_classes))


def test_spellings_are_normalised_to_the_canonical_name() -> None:
    assert load_raw("Breast-Cancer").name == "breast_cancer"
    assert load_raw(" IRIS ").name == "iris"


@pytest.mark.parametrize("spec", ["mnist2", "cifar10", "", "csv:", "iris.csv"])
def test_unknown_dataset_lists_the_choices(spec: str) -> None:
    with pytest.raises(DataError) as info:
        load_dataset(spec, seed=0)
    message = str(info.value)
    assert message.startswith("The 'dataset' parameter must be one of iris, wine, breast_cancer")
    assert "fashion_mnist" in message and "csv:PATH" in message
    assert f"Got {spec!r} instead" in message


def test_target_for_a_builtin_dataset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'target' parameter must be None"):
        load_dataset("iris", seed=0, target="species")


def test_data_dir_is_ignored_by_bundled_datasets() -> None:
    a = load_dataset("iris", seed=0, data_dir="/definitely/not/here")
    b = load_dataset("iris", seed=0)
    assert a.x_test.tobytes() == b.x_test.tobytes()
