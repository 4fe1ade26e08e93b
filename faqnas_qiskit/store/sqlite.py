"""The results store: one SQLite database (WAL mode) per project directory (DESIGN §7).

What it promises:

* An evaluation is committed in its own transaction the moment it is written; a crash loses at
  most the evaluation being trained.
* ``(key, dataset, training, seed)`` is unique: the same candidate is never stored twice, so a
  lookup before training is a cross-run cache.
* A file that is not a faqnas database, or has a newer schema, is refused before anything is
  written to it.
* What changes after it is written, and nothing else:

  - an evaluation or a repeat that failed because of the infrastructure (a dead worker,
    :class:`FailureKind`) is overwritten in place by its retrained result
    (``put_evaluation``/``put_repeats`` with ``replace_failed``); every other evaluation and
    repeat keeps its first write;
  - a run's status and ``updated_at`` change as it progresses, and its summary is replaced
    when it is written again (``put_run_summary``);
  - a replay that takes another path replaces the run's generations from the point where it
    diverged (``put_generation`` with ``replace``) and deletes those after the point where it
    ended (``drop_generations``); otherwise a generation keeps its first write;
  - a hardware job goes from ``planned`` to ``submitted`` (its job id) to ``done`` or
    ``failed`` (its result or error); a ``planned`` or ``failed`` job can be submitted again.

  Cached architecture metrics keep their first write, except that metrics an evaluation
  brought without their settings (kept under their own digest) move to the row of their
  settings once a writer names them (:func:`~faqnas_qiskit.store.metrics_rows.keep_metrics`).
* An architecture's cost metrics are stored once, in ``architecture_metrics`` (one row per
  architecture and metric settings); an evaluation row refers to that row (its key and
  ``metrics_settings``) and carries no copy, nor do the records of it and its repeats.
* Repeat 0 of a candidate is its ``evaluations`` row (what stores before repeats held); repeats
  r >= 1 are rows of ``repeats`` that refer to it.
* One writer (the search coordinator); readers in other processes see committed rows while it
  writes (WAL).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.store.codec import Encodable, encode
from faqnas_qiskit.store.errors import StoreError
from faqnas_qiskit.store.hardware_jobs import HardwareJobStore
from faqnas_qiskit.store.metrics_rows import keep_metrics, metrics_reference
from faqnas_qiskit.store.rows import (
    GenerationRow,
    HardwareJobRow,
    RepeatRow,
    RunRow,
    StoredEvaluation,
    StoredRepeat,
    canonical_json,
    evaluation_row,
    repeat_row,
    run_row,
)
from faqnas_qiskit.store.schema import _MIGRATIONS as _MIGRATIONS
from faqnas_qiskit.store.schema import (
    APPLICATION_ID,
    LEGACY_SAMPLES,
    SCHEMA_VERSION,
)
from faqnas_qiskit.store.states import (
    EvaluationStatus,
    FailureKind,
    RunStatus,
    stored_error,
)

__all__ = [
    "APPLICATION_ID",
    "LEGACY_SAMPLES",
    "SCHEMA_VERSION",
    "GenerationRow",
    "HardwareJobRow",
    "RepeatRow",
    "ResultsStore",
    "RunRow",
    "StoreError",
    "StoredEvaluation",
    "StoredRepeat",
]

RUN_STATUSES = tuple(status.value for status in RunStatus)

_EVALUATIONS = (
    "SELECT e.*, m.metrics AS metrics FROM evaluations e LEFT JOIN architecture_metrics m "
    "ON m.key = e.key AND m.settings = e.metrics_settings"
)
"""An evaluation row with the metrics it refers to (``evaluation_row`` reads them)."""


class ResultsStore(HardwareJobStore):
    """The SQLite results store.

    Args:
        path: Database file.
        create: Create the file when missing (a search); otherwise a missing file is an error
            (``runs``, ``front``, ``report``).

    Raises:
        StoreError: Missing file (``create=False``), not a faqnas database, newer schema,
            unreadable file.
    """

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ runs
    def create_run(
        self,
        *,
        dataset: str,
        seed: int,
        config: Encodable | Mapping[str, Any],
        versions: dict[str, str],
    ) -> str:
        """Insert a new run with status ``running``; returns its id (``r`` + 8 hex digits).

        ``config`` is the search's ``SearchConfig`` (stored as its ``to_dict()``) or that form.
        """
        run_id = "r" + uuid.uuid4().hex[:8]
        now = time.time()
        with self._transaction():
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    now,
                    now,
                    RunStatus.RUNNING.value,
                    dataset,
                    seed,
                    canonical_json(encode(config)),
                    canonical_json(versions),
                ),
            )
            self._db.execute(
                "INSERT INTO run_owners (run_id, host, pid, started_at) VALUES (?, ?, ?, ?)",
                (run_id, socket.gethostname(), os.getpid(), now),
            )
        return run_id

    def set_run_status(self, run_id: str, status: RunStatus | str) -> None:
        """Update a run's status (a :class:`RunStatus` or its value).

        ``running`` also records this process (host and pid) as the run's owner, so that a
        run whose process died without a word (kill -9, power loss) reads as ``interrupted``.
        """
        if status not in RUN_STATUSES:
            raise StoreError(
                invalid("status", f"one of {', '.join(RUN_STATUSES)}", status, what="field")
            )
        status = RunStatus(status)
        now = time.time()
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET status = ?, updated_at = ? WHERE id = ?",
                (status.value, now, run_id),
            )
            if status is RunStatus.RUNNING:
                self._db.execute(
                    "INSERT OR REPLACE INTO run_owners (run_id, host, pid, started_at) "
                    "VALUES (?, ?, ?, ?)",
                    (run_id, socket.gethostname(), os.getpid(), now),
                )

    def _effective(self, run: RunRow) -> RunRow:
        """``running`` becomes ``interrupted`` when the owning process on this host is gone."""
        if run.status != RunStatus.RUNNING:
            return run
        owner = self._db.execute(
            "SELECT host, pid FROM run_owners WHERE run_id = ?", (run.id,)
        ).fetchone()
        if owner is None or owner[0] != socket.gethostname() or _alive(int(owner[1])):
            return run  # another machine's process cannot be checked from here
        return replace(run, status=RunStatus.INTERRUPTED)

    def get_run(self, run_id: str) -> RunRow:
        """The run with this id.

        Raises:
            StoreError: If there is none (the message lists a few known ids).
        """
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            known = [r.id for r in self.list_runs()[-5:]]
            hint = f"Known runs: {', '.join(known)}." if known else "The store has no runs yet."
            raise StoreError(
                f"The run must exist in {str(self.path)!r}. Got {run_id!r} instead. {hint} "
                "List them with 'faqnas runs'."
            )
        return self._effective(run_row(row))

    def list_runs(self) -> list[RunRow]:
        """All runs, oldest first."""
        rows = self._db.execute("SELECT * FROM runs ORDER BY created_at, id").fetchall()
        return [self._effective(run_row(r)) for r in rows]

    # ----------------------------------------------------------------------------- evaluations
    def lookup(self, key: str, dataset: str, training: str, seed: int) -> StoredEvaluation | None:
        """The stored evaluation of this candidate, if any."""
        row = self._db.execute(
            f"{_EVALUATIONS} WHERE e.key = ? AND e.dataset = ? AND e.training = ? AND e.seed = ?",
            (key, dataset, training, seed),
        ).fetchone()
        return None if row is None else self._with_repeats(evaluation_row(row))

    def _with_repeats(self, evaluation: StoredEvaluation) -> StoredEvaluation:
        rows = self._db.execute(
            "SELECT * FROM repeats WHERE evaluation_id = ? ORDER BY repeat", (evaluation.id,)
        ).fetchall()
        if not rows:
            return evaluation
        return replace(evaluation, repeats=tuple(repeat_row(r) for r in rows))

    def put_repeats(
        self,
        evaluation_id: int,
        repeats: Sequence[RepeatRow],
        *,
        run_id: str | None,
        replace_failed: bool = False,
    ) -> None:
        """Commit repeats r >= 1 of a stored evaluation in one transaction (first write wins).

        ``replace_failed`` overwrites stored failures of these repeats in place, as in
        :meth:`put_evaluation`.
        """
        with self._transaction():
            for row in repeats:
                self._write_repeat(evaluation_id, row, run_id, replace_failed)

    def _write_repeat(
        self, evaluation_id: int, row: RepeatRow, run_id: str | None, replace_failed: bool
    ) -> None:
        if row.repeat < 1:
            raise StoreError(
                f"The 'repeat' of a repeats row must be at least 1. Got {row.repeat} instead. "
                "Repeat 0 is the evaluation row itself (put_evaluation)."
            )
        result = (
            _status(row.record),
            _error(row.record, row.error, row.failure),
            None if row.record is None else canonical_json(encode(row.record)),
            row.weights,
            run_id,
            time.time(),
        )
        if replace_failed:
            self._db.execute(
                "UPDATE repeats SET status = ?, error = ?, record = ?, weights = ?, "
                "run_id = ?, created_at = ? WHERE evaluation_id = ? AND repeat = ? AND "
                "status = ?",
                (*result, evaluation_id, row.repeat, EvaluationStatus.FAILED.value),
            )
        self._db.execute(
            "INSERT OR IGNORE INTO repeats (evaluation_id, repeat, status, error, record, "
            "weights, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (evaluation_id, row.repeat, *result),
        )

    def repeat_weights(self, evaluation_id: int, repeat: int) -> bytes | None:
        """Trained weights of repeat ``repeat`` of an evaluation (0: :meth:`weights`)."""
        if repeat == 0:
            return self.weights(evaluation_id)
        row = self._db.execute(
            "SELECT weights FROM repeats WHERE evaluation_id = ? AND repeat = ?",
            (evaluation_id, repeat),
        ).fetchone()
        return None if row is None else row[0]

    def put_evaluation(
        self,
        *,
        key: str,
        dataset: str,
        training: str,
        seed: int,
        record: Encodable | Mapping[str, Any] | None,
        error: str | None,
        metrics: Encodable | Mapping[str, Any],
        weights: bytes | None,
        run_id: str | None,
        replace_failed: bool = False,
        repeats: Sequence[RepeatRow] = (),
        failure: FailureKind = FailureKind.TRAINING,
        metrics_settings: str | None = None,
    ) -> StoredEvaluation:
        """Commit one evaluation now (``record`` None and ``error`` set for a failure).

        ``record`` is an EvaluationRecord (or its ``to_dict()`` form) and ``metrics`` the
        architecture's cost metrics (an ArchitectureMetrics, its ``to_dict()`` or the FLOPs-only
        form); both are stored as that JSON (:mod:`~faqnas_qiskit.store.codec`). The metrics
        are stored once per architecture, in ``architecture_metrics``, and the evaluation row
        refers to them: under ``metrics_settings`` (the canonical settings the search's metrics
        cache keys them by, :meth:`put_metrics`) when given, else under an equal row of the
        architecture or a new one keyed by their digest
        (:func:`~faqnas_qiskit.store.metrics_rows.metrics_reference`). They read back as
        :attr:`StoredEvaluation.metrics` and :attr:`StoredEvaluation.costs`.

        ``failure`` is the kind of a failure: it is stored with the error
        (:func:`~faqnas_qiskit.store.states.stored_error`) and read back as
        :attr:`StoredEvaluation.failure`.

        An existing row for the same candidate is kept (first write wins) and returned, unless
        ``replace_failed`` is set and that row is a failure: then it is overwritten in place
        (same id), for failures of the infrastructure rather than of the candidate. ``repeats``
        (r >= 1) are written in the same transaction, so a candidate's repeats trained together
        are stored together or not at all.
        """
        candidate = (key, dataset, training, seed)
        with self._transaction():
            existing = self._db.execute(
                "SELECT status FROM evaluations WHERE key = ? AND dataset = ? AND training = ? "
                "AND seed = ?",
                candidate,
            ).fetchone()
            overwrite = (
                existing is not None
                and replace_failed
                and existing[0] == EvaluationStatus.FAILED.value
            )
            if existing is None or overwrite:  # else the first write wins
                result = (
                    _status(record),
                    _error(record, error, failure),
                    None if record is None else canonical_json(encode(record)),
                    metrics_reference(
                        self._db, key, canonical_json(encode(metrics)), metrics_settings
                    ),
                    weights,
                    run_id,
                    time.time(),
                )
                if overwrite:
                    self._db.execute(
                        "UPDATE evaluations SET status = ?, error = ?, record = ?, "
                        "metrics_settings = ?, weights = ?, run_id = ?, created_at = ? "
                        "WHERE key = ? AND dataset = ? AND training = ? AND seed = ?",
                        (*result, *candidate),
                    )
                else:
                    self._db.execute(
                        "INSERT INTO evaluations (key, dataset, training, seed, status, error, "
                        "record, metrics_settings, weights, run_id, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (*candidate, *result),
                    )
            if repeats:
                (evaluation_id,) = self._db.execute(
                    "SELECT id FROM evaluations WHERE key = ? AND dataset = ? AND training = ? "
                    "AND seed = ?",
                    candidate,
                ).fetchone()
                for row in repeats:
                    self._write_repeat(evaluation_id, row, run_id, replace_failed)
        stored = self.lookup(key, dataset, training, seed)
        if stored is None:  # the row was just written in this connection
            raise StoreError(f"The evaluation of {key} must be readable after it is written.")
        return stored

    def weights(self, evaluation_id: int) -> bytes | None:
        """Trained weights (``torch.save`` of a state dict) of an evaluation."""
        row = self._db.execute(
            "SELECT weights FROM evaluations WHERE id = ?", (evaluation_id,)
        ).fetchone()
        return None if row is None else row[0]

    def evaluations(self, *, dataset: str | None = None) -> list[StoredEvaluation]:
        """All evaluations (optionally of one dataset), in insertion order."""
        if dataset is None:
            rows = self._db.execute(f"{_EVALUATIONS} ORDER BY e.id")
        else:
            rows = self._db.execute(f"{_EVALUATIONS} WHERE e.dataset = ? ORDER BY e.id", (dataset,))
        evaluations = [evaluation_row(r) for r in rows]
        repeats: dict[int, list[StoredRepeat]] = {}
        for row in self._db.execute("SELECT * FROM repeats ORDER BY evaluation_id, repeat"):
            repeats.setdefault(row["evaluation_id"], []).append(repeat_row(row))
        return [
            replace(e, repeats=tuple(repeats[e.id])) if e.id in repeats else e for e in evaluations
        ]

    # -------------------------------------------------------------------------- run summaries
    def put_run_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Store (or replace) a run's summary, e.g. the variance share of its candidates."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO run_summaries (run_id, summary, updated_at) "
                "VALUES (?, ?, ?)",
                (run_id, canonical_json(summary), time.time()),
            )

    def run_summary(self, run_id: str) -> dict[str, Any] | None:
        """A run's stored summary, or None."""
        row = self._db.execute(
            "SELECT summary FROM run_summaries WHERE run_id = ?", (run_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def count_evaluations(self) -> int:
        """Number of stored evaluations."""
        return int(self._db.execute("SELECT count(*) FROM evaluations").fetchone()[0])

    # ----------------------------------------------------------------------------- generations
    def put_generation(
        self,
        run_id: str,
        generation: int,
        members: list[str],
        front: list[str],
        stats: dict[str, Any],
        *,
        replace: bool = False,
    ) -> None:
        """Record a generation.

        Replaying a stored generation keeps the first write, unless ``replace`` is set (the
        replay took another path, after an infrastructure failure was retrained).
        """
        verb = "REPLACE" if replace else "IGNORE"
        with self._transaction():
            self._db.execute(
                f"INSERT OR {verb} INTO generations VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    generation,
                    canonical_json(members),
                    canonical_json(front),
                    canonical_json(stats),
                    time.time(),
                ),
            )
            self._db.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (time.time(), run_id))

    def drop_generations(self, run_id: str, first: int) -> None:
        """Delete the run's generations numbered ``first`` and later (a replay that ended
        sooner than the stored path after taking another one)."""
        with self._transaction():
            self._db.execute(
                "DELETE FROM generations WHERE run_id = ? AND generation >= ?", (run_id, first)
            )

    def generations(self, run_id: str) -> list[GenerationRow]:
        """The run's generations, in order."""
        rows = self._db.execute(
            "SELECT * FROM generations WHERE run_id = ? ORDER BY generation", (run_id,)
        )
        return [
            GenerationRow(
                r["run_id"],
                r["generation"],
                tuple(json.loads(r["members"])),
                tuple(json.loads(r["front"])),
                json.loads(r["stats"]),
            )
            for r in rows
        ]

    # -------------------------------------------------------------------- architecture metrics
    def get_metrics(self, key: str, settings: str) -> dict[str, Any] | None:
        """Cached cost metrics of an architecture under the given settings (canonical JSON).

        The same rows hold the metrics that evaluations refer to (:meth:`put_evaluation`).
        """
        row = self._db.execute(
            "SELECT metrics FROM architecture_metrics WHERE key = ? AND settings = ?",
            (key, settings),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put_metrics(self, key: str, settings: str, metrics: dict[str, Any]) -> None:
        """Cache the cost metrics of an architecture (first write wins; the same value stored
        by an evaluation whose writer did not know the settings is folded into this row)."""
        with self._transaction():
            keep_metrics(self._db, key, settings, canonical_json(metrics))

    def evaluation_by_id(self, evaluation_id: int) -> StoredEvaluation | None:
        """The evaluation with this row id."""
        row = self._db.execute(f"{_EVALUATIONS} WHERE e.id = ?", (evaluation_id,)).fetchone()
        return None if row is None else self._with_repeats(evaluation_row(row))


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell: assume alive)
    return True


def _status(record: object) -> str:
    """The stored status of a written evaluation or repeat."""
    return (EvaluationStatus.OK if record is not None else EvaluationStatus.FAILED).value


def _error(record: object, error: str | None, failure: FailureKind) -> str | None:
    """The stored error: a failure's message with its kind (see ``stored_error``)."""
    return error if record is not None or error is None else stored_error(error, failure)
