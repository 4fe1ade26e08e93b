"""Training configuration (frozen, validated)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from faqnas_qiskit.engines import ENGINES
from faqnas_qiskit.errors import ConfigError, invalid

__all__ = ["TrainingConfig"]


@dataclass(frozen=True)
class TrainingConfig:
    """How a candidate is trained (DESIGN §4: Adam, lr 0.003, batch 64, 5 epochs).

    Attributes:
        epochs: Passes over the training split, at least 1.
        lr: Adam learning rate, > 0.
        batch_size: Samples per optimiser step, at least 1.
        engine: Engine of the quantum layer (``"statevector"`` or ``"aer"``).
        double: Train in float64/complex128 instead of float32/complex64.
    """

    epochs: int = 5
    lr: float = 0.003
    batch_size: int = 64
    engine: str = "statevector"
    double: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(
                invalid(
                    "epochs",
                    "an integer of at least 1",
                    self.epochs,
                    "Pass --epochs 1 or more.",
                    what="option",
                )
            )
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ConfigError(
                invalid(
                    "lr",
                    "a finite number greater than 0",
                    self.lr,
                    "Pass e.g. --lr 0.003.",
                    what="option",
                )
            )
        if (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, int)
            or self.batch_size < 1
        ):
            raise ConfigError(
                invalid(
                    "batch-size",
                    "an integer of at least 1",
                    self.batch_size,
                    "Pass e.g. --batch-size 64.",
                    what="option",
                )
            )
        if self.engine not in ENGINES:
            raise ConfigError(
                invalid(
                    "engine",
                    f"one of {', '.join(ENGINES)}",
                    self.engine,
                    "Use --engine statevector or --engine aer.",
                    what="option",
                )
            )
        object.__setattr__(self, "lr", float(self.lr))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; also the training part of the cache key."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)
