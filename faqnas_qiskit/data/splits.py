"""Stratified train/val/test splitting, train subsampling and standardisation.

Semantics other tools rely on:

- **Split**: stratified, from the seed alone. The test split holds ``ceil(n / 5)`` samples (20% of
  the whole), the val split as many again, the train split the rest (60%): 150 -> 90/30/30.
  Every class needs at least ``MIN_SAMPLES_PER_CLASS`` samples, so that each split holds it.
- **max_train**: a stratified subsample of the train split only; val and test keep their samples.
- **Standardisation**: mean and standard deviation (``ddof=0``) of the final train split, applied
  to all three splits; a feature constant on the train split is centred and divided by 1.

Seeds: ``np.random.SeedSequence(seed).spawn(3)`` gives independent streams for the test split,
the val split and the train subsample, so the same seed always gives bit-identical arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import train_test_split

from faqnas_qiskit.data.records import Dataset, RawData
from faqnas_qiskit.errors import ConfigError, DataError, invalid
from faqnas_qiskit.limits import Bound, Fields, check

__all__ = [
    "MIN_SAMPLES_PER_CLASS",
    "SPLIT_PARAMETERS",
    "RepeatRows",
    "SplitIndices",
    "check_split_options",
    "repeat_rows",
    "repeat_split",
    "split_and_standardise",
    "split_indices",
    "stratified_subsample",
]

#: Fewest samples a class may have: with 60/20/20 stratification, 5 puts it in every split.
MIN_SAMPLES_PER_CLASS = 5


SPLIT_PARAMETERS = Fields.of(
    "split",
    "",
    Bound.count("seed", fix="Pass e.g. --seed 0."),
    Bound(
        "max_train",
        True,
        1,
        math.inf,
        "Pass e.g. --max-train 500, or omit it to use the whole train split.",
        optional=True,
        phrase="a positive integer or None",
    ),
    Bound.count("repeat", fix="Repeat 0 is the dataset's own split; pass 0, 1, 2, ..."),
    Bound.count("n", low=1, fix="Pass a subsample size the labels can give."),
    what="parameter",
)
"""The declared constraints of the splitting functions' parameters."""


def _check_seed(seed: object) -> int:
    return int(check("seed", seed, fields=SPLIT_PARAMETERS))


def check_split_options(seed: object, max_train: object) -> tuple[int, int | None]:
    """Validate ``seed`` and ``max_train`` before any data is read.

    Args:
        seed: Must be a non-negative integer.
        max_train: Must be None or a positive integer.

    Returns:
        ``(seed, max_train)`` as plain ``int`` (``max_train`` may be None).

    Raises:
        ConfigError: If either is invalid.
    """
    checked_seed = _check_seed(seed)
    checked: int | None = check("max_train", max_train, fields=SPLIT_PARAMETERS)
    return checked_seed, checked


def _streams(seed: int) -> tuple[int, int, np.random.SeedSequence]:
    """Random states for the test split and the val split, and the subsample's seed sequence."""
    test_seq, val_seq, sub_seq = np.random.SeedSequence(seed).spawn(3)
    return int(test_seq.generate_state(1)[0]), int(val_seq.generate_state(1)[0]), sub_seq


@dataclass(frozen=True, eq=False)
class SplitIndices:
    """Row indices of the three splits into the raw table, in the order samples appear.

    Attributes:
        train: Shape ``(n_train,)``, ``int64``.
        val: Shape ``(n_val,)``, ``int64``.
        test: Shape ``(n_test,)``, ``int64``.
    """

    train: npt.NDArray[np.int64] = field(repr=False)
    val: npt.NDArray[np.int64] = field(repr=False)
    test: npt.NDArray[np.int64] = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != np.int64:
                raise DataError(invalid(name, "a 1-D int64 array", type(arr), what="field"))
            arr.flags.writeable = False


