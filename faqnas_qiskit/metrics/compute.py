"""Every cost metric of one architecture, computed in one call, without a cache.

:class:`MetricsSettings` holds everything besides the genome that the metrics depend on;
:func:`architecture_metrics` computes the record (FLOPs, parameters, transpiled counts on the IBM
target and on Aer, predicted QPU seconds) and :func:`flops_and_params` the FLOPs and parameter
counts alone, from the formulas. :class:`~faqnas_qiskit.metrics.architecture.MetricsCache`
computes each record once and checks the formulas first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.limits import check
from faqnas_qiskit.metrics.flops import (
    FlopCounts,
    classical_flops_formula,
    count_flops,
    quantum_flops_formula,
    training_flops_formula,
)
from faqnas_qiskit.metrics.qpu_time import DEFAULT_JOB_OVERHEAD_S, QPU_TIME_PARAMETERS
from faqnas_qiskit.metrics.records import ArchitectureMetrics
from faqnas_qiskit.metrics.targets import _check_level, _check_seed
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

__all__ = ["MetricsSettings", "architecture_metrics", "flops_and_params"]


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
        for option, parameter, value in (
            ("features", "n_features", self.n_features),
            ("classes", "n_classes", self.n_classes),
            ("train-samples", "n_train", self.n_train),
            ("epochs", "epochs", self.epochs),
            ("shots", "shots", self.shots),
            ("samples", "samples", self.samples),
        ):
            check(option, value, parameter=parameter)
        _check_level(self.optimization_level)
        _check_level(self.aer_optimization_level, "aer_optimization_level")
        _check_seed(self.seed_transpiler)
        if not isinstance(self.target, str) or not self.target:
            raise ConfigError(
                invalid("target", "a fake IBM backend name such as 'fake_fez'", self.target)
            )
        for name in ("rep_delay_s", "overhead_s"):
            value = getattr(self, name)
            if value is not None or name == "overhead_s":  # None: the target's delay
                object.__setattr__(self, name, check(name, value, fields=QPU_TIME_PARAMETERS))

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
