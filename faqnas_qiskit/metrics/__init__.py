"""Cost metrics of an architecture (DESIGN §5): FLOPs, parameters, transpiled gate counts,
durations and predicted QPU seconds. Pure: takes genomes and settings, returns records.

Quick use::

    from faqnas_qiskit.metrics import MetricsCache

    cache = MetricsCache()                       # holds fake backends, pass managers, results
    m = cache.metrics(genome, 4, 3, n_train=90, epochs=5, samples=30)
    m.quantum_flops, m.transpiled.two_qubit_gates, m.transpiled.predicted_qpu_s
    m.to_dict()                                  # JSON-ready

The machine's cost atlas (a SQLite file shared by every store and process)::

    from faqnas_qiskit.metrics import CostCache, MetricsCache

    cache = MetricsCache(persistent=CostCache("~/.cache/faqnas/metrics.db"))
"""

from faqnas_qiskit.metrics.architecture import (
    FORMULA_PROBES,
    MetricsCache,
    MetricsSettings,
    architecture_metrics,
    flops_and_params,
    flops_formulas_hold,
)
from faqnas_qiskit.metrics.atlas import (
    AtlasReport,
    AtlasRow,
    FillSummary,
    RankCorrelation,
    atlas_networks,
    atlas_rows,
    build_atlas_report,
    fill_atlas,
    rank_correlations,
)
from faqnas_qiskit.metrics.atlas_files import write_atlas_report
from faqnas_qiskit.metrics.background import BackgroundMetrics
from faqnas_qiskit.metrics.cache import (
    CACHE_ENV,
    CostCache,
    CostEntry,
    canonical_target_name,
    compute_entry,
    default_cache_path,
    software_versions,
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
from faqnas_qiskit.metrics.metrics_function import MetricsFunction, MetricsRecipe, metrics_function
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
    "CACHE_ENV",
    "DEFAULT_AER_OPTIMIZATION_LEVEL",
    "DEFAULT_JOB_OVERHEAD_S",
    "DEFAULT_OPTIMIZATION_LEVEL",
    "DEFAULT_REP_DELAY_S",
    "DEFAULT_SEED_TRANSPILER",
    "DEFAULT_TARGET",
    "FORMULA_PROBES",
    "USAGE_SOURCE",
    "ArchitectureMetrics",
    "AtlasReport",
    "AtlasRow",
    "BackgroundMetrics",
    "CircuitCounts",
    "CostCache",
    "CostEntry",
    "FillSummary",
    "FlopCounts",
    "MetricsCache",
    "MetricsFunction",
    "MetricsRecipe",
    "MetricsSettings",
    "RankCorrelation",
    "TargetInfo",
    "TranspiledMetrics",
    "architecture_metrics",
    "atlas_networks",
    "atlas_rows",
    "build_atlas_report",
    "canonical_target_name",
    "classical_flops",
    "classical_flops_formula",
    "compute_entry",
    "count_flops",
    "count_transpiled",
    "default_cache_path",
    "estimator_executions",
    "fill_atlas",
    "flops_and_params",
    "flops_formulas_hold",
    "ibm_target_names",
    "metrics_function",
    "predicted_qpu_seconds",
    "quantum_flops",
    "quantum_flops_formula",
    "rank_correlations",
    "software_versions",
    "training_flops",
    "training_flops_formula",
    "training_flops_per_sample",
    "transpiled_metrics",
    "write_atlas_report",
]
