"""The search: NSGA-II (pymoo, ask/tell), random and exhaustive strategies, over the store."""

from faqnas_qiskit.search.api import prepare_search, run_search
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
    Objective,
    SearchConfig,
    objective_values,
    parse_objectives,
)
from faqnas_qiskit.search.metrics_provider import (
    MetricsProvider,
    StoreCachedMetrics,
    search_metrics,
)
from faqnas_qiskit.search.pareto import hypervolume, non_dominated
from faqnas_qiskit.search.results import (
    Candidate,
    GenerationSummary,
    SearchResult,
    VarianceSummary,
    front_rows,
    pareto_front,
)
from faqnas_qiskit.search.runner import SearchObserver, SearchRunner
from faqnas_qiskit.search.runs import load_run, package_versions, training_key

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
    "Objective",
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
    "pareto_front",
    "parse_objectives",
    "prepare_search",
    "run_candidate",
    "run_search",
    "search_metrics",
    "training_key",
]
