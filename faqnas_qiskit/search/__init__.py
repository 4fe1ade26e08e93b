"""The search: NSGA-II (pymoo, ask/tell), random and exhaustive strategies, over the store."""

from faqnas_qiskit.search.candidate import (
    CandidateOutcome,
    CandidateTask,
    Evaluator,
    RepeatOutcome,
    SerialEvaluator,
    run_candidate,
)
from faqnas_qiskit.search.config import (
    OBJECTIVES,
    STRATEGIES,
    WORST,
    SearchConfig,
    objective_values,
    parse_objectives,
)
from faqnas_qiskit.search.pareto import hypervolume, non_dominated
from faqnas_qiskit.search.results import VarianceSummary
from faqnas_qiskit.search.runner import (
    Candidate,
    GenerationSummary,
    MetricsProvider,
    SearchObserver,
    SearchResult,
    SearchRunner,
    StoreCachedMetrics,
    front_rows,
    load_run,
    package_versions,
    search_metrics,
    training_key,
)

__all__ = [
    "OBJECTIVES",
    "STRATEGIES",
    "WORST",
    "Candidate",
    "CandidateOutcome",
    "CandidateTask",
    "Evaluator",
    "GenerationSummary",
    "MetricsProvider",
    "RepeatOutcome",
    "SearchConfig",
    "SearchObserver",
    "SearchResult",
    "SearchRunner",
    "SerialEvaluator",
    "StoreCachedMetrics",
    "VarianceSummary",
    "front_rows",
    "hypervolume",
    "load_run",
    "non_dominated",
    "objective_values",
    "package_versions",
    "parse_objectives",
    "run_candidate",
    "search_metrics",
    "training_key",
]
