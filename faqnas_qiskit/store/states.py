"""The states the store writes, as enums whose values are the stored strings.

Every enum here is a ``str``: a member equals, hashes, formats, prints and JSON-encodes as its
stored string, so rows written before these enums existed read back as members and every message
reads as it did.
"""

from __future__ import annotations

import enum

__all__ = [
    "INFRASTRUCTURE_PREFIX",
    "EvaluationStatus",
    "FailureKind",
    "HardwareJobStatus",
    "RunStatus",
    "TextEnum",
    "failure_kind",
    "stored_error",
]


class TextEnum(str, enum.Enum):
    """A ``str`` enum whose ``str``, ``format`` and ``repr`` are those of its value."""

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


class RunStatus(TextEnum):
    """A search run's status (``runs.status``)."""

    RUNNING = "running"
    INTERRUPTED = "interrupted"
    FINISHED = "finished"
    FAILED = "failed"


class EvaluationStatus(TextEnum):
    """Whether an evaluation or a repeat trained (``evaluations.status``, ``repeats.status``)."""

    OK = "ok"
    FAILED = "failed"


class HardwareJobStatus(TextEnum):
    """A hardware re-evaluation's row (``hardware_jobs.status``).

    ``planned``: written before submission; ``submitted``: the provider accepted the job and its
    id is stored; ``done``: the result is stored; ``failed``: the error is stored.
    """

    PLANNED = "planned"
    SUBMITTED = "submitted"
    DONE = "done"
    FAILED = "failed"


class FailureKind(TextEnum):
    """Why a candidate's repeat failed.

    ``training``: the candidate itself (an exception, a non-finite loss): final, never trained
    again. ``infrastructure``: the workers evaluating it died: it says nothing about the
    candidate, so a later run or ``--resume`` trains it again and overwrites the failure.
    """

    TRAINING = "training"
    INFRASTRUCTURE = "infrastructure"


INFRASTRUCTURE_PREFIX = "KilledWorker: "
"""How a stored error says its failure was the infrastructure's.

The schema has no column for the kind: an infrastructure failure is stored as its message under
this prefix (what Dask calls a dead worker), as every store before :class:`FailureKind` did, so
old and new rows read the same way."""


def stored_error(error: str, kind: FailureKind) -> str:
    """The error as stored: an infrastructure failure's message carries the prefix."""
    if kind is FailureKind.INFRASTRUCTURE and not error.startswith(INFRASTRUCTURE_PREFIX):
        return INFRASTRUCTURE_PREFIX + error
    return error


def failure_kind(error: str | None) -> FailureKind:
    """The kind of a stored failure, read from its error (inverse of :func:`stored_error`)."""
    if (error or "").startswith(INFRASTRUCTURE_PREFIX):
        return FailureKind.INFRASTRUCTURE
    return FailureKind.TRAINING
