"""All cost metrics of an architecture in one call, and a cache that computes each once.

FLOPs come from the exact formulas of :mod:`.flops` (the profiler's counts, term by term), not
from running the profiler for every genome: a profiled training step costs 10-150 ms per genome,
more than transpiling it, and torch's profiler logs two lines to stderr per session (unless
``KINETO_LOG_LEVEL`` is set high, as the CLI does). The formulas are checked against the
profiler in the tests on more than a hundred genomes, and a :class:`MetricsCache` checks them
again at run time (once per input/output width, on two probe genomes that exercise every
term) and falls back to the profiler, with a warning, if the installed torch counts differently.
``count_with_profiler=True`` profiles every genome instead.

Given a persistent :class:`~faqnas_qiskit.metrics.cache.CostCache` (the machine's cost atlas),
a :class:`MetricsCache` reads each genome's transpiled counts and the outcome of the formula
check from it before computing them, and writes what it computes: a warm cache needs neither the
fake backend nor the profiler, and returns records equal to freshly computed ones.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.metrics.cache import CostCache, CostEntry, canonical_target_name, compute_entry
from faqnas_qiskit.metrics.flops import (
    FlopCounts,
    classical_flops_formula,
    count_flops,
    quantum_flops_formula,
    training_flops_formula,
)
from faqnas_qiskit.metrics.qpu_time import DEFAULT_JOB_OVERHEAD_S
from faqnas_qiskit.metrics.records import ArchitectureMetrics
from faqnas_qiskit.metrics.targets import _check_level, _check_seed, _normalise
from faqnas_qiskit.metrics.transpiled import (
    AER_TARGET,
    DEFAULT_AER_OPTIMIZATION_LEVEL,
    DEFAULT_OPTIMIZATION_LEVEL,
    DEFAULT_SEED_TRANSPILER,
    DEFAULT_TARGET,
    TargetInfo,
    TranspiledMetrics,
    transpiled_metrics,
)
from faqnas_qiskit.space import Genome

__all__ = [
    "FORMULA_PROBES",
    "MetricsCache",
    "MetricsFunction",
    "MetricsRecipe",
    "MetricsSettings",
    "architecture_metrics",
    "flops_and_params",
    "flops_formulas_hold",
    "metrics_function",
]

log = logging.getLogger(__name__)

FORMULA_PROBES: tuple[str, ...] = ("q3-angle-cx-circular-rx.ry", "q3-amplitude-cz-linear-rz.ry")
"""Genomes on which a :class:`MetricsCache` checks the FLOPs formulas against the profiler:
both embeddings, both entanglers, both topologies, several rotations and layers."""


def _check_int(name: str, value: int, minimum: int, fix: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(invalid(name, f"an integer of at least {minimum}", value, fix))


@dataclass(frozen=True)
class MetricsSettings:
    """Everything besides the genome that the metrics depend on; validated on creation.

    Attributes:
        n_features: Width of the input features.
        n_classes: Number of classes.
        n_train: Training samples per epoch (training FLOPs).
        epochs: Training epochs (training FLOPs).
        target: IBM target name (a fake backend, see ``ibm_target_names()``).
        optimization_level: Preset pass manager level for the IBM target, 0..3.
        seed_transpiler: Seed of both pass managers.
        shots: Shots per circuit (predicted QPU seconds).
        samples: Circuits executed, one per sample (predicted QPU seconds).
        aer_optimization_level: Preset pass manager level for the Aer basis, 0..3.
        rep_delay_s: Repetition delay, seconds; None for the backend's default.
        overhead_s: Per-job overhead, seconds.
        count_with_profiler: Profile every genome instead of using the checked formulas.
    """

    n_features: int
    n_classes: int
    n_train: int
    epochs: int
    target: str = DEFAULT_TARGET
    optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL
    seed_transpiler: int = DEFAULT_SEED_TRANSPILER
    shots: int = 1024
    samples: int = 1
    aer_optimization_level: int = DEFAULT_AER_OPTIMIZATION_LEVEL
    rep_delay_s: float | None = None
    overhead_s: float = DEFAULT_JOB_OVERHEAD_S
    count_with_profiler: bool = False

    def __post_init__(self) -> None:
        _check_int("n_features", self.n_features, 1, "Pass the width of the dataset's features.")
        _check_int("n_classes", self.n_classes, 2, "Pass the number of classes of the dataset.")
        _check_int("n_train", self.n_train, 1, "Pass the size of the training split.")
        _check_int("epochs", self.epochs, 1, "Pass the number of training epochs.")
        _check_int("shots", self.shots, 1, "Pass e.g. --shots 1024.")
        _check_int("samples", self.samples, 1, "Pass the number of samples run on the QPU.")
        _check_level(self.optimization_level)
        _check_level(self.aer_optimization_level, "aer_optimization_level")
        _check_seed(self.seed_transpiler)
        if not isinstance(self.target, str) or not self.target:
            raise ConfigError(
                invalid("target", "a fake IBM backend name such as 'fake_fez'", self.target)
            )
        for name in ("rep_delay_s", "overhead_s"):
            value = getattr(self, name)
            if value is None and name == "rep_delay_s":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(invalid(name, "a finite number of seconds, at least 0", value))
            object.__setattr__(self, name, float(value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the cache key besides the genome)."""
        return asdict(self)


