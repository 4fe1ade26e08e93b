"""Plans, outcomes and progress of a re-evaluation (frozen values; no I/O).

A :class:`ReevaluationPlan` is what preflight produced: for each architecture, what will happen
(``submit``, ``fetch`` a job submitted earlier, reuse a ``stored`` record, or report a
``failed`` one), each action its own item type (:data:`PlannedArchitecture`); a job's item
carries its ISA cost and predicted QPU seconds. A dry run returns it and stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

import numpy as np
import numpy.typing as npt

from faqnas_qiskit.hardware.forward import Architecture
from faqnas_qiskit.hardware.isa import IsaCircuit, IsaMetrics
from faqnas_qiskit.hardware.profiles import BackendProfile
from faqnas_qiskit.hardware.record import HardwareRecord
from faqnas_qiskit.store import TextEnum

__all__ = [
    "Action",
    "Failure",
    "JobOutcome",
    "JobState",
    "PlannedArchitecture",
    "PlannedFailed",
    "PlannedFetch",
    "PlannedJob",
    "PlannedStored",
    "PlannedSubmit",
    "ProgressEvent",
    "ReevaluationPlan",
    "ReevaluationResult",
    "Stage",
]


class Action(TextEnum):
    """What preflight decided for an architecture."""

    SUBMIT = "submit"
    """Submit its job."""
    FETCH = "fetch"
    """Fetch the job an earlier call submitted, by its stored id."""
    STORED = "stored"
    """Reuse the stored record; the backend is not touched."""
    FAILED = "failed"
    """Report the stored failure as it is."""


class Stage(TextEnum):
    """Progress stages, in the order an architecture goes through them."""

    PLANNED = "planned"
    SUBMITTED = "submitted"
    FETCHING = "fetching"
    STORED = "stored"
    DONE = "done"
    FAILED = "failed"
    PENDING = "pending"


class JobState(TextEnum):
    """What came back for a job."""

    DONE = "done"
    FAILED = "failed"
    PENDING = "pending"
    """Still running when the wait timed out."""


@dataclass(frozen=True, eq=False, kw_only=True)
class _Planned:
    """What every planned architecture has: its identity and its action.

    Attributes:
        key: Canonical genome key.
        evaluation_id: Row id of its trained evaluation.
        n_qubits: Qubits n.
    """

    action: ClassVar[Action]
    key: str
    evaluation_id: int
    n_qubits: int

    def _dict(self, job_id: str | None, job: PlannedJob | None) -> dict[str, Any]:
        """The JSON form every kind shares; the priced fields are None without a job."""
        return {
            "genome": self.key,
            "evaluation_id": self.evaluation_id,
            "n_qubits": self.n_qubits,
            "action": self.action,
            "job_id": job_id,
            "n_samples": None if job is None else job.n_samples,
            "isa": None if job is None or job.metrics is None else job.metrics.to_dict(),
            "physical_qubits": [] if job is None else list(job.physical_qubits),
            "predicted_qpu_s": None if job is None else job.predicted_qpu_s,
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class PlannedJob(_Planned):
    """An architecture whose job runs (``submit`` or ``fetch``): a restored model, an ISA circuit.

    Attributes:
        architecture: The restored model and test samples.
        isa: The ISA circuit on the target, set by preflight (None before it).
        predicted_qpu_s: Predicted QPU seconds of its job, set by preflight; None on an ideal
            simulator (or before preflight).
    """

    architecture: Architecture = field(repr=False)
    isa: IsaCircuit | None = field(default=None, repr=False)
    predicted_qpu_s: float | None = None

    @property
    def n_samples(self) -> int:
        """Test samples of its job (circuit executions)."""
        return self.architecture.n_samples

    @property
    def metrics(self) -> IsaMetrics | None:
        """ISA metrics on the target (None before preflight)."""
        return None if self.isa is None else self.isa.metrics

    @property
    def physical_qubits(self) -> tuple[int, ...]:
        """Physical qubit of each virtual qubit (empty before preflight)."""
        return () if self.isa is None else self.isa.physical_qubits


@dataclass(frozen=True, eq=False, kw_only=True)
class PlannedSubmit(PlannedJob):
    """Submit the architecture's job.

    Attributes:
        planned_before: An earlier call had already planned its row: that call may have had
            its job accepted without storing the id (a crash in between), so a billing adapter
            looks the job up by its tags before submitting again.
        resubmits: The id of a job an earlier call submitted and that is not resumed: a
            simulator's runs again, a billing adapter's preflight refuses it (pass
            ``resume``). None otherwise.
    """

    action: ClassVar[Action] = Action.SUBMIT
    planned_before: bool = False
    resubmits: str | None = None

    @property
    def job_id(self) -> None:
        """No job yet: it is submitted by this call."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no circuits, no weights)."""
        return self._dict(None, self)


@dataclass(frozen=True, eq=False, kw_only=True)
class PlannedFetch(PlannedJob):
    """Fetch the job an earlier call submitted, by its stored id.

    Attributes:
        job_id: The earlier job's id.
    """

    action: ClassVar[Action] = Action.FETCH
    job_id: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no circuits, no weights)."""
        return self._dict(self.job_id, self)


@dataclass(frozen=True, eq=False, kw_only=True)
class PlannedStored(_Planned):
    """Reuse the stored record; the backend is not touched.

    Attributes:
        job_id: The stored job's id.
        record: The stored record.
    """

    action: ClassVar[Action] = Action.STORED
    job_id: str | None
    record: HardwareRecord = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the record itself is among the result's records)."""
        return self._dict(self.job_id, None)


