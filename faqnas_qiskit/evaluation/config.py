"""Training configuration (frozen, validated)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.limits import (
    CONSTRAINTS,
    Choice,
    Fields,
    Relation,
    check,
    check_fields,
    check_rules,
    words,
)

__all__ = [
    "DEVICES",
    "TRAINING_FIELDS",
    "TRAINING_RULES",
    "TrainingConfig",
    "resolve_device",
]

#: The ``--device`` choices; ``auto`` is resolved by :func:`resolve_device` before training.
DEVICES: tuple[str, ...] = words("device")


def _cuda_available() -> bool:
    import torch  # deferred: the config is imported by code paths that never train

    return bool(torch.cuda.is_available())


def resolve_device(choice: object) -> str:
    """The device a ``--device`` choice trains on in this process.

    Args:
        choice: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when torch sees a GPU, else CPU).

    Returns:
        ``"cpu"`` or ``"cuda"``.

    Raises:
        ConfigError: If ``choice`` is not one of ``DEVICES``, or is ``"cuda"`` and torch sees
            no CUDA GPU (or is a CPU-only build).
    """
    check("device", choice)
    if choice == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if choice == "cuda" and not _cuda_available():
        raise ConfigError(
            invalid(
                "device",
                "cpu or auto here: torch sees no CUDA GPU on this machine",
                choice,
                "Use --device cpu (or auto), or install a CUDA build of torch on a GPU machine.",
                what="option",
            )
        )
    return str(choice)


@dataclass(frozen=True)
class TrainingConfig:
    """How a candidate is trained (DESIGN §4: Adam, lr 0.003, batch 64, 5 epochs).

    Attributes:
        epochs: Passes over the training split, at least 1.
        lr: Adam learning rate, > 0.
        batch_size: Samples per optimiser step, at least 1.
        engine: Engine of the quantum layer (``"statevector"`` or ``"aer"``).
        double: Train in float64/complex128 instead of float32/complex64.
        device: Where model, engine and data live: ``"cpu"`` or ``"cuda"`` (``auto`` is
            resolved before, by :func:`resolve_device`). Part of the store key only when it is
            not ``"cpu"`` (see :meth:`to_dict`).
    """

    epochs: int = 5
    lr: float = 0.003
    batch_size: int = 64
    engine: str = "statevector"
    double: bool = False
    device: str = "cpu"

    def __post_init__(self) -> None:
        # the declared constraints (faqnas_qiskit.limits), then the rules between fields
        check_fields(TRAINING_FIELDS, self)
        check_rules(self, TRAINING_RULES)
        object.__setattr__(self, "lr", float(self.lr))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; also the training part of the cache key.

        ``device`` is left out when it is ``"cpu"``, so keys and records written before the
        option existed stay valid. A CUDA training is keyed apart: float32 kernels on the GPU
        round differently from the CPU's, so its trained weights and accuracies agree with a
        CPU training only to float tolerance, and the store promises that one key holds one
        reproducible result (``--threads`` is not in the key because one thread per
        evaluation is the default in every mode).
        """
        out = asdict(self)
        if self.device == "cpu":
            del out["device"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


TRAINING_FIELDS = Fields(
    "TrainingConfig",
    (
        CONSTRAINTS["epochs"],
        CONSTRAINTS["lr"],
        CONSTRAINTS["batch-size"],
        CONSTRAINTS["engine"],
        # a config trains on a device: "auto" names none until resolve_device picks it
        Choice(
            "device",
            ("cpu", "cuda"),
            "Resolve auto with resolve_device() first (the CLI does), or use cpu or cuda.",
        ),
    ),
    what="option",
)
"""The options a :class:`TrainingConfig` holds, each checked against its declared constraint."""

TRAINING_RULES: tuple[Relation[TrainingConfig], ...] = (
    Relation(
        "device",
        holds=lambda c: c.device == "cpu" or c.engine == "statevector",
        rule=lambda c: f"cpu with --engine {c.engine} (Aer simulates on the CPU)",
        value=lambda c: c.device,
        fix="Use --engine statevector to train on the GPU, or --device cpu.",
        breaks={"device": "cuda", "engine": "aer"},
    ),
)
"""The rules between a :class:`TrainingConfig`'s fields."""