def _flops(genome: Genome, settings: MetricsSettings, use_profiler: bool) -> FlopCounts:
    if use_profiler:
        return count_flops(genome, settings.n_features, settings.n_classes)
    return FlopCounts(
        quantum=quantum_flops_formula(genome),
        classical=classical_flops_formula(genome, settings.n_features, settings.n_classes),
        training=training_flops_formula(genome, settings.n_features, settings.n_classes),
    )


def _params_classical(genome: Genome, n_features: int, n_classes: int) -> int:
    """Weights and biases of ``pre`` (n_features -> m) and ``post`` (n -> n_classes)."""
    return (n_features + 1) * genome.n_inputs + (genome.n_qubits + 1) * n_classes


def _record(
    genome: Genome,
    settings: MetricsSettings,
    flops: FlopCounts,
    ibm: TranspiledMetrics,
    aer: TranspiledMetrics,
) -> ArchitectureMetrics:
    """The metrics record, fresh or from cached rows alike (training FLOPs per run)."""
    return ArchitectureMetrics(
        quantum_flops=flops.quantum,
        classical_flops=flops.classical,
        training_flops=flops.training * settings.n_train * settings.epochs,
        params_quantum=genome.n_weights,
        params_classical=_params_classical(genome, settings.n_features, settings.n_classes),
        transpiled=ibm,
        aer=aer,
    )


def _compute(
    genome: Genome,
    settings: MetricsSettings,
    ibm: TargetInfo,
    aer: TargetInfo,
    use_profiler: bool,
) -> ArchitectureMetrics:
    if ibm.name == AER_TARGET or not ibm.timed:
        raise ConfigError(
            invalid(
                "target",
                "a timed IBM target such as 'fake_fez' (Aer counts are always included)",
                ibm.name,
            )
        )
    ibm.check_fits(genome)
    flops = _flops(genome, settings, use_profiler)
    # each target keeps the counts it computed: build the circuit once, and only if needed
    needed = not (
        ibm.has_counts(genome, settings.optimization_level, settings.seed_transpiler)
        and aer.has_counts(genome, settings.aer_optimization_level, settings.seed_transpiler)
    )
    circuit = build_circuit(genome).circuit if needed else None
    on_ibm = transpiled_metrics(
        genome,
        ibm,
        optimization_level=settings.optimization_level,
        seed_transpiler=settings.seed_transpiler,
        shots=settings.shots,
        samples=settings.samples,
        rep_delay_s=settings.rep_delay_s,
        overhead_s=settings.overhead_s,
        circuit=circuit,
    )
    on_aer = transpiled_metrics(
        genome,
        aer,
        optimization_level=settings.aer_optimization_level,
        seed_transpiler=settings.seed_transpiler,
        shots=settings.shots,
        samples=settings.samples,
        circuit=circuit,
    )
    return _record(genome, settings, flops, on_ibm, on_aer)


