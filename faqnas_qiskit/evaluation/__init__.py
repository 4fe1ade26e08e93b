"""Train and score one genome."""

from faqnas_qiskit.evaluation.config import TrainingConfig
from faqnas_qiskit.evaluation.record import EvaluationRecord
from faqnas_qiskit.evaluation.train import (
    TrainingError,
    accuracy,
    derive_seed,
    evaluate_genome,
    train_model,
)

__all__ = [
    "EvaluationRecord",
    "TrainingConfig",
    "TrainingError",
    "accuracy",
    "derive_seed",
    "evaluate_genome",
    "train_model",
]
