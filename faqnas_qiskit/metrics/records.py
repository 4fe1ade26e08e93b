"""The cost metrics of one architecture: a frozen, self-validating record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.limits import Bound, Fields, Instance, check_fields
from faqnas_qiskit.metrics.transpiled import TranspiledMetrics

__all__ = ["ARCHITECTURE_METRICS_FIELDS", "ArchitectureMetrics"]

_COUNTS = (
    "quantum_flops",
    "classical_flops",
    "training_flops",
    "params_quantum",
    "params_classical",
)


ARCHITECTURE_METRICS_FIELDS = Fields.of(
    "ArchitectureMetrics",
    "Recompute the metrics.",
    Bound.count("quantum_flops", low=1),  # every circuit has gates
    *(Bound.count(name) for name in _COUNTS[1:]),
    Instance("transpiled", TranspiledMetrics),
    Instance("aer", TranspiledMetrics),
)
"""The declared constraints of :class:`ArchitectureMetrics`' fields."""


@dataclass(frozen=True)
class ArchitectureMetrics:
    """Cost metrics of one architecture (DESIGN §5).

    Attributes:
        quantum_flops: F_Q, profiler FLOPs of the quantum layer's forward pass, one sample.
        classical_flops: F_C, profiler FLOPs of ``pre``, ``post`` and log-softmax, one sample.
        training_flops: Profiler FLOPs of training: one sample's forward + backward, times the
            training samples and the epochs.
        params_quantum: Trainable circuit weights.
        params_classical: Trainable weights and biases of ``pre`` and ``post``.
        transpiled: Counts, duration and predicted QPU seconds on the IBM target.
        aer: Counts on the Aer basis (``duration_s`` and ``predicted_qpu_s`` are None: Aer has
            no timing model, and 0 would read as "free" in a hardware-cost objective).
    """

    quantum_flops: int
    classical_flops: int
    training_flops: int
    params_quantum: int
    params_classical: int
    transpiled: TranspiledMetrics
    aer: TranspiledMetrics

    def __post_init__(self) -> None:
        for name, value in check_fields(ARCHITECTURE_METRICS_FIELDS, self).items():
            object.__setattr__(self, name, value)

    @property
    def params(self) -> int:
        """All trainable parameters."""
        return self.params_quantum + self.params_classical

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form.

        Keys: ``quantum_flops``, ``classical_flops``, ``training_flops``, ``params_quantum``,
        ``params_classical``, ``transpiled`` (the IBM target) and ``transpiled_aer``, each
        transpiled entry an object with the keys of :meth:`TranspiledMetrics.to_dict`.
        """
        out: dict[str, Any] = {name: getattr(self, name) for name in _COUNTS}
        out["transpiled"] = self.transpiled.to_dict()
        out["transpiled_aer"] = self.aer.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArchitectureMetrics:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: When a key is missing or a value is invalid.
        """
        missing = [k for k in (*_COUNTS, "transpiled", "transpiled_aer") if k not in data]
        if missing:
            raise ConfigError(
                invalid(
                    "metrics",
                    "an object with the keys of ArchitectureMetrics.to_dict()",
                    f"one without {', '.join(missing)}",
                    "Recompute the metrics.",
                )
            )
        return cls(
            **{name: data[name] for name in _COUNTS},
            transpiled=TranspiledMetrics.from_dict(data["transpiled"]),
            aer=TranspiledMetrics.from_dict(data["transpiled_aer"]),
        )
