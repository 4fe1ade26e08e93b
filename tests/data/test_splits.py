"""Splitting, stratification, standardisation, determinism and train subsampling."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.datasets import load_digits, load_iris, load_wine

from faqnas_qiskit.data import (
    MIN_SAMPLES_PER_CLASS,
    RawData,
    load_dataset,
    split_and_standardise,
    split_indices,
    stratified_subsample,
)
from faqnas_qiskit.errors import ConfigError, DataError

RowRecoverer = Callable[..., dict[str, npt.NDArray[np.int64]]]


def test_iris_split_sizes_are_90_30_30() -> None:
    ds = load_dataset("iris", seed=0)
    assert ds.sizes == {"train": 90, "val": 30, "test": 30}
    assert (ds.n_features, ds.n_classes) == (4, 3)
    assert ds.class_names == ("setosa", "versicolor", "virginica")


def test_iris_split_is_stratified_exactly() -> None:
    ds = load_dataset("iris", seed=3)
    assert np.bincount(ds.y_train, minlength=3).tolist() == [30, 30, 30]
    assert np.bincount(ds.y_val, minlength=3).tolist() == [10, 10, 10]
    assert np.bincount(ds.y_test, minlength=3).tolist() == [10, 10, 10]


@pytest.mark.parametrize("seed", [0, 1, 17])
def test_wine_split_preserves_class_proportions(seed: int) -> None:
    total = np.bincount(load_wine().target)  # [59, 71, 48]
    ds = load_dataset("wine", seed=seed)
    assert ds.sizes == {"train": 106, "val": 36, "test": 36}
    for split, n in ds.sizes.items():
        counts = np.bincount(getattr(ds, f"y_{split}"), minlength=3)
        expected = n * total / total.sum()
        assert np.all(np.abs(counts - expected) <= 1), (split, counts, expected)


def test_train_split_is_standardised() -> None:
    ds = load_dataset("wine", seed=5)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1.0, atol=1e-12)
    # Val and test use train statistics, so they are not exactly standardised themselves.
    assert np.abs(ds.x_val.mean(axis=0)).max() > 1e-3


def test_splits_partition_the_raw_rows_and_use_train_statistics(recover_rows: RowRecoverer) -> None:
    raw = load_wine().data
    ds = load_dataset("wine", seed=11)
    rows = recover_rows(ds, raw)
    every = np.sort(np.concatenate(list(rows.values())))
    np.testing.assert_array_equal(every, np.arange(raw.shape[0]))  # disjoint, and the whole set
    np.testing.assert_array_equal(ds.y_train, load_wine().target[rows["train"]])
    # Hand computation: statistics of the raw train rows, applied to val and test.
    mean = raw[rows["train"]].mean(axis=0)
    std = raw[rows["train"]].std(axis=0)
    for split in ("train", "val", "test"):
        expected = (raw[rows[split]] - mean) / std
        np.testing.assert_allclose(getattr(ds, f"x_{split}"), expected, rtol=0, atol=1e-12)


def test_split_indices_match_the_dataset_rows(recover_rows: RowRecoverer) -> None:
    bunch = load_wine()
    ds = load_dataset("wine", seed=2)
    idx = split_indices(bunch.target.astype(np.int64), seed=2)
    rows = recover_rows(ds, bunch.data)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(rows[split], getattr(idx, split))


def test_iris_duplicate_rows_still_partition(recover_rows: RowRecoverer) -> None:
    raw = load_iris().data  # holds one duplicated row
    rows = recover_rows(load_dataset("iris", seed=4), raw)
    assert sorted(np.concatenate(list(rows.values())).tolist()) == list(range(150))


def test_same_seed_gives_bit_identical_arrays() -> None:
    a = load_dataset("digits", seed=7, max_train=200)
    b = load_dataset("digits", seed=7, max_train=200)
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), field


def test_different_seeds_give_different_splits() -> None:
    a = load_dataset("iris", seed=0)
    b = load_dataset("iris", seed=1)
    assert not np.array_equal(a.x_train, b.x_train)
    ia = split_indices(load_iris().target.astype(np.int64), seed=0)
    ib = split_indices(load_iris().target.astype(np.int64), seed=1)
    assert set(ia.test.tolist()) != set(ib.test.tolist())


def test_constant_features_are_divided_by_one_not_zero() -> None:
    raw = load_digits().data
    ds = load_dataset("digits", seed=0)
    assert all(np.isfinite(getattr(ds, f"x_{s}")).all() for s in ("train", "val", "test"))
    always_zero = np.flatnonzero(raw.std(axis=0) == 0)
    assert always_zero.size > 0
    for split in ("train", "val", "test"):
        assert np.all(getattr(ds, f"x_{split}")[:, always_zero] == 0.0)


def test_feature_constant_on_train_only_is_centred_not_scaled() -> None:
    # Feature 1 is 7.0 on every row but one; wherever that row lands, where it is constant on
    # the train split the val/test values must be (x - 7) / 1.
    n = 40
    x = np.column_stack([np.arange(n, dtype=np.float64), np.full(n, 7.0)])
    x[0, 1] = 9.0
    labels = np.repeat(np.arange(2, dtype=np.int64), n // 2)
    raw = RawData(name="toy", features=x, labels=labels, class_names=("a", "b"))
    for seed in range(6):
        ds = split_and_standardise(raw, seed=seed)
        column = np.concatenate([ds.x_train[:, 1], ds.x_val[:, 1], ds.x_test[:, 1]])
        if np.all(ds.x_train[:, 1] == 0.0):
            assert column.max() == 2.0
            return
    pytest.fail("no seed put the odd row outside train")


def test_class_with_too_few_samples_is_named() -> None:
    labels = np.array([0] * 10 + [1] * 10 + [2] * 3, dtype=np.int64)
    raw = RawData(
        name="toy",
        features=np.arange(23, dtype=np.float64).reshape(23, 1),
        labels=labels,
        class_names=("ham", "eggs", "spam"),
    )
    with pytest.raises(DataError, match=r"'spam' class .* at least 5 samples.*Got 3 instead"):
        split_and_standardise(raw, seed=0)


def test_minimum_class_size_lands_in_every_split() -> None:
    labels = np.repeat(np.arange(4, dtype=np.int64), MIN_SAMPLES_PER_CLASS)
    for seed in range(20):
        idx = split_indices(labels, seed=seed)
        for part in (idx.train, idx.val, idx.test):
            assert set(labels[part].tolist()) == {0, 1, 2, 3}


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seed_is_a_config_error(seed: object) -> None:
    with pytest.raises(ConfigError, match="'seed' parameter"):
        load_dataset("iris", seed=seed)  # type: ignore[arg-type]


# --- max_train -------------------------------------------------------------------------------


def test_max_train_subsamples_train_stratified_and_leaves_val_test(
    recover_rows: RowRecoverer,
) -> None:
    raw = load_wine().data
    full = load_dataset("wine", seed=9)
    small = load_dataset("wine", seed=9, max_train=30)
    assert small.sizes == {"train": 30, "val": 36, "test": 36}
    full_rows = recover_rows(full, raw)
    small_rows = recover_rows(small, raw, ("test", full_rows["test"]))
    assert set(small_rows["train"].tolist()) <= set(full_rows["train"].tolist())
    for split in ("val", "test"):
        np.testing.assert_array_equal(small_rows[split], full_rows[split])
        np.testing.assert_array_equal(getattr(small, f"y_{split}"), getattr(full, f"y_{split}"))
    # Class balance: proportional to the full train split, within one sample.
    full_counts = np.bincount(full.y_train, minlength=3)
    counts = np.bincount(small.y_train, minlength=3)
    assert np.all(np.abs(counts - 30 * full_counts / full_counts.sum()) <= 1)
    # Standardisation is refitted on the subsample.
    np.testing.assert_allclose(small.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(small.x_train.std(axis=0), 1.0, atol=1e-12)


def test_max_train_on_balanced_iris_is_exactly_balanced() -> None:
    ds = load_dataset("iris", seed=0, max_train=30)
    assert np.bincount(ds.y_train).tolist() == [10, 10, 10]


def test_max_train_larger_than_train_is_clipped() -> None:
    a = load_dataset("iris", seed=2, max_train=10_000)
    b = load_dataset("iris", seed=2)
    assert a.sizes == b.sizes
    assert a.x_train.tobytes() == b.x_train.tobytes()


@pytest.mark.parametrize(
    ("max_train", "pattern"),
    [
        (0, "positive integer"),
        (-5, "positive integer"),
        (True, "positive integer"),
        (2, "at least the number of classes"),
    ],
)
def test_bad_max_train_is_a_config_error(max_train: object, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_dataset("iris", seed=0, max_train=max_train)  # type: ignore[arg-type]


def test_max_train_equal_to_n_classes_keeps_one_per_class() -> None:
    ds = load_dataset("digits", seed=0, max_train=10)
    assert sorted(ds.y_train.tolist()) == list(range(10))


@pytest.mark.parametrize("seed", range(8))
def test_stratified_subsample_sizes_and_proportions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.integers(5, 60, size=rng.integers(2, 7))
    labels = rng.permutation(np.repeat(np.arange(counts.size), counts)).astype(np.int64)
    n = int(rng.integers(counts.size, labels.size + 1))
    picked = stratified_subsample(labels, n, rng=np.random.default_rng(0))
    assert picked.shape == (n,)
    assert np.unique(picked).size == n
    assert np.all(np.diff(picked) > 0)
    got = np.bincount(labels[picked], minlength=counts.size)
    assert np.all(got >= 1)
    assert np.all(got <= counts)
    assert np.all(np.abs(got - n * counts / counts.sum()) < counts.size)


def test_stratified_subsample_rejects_n_below_class_count() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2], dtype=np.int64)
    with pytest.raises(ConfigError):
        stratified_subsample(labels, 2, rng=np.random.default_rng(0))