def architecture_metrics(
    genome: Genome,
    n_features: int,
    n_classes: int,
    *,
    n_train: int,
    epochs: int,
    target: str | TargetInfo = DEFAULT_TARGET,
    optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL,
    seed_transpiler: int = DEFAULT_SEED_TRANSPILER,
    shots: int = 1024,
    samples: int = 1,
    aer_optimization_level: int = DEFAULT_AER_OPTIMIZATION_LEVEL,
    rep_delay_s: float | None = None,
    overhead_s: float = DEFAULT_JOB_OVERHEAD_S,
    count_with_profiler: bool = False,
    aer_target: TargetInfo | None = None,
) -> ArchitectureMetrics:
    """Every cost metric of one architecture (uncached; see :class:`MetricsCache`).

    Args:
        genome: The architecture.
        n_features: Width of the input features.
        n_classes: Number of classes.
        n_train: Training samples per epoch.
        epochs: Training epochs.
        target: IBM target: a fake backend name or a prepared :class:`TargetInfo`.
        optimization_level: Preset pass manager level on the IBM target (default 1).
        seed_transpiler: Seed of the pass managers (default 0).
        shots: Shots per circuit, for the predicted QPU seconds.
        samples: Circuits executed (one per sample), for the predicted QPU seconds.
        aer_optimization_level: Preset pass manager level on the Aer basis (default 1).
        rep_delay_s: Repetition delay, seconds; the backend's default when None.
        overhead_s: Per-job overhead, seconds (IBM: about 2 s).
        count_with_profiler: Profile the FLOPs (slow, exact by definition) instead of the
            formulas (fast, equal to the profiler's counts on the torch the tests ran on).
        aer_target: A prepared Aer :class:`TargetInfo` to reuse; built when None.

    Returns:
        The record.

    Raises:
        ConfigError: For an unknown target, a genome with more qubits than the target, or bad
            settings.
    """
    settings = MetricsSettings(
        n_features=n_features,
        n_classes=n_classes,
        n_train=n_train,
        epochs=epochs,
        target=target.name if isinstance(target, TargetInfo) else target,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        shots=shots,
        samples=samples,
        aer_optimization_level=aer_optimization_level,
        rep_delay_s=rep_delay_s,
        overhead_s=overhead_s,
        count_with_profiler=count_with_profiler,
    )
    ibm = target if isinstance(target, TargetInfo) else TargetInfo.load(target)
    aer = aer_target if aer_target is not None else TargetInfo.load(AER_TARGET)
    return _compute(genome, settings, ibm, aer, count_with_profiler)


def flops_and_params(
    genome: Genome, n_features: int, n_classes: int, *, n_train: int, epochs: int
) -> dict[str, int]:
    """The FLOPs and parameter counts alone, from the formulas: microseconds per genome.

    The first five keys of :meth:`ArchitectureMetrics.to_dict`, with the same values. Meant for
    searches whose objectives need no transpiled counts (F_Q and error, the default): the IBM
    transpilation, 5-90 ms per genome on a 156-qubit target, can then be left to the genomes
    that are reported (the front) instead of every candidate.

    Args:
        genome: The architecture.
        n_features: Width of the input features.
        n_classes: Number of classes.
        n_train: Training samples per epoch.
        epochs: Training epochs.

    Returns:
        ``quantum_flops``, ``classical_flops``, ``training_flops``, ``params_quantum``,
        ``params_classical``.
    """
    settings = MetricsSettings(n_features, n_classes, n_train, epochs)
    flops = _flops(genome, settings, use_profiler=False)
    return {
        "quantum_flops": flops.quantum,
        "classical_flops": flops.classical,
        "training_flops": flops.training * n_train * epochs,
        "params_quantum": genome.n_weights,
        "params_classical": _params_classical(genome, n_features, n_classes),
    }


