"""Stored runs: the cache key of their trained results, the versions they ran with, reading one
back (``load_run``)."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.search.config import SearchConfig
from faqnas_qiskit.search.results import Candidate, pareto_front, score
from faqnas_qiskit.store import ResultsStore, RunRow, canonical_json

__all__ = ["load_run", "package_versions", "training_key"]


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in (
        "faqnas-qiskit",
        "qiskit",
        "qiskit-aer",
        "qiskit-machine-learning",
        "torch",
        "pymoo",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def training_key(config: SearchConfig) -> str:
    """Everything besides key, dataset and seed that changes a trained result (canonical JSON)."""
    key: dict[str, Any] = {
        "training": config.training.to_dict(),
        "split_seed": config.seed,
        "max_train": config.max_train,
        "target_column": config.target_column,
    }
    if config.data_fingerprint is not None:  # file-backed data: the content, not the path
        key["data"] = config.data_fingerprint
    if config.population_batching:  # float32 digits depend on the group: a cache of its own
        key["batching"] = "population"
    return canonical_json(key)


def load_run(
    store: ResultsStore, run_id: str
) -> tuple[RunRow, SearchConfig, list[Candidate], list[Candidate]]:
    """A stored run: its row, configuration, every candidate it evaluated, and its front.

    Works on a run in progress (readers see committed rows) and on an interrupted one.

    Raises:
        StoreError: If the run does not exist.
    """
    run = store.get_run(run_id)
    config = run.config_as(SearchConfig)
    training = training_key(config)
    keys: dict[str, None] = {}
    for generation in store.generations(run.id):
        keys.update(dict.fromkeys(generation.stats.get("evaluated", [])))
    candidates = []
    for key in keys:
        stored = store.lookup(key, run.dataset, training, derive_seed(config.seed, key))
        if stored is not None:
            candidates.append(score(stored, config))
    front = pareto_front(candidates)
    front.sort(key=lambda c: (c.objectives, c.key))
    return run, config, candidates, front
