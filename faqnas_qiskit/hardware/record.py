"""The result of re-evaluating one architecture on one backend: a frozen, self-validating record.

Stored as JSON with the hardware job (``ResultsStore.finish_hardware_job(result=record.to_dict())``)
and read back with :meth:`HardwareRecord.from_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from faqnas_qiskit.errors import FaqnasError
from faqnas_qiskit.limits import (
    Bound,
    Choice,
    Counts,
    Fields,
    Relation,
    Text,
    check_fields,
    check_rules,
)
from faqnas_qiskit.space import Genome

__all__ = [
    "HARDWARE_RECORD_FIELDS",
    "HARDWARE_RECORD_RULES",
    "QPU_USAGE_SIMULATOR",
    "QPU_USAGE_SOURCE",
    "HardwareRecord",
]

#: ``qpu_usage_source`` of a job that ran on a QPU: its ``job.usage()``.
QPU_USAGE_SOURCE = "job.usage()"
#: ``qpu_usage_source`` of a simulated job: no QPU time was used.
QPU_USAGE_SIMULATOR = "simulator: no QPU time"
_ACCURACIES = ("accuracy", "simulator_accuracy")


_FIX = "Make it with reevaluate() (faqnas hardware), which fills it from the job."


HARDWARE_RECORD_FIELDS = Fields.of(
    "HardwareRecord",
    _FIX,
    *(Text(name) for name in ("run_id", "profile", "adapter", "backend")),
    Bound.count("evaluation_id"),
    Bound.count("shots", low=1),
    Bound.count("n_samples", low=1),
    Text("job_ids", phrase="one or more non-empty job ids", many=True),
    *(Bound.count(name) for name in ("two_qubit_gates", "two_qubit_depth", "depth", "size")),
    Counts("ops"),
    Bound.seconds("duration_s", optional=True),
    Bound.seconds("predicted_qpu_s", optional=True),
    *(Bound.seconds(name) for name in ("measured_qpu_s", "wall_time_s", "finished_at")),
    Choice("qpu_usage_source", (QPU_USAGE_SOURCE, QPU_USAGE_SIMULATOR), ""),
    *(Bound(name, False, 0, 1, "", phrase="a fraction in [0, 1]") for name in _ACCURACIES),
    Bound("expectation_mae", False, 0, 2, "", phrase="a number in [0, 2]"),
)
"""The declared constraints of :class:`HardwareRecord`'s fields."""

HARDWARE_RECORD_RULES: tuple[Relation[HardwareRecord], ...] = (
    Relation(
        "measured_qpu_s",
        holds=lambda r: r.qpu_usage_source != QPU_USAGE_SIMULATOR or r.measured_qpu_s == 0,
        rule=lambda r: "0 for a simulated job",
        value=lambda r: r.measured_qpu_s,
        fix="A simulator bills no QPU time; only a job.usage() record has QPU seconds.",
        what="field",
        breaks={"measured_qpu_s": 3.0},
    ),
)
"""The rules between :class:`HardwareRecord`'s fields."""


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
        for name, value in check_fields(HARDWARE_RECORD_FIELDS, self, error=FaqnasError).items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "physical_qubits", tuple(int(q) for q in self.physical_qubits))
        check_rules(self, HARDWARE_RECORD_RULES, error=FaqnasError)

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
