"""The search's genome -> metrics function, and the picklable recipe that rebuilds it elsewhere.

:func:`metrics_function` validates the settings and loads the IBM target before a search starts;
the :class:`MetricsFunction` it returns computes each genome's metrics once through a
:class:`~faqnas_qiskit.metrics.architecture.MetricsCache`. Its :class:`MetricsRecipe` (plain,
picklable values) rebuilds an equal function in another process, such as the side process of
:class:`~faqnas_qiskit.metrics.background.BackgroundMetrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faqnas_qiskit.metrics.architecture import MetricsCache
from faqnas_qiskit.metrics.cache import CostCache
from faqnas_qiskit.metrics.compute import MetricsSettings, flops_and_params
from faqnas_qiskit.metrics.transpiled import (
    DEFAULT_OPTIMIZATION_LEVEL,
    DEFAULT_SEED_TRANSPILER,
    DEFAULT_TARGET,
)
from faqnas_qiskit.space import Genome

__all__ = ["MetricsFunction", "MetricsRecipe", "metrics_function"]


@dataclass(frozen=True)
class MetricsRecipe:
    """How to build a :class:`MetricsFunction` in another process: plain, picklable values.

    A side process that computes metrics while the search trains (see
    :class:`~faqnas_qiskit.metrics.background.BackgroundMetrics`) rebuilds the coordinator's
    metrics function from this; the function it builds returns the same values for every genome.

    Attributes:
        settings: Everything besides the genome that the metrics depend on.
        transpile: Whether the transpiled counts are included.
        check_formulas: Check the FLOPs formulas against the profiler before relying on them.
        cache_path: The machine's cost cache file to read and fill, or None for none.
        cache_versions: The versions that key that cache's rows, as sorted ``(package,
            version)`` pairs (passed on, so a simulated upgrade stays simulated), or None.
    """

    settings: MetricsSettings
    transpile: bool = True
    check_formulas: bool = True
    cache_path: str | None = None
    cache_versions: tuple[tuple[str, str], ...] | None = None

    def build(self) -> MetricsFunction:
        """A metrics function with these settings over a new :class:`MetricsCache`.

        Raises:
            ConfigError: For an unknown target (the target is loaded now unless cached).
        """
        persistent = None
        if self.cache_path is not None:
            versions = None if self.cache_versions is None else dict(self.cache_versions)
            persistent = CostCache(self.cache_path, versions=versions)
        cache = MetricsCache(check_formulas=self.check_formulas, persistent=persistent)
        return MetricsFunction(self.settings, transpile=self.transpile, cache=cache)


class MetricsFunction:
    """A genome -> metrics (JSON form) function; see :func:`metrics_function`.

    Loads the IBM target on creation (unless the persistent cache holds rows of it), so that an
    unknown target fails before a search starts; computes each genome's metrics once.

    Args:
        settings: Everything besides the genome that the metrics depend on.
        transpile: Include the transpiled counts; when False, ``"transpiled"`` and
            ``"transpiled_aer"`` are None and the rest comes from :func:`flops_and_params`.
        cache: The cache to compute with; a new in-memory one when None.

    Raises:
        ConfigError: For an unknown target.
    """

    def __init__(
        self,
        settings: MetricsSettings,
        *,
        transpile: bool = True,
        cache: MetricsCache | None = None,
    ) -> None:
        self.settings = settings
        self.transpile = transpile
        self.cache = cache if cache is not None else MetricsCache()
        self.cache.target_name(settings.target)  # fails now for an unknown target

    @property
    def recipe(self) -> MetricsRecipe:
        """How to build an equal function in another process.

        The persistent cache travels by path (a fresh connection there) when it is usable;
        an unusable one is left out, as it is in this process.
        """
        persistent = self.cache.persistent
        usable = persistent is not None and persistent.usable
        return MetricsRecipe(
            settings=self.settings,
            transpile=self.transpile,
            check_formulas=self.cache.check_formulas,
            cache_path=str(persistent.path) if usable and persistent is not None else None,
            cache_versions=(
                tuple(sorted(persistent.versions.items()))
                if usable and persistent is not None
                else None
            ),
        )

    def cached(self, genome: Genome) -> dict[str, Any] | None:
        """The metrics of ``genome`` if they need no transpiling (see :meth:`MetricsCache.cached`;
        FLOPs-only metrics always qualify), else None."""
        if not self.transpile:
            return self(genome)
        found = self.cache.cached(genome, self.settings)
        return None if found is None else found.to_dict()

    def __call__(self, genome: Genome) -> dict[str, Any]:
        """:meth:`ArchitectureMetrics.to_dict` of ``genome`` (or the FLOPs-only form)."""
        s = self.settings
        if not self.transpile:
            counts: dict[str, Any] = flops_and_params(
                genome, s.n_features, s.n_classes, n_train=s.n_train, epochs=s.epochs
            )
            return {**counts, "transpiled": None, "transpiled_aer": None}
        return self.cache.get(genome, s).to_dict()


def metrics_function(
    *,
    n_features: int,
    n_classes: int,
    n_train: int,
    epochs: int,
    target: str = DEFAULT_TARGET,
    shots: int = 1024,
    samples: int = 1,
    optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL,
    seed_transpiler: int = DEFAULT_SEED_TRANSPILER,
    transpile: bool = True,
    cache: MetricsCache | None = None,
) -> MetricsFunction:
    """A genome -> metrics (JSON form) function for the search's metrics provider.

    The settings are validated now, and the IBM target is loaded now (so that an unknown target
    fails before the search starts); the function computes each genome's metrics once. Its
    :attr:`MetricsFunction.recipe` rebuilds it in another process.

    Args:
        n_features: Width of the input features.
        n_classes: Number of classes.
        n_train: Training samples per epoch.
        epochs: Training epochs.
        target: IBM target name.
        shots: Shots per circuit.
        samples: Circuits executed (e.g. the test split's size).
        optimization_level: Preset pass manager level on the IBM target.
        seed_transpiler: Seed of the pass managers.
        transpile: Include the transpiled counts; when False, ``"transpiled"`` and
            ``"transpiled_aer"`` are None and the rest comes from :func:`flops_and_params`
            (for objectives that need no hardware counts).
        cache: The cache to use (give it the machine's :class:`CostCache` as ``persistent`` to
            share costs across processes); a new in-memory one when None.

    Returns:
        A function returning :meth:`ArchitectureMetrics.to_dict` of a genome.
    """
    settings = MetricsSettings(
        n_features=n_features,
        n_classes=n_classes,
        n_train=n_train,
        epochs=epochs,
        target=target,
        shots=shots,
        samples=samples,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
    )
    return MetricsFunction(settings, transpile=transpile, cache=cache)