def _check_class_counts(
    labels: npt.NDArray[np.int64], class_names: tuple[str, ...], dataset: str
) -> None:
    counts = np.bincount(labels, minlength=len(class_names))
    small = [k for k in range(len(class_names)) if counts[k] < MIN_SAMPLES_PER_CLASS]
    if small:
        k = small[0]
        others = ", ".join(f"{class_names[j]!r}: {counts[j]}" for j in small[1:])
        raise DataError(
            invalid(
                class_names[k],
                f"represented by at least {MIN_SAMPLES_PER_CLASS} samples in dataset {dataset!r} "
                f"to split it 60/20/20 with every class in every split (stratified)",
                int(counts[k]),
                "Add samples of that class or remove it from the data"
                + (f" (also too few: {others})." if others else "."),
                what="class",
            )
        )


def split_indices(
    labels: npt.NDArray[np.int64],
    *,
    seed: int,
    class_names: tuple[str, ...] | None = None,
    dataset: str = "<labels>",
) -> SplitIndices:
    """Stratified 60/20/20 split of row indices.

    Args:
        labels: Shape ``(n_samples,)``, ``int64`` class indices ``0..n_classes-1``.
        seed: Non-negative integer; the split is a pure function of ``labels`` and ``seed``.
        class_names: Names for error messages (default: the class indices as strings; classes
            absent from ``labels`` count as having 0 samples).
        dataset: Dataset name for error messages.

    Returns:
        Disjoint index arrays whose union is ``0..n_samples-1``: test and val hold
        ``ceil(n_samples / 5)`` each, train the rest.

    Raises:
        ConfigError: If ``seed`` is not a non-negative integer.
        DataError: If a class has fewer than ``MIN_SAMPLES_PER_CLASS`` samples (the message
            names the class and its count).
    """
    seed = _check_seed(seed)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or labels.size == 0:
        raise DataError(invalid("labels", "a non-empty 1-D array of class indices", labels.shape))
    if int(labels.min()) < 0:
        raise DataError(invalid("labels", "class indices >= 0", int(labels.min())))
    if class_names is None:
        class_names = tuple(str(k) for k in range(int(labels.max()) + 1))
    _check_class_counts(labels, class_names, dataset)
    n = labels.shape[0]
    n_test = -(-n // 5)
    test_state, val_state, _ = _streams(seed)
    everything = np.arange(n, dtype=np.int64)
    try:
        rest, test = train_test_split(
            everything, test_size=n_test, stratify=labels, random_state=test_state
        )
        train, val = train_test_split(
            rest, test_size=n_test, stratify=labels[rest], random_state=val_state
        )
    except ValueError as exc:  # a safety net: the class-count check should prevent this
        raise DataError(
            invalid(
                "labels",
                f"splittable 60/20/20 with stratification in dataset {dataset!r}",
                f"{n} samples in {len(class_names)} classes",
                f"Add samples ({exc}).",
            )
        ) from exc
    return SplitIndices(
        train=np.asarray(train, dtype=np.int64),
        val=np.asarray(val, dtype=np.int64),
        test=np.asarray(test, dtype=np.int64),
    )


def stratified_subsample(
    labels: npt.NDArray[np.int64], n: int, *, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Positions of a stratified subsample of ``n`` out of ``len(labels)`` samples.

    Every class present in ``labels`` keeps at least one sample; the remaining ``n - n_present``
    slots go to the classes in proportion to their other samples (largest remainder, ties to the
    lower class index), so class proportions are preserved to within one sample.

    Args:
        labels: Shape ``(m,)``, ``int64`` class indices.
        n: Subsample size, ``n_present_classes <= n <= m``.
        rng: Source of randomness for which samples of each class are kept.

    Returns:
        Shape ``(n,)``, ``int64`` positions into ``labels``, ascending (the input order is kept).

    Raises:
        ConfigError: If ``n`` is outside ``n_present_classes..m``.
    """
    classes, counts = np.unique(labels, return_counts=True)
    m = int(labels.shape[0])
    # at least one sample of every class, at most them all
    check("n", n, fields=SPLIT_PARAMETERS, low=classes.size, high=m)
    spare = counts - 1
    quota = spare * (n - classes.size) / max(int(spare.sum()), 1)
    take = np.floor(quota).astype(np.int64)
    left = n - classes.size - int(take.sum())
    # Stable sort on negated remainders: largest first, ties to the lower class index.
    order = np.argsort(-(quota - take), kind="stable")
    take[order[:left]] += 1
    take += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=int(t), replace=False)
        for c, t in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _gather(raw: RawData, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Fresh float64 copy of the selected rows, in model units (divided by feature_scale)."""
    # Fancy indexing always copies, so scaling in place never touches raw.features.
    x = np.asarray(raw.features[rows], dtype=np.float64)
    if raw.feature_scale != 1.0:
        x /= raw.feature_scale
    return x


def _standardise_in_place(
    x_train: npt.NDArray[np.float64], *others: npt.NDArray[np.float64]
) -> None:
    """Standardise all arrays in place with the statistics of ``x_train`` (no large temporaries)."""
    constant = x_train.max(axis=0) == x_train.min(axis=0)
    mean = x_train.mean(axis=0)
    x_train -= mean
    var = np.einsum("ij,ij->j", x_train, x_train) / x_train.shape[0]
    scale = np.sqrt(var)
    scale[constant] = 1.0
    x_train /= scale
    for x in others:
        x -= mean
        x /= scale


def split_and_standardise(raw: RawData, *, seed: int, max_train: int | None = None) -> Dataset:
    """Split a raw table 60/20/20 (stratified), subsample train, and standardise.

    Args:
        raw: The table as read.
        seed: Non-negative integer; the result is a pure function of ``raw``, ``seed`` and
            ``max_train`` (bit-identical on every call).
        max_train: If given, keep a stratified subsample of this many train samples (clipped
            to the train size); val and test are untouched. Must be at least ``raw.n_classes``.

    Returns:
        The ``Dataset``, features ``float64`` standardised with final-train statistics.

    Raises:
        ConfigError: If ``seed`` is invalid, or ``max_train`` is not an integer >= 1 or is below
            the number of classes.
        DataError: If a class has too few samples to split.
    """
    seed, max_train = check_split_options(seed, max_train)
    if max_train is not None and max_train < raw.n_classes:
        raise ConfigError(
            invalid(
                "max_train",
                f"at least the number of classes of {raw.name!r} ({raw.n_classes}), so that "
                f"every class keeps a train sample",
                max_train,
                f"Pass --max-train {raw.n_classes} or more.",
            )
        )
    idx = split_indices(raw.labels, seed=seed, class_names=raw.class_names, dataset=raw.name)
    train = idx.train
    if max_train is not None and max_train < train.shape[0]:
        _, _, sub_seq = _streams(seed)
        positions = stratified_subsample(
            raw.labels[train], int(max_train), rng=np.random.default_rng(sub_seq)
        )
        train = train[positions]
    x_train, x_val, x_test = (_gather(raw, rows) for rows in (train, idx.val, idx.test))
    _standardise_in_place(x_train, x_val, x_test)
    return Dataset(
        name=raw.name,
        x_train=x_train,
        y_train=raw.labels[train],
        x_val=x_val,
        y_val=raw.labels[idx.val],
        x_test=x_test,
        y_test=raw.labels[idx.test],
        class_names=raw.class_names,
    )


@dataclass(frozen=True, eq=False)
class RepeatRows:
    """Repeat r's split as positions in the pooled non-test rows, and its standardisation.

    The pool is repeat 0's train rows followed by its validation rows (``x_train`` then
    ``x_val`` of the loaded dataset, already standardised with repeat 0's statistics); repeat r
    standardises every split as ``(x - mean) / scale`` with the statistics of its own train rows.

    Attributes:
        train: Pool positions of the train rows, shape (n_train,), ``int64``.
        val: Pool positions of the validation rows, shape (n_val,), ``int64``.
        mean: Per-feature mean of the train rows, shape (n_features,).
        scale: Per-feature standard deviation (``ddof=0``; 1 for a feature constant on the
            train rows), shape (n_features,).
    """

    train: npt.NDArray[np.int64] = field(repr=False)
    val: npt.NDArray[np.int64] = field(repr=False)
    mean: npt.NDArray[np.float64] = field(repr=False)
    scale: npt.NDArray[np.float64] = field(repr=False)


def repeat_rows(dataset: Dataset, *, seed: int, repeat: int) -> RepeatRows:
    """Repeat ``repeat`` (>= 1)'s split and standardisation without copying the data
    (:func:`repeat_split` materialises them; the batched repeats apply them per batch).

    Raises:
        ConfigError: If ``seed`` is negative or ``repeat`` is not an integer >= 1.
    """
    seed = _check_seed(seed)
    check("repeat", repeat, fields=SPLIT_PARAMETERS, low=1)  # repeat 0 copies nothing
    y_pool = np.concatenate([dataset.y_train, dataset.y_val])
    n_train0, n_val = int(dataset.x_train.shape[0]), int(dataset.x_val.shape[0])
    state = int(np.random.SeedSequence([seed, int(repeat)]).generate_state(1)[0])
    everything = np.arange(y_pool.shape[0], dtype=np.int64)
    try:
        train, val = train_test_split(
            everything, test_size=n_val, stratify=y_pool, random_state=state
        )
    except ValueError:  # a class with one pooled row cannot be stratified: split unstratified
        train, val = train_test_split(everything, test_size=n_val, random_state=state)
    train = np.asarray(train, dtype=np.int64)
    # the train rows once (float64), for their statistics, as _standardise_in_place computes them
    in_first = train < n_train0
    x_train = np.empty((train.shape[0], dataset.n_features), dtype=np.float64)
    x_train[in_first] = dataset.x_train[train[in_first]]
    x_train[~in_first] = dataset.x_val[train[~in_first] - n_train0]
    constant = x_train.max(axis=0) == x_train.min(axis=0)
    mean = x_train.mean(axis=0)
    x_train -= mean
    scale = np.sqrt(np.einsum("ij,ij->j", x_train, x_train) / x_train.shape[0])
    scale[constant] = 1.0
    return RepeatRows(train, np.asarray(val, dtype=np.int64), mean, scale)


def repeat_split(dataset: Dataset, *, seed: int, repeat: int) -> Dataset:
    """The train/validation split of repeat ``repeat`` of an evaluation (DESIGN §4.1).

    Repeat 0 is ``dataset`` itself. Repeat r > 0 pools the non-test rows of ``dataset`` (its
    train and validation rows; with ``max_train`` the subsampled train rows), draws a new
    stratified split of them with the same sizes, from ``seed`` and ``r`` alone, and
    standardises all three splits with the new train split's statistics. The test rows never
    change. Standardisation is affine per feature, so re-standardising the already standardised
    pool equals standardising the raw rows with the new train statistics (to rounding).

    Args:
        dataset: The loaded dataset (repeat 0).
        seed: The dataset's split seed (``load_dataset``'s ``seed``), non-negative.
        repeat: Repeat index, >= 0.

    Returns:
        A new ``Dataset`` of the same name and sizes; ``dataset`` itself for repeat 0.

    Raises:
        ConfigError: If ``seed`` or ``repeat`` is negative or not an integer.
    """
    seed = _check_seed(seed)
    check("repeat", repeat, fields=SPLIT_PARAMETERS)
    if repeat == 0:
        return dataset
    rows = repeat_rows(dataset, seed=seed, repeat=repeat)
    x_pool = np.concatenate([dataset.x_train, dataset.x_val])
    y_pool = np.concatenate([dataset.y_train, dataset.y_val])
    train, val = rows.train, rows.val
    x_train, x_val = x_pool[train], x_pool[val]
    x_test = np.array(dataset.x_test, dtype=np.float64)
    for x in (x_train, x_val, x_test):
        x -= rows.mean
        x /= rows.scale
    return Dataset(
        name=dataset.name,
        x_train=x_train,
        y_train=y_pool[train],
        x_val=x_val,
        y_val=y_pool[val],
        x_test=x_test,
        y_test=np.asarray(dataset.y_test),
        class_names=dataset.class_names,
    )
