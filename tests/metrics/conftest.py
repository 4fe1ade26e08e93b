"""One metrics cache for the whole metrics suite: fake backends and pass managers are built once."""

from __future__ import annotations

import pytest

from faqnas_qiskit.metrics import MetricsCache, TargetInfo


@pytest.fixture(scope="session")
def metrics_cache() -> MetricsCache:
    return MetricsCache()


@pytest.fixture(scope="session")
def fez(metrics_cache: MetricsCache) -> TargetInfo:
    return metrics_cache.target("fake_fez")


@pytest.fixture(scope="session")
def aer(metrics_cache: MetricsCache) -> TargetInfo:
    return metrics_cache.target("aer")
