"""A generation's cost metrics: looked up, computed alongside training, or computed first.

The search runner needs every trained candidate's metrics when it stores the candidate, not
before it trains it (training does not read them). :class:`GenerationMetrics` uses that:

* **Warm** candidates (metrics in the store, or their transpiled counts in the machine's cost
  atlas) are looked up before training: well under a millisecond each. A generation without
  cold candidates starts no side process.
* **Cold** candidates, with overlap on, go to a side process
  (:class:`~faqnas_qiskit.metrics.BackgroundMetrics`) that computes them, in training order, on
  another core while the generation trains. When a candidate's outcome is stored, its metrics
  come from the side process if they have arrived, and are computed in this process otherwise
  (never waiting: the worst case is the serial path's cost). A side process that fails is turned
  off with one warning line, and every later metric is computed here.
* With overlap off (one core, an explicit choice, or a metrics provider that cannot be rebuilt
  in another process), cold candidates' metrics are computed here before training, one by one,
  as the search always did.

Every path gives the same values (the side process rebuilds the same metrics function, over the
same cost cache) and the same store rows: the store is written by the caller's thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from faqnas_qiskit.space import Genome

if TYPE_CHECKING:  # the metrics package loads qiskit: imported where it is used
    from faqnas_qiskit.metrics import BackgroundMetrics, MetricsRecipe

__all__ = ["GenerationMetrics", "OverlappableMetrics"]

log = logging.getLogger(__name__)


class OverlappableMetrics(Protocol):
    """A metrics provider whose cold metrics can be computed elsewhere and handed back."""

    def __call__(self, genome: Genome, /) -> dict[str, Any]:
        """Metrics of ``genome``, computed here when not cached."""
        ...

    def cached(self, genome: Genome) -> dict[str, Any] | None:
        """Metrics of ``genome`` if they need no transpiling (a lookup), else None."""
        ...

    def remember(self, genome: Genome, metrics: dict[str, Any]) -> None:
        """Cache ``metrics`` of ``genome``, computed elsewhere."""
        ...

    @property
    def recipe(self) -> MetricsRecipe | None:
        """How to compute the same metrics in another process, or None."""
        ...


class GenerationMetrics:
    """The metrics of each generation's trained candidates (see the module docstring).

    Call :meth:`prepare` with the candidates to train before training them, :meth:`collect`
    for each one when its outcome arrives, and :meth:`close` when the run ends.

    Args:
        provider: The metrics provider; overlap needs an :class:`OverlappableMetrics` whose
            recipe includes transpiled counts (FLOPs-only metrics cost microseconds).
        overlap: True to compute cold metrics in a side process, False to compute them here
            before training, None to overlap when this process may use more than one core.

    Attributes:
        received: Metrics that came from the side process (the rest were looked up or
            computed in this process), over this object's life.
        started: Side processes started over this object's life (none while every
            candidate is warm).
    """

    def __init__(self, provider: Any, *, overlap: bool | None = None) -> None:
        self.provider = provider
        self._ready: dict[str, dict[str, Any]] = {}
        self._side: BackgroundMetrics | None = None
        self._overlap = self._can_overlap(provider, overlap)
        self.received = 0
        self.started = 0

    @staticmethod
    def _can_overlap(provider: Any, overlap: bool | None) -> bool:
        if overlap is False:
            return False
        if not all(hasattr(provider, name) for name in ("cached", "remember", "recipe")):
            return False
        recipe = provider.recipe
        if recipe is None or not recipe.transpile:
            return False
        if overlap is None:
            from faqnas_qiskit.metrics.background import usable_cores

            return usable_cores() > 1
        return True

    @property
    def settings(self) -> str | None:
        """The canonical settings the provider keys the store's metrics by (a
        :class:`~faqnas_qiskit.search.metrics_provider.StoreCachedMetrics`), or None: what
        the stored evaluations refer to their metrics under."""
        settings = getattr(self.provider, "settings", None)
        return settings if isinstance(settings, str) else None

    @property
    def overlapping(self) -> bool:
        """Whether cold metrics go to a side process (False after it failed)."""
        return self._overlap and (self._side is None or self._side.usable)

    def prepare(self, genomes: Sequence[Genome]) -> None:
        """Before training ``genomes`` (in training order): look up or start their metrics.

        Raises:
            FaqnasError: Serially, when computing a metric fails (e.g. a target too small).
        """
        if not self.overlapping:
            for genome in genomes:
                self._ready[genome.key] = self.provider(genome)
            return
        cold = []
        for genome in genomes:
            found = self.provider.cached(genome)
            if found is None:
                cold.append(genome)
            else:
                self._ready[genome.key] = found
        if cold:
            if self._side is None:
                from faqnas_qiskit.metrics import BackgroundMetrics

                self._side = BackgroundMetrics(self.provider.recipe)
                self.started += 1
            self._side.submit(cold)

    def collect(self, genome: Genome) -> dict[str, Any]:
        """The metrics of ``genome``, whose outcome is about to be stored.

        From :meth:`prepare`, else from the side process if they have arrived (cached by the
        provider now), else computed here.

        Raises:
            FaqnasError: When computing the metric here fails.
        """
        found = self._ready.pop(genome.key, None)
        if found is not None:
            return found
        if self._side is not None:
            arrived = self._side.result(genome)
            if arrived is not None:
                self.provider.remember(genome, arrived)
                self.received += 1
                return arrived
        metrics: dict[str, Any] = self.provider(genome)
        return metrics

    def close(self) -> None:
        """Stop the side process, if one was started (a later :meth:`prepare` starts another)."""
        self._ready.clear()
        if self._side is not None:
            self._side.close()
            if not self._side.usable:
                self._overlap = False  # it failed: stay serial for the rest of this runner
            self._side = None