@dataclass(frozen=True, eq=False, kw_only=True)
class PlannedFailed(_Planned):
    """Report the stored failure as it is (``retry_failed`` submits it again instead).

    Attributes:
        job_id: The failed job's id, or None if it failed before a job existed.
        error: The stored error.
    """

    action: ClassVar[Action] = Action.FAILED
    job_id: str | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return self._dict(self.job_id, None)


PlannedArchitecture: TypeAlias = PlannedSubmit | PlannedFetch | PlannedStored | PlannedFailed
"""One architecture in a plan: one frozen type per :class:`Action`, each with only the fields
its action has (a reused record has no ISA circuit, a submission no stored error)."""


@dataclass(frozen=True, eq=False)
class ReevaluationPlan:
    """What a re-evaluation will do and what it will cost; nothing has been submitted.

    Attributes:
        run_id: The search run.
        profile: The backend profile (with the shots of this call).
        target: Backend whose ISA the circuits were transpiled to.
        target_source: ``"simulator"``, ``"device"`` (the live backend) or ``"snapshot"`` (the
            profile's calibration snapshot, for a dry run without credentials).
        shots: Shots per circuit execution.
        n_samples: Test samples per architecture.
        items: One entry per architecture, in the order asked for: a
            :class:`PlannedSubmit`, :class:`PlannedFetch`, :class:`PlannedStored` or
            :class:`PlannedFailed` (its action decides its type).
        max_qpu_seconds: The budget checked (None: no limit, or a profile without a device).
        credentials: For hardware: a description of the credentials in use, or None.
        dry_run: Whether this plan was made for a dry run.
    """

    run_id: str
    profile: BackendProfile
    target: str
    target_source: str
    shots: int
    n_samples: int
    items: tuple[PlannedArchitecture, ...]
    max_qpu_seconds: float | None
    credentials: str | None
    dry_run: bool

    @property
    def predicted_qpu_s(self) -> float | None:
        """Predicted QPU seconds of the jobs this call submits (None: nothing to predict)."""
        values = [i.predicted_qpu_s for i in self.to_submit]
        if any(v is None for v in values):
            return None
        return float(sum(v for v in values if v is not None))

    @property
    def to_submit(self) -> tuple[PlannedSubmit, ...]:
        """Architectures whose job this call submits."""
        return tuple(i for i in self.items if isinstance(i, PlannedSubmit))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json`` of a dry run)."""
        return {
            "run_id": self.run_id,
            "profile": self.profile.to_dict(),
            "target": self.target,
            "target_source": self.target_source,
            "shots": self.shots,
            "n_samples": self.n_samples,
            "max_qpu_seconds": self.max_qpu_seconds,
            "predicted_qpu_s": self.predicted_qpu_s,
            "credentials": self.credentials,
            "dry_run": self.dry_run,
            "architectures": [i.to_dict() for i in self.items],
        }


@dataclass(frozen=True, eq=False)
class JobOutcome:
    """What came back for one architecture's job.

    Attributes:
        key: Canonical genome key.
        job_id: The job's id.
        state: ``done``, ``failed`` or ``pending`` (still running when the wait timed out).
        expectations: ⟨Z_i⟩, shape (N, n), when done.
        error: Why it failed.
        measured_qpu_s: QPU seconds billed (0 for simulators).
        on_qpu: Whether the job ran on a QPU.
        wall_time_s: Seconds from submission (or fetch start) to the result.
    """

    key: str
    job_id: str
    state: JobState
    expectations: npt.NDArray[np.float64] | None = None
    error: str | None = None
    measured_qpu_s: float = 0.0
    on_qpu: bool = False
    wall_time_s: float = 0.0


@dataclass(frozen=True)
class Failure:
    """An architecture whose job failed (the others are kept).

    Attributes:
        key: Canonical genome key.
        job_id: The failed job's id, or None if it failed before a job existed.
        error: One line saying why.
    """

    key: str
    job_id: str | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"genome": self.key, "job_id": self.job_id, "error": self.error}


@dataclass(frozen=True)
class ProgressEvent:
    """A step of one architecture, for progress displays.

    Attributes:
        stage: The step (:class:`Stage`).
        key: Canonical genome key.
        index: 1-based position in the plan.
        total: Architectures in the plan.
        job_id: The job's id, once there is one.
        record: The record (``done``, ``stored``).
        error: The error (``failed``).
    """

    stage: Stage
    key: str
    index: int
    total: int
    job_id: str | None = None
    record: HardwareRecord | None = None
    error: str | None = None


@dataclass(frozen=True, eq=False)
class ReevaluationResult:
    """The outcome of :func:`~faqnas_qiskit.hardware.reevaluate`.

    Attributes:
        plan: The plan that was carried out (the only content of a dry run).
        records: Records of every architecture that has one (new or stored), in plan order.
        failures: Architectures whose job failed.
        pending: Keys whose jobs were still running when the wait timed out (resume later).
        submitted: Jobs submitted by this call.
        fetched: Jobs fetched by id (submitted by an earlier call).
        reused: Stored records reused without touching the backend.
        wall_time_s: Seconds this call took.
    """

    plan: ReevaluationPlan
    records: tuple[HardwareRecord, ...] = ()
    failures: tuple[Failure, ...] = ()
    pending: tuple[str, ...] = ()
    submitted: int = 0
    fetched: int = 0
    reused: int = 0
    wall_time_s: float = 0.0

    @property
    def dry_run(self) -> bool:
        """Whether nothing was run (the plan only)."""
        return self.plan.dry_run

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "plan": self.plan.to_dict(),
            "records": [r.to_dict() for r in self.records],
            "failures": [f.to_dict() for f in self.failures],
            "pending": list(self.pending),
            "submitted": self.submitted,
            "fetched": self.fetched,
            "reused": self.reused,
            "wall_time_s": self.wall_time_s,
        }
