"""Where a search's cost metrics come from: the metrics function of its settings
(:func:`search_metrics`) behind a per-store cache (:class:`StoreCachedMetrics`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.search.config import SearchConfig
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import ResultsStore, canonical_json

if TYPE_CHECKING:  # the metrics package loads qiskit: imported where it is used
    from faqnas_qiskit.metrics import MetricsCache, MetricsRecipe

__all__ = ["MetricsProvider", "StoreCachedMetrics", "search_metrics"]


class MetricsProvider(Protocol):
    """Cost metrics (JSON form) of an architecture, cached by canonical key by the provider."""

    def __call__(self, genome: Genome, /) -> dict[str, Any]:
        """Metrics of ``genome``."""
        ...


class StoreCachedMetrics:
    """A :class:`MetricsProvider` that keeps every architecture's metrics in the store.

    Args:
        store: The results store (its ``architecture_metrics`` table is the cache).
        compute: Computes the metrics (JSON form) of a genome under ``settings``.
        settings: Everything besides the genome that the metrics depend on (target, shots,
            widths, training budget); part of the cache key.
    """

    def __init__(
        self,
        store: ResultsStore,
        compute: MetricsProvider,
        settings: dict[str, Any],
    ) -> None:
        self.store = store
        self.compute = compute
        self.settings = canonical_json(settings)
        self._memory: dict[str, dict[str, Any]] = {}

    def __call__(self, genome: Genome) -> dict[str, Any]:
        """Metrics of ``genome``, computed at most once per store and settings."""
        metrics = self.cached(genome)
        if metrics is None:
            metrics = self.compute(genome)
            self.remember(genome, metrics)
        return metrics

    def cached(self, genome: Genome) -> dict[str, Any] | None:
        """Metrics of ``genome`` that need no transpiling, else None.

        From this object, the store, or ``compute``'s own caches when it has a ``cached``
        method (a :class:`~faqnas_qiskit.metrics.MetricsFunction` over the machine's cost
        atlas: a lookup); the latter are stored like computed ones.
        """
        key = genome.key
        metrics = self._memory.get(key)
        if metrics is None:
            metrics = self.store.get_metrics(key, self.settings)
            if metrics is not None:
                self._memory[key] = metrics
        if metrics is None:
            lookup = getattr(self.compute, "cached", None)
            metrics = lookup(genome) if callable(lookup) else None
            if metrics is not None:
                self.remember(genome, metrics)
        return metrics

    def remember(self, genome: Genome, metrics: dict[str, Any]) -> None:
        """Store ``metrics`` of ``genome``, computed by ``compute`` here or in another process."""
        self.store.put_metrics(genome.key, self.settings, metrics)
        self._memory[genome.key] = metrics

    @property
    def recipe(self) -> MetricsRecipe | None:
        """How to compute the same metrics in another process: ``compute``'s recipe, or None
        when ``compute`` is not a :class:`~faqnas_qiskit.metrics.MetricsFunction`."""
        recipe = getattr(self.compute, "recipe", None)
        from faqnas_qiskit.metrics import MetricsRecipe

        return recipe if isinstance(recipe, MetricsRecipe) else None


def search_metrics(
    config: SearchConfig,
    dataset: Dataset,
    *,
    transpile: bool = True,
    cache: MetricsCache | None = None,
) -> tuple[MetricsProvider, dict[str, Any]]:
    """The metrics function of a search's candidates and the settings it depends on.

    Settings: input and output widths and training rows of ``dataset`` (after ``max_train``),
    the training epochs, the IBM target and shots of ``config``, the test split's size as the
    circuits executed, optimisation level 1 and transpiler seed 0. Pass both to
    :class:`StoreCachedMetrics`: the settings are part of its cache key.

    Args:
        config: The search configuration.
        dataset: The loaded dataset of the run.
        transpile: Include the transpiled counts (needed by the ``2q`` and ``qpu`` objectives
            and by reports); False computes FLOPs and parameters only.
        cache: The metrics cache to compute with, e.g. ``MetricsCache(persistent=CostCache(
            path))`` to read and fill the machine's cost atlas; a new in-memory one when None.
            It changes where the metrics come from, never their values, so it is not part of
            the settings.

    Returns:
        ``(compute, settings)``.

    Raises:
        ConfigError: If the target or another setting is invalid; nothing is stored yet.
    """
    from faqnas_qiskit.metrics import metrics_function

    settings: dict[str, Any] = {
        "n_features": dataset.n_features,
        "n_classes": dataset.n_classes,
        "n_train": int(dataset.x_train.shape[0]),
        "epochs": config.training.epochs,
        "target": config.metrics_target,
        "shots": config.shots,
        "samples": int(dataset.x_test.shape[0]),
        "optimization_level": 1,
        "seed_transpiler": 0,
    }
    compute = metrics_function(**settings, transpile=transpile, cache=cache)
    return compute, settings if transpile else {**settings, "transpile": False}
