"""The result of re-evaluating one architecture on one backend: a frozen, self-validating record.

Stored as JSON with the hardware job (``ResultsStore.finish_hardware_job(result=record.to_dict())``)
and read back with :meth:`HardwareRecord.from_dict`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from faqnas_qiskit.errors import FaqnasError, invalid
from faqnas_qiskit.space import Genome

__all__ = ["QPU_USAGE_SIMULATOR", "QPU_USAGE_SOURCE", "HardwareRecord"]

#: ``qpu_usage_source`` of a job that ran on a QPU: its ``job.usage()``.
QPU_USAGE_SOURCE = "job.usage()"
#: ``qpu_usage_source`` of a simulated job: no QPU time was used.
QPU_USAGE_SIMULATOR = "simulator: no QPU time"


def _bad(name: str, rule: str, value: object) -> FaqnasError:
    return FaqnasError(invalid(name, rule, value, what="field"))


def _fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise _bad(name, "a fraction in [0, 1]", value)
    return float(value)


def _seconds(name: str, value: object, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise _bad(name, "a finite number of seconds >= 0", value)
    return float(value)


def _count(name: str, value: object, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _bad(name, f"an integer >= {low}", value)
    return value


@dataclass(frozen=True)
class HardwareRecord:
    """One architecture re-evaluated on one backend profile.

    Attributes:
        run_id: The search run the architecture comes from.
        genome: Canonical genome key.
        evaluation_id: Row id of the trained evaluation whose weights were used.
        profile: Name of the backend profile.
        adapter: ``"aer"``, ``"fake"`` or ``"ibm_runtime"``.
        backend: The backend that ran the job (``"aer_simulator"``, ``"fake_fez"``, ``"ibm_fez"``).
        shots: Shots per circuit execution.
        n_samples: Test samples evaluated (one circuit execution each).
        job_ids: Provider job ids (one per architecture today).
        physical_qubits: Physical qubit of each virtual qubit i in the ISA circuit.
        two_qubit_gates: Two-qubit gates of the ISA circuit.
        two_qubit_depth: Depth over two-qubit gates of the ISA circuit.
        depth: Depth of the ISA circuit.
        size: Instructions of the ISA circuit.
        ops: ``count_ops`` of the ISA circuit.
        duration_s: Scheduled duration of one shot of the ISA circuit without readout, seconds,
            or None (ideal simulator).
        predicted_qpu_s: Predicted QPU seconds of the job, or None (ideal simulator).
        measured_qpu_s: QPU seconds billed (``job.usage()``); 0 for simulators.
        qpu_usage_source: Where ``measured_qpu_s`` comes from (:data:`QPU_USAGE_SOURCE` or
            :data:`QPU_USAGE_SIMULATOR`).
        wall_time_s: Seconds from submission (or from the start of fetching, on resume) to the
            scored result.
        accuracy: Test accuracy from the backend's ⟨Z_i⟩, in [0, 1].
        simulator_accuracy: Test accuracy of the same weights on the exact statevector engine,
            same samples, in [0, 1].
        expectation_mae: Mean |⟨Z_i⟩_backend - ⟨Z_i⟩_exact| over samples and qubits.
        finished_at: Unix time the record was made, seconds.
    """

    run_id: str
    genome: str
    evaluation_id: int
    profile: str
    adapter: str
    backend: str
    shots: int
    n_samples: int
    job_ids: tuple[str, ...]
    physical_qubits: tuple[int, ...]
    two_qubit_gates: int
    two_qubit_depth: int
    depth: int
    size: int
    ops: dict[str, int] = field(default_factory=dict)
    duration_s: float | None = None
    predicted_qpu_s: float | None = None
    measured_qpu_s: float = 0.0
    qpu_usage_source: str = QPU_USAGE_SIMULATOR
    wall_time_s: float = 0.0
    accuracy: float = 0.0
    simulator_accuracy: float = 0.0
    expectation_mae: float = 0.0
    finished_at: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "genome", Genome.parse(self.genome).key)
        for name in ("run_id", "profile", "adapter", "backend"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise _bad(name, "a non-empty string", value)
        _count("evaluation_id", self.evaluation_id)
        _count("shots", self.shots, 1)
        _count("n_samples", self.n_samples, 1)
        job_ids = tuple(self.job_ids)
        if not job_ids or not all(isinstance(j, str) and j for j in job_ids):
            raise _bad("job_ids", "one or more non-empty job ids", list(job_ids))
        object.__setattr__(self, "job_ids", job_ids)
        object.__setattr__(self, "physical_qubits", tuple(int(q) for q in self.physical_qubits))
        for name in ("two_qubit_gates", "two_qubit_depth", "depth", "size"):
            _count(name, getattr(self, name))
        object.__setattr__(self, "ops", {str(k): int(v) for k, v in dict(self.ops).items()})
        for name in ("duration_s", "predicted_qpu_s"):
            object.__setattr__(self, name, _seconds(name, getattr(self, name), optional=True))
        for name in ("measured_qpu_s", "wall_time_s", "finished_at"):
            object.__setattr__(self, name, _seconds(name, getattr(self, name)))
        if self.qpu_usage_source not in (QPU_USAGE_SOURCE, QPU_USAGE_SIMULATOR):
            raise _bad(
                "qpu_usage_source",
                f"{QPU_USAGE_SOURCE!r} or {QPU_USAGE_SIMULATOR!r}",
                self.qpu_usage_source,
            )
        if self.qpu_usage_source == QPU_USAGE_SIMULATOR and self.measured_qpu_s != 0:
            raise _bad("measured_qpu_s", "0 for a simulated job", self.measured_qpu_s)
        for name in ("accuracy", "simulator_accuracy"):
            object.__setattr__(self, name, _fraction(name, getattr(self, name)))
        mae = self.expectation_mae
        if isinstance(mae, bool) or not isinstance(mae, (int, float)) or not 0 <= mae <= 2:
            raise _bad("expectation_mae", "a number in [0, 2]", mae)
        object.__setattr__(self, "expectation_mae", float(mae))

    @property
    def on_qpu(self) -> bool:
        """Whether the job ran on a QPU (its QPU seconds were measured)."""
        return self.qpu_usage_source == QPU_USAGE_SOURCE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists for tuples)."""
        out = asdict(self)
        out["job_ids"] = list(self.job_ids)
        out["physical_qubits"] = list(self.physical_qubits)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HardwareRecord:
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        fields["job_ids"] = tuple(fields["job_ids"])
        fields["physical_qubits"] = tuple(fields["physical_qubits"])
        return cls(**fields)
