"""Cost metrics of an architecture (DESIGN §5): FLOPs, parameters, transpiled gate counts,
durations and predicted QPU seconds. Pure: takes genomes and settings, returns records.

Quick use::

    from faqnas_qiskit.metrics import MetricsCache

    cache = MetricsCache()                       # holds fake backends, pass managers, results
    m = cache.metrics(genome, 4, 3, n_train=90, epochs=5, samples=30)
    m.quantum_flops, m.transpiled.two_qubit_gates, m.transpiled.predicted_qpu_s
    m.to_dict()                                  # JSON-ready
"""

from faqnas_qiskit.metrics.architecture import (
    FORMULA_PROBES,
    MetricsCache,
    MetricsSettings,
    architecture_metrics,
    flops_and_params,
    flops_formulas_hold,
    metrics_function,
)
from faqnas_qiskit.metrics.flops import (
    FlopCounts,
    classical_flops,
    classical_flops_formula,
    count_flops,
    quantum_flops,
    quantum_flops_formula,
    training_flops,
    training_flops_formula,
    training_flops_per_sample,
)
from faqnas_qiskit.metrics.qpu_time import (
    DEFAULT_JOB_OVERHEAD_S,
    DEFAULT_REP_DELAY_S,
    USAGE_SOURCE,
    estimator_executions,
    predicted_qpu_seconds,
)
from faqnas_qiskit.metrics.records import ArchitectureMetrics
from faqnas_qiskit.metrics.transpiled import (
    AER_TARGET,
    DEFAULT_AER_OPTIMIZATION_LEVEL,
    DEFAULT_OPTIMIZATION_LEVEL,
    DEFAULT_SEED_TRANSPILER,
    DEFAULT_TARGET,
    CircuitCounts,
    TargetInfo,
    TranspiledMetrics,
    count_transpiled,
    ibm_target_names,
    transpiled_metrics,
)

__all__ = [
    "AER_TARGET",
    "DEFAULT_AER_OPTIMIZATION_LEVEL",
    "DEFAULT_JOB_OVERHEAD_S",
    "DEFAULT_OPTIMIZATION_LEVEL",
    "DEFAULT_REP_DELAY_S",
    "DEFAULT_SEED_TRANSPILER",
    "DEFAULT_TARGET",
    "FORMULA_PROBES",
    "USAGE_SOURCE",
    "ArchitectureMetrics",
    "CircuitCounts",
    "FlopCounts",
    "MetricsCache",
    "MetricsSettings",
    "TargetInfo",
    "TranspiledMetrics",
    "architecture_metrics",
    "classical_flops",
    "classical_flops_formula",
    "count_flops",
    "count_transpiled",
    "estimator_executions",
    "flops_and_params",
    "flops_formulas_hold",
    "ibm_target_names",
    "metrics_function",
    "predicted_qpu_seconds",
    "quantum_flops",
    "quantum_flops_formula",
    "training_flops",
    "training_flops_formula",
    "training_flops_per_sample",
    "transpiled_metrics",
]
