"""The two records of the data layer: a raw labelled table and a split, standardised dataset.

Both are frozen and validate themselves on creation; their arrays are made read-only, so a
``Dataset`` handed to many evaluations cannot be changed by one of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from faqnas_qiskit.errors import DataError, invalid

__all__ = ["SPLITS", "Dataset", "RawData"]

#: The names of the three splits, in the order a ``Dataset`` holds them.
SPLITS: tuple[str, str, str] = ("train", "val", "test")


def _check_class_names(class_names: tuple[str, ...], owner: str) -> None:
    if not isinstance(class_names, tuple) or not all(isinstance(c, str) for c in class_names):
        raise DataError(
            invalid(
                "class_names",
                f"a tuple of strings for {owner}",
                type(class_names).__name__,
                what="field",
            )
        )
    if len(class_names) < 2:
        raise DataError(
            invalid(
                "class_names",
                f"a tuple of at least 2 class names for {owner}",
                class_names,
                "A classifier needs two classes or more.",
                what="field",
            )
        )
    if len(set(class_names)) != len(class_names):
        raise DataError(
            invalid("class_names", f"free of duplicates for {owner}", class_names, what="field")
        )


def _check_array(value: object, field_name: str, shape: str, dtype: str) -> None:
    """Check type, dimensions (``shape`` is e.g. "(n_samples, n_features)") and dtype.

    ``dtype`` is a dtype name, or "real" for any integer or floating dtype.
    """
    ndim = len([part for part in shape.strip("()").split(",") if part.strip()])
    if not isinstance(value, np.ndarray):
        raise DataError(
            invalid(
                field_name, f"a numpy array of shape {shape}", type(value).__name__, what="field"
            )
        )
    if value.ndim != ndim:
        raise DataError(
            invalid(field_name, f"a {ndim}-D array of shape {shape}", value.shape, what="field")
        )
    if dtype == "real" and value.dtype.kind not in "uif":
        raise DataError(
            invalid(field_name, "of an integer or floating dtype", value.dtype, what="field")
        )
    if dtype != "real" and value.dtype != np.dtype(dtype):
        raise DataError(
            invalid(
                field_name,
                f"of dtype {dtype}",
                value.dtype,
                f"Convert it with .astype(np.{dtype}).",
                what="field",
            )
        )


def _check_labels(labels: npt.NDArray[np.int64], n_classes: int, field_name: str) -> None:
    _check_array(labels, field_name, "(n_samples,)", "int64")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        bad = int(labels.min()) if int(labels.min()) < 0 else int(labels.max())
        raise DataError(
            invalid(
                field_name,
                f"class indices in 0..{n_classes - 1} (one per class name)",
                bad,
                what="field",
            )
        )


@dataclass(frozen=True, eq=False)
class RawData:
    """A labelled table as read from its source, before splitting and standardisation.

    Attributes:
        name: Canonical dataset name (``"iris"``, ``"mnist"``, ``"csv:/abs/path.csv"``).
        features: Shape ``(n_samples, n_features)``, any real dtype, in the source's own units
            (``uint8`` pixel values 0..255 for the IDX datasets).
        labels: Shape ``(n_samples,)``, ``int64`` class indices ``0..n_classes-1``.
        class_names: One name per class index.
        feature_scale: Features are divided by this before standardisation (255.0 for IDX pixels,
            so that images enter standardisation scaled to [0, 1]; 1.0 otherwise).

    The arrays given are made read-only in place (not copied).
    """

    name: str
    features: npt.NDArray[np.generic] = field(repr=False)
    labels: npt.NDArray[np.int64] = field(repr=False)
    class_names: tuple[str, ...]
    feature_scale: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise DataError(invalid("name", "a non-empty string", self.name, what="field"))
        _check_class_names(self.class_names, f"dataset {self.name!r}")
        x = self.features
        _check_array(x, "features", "(n_samples, n_features)", "real")
        _check_labels(self.labels, len(self.class_names), "labels")
        if self.labels.shape[0] != x.shape[0]:
            raise DataError(
                invalid(
                    "labels",
                    f"one label per row of features ({x.shape[0]} rows)",
                    self.labels.shape[0],
                    what="field",
                )
            )
        if not self.feature_scale > 0:
            raise DataError(invalid("feature_scale", "> 0", self.feature_scale, what="field"))
        x.flags.writeable = False
        self.labels.flags.writeable = False

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return int(self.features.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.features.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(class_names)``)."""
        return len(self.class_names)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset, split and standardised.

    Features are standardised with the mean and standard deviation (population, ``ddof=0``)
    of the train split alone; a feature that is constant on the train split is centred and
    divided by 1. The arrays given are made read-only in place (not copied, so a 440 MB MNIST
    split is never duplicated). Equality is identity (``eq=False``): compare arrays explicitly.

    Attributes:
        name: Canonical name, e.g. ``"iris"``, ``"mnist"``, ``"csv:/abs/path.csv"``.
        x_train: Shape ``(n_train, n_features)``, ``float64``, standardised.
        y_train: Shape ``(n_train,)``, ``int64`` class indices ``0..n_classes-1``.
        x_val: Shape ``(n_val, n_features)``, ``float64``, standardised with train statistics.
        y_val: Shape ``(n_val,)``, ``int64``.
        x_test: Shape ``(n_test, n_features)``, ``float64``, standardised with train statistics.
        y_test: Shape ``(n_test,)``, ``int64``.
        class_names: One name per class index.

    Raises:
        DataError: If shapes disagree, a split is empty, dtypes are not ``float64``/``int64``,
            a feature is not finite, or a label is outside ``0..n_classes-1``.
    """

    name: str
    x_train: npt.NDArray[np.float64] = field(repr=False)
    y_train: npt.NDArray[np.int64] = field(repr=False)
    x_val: npt.NDArray[np.float64] = field(repr=False)
    y_val: npt.NDArray[np.int64] = field(repr=False)
    x_test: npt.NDArray[np.float64] = field(repr=False)
    y_test: npt.NDArray[np.int64] = field(repr=False)
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise DataError(invalid("name", "a non-empty string", self.name, what="field"))
        _check_class_names(self.class_names, f"dataset {self.name!r}")
        n_features: int | None = None
        for split in SPLITS:
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            _check_array(x, f"x_{split}", f"(n_{split}, n_features)", "float64")
            if n_features is None:
                n_features = int(x.shape[1])
            if x.shape[1] != n_features or n_features < 1:
                raise DataError(
                    invalid(
                        f"x_{split}",
                        f"an array with the same number (>= 1) of feature columns as x_train "
                        f"({n_features})",
                        x.shape,
                        what="field",
                    )
                )
            if x.shape[0] < 1:
                raise DataError(invalid(f"x_{split}", "non-empty", x.shape, what="field"))
            if not np.isfinite(x).all():
                raise DataError(
                    invalid(
                        f"x_{split}", "finite everywhere", "an array with NaN or inf", what="field"
                    )
                )
            _check_labels(y, len(self.class_names), f"y_{split}")
            if y.shape[0] != x.shape[0]:
                raise DataError(
                    invalid(
                        f"y_{split}",
                        f"one label per row of x_{split} ({x.shape[0]} rows)",
                        y.shape[0],
                        what="field",
                    )
                )
        for split in SPLITS:
            getattr(self, f"x_{split}").flags.writeable = False
            getattr(self, f"y_{split}").flags.writeable = False

    @property
    def n_features(self) -> int:
        """Number of feature columns (784 for MNIST)."""
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(class_names)``)."""
        return len(self.class_names)

    @property
    def sizes(self) -> dict[str, int]:
        """Samples per split: ``{"train": n_train, "val": n_val, "test": n_test}``."""
        return {split: int(getattr(self, f"y_{split}").shape[0]) for split in SPLITS}

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the content: every split's arrays (values, shapes, dtypes) and the class names.

        Two loads of the same file with the same split settings give the same fingerprint; a
        changed file, seed or ``max_train`` gives another. 32 hex digits (BLAKE2b-128).
        """
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr(self.class_names).encode())
        for split in SPLITS:
            for array in (getattr(self, f"x_{split}"), getattr(self, f"y_{split}")):
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(np.ascontiguousarray(array).data)
        return digest.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, sizes={self.sizes}, n_features={self.n_features}, "
            f"class_names={self.class_names!r})"
        )
