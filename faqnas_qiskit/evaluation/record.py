"""The result of evaluating one genome: a frozen, self-validating record."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from faqnas_qiskit.errors import FaqnasError
from faqnas_qiskit.evaluation.config import TrainingConfig
from faqnas_qiskit.space import Genome

__all__ = ["EvaluationRecord"]


def _check_fraction(name: str, value: float) -> None:
    if not (0.0 <= value <= 1.0):
        raise FaqnasError(f"The '{name}' field must be in [0, 1]. Got {value} instead.")


@dataclass(frozen=True)
class EvaluationRecord:
    """One trained and scored architecture.

    Attributes:
        genome: Canonical genome string.
        dataset: Dataset name.
        training: Training configuration.
        seed: Seed of the data split, the initial weights and the batch order.
        train_accuracy: Accuracy on the training split after training, in [0, 1].
        val_accuracy: Accuracy on the validation split (the fitness), in [0, 1].
        test_accuracy: Accuracy on the test split, in [0, 1].
        loss_per_epoch: Mean training NLL loss of each epoch (nats), ``epochs`` values.
        params_classical: Trainable parameters of the classical layers.
        params_quantum: Trainable circuit weights.
        n_train: Training samples used.
        train_time_s: Wall time of training, seconds.
        eval_time_s: Wall time of scoring the three splits, seconds.
        repeat: Which repeat of the candidate this is (DESIGN §4.1): 0 is the paper's single
            evaluation; r > 0 has its own initial weights, batch order and train/val split.
        params_quantum_effective: Circuit weights whose gradient is not identically zero
            (DESIGN §5.1); None in records stored before it was recorded.
    """

    genome: str
    dataset: str
    training: TrainingConfig
    seed: int
    train_accuracy: float
    val_accuracy: float
    test_accuracy: float
    loss_per_epoch: tuple[float, ...]
    params_classical: int
    params_quantum: int
    n_train: int
    train_time_s: float
    eval_time_s: float
    repeat: int = 0
    params_quantum_effective: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "genome", Genome.parse(self.genome).key)
        if isinstance(self.repeat, bool) or not isinstance(self.repeat, int) or self.repeat < 0:
            raise FaqnasError(
                f"The 'repeat' field must be an integer >= 0. Got {self.repeat} instead."
            )
        effective = self.params_quantum_effective
        if effective is not None and not 0 <= effective <= self.params_quantum:
            raise FaqnasError(
                f"The 'params_quantum_effective' field must be in [0, {self.params_quantum}]. "
                f"Got {effective} instead."
            )
        for name in ("train_accuracy", "val_accuracy", "test_accuracy"):
            _check_fraction(name, getattr(self, name))
        object.__setattr__(self, "loss_per_epoch", tuple(float(v) for v in self.loss_per_epoch))
        if len(self.loss_per_epoch) != self.training.epochs:
            raise FaqnasError(
                f"The 'loss_per_epoch' field must have {self.training.epochs} values. "
                f"Got {len(self.loss_per_epoch)} instead."
            )
        if any(not math.isfinite(v) for v in self.loss_per_epoch):
            raise FaqnasError(
                f"The 'loss_per_epoch' field must be finite. Got {self.loss_per_epoch} instead."
            )
        for name in ("train_time_s", "eval_time_s"):
            if getattr(self, name) < 0:
                raise FaqnasError(
                    f"The '{name}' field must be >= 0. Got {getattr(self, name)} instead."
                )

    @property
    def wall_time_s(self) -> float:
        """Training plus scoring wall time, seconds."""
        return self.train_time_s + self.eval_time_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (flat scalars, training as a nested object)."""
        out = asdict(self)
        out["training"] = self.training.to_dict()
        out["loss_per_epoch"] = list(self.loss_per_epoch)
        out["epochs"] = self.training.epochs
        out["wall_time_s"] = self.wall_time_s
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationRecord:
        """Inverse of :meth:`to_dict` (derived keys are ignored, and so is the copy of the
        metrics that records stored before schema version 5 may carry)."""
        ignored = ("epochs", "wall_time_s", "metrics")
        fields = {k: v for k, v in data.items() if k not in ignored}
        fields["training"] = TrainingConfig.from_dict(fields["training"])
        fields["loss_per_epoch"] = tuple(fields["loss_per_epoch"])
        return cls(**fields)