def flops_formulas_hold(
    n_features: int, n_classes: int, probes: tuple[str, ...] = FORMULA_PROBES
) -> bool:
    """Whether the FLOPs formulas equal the profiler's counts on the probe genomes.

    Runs one profiled training step per probe (a few ms each, plus the profiler's one-time
    start-up of about a second in a fresh process).
    """
    for text in probes:
        genome = Genome.parse(text)
        measured = count_flops(genome, n_features, n_classes)
        predicted = FlopCounts(
            quantum=quantum_flops_formula(genome),
            classical=classical_flops_formula(genome, n_features, n_classes),
            training=training_flops_formula(genome, n_features, n_classes),
        )
        if measured != predicted:
            log.warning(
                "FLOPs formulas disagree with torch's profiler on %s (profiler %s, formula %s); "
                "counting every genome with the profiler instead.",
                text,
                measured,
                predicted,
            )
            return False
    return True


class MetricsCache:
    """Computes the metrics of each (architecture, settings) once, and each target once.

    An explicit object (no module state): create one per search or report and pass it around.
    Results are keyed by the canonical key (``genome.key``) and every setting; fake backends,
    their ``Target`` and pass managers are built on first use and reused (:class:`TargetInfo`).
    Not thread-safe; a worker process should hold its own.

    With ``persistent``, the genome-level part of each record (transpiled counts on both
    targets, the formula check) comes from the machine's :class:`CostCache` when it has it, and
    what is computed goes into it; the records are the same either way.

    Args:
        check_formulas: Check the FLOPs formulas against the profiler once per
            (n_features, n_classes) before relying on them (see :func:`flops_formulas_hold`).
        persistent: The machine's cost cache, or None to compute everything in this process.
    """

    def __init__(self, *, check_formulas: bool = True, persistent: CostCache | None = None) -> None:
        self.check_formulas = check_formulas
        self.persistent = persistent
        self._targets: dict[str, TargetInfo] = {}
        self._results: dict[tuple[str, MetricsSettings], ArchitectureMetrics] = {}
        self._formulas_hold: dict[tuple[int, int], bool] = {}

    def __len__(self) -> int:
        return len(self._results)

    def target(self, name: str) -> TargetInfo:
        """The :class:`TargetInfo` called ``name`` (``"aer"`` or a fake backend), built once."""
        key = _normalise(name) if isinstance(name, str) else name
        info = self._targets.get(key)
        if info is None:
            info = TargetInfo.load(name)
            self._targets[key] = info
        return info

    def _use_profiler(self, settings: MetricsSettings) -> bool:
        if settings.count_with_profiler:
            return True
        if not self.check_formulas:
            return False
        widths = (settings.n_features, settings.n_classes)
        if widths not in self._formulas_hold:
            stored = None if self.persistent is None else self.persistent.formula_check(*widths)
            if stored is None:
                stored = flops_formulas_hold(*widths)
                if self.persistent is not None:
                    self.persistent.put_formula_check(*widths, stored)
            self._formulas_hold[widths] = stored
        return not self._formulas_hold[widths]

    def target_name(self, name: str) -> str:
        """The canonical name of target ``name`` (``"fake_fez"`` for ``"FakeFez"``).

        Loads the target (which checks that it exists) unless it is loaded already or the
        persistent cache holds rows of it under the current versions.

        Raises:
            ConfigError: For an unknown target.
        """
        if self.persistent is not None and isinstance(name, str):
            guess = canonical_target_name(name)
            if guess in self._targets or self.persistent.has_target(guess):
                return guess
        return self.target(name).name

    def entry(
        self, genome: Genome, target: str, optimization_level: int, seed_transpiler: int
    ) -> CostEntry:
        """The genome-level cost row of ``genome`` on ``target``: persistent cache, else computed.

        Args:
            genome: The architecture.
            target: Canonical target name (``"aer"`` or a fake backend).
            optimization_level: Preset pass manager level.
            seed_transpiler: Seed of the pass manager.

        Returns:
            The row (written to the persistent cache when it was computed).

        Raises:
            ConfigError: For an unknown target or a genome with more qubits than the target.
        """
        found = None
        if self.persistent is not None:
            found = self.persistent.get(genome.key, target, optimization_level, seed_transpiler)
        if found is None:
            info = self.target(target)
            info.check_fits(genome)
            found = compute_entry(
                genome,
                info,
                optimization_level=optimization_level,
                seed_transpiler=seed_transpiler,
            )
            if self.persistent is not None:
                self.persistent.put(found)
        return found

    def _from_entries(self, genome: Genome, settings: MetricsSettings) -> ArchitectureMetrics:
        if settings.target == AER_TARGET:
            raise ConfigError(
                invalid(
                    "target",
                    "a timed IBM target such as 'fake_fez' (Aer counts are always included)",
                    settings.target,
                )
            )
        on_ibm = self.entry(
            genome, settings.target, settings.optimization_level, settings.seed_transpiler
        )
        if not on_ibm.timed:
            raise ConfigError(
                invalid("target", "a timed IBM target such as 'fake_fez'", settings.target)
            )
        on_aer = self.entry(
            genome, AER_TARGET, settings.aer_optimization_level, settings.seed_transpiler
        )
        flops = _flops(genome, settings, self._use_profiler(settings))
        ibm: TranspiledMetrics = on_ibm.transpiled(
            shots=settings.shots,
            samples=settings.samples,
            rep_delay_s=settings.rep_delay_s,
            overhead_s=settings.overhead_s,
        )
        aer = on_aer.transpiled(shots=settings.shots, samples=settings.samples)
        return _record(genome, settings, flops, ibm, aer)

    def get(self, genome: Genome, settings: MetricsSettings) -> ArchitectureMetrics:
        """The metrics of ``genome`` under ``settings``, computed on the first request only."""
        name = self.target_name(settings.target)
        if name != settings.target:  # "FakeFez" and "fake_fez" share one entry
            settings = replace(settings, target=name)
        key = (genome.key, settings)
        cached = self._results.get(key)
        if cached is None:
            if self.persistent is not None and self.persistent.usable:
                cached = self._from_entries(genome, settings)
            else:
                ibm = self.target(settings.target)
                cached = _compute(
                    genome, settings, ibm, self.target(AER_TARGET), self._use_profiler(settings)
                )
            self._results[key] = cached
        return cached

    def cached(self, genome: Genome, settings: MetricsSettings) -> ArchitectureMetrics | None:
        """The metrics of ``genome`` if they need no transpiling and no profiling of it.

        That is: computed before by this cache, or both targets' rows in the persistent cache
        (a warm atlas). The FLOPs formula check runs now if it is unknown at these widths (once
        per widths and machine: its outcome is kept in the persistent cache).

        Returns:
            The metrics (equal to :meth:`get`'s), or None where :meth:`get` would transpile.
        """
        name = self.target_name(settings.target)
        if name != settings.target:
            settings = replace(settings, target=name)
        found = self._results.get((genome.key, settings))
        if found is not None:
            return found
        rows = self.persistent
        if rows is None or not rows.usable or settings.count_with_profiler:
            return None
        level, aer_level = settings.optimization_level, settings.aer_optimization_level
        seed = settings.seed_transpiler
        if rows.get(genome.key, name, level, seed) is None:
            return None
        if rows.get(genome.key, AER_TARGET, aer_level, seed) is None:
            return None
        return self.get(genome, settings)

    def metrics(
        self,
        genome: Genome,
        n_features: int,
        n_classes: int,
        *,
        n_train: int,
        epochs: int,
        target: str = DEFAULT_TARGET,
        optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL,
        seed_transpiler: int = DEFAULT_SEED_TRANSPILER,
        shots: int = 1024,
        samples: int = 1,
        aer_optimization_level: int = DEFAULT_AER_OPTIMIZATION_LEVEL,
        rep_delay_s: float | None = None,
        overhead_s: float = DEFAULT_JOB_OVERHEAD_S,
        count_with_profiler: bool = False,
    ) -> ArchitectureMetrics:
        """:func:`architecture_metrics` with the same arguments, cached."""
        settings = MetricsSettings(
            n_features=n_features,
            n_classes=n_classes,
            n_train=n_train,
            epochs=epochs,
            target=target,
            optimization_level=optimization_level,
            seed_transpiler=seed_transpiler,
            shots=shots,
            samples=samples,
            aer_optimization_level=aer_optimization_level,
            rep_delay_s=rep_delay_s,
            overhead_s=overhead_s,
            count_with_profiler=count_with_profiler,
        )
        return self.get(genome, settings)


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
