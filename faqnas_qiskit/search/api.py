"""One entry point for a search: :func:`run_search` wires data, metrics, evaluator and runner.

The CLI and the benchmarks call it instead of assembling the parts themselves, so a search
started anywhere loads its data, fingerprints file-backed data, computes and caches its cost
metrics and trains its candidates the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.search.candidate import Evaluator, SerialEvaluator
from faqnas_qiskit.search.config import SearchConfig
from faqnas_qiskit.search.metrics_provider import (
    MetricsProvider,
    StoreCachedMetrics,
    search_metrics,
)
from faqnas_qiskit.search.results import SearchResult
from faqnas_qiskit.search.runner import SearchObserver, SearchRunner
from faqnas_qiskit.store import ResultsStore

if TYPE_CHECKING:  # the metrics package loads qiskit: imported where it is used
    from faqnas_qiskit.metrics import MetricsCache

__all__ = ["prepare_search", "run_search"]


def prepare_search(
    config: SearchConfig, dataset: Dataset | None = None
) -> tuple[SearchConfig, Dataset]:
    """The run's dataset, and ``config`` with the fingerprint of file-backed data recorded.

    Args:
        config: A new run's configuration, or a stored run's (whose fingerprint is checked).
        dataset: The dataset when the caller has loaded it already (``config.load_data()``).

    Raises:
        DataError: If the data cannot be loaded, or changed since a stored run recorded it.
    """
    dataset = config.load_data() if dataset is None else dataset
    if config.file_backed and config.data_fingerprint is None:
        config = dataclasses.replace(config, data_fingerprint=dataset.fingerprint)
    return config, dataset


def run_search(
    config: SearchConfig,
    store: ResultsStore,
    *,
    dataset: Dataset | None = None,
    evaluator: Evaluator | None = None,
    observer: SearchObserver | None = None,
    metrics: MetricsProvider | None = None,
    metrics_cache: MetricsCache | None = None,
    overlap_metrics: bool | None = None,
    resume: str | None = None,
) -> SearchResult:
    """Run a new search (or resume a stored one) on ``store``.

    Args:
        config: The search configuration (for ``resume``: the stored run's, which is used).
        store: The results store; the caller opens and closes it.
        dataset: The loaded dataset (default: ``config.load_data()``).
        evaluator: Trains the candidates (default: in-process, one torch thread; closed here
            when created here, left open when given).
        observer: Progress callbacks.
        metrics: Cost metrics of an architecture (default: :func:`search_metrics` of the
            config and dataset, cached in the store by :class:`StoreCachedMetrics`).
        metrics_cache: The cache :func:`search_metrics` computes with (e.g. the machine's
            cost atlas); ignored when ``metrics`` is given.
        overlap_metrics: See :class:`SearchRunner`.
        resume: Id of a stored run to continue instead of starting a new one.

    Returns:
        The run's result.

    Raises:
        FaqnasError: Bad configuration or data (nothing stored yet), store or cluster errors.
    """
    config, dataset = prepare_search(config, dataset)
    if metrics is None:
        compute, settings = search_metrics(config, dataset, cache=metrics_cache)
        metrics = StoreCachedMetrics(store, compute, settings)
    with contextlib.ExitStack() as stack:
        if evaluator is None:
            evaluator = stack.enter_context(contextlib.closing(SerialEvaluator(dataset)))
        runner = SearchRunner(
            store, evaluator, metrics, dataset.name, observer, overlap_metrics=overlap_metrics
        )
        return runner.resume(resume) if resume is not None else runner.start(config)
