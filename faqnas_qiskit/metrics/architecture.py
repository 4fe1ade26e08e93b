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

The uncached computation (:class:`MetricsSettings`, :func:`architecture_metrics`,
:func:`flops_and_params`) is in :mod:`faqnas_qiskit.metrics.compute` and re-exported here; the
search's metrics function and its recipe are in :mod:`faqnas_qiskit.metrics.metrics_function`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.metrics.cache import CostCache, CostEntry, canonical_target_name, compute_entry
from faqnas_qiskit.metrics.compute import (
    MetricsSettings,
    _compute,
    _flops,
    _record,
    architecture_metrics,
    flops_and_params,
)
from faqnas_qiskit.metrics.flops import (
    FlopCounts,
    classical_flops_formula,
    count_flops,
    quantum_flops_formula,
    training_flops_formula,
)
from faqnas_qiskit.metrics.qpu_time import DEFAULT_JOB_OVERHEAD_S
from faqnas_qiskit.metrics.records import ArchitectureMetrics
from faqnas_qiskit.metrics.targets import _normalise
from faqnas_qiskit.metrics.transpiled import (
    AER_TARGET,
    DEFAULT_AER_OPTIMIZATION_LEVEL,
    DEFAULT_OPTIMIZATION_LEVEL,
    DEFAULT_SEED_TRANSPILER,
    DEFAULT_TARGET,
    TargetInfo,
    TranspiledMetrics,
)
from faqnas_qiskit.space import Genome

__all__ = [
    "FORMULA_PROBES",
    "MetricsCache",
    "MetricsSettings",
    "architecture_metrics",
    "flops_and_params",
    "flops_formulas_hold",
]

log = logging.getLogger(__name__)

FORMULA_PROBES: tuple[str, ...] = ("q3-angle-cx-circular-rx.ry", "q3-amplitude-cz-linear-rz.ry")
"""Genomes on which a :class:`MetricsCache` checks the FLOPs formulas against the profiler:
both embeddings, both entanglers, both topologies, several rotations and layers."""


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
