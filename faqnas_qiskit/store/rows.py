"""The store's rows as frozen values, and how they are read from SQLite and written as JSON."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.store.codec import (
    CostFields,
    Decodable,
    Encodable,
    EvaluationFields,
    HardwareResultFields,
    decode,
)
from faqnas_qiskit.store.errors import StoreError
from faqnas_qiskit.store.states import (
    EvaluationStatus,
    FailureKind,
    HardwareJobStatus,
    RunStatus,
    failure_kind,
)

__all__ = [
    "GenerationRow",
    "HardwareJobRow",
    "RepeatRow",
    "RunRow",
    "StoredEvaluation",
    "StoredRepeat",
    "canonical_json",
    "evaluation_row",
    "hardware_row",
    "repeat_row",
    "run_row",
]

T = TypeVar("T")


@dataclass(frozen=True)
class RunRow:
    """One search run."""

    id: str
    created_at: float
    updated_at: float
    status: RunStatus
    dataset: str
    seed: int
    config: dict[str, Any]
    versions: dict[str, str]

    def config_as(self, kind: Decodable[T]) -> T:
        """The run's configuration as a record of type ``kind`` (the search's
        ``SearchConfig``, which sits above the store), through its ``from_dict``."""
        return decode(kind, self.config, what=f"config of run {self.id}")


@dataclass(frozen=True)
class RepeatRow:
    """Repeat r >= 1 of an evaluation, to be written: a record (JSON) or an error.

    ``failure`` is the kind of the failure when ``error`` is set (stored with the error, see
    :func:`~faqnas_qiskit.store.states.stored_error`).
    """

    repeat: int
    record: Encodable | Mapping[str, Any] | None
    error: str | None
    weights: bytes | None
    failure: FailureKind = FailureKind.TRAINING


@dataclass(frozen=True)
class StoredRepeat:
    """Repeat r >= 1 of a stored evaluation.

    ``record`` is an EvaluationRecord's stored JSON when ok; read it typed through
    :attr:`fields`.
    """

    evaluation_id: int
    repeat: int
    status: EvaluationStatus
    error: str | None
    record: dict[str, Any] | None
    run_id: str | None
    created_at: float

    @cached_property
    def fields(self) -> EvaluationFields | None:
        """The stored EvaluationRecord, typed; None when training failed."""
        return None if self.record is None else EvaluationFields.read(self.record)

    @property
    def ok(self) -> bool:
        """Whether training succeeded."""
        return self.status == EvaluationStatus.OK

    @property
    def failure(self) -> FailureKind | None:
        """Why training failed, read from the stored error; None when it succeeded."""
        return None if self.ok else failure_kind(self.error)


@dataclass(frozen=True)
class StoredEvaluation:
    """One stored evaluation.

    ``record`` (an EvaluationRecord's stored JSON when ok) and ``metrics`` (the architecture's
    cost metrics' stored JSON, the ``architecture_metrics`` row the evaluation refers to, which
    every evaluation, repeat and run of the architecture under the same metric settings shares)
    are read typed through :attr:`fields` and :attr:`costs`. The row itself is repeat 0;
    ``repeats`` holds the stored repeats r >= 1 in repeat order (not necessarily contiguous
    while a top-up is being written).
    """

    id: int
    key: str
    dataset: str
    training: str
    seed: int
    status: EvaluationStatus
    error: str | None
    record: dict[str, Any] | None
    metrics: dict[str, Any]
    run_id: str | None
    created_at: float
    repeats: tuple[StoredRepeat, ...] = ()

    @cached_property
    def fields(self) -> EvaluationFields | None:
        """Repeat 0's stored EvaluationRecord, typed; None when training failed."""
        return None if self.record is None else EvaluationFields.read(self.record)

    @cached_property
    def costs(self) -> CostFields:
        """The architecture's stored cost metrics, typed."""
        return CostFields.read(self.metrics)

    @property
    def ok(self) -> bool:
        """Whether training succeeded."""
        return self.status == EvaluationStatus.OK

    @property
    def failure(self) -> FailureKind | None:
        """Why training failed, read from the stored error; None when it succeeded."""
        return None if self.ok else failure_kind(self.error)

    def repeat(self, index: int) -> StoredRepeat | StoredEvaluation | None:
        """Repeat ``index`` (0 is this row), or None when it is not stored."""
        if index == 0:
            return self
        return next((r for r in self.repeats if r.repeat == index), None)


