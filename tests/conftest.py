"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True, scope="session")
def _private_metrics_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI's machine-wide metrics cache goes to a temporary file, never the user's."""
    path = tmp_path_factory.mktemp("cache") / "metrics.db"
    previous = os.environ.get("FAQNAS_CACHE")
    os.environ["FAQNAS_CACHE"] = str(path)
    yield
    if previous is None:
        os.environ.pop("FAQNAS_CACHE", None)
    else:
        os.environ["FAQNAS_CACHE"] = previous
