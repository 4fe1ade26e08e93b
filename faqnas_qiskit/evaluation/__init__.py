"""Train and score one genome."""

from faqnas_qiskit.evaluation.config import DEVICES, TrainingConfig, resolve_device
from faqnas_qiskit.evaluation.population import (
    PopulationMember,
    evaluate_population,
    population_groups,
)
from faqnas_qiskit.evaluation.record import EvaluationRecord
from faqnas_qiskit.evaluation.repeats import (
    MAX_REPEATS,
    RepeatResult,
    ReplicaHQNN,
    evaluate_repeats,
)
from faqnas_qiskit.evaluation.stats import AccuracyStats, variance_share, variance_verdict
from faqnas_qiskit.evaluation.train import (
    TrainingError,
    accuracy,
    derive_seed,
    evaluate_genome,
    repeat_seeds,
    train_model,
)

__all__ = [
    "DEVICES",
    "MAX_REPEATS",
    "AccuracyStats",
    "EvaluationRecord",
    "PopulationMember",
    "RepeatResult",
    "ReplicaHQNN",
    "TrainingConfig",
    "TrainingError",
    "accuracy",
    "derive_seed",
    "evaluate_genome",
    "evaluate_population",
    "evaluate_repeats",
    "population_groups",
    "repeat_seeds",
    "resolve_device",
    "train_model",
    "variance_share",
    "variance_verdict",
]