@dataclass(frozen=True)
class HardwareJobRow:
    """One architecture's re-evaluation on a backend.

    ``status``: ``planned`` (row written before submission), ``submitted`` (``job_id`` stored
    the moment the provider accepted the job), ``done`` (``result`` holds the HardwareRecord
    JSON) or ``failed`` (``error`` says why).
    """

    id: int
    run_id: str
    backend: str
    profile: dict[str, Any]
    key: str
    evaluation_id: int
    shots: int
    samples: int
    job_id: str | None
    status: HardwareJobStatus
    error: str | None
    result: dict[str, Any] | None
    created_at: float
    updated_at: float

    @cached_property
    def summary(self) -> HardwareResultFields | None:
        """The stored result's summary fields, typed; None unless ``done``."""
        return None if self.result is None else HardwareResultFields.read(self.result)

    def result_as(self, kind: Decodable[T]) -> T:
        """The stored result as a record of type ``kind`` (the hardware layer's
        ``HardwareRecord``, which sits above the store), through its ``from_dict``.

        Raises:
            StoreError: When the job has no result or it does not read back as ``kind``.
        """
        if self.result is None:
            raise StoreError(
                f"Hardware job {self.id} must be done to have a result. Got status "
                f"{self.status.value!r} instead."
            )
        return decode(kind, self.result, what=f"result of hardware job {self.id}")


@dataclass(frozen=True)
class GenerationRow:
    """Population membership and front of one generation (canonical keys)."""

    run_id: str
    generation: int
    members: tuple[str, ...]
    front: tuple[str, ...]
    stats: dict[str, Any]


def canonical_json(value: object) -> str:
    """Sorted, compact JSON: equal values give equal strings (used in unique keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def hardware_row(row: sqlite3.Row) -> HardwareJobRow:
    return HardwareJobRow(
        id=row["id"],
        run_id=row["run_id"],
        backend=row["backend"],
        profile=json.loads(row["profile"]),
        key=row["key"],
        evaluation_id=row["evaluation_id"],
        shots=row["shots"],
        samples=row["samples"],
        job_id=row["job_id"],
        status=HardwareJobStatus(row["status"]),
        error=row["error"],
        result=None if row["result"] is None else json.loads(row["result"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def run_row(row: sqlite3.Row) -> RunRow:
    return RunRow(
        row["id"],
        row["created_at"],
        row["updated_at"],
        RunStatus(row["status"]),
        row["dataset"],
        row["seed"],
        json.loads(row["config"]),
        json.loads(row["versions"]),
    )


def repeat_row(row: sqlite3.Row) -> StoredRepeat:
    return StoredRepeat(
        evaluation_id=row["evaluation_id"],
        repeat=row["repeat"],
        status=EvaluationStatus(row["status"]),
        error=row["error"],
        record=None if row["record"] is None else json.loads(row["record"]),
        run_id=row["run_id"],
        created_at=row["created_at"],
    )


def evaluation_row(row: sqlite3.Row) -> StoredEvaluation:
    """An evaluation row joined with the metrics it refers to (``metrics``).

    Raises:
        StoreError: When the metrics it refers to are not stored (a row written by hand).
    """
    if row["metrics"] is None:
        raise StoreError(
            invalid(
                f"evaluation {row['id']}",
                "a reference to stored metrics (architecture_metrics)",
                f"metrics_settings {row['metrics_settings']!r}, which no row of {row['key']} has",
                "The row was written by hand or by another program; write it again.",
                what="row",
            )
        )
    return StoredEvaluation(
        id=row["id"],
        key=row["key"],
        dataset=row["dataset"],
        training=row["training"],
        seed=row["seed"],
        status=EvaluationStatus(row["status"]),
        error=row["error"],
        record=None if row["record"] is None else json.loads(row["record"]),
        metrics=json.loads(row["metrics"]),
        run_id=row["run_id"],
        created_at=row["created_at"],
    )
