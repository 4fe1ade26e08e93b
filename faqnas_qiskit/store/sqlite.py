"""The results store: one SQLite database (WAL mode) per project directory (DESIGN §7).

What it promises:

* An evaluation is committed in its own transaction the moment it is written; a crash loses at
  most the evaluation being trained.
* ``(key, dataset, training, seed)`` is unique: the same candidate is never stored twice, so a
  lookup before training is a cross-run cache.
* A file that is not a faqnas database, or has a newer schema, is refused before anything is
  written to it.
* Evaluations and their repeats, once written, are not changed, except that a failure of the
  infrastructure (a dead worker) is overwritten in place by the retrained result; a run's
  status, timestamps and summary change as it progresses; a replay that takes another path
  replaces the run's generations from the point where it diverged.
* Repeat 0 of a candidate is its ``evaluations`` row (what stores before repeats held); repeats
  r >= 1 are rows of ``repeats`` that refer to it.
* One writer (the search coordinator); readers in other processes see committed rows while it
  writes (WAL).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faqnas_qiskit.errors import FaqnasError, invalid

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

APPLICATION_ID = 0x46514E53  # "FQNS"
SCHEMA_VERSION = 4
RUN_STATUSES = ("running", "interrupted", "finished", "failed")

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        status TEXT NOT NULL,
        dataset TEXT NOT NULL,
        seed INTEGER NOT NULL,
        config TEXT NOT NULL,
        versions TEXT NOT NULL
    );
    CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        dataset TEXT NOT NULL,
        training TEXT NOT NULL,
        seed INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error TEXT,
        record TEXT,
        metrics TEXT NOT NULL,
        weights BLOB,
        run_id TEXT,
        created_at REAL NOT NULL,
        UNIQUE (key, dataset, training, seed)
    );
    CREATE TABLE generations (
        run_id TEXT NOT NULL REFERENCES runs(id),
        generation INTEGER NOT NULL,
        members TEXT NOT NULL,
        front TEXT NOT NULL,
        stats TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (run_id, generation)
    );
    CREATE TABLE architecture_metrics (
        key TEXT NOT NULL,
        settings TEXT NOT NULL,
        metrics TEXT NOT NULL,
        PRIMARY KEY (key, settings)
    );
    """,
    2: """
    CREATE TABLE hardware_jobs (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id),
        backend TEXT NOT NULL,
        profile TEXT NOT NULL,
        key TEXT NOT NULL,
        evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
        shots INTEGER NOT NULL,
        job_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('planned', 'submitted', 'done', 'failed')),
        error TEXT,
        result TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (run_id, backend, key, shots)
    );
    """,
    # samples become part of a re-evaluation's identity; rows of version 2 get -1 ("recorded
    # before samples were part of the key") and answer a request for any number of samples
    3: """
    CREATE TABLE hardware_jobs_v3 (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id),
        backend TEXT NOT NULL,
        profile TEXT NOT NULL,
        key TEXT NOT NULL,
        evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
        shots INTEGER NOT NULL,
        samples INTEGER NOT NULL,
        job_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('planned', 'submitted', 'done', 'failed')),
        error TEXT,
        result TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (run_id, backend, key, shots, samples)
    );
    INSERT INTO hardware_jobs_v3 (id, run_id, backend, profile, key, evaluation_id, shots,
        samples, job_id, status, error, result, created_at, updated_at)
        SELECT id, run_id, backend, profile, key, evaluation_id, shots, -1, job_id, status,
        error, result, created_at, updated_at FROM hardware_jobs;
    DROP TABLE hardware_jobs;
    ALTER TABLE hardware_jobs_v3 RENAME TO hardware_jobs;
    """,
    # repeated evaluation (DESIGN §4.1): repeat 0 stays the evaluations row; a run's summary
    # (the variance share of its candidates) is written when it finishes
    4: """
    CREATE TABLE repeats (
        evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
        repeat INTEGER NOT NULL CHECK (repeat >= 1),
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error TEXT,
        record TEXT,
        weights BLOB,
        run_id TEXT,
        created_at REAL NOT NULL,
        PRIMARY KEY (evaluation_id, repeat)
    );
    CREATE TABLE run_summaries (
        run_id TEXT PRIMARY KEY REFERENCES runs(id),
        summary TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE run_owners (
        run_id TEXT PRIMARY KEY REFERENCES runs(id),
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at REAL NOT NULL
    );
    """,
}

LEGACY_SAMPLES = -1
"""``samples`` of a hardware job recorded by schema version 2, which did not key on it."""


class StoreError(FaqnasError):
    """The store file is missing, not a faqnas database, too new, or corrupt."""


@dataclass(frozen=True)
class RunRow:
    """One search run."""

    id: str
    created_at: float
    updated_at: float
    status: str
    dataset: str
    seed: int
    config: dict[str, Any]
    versions: dict[str, str]


@dataclass(frozen=True)
class RepeatRow:
    """Repeat r >= 1 of an evaluation, to be written: a record (JSON) or an error."""

    repeat: int
    record: dict[str, Any] | None
    error: str | None
    weights: bytes | None


@dataclass(frozen=True)
class StoredRepeat:
    """Repeat r >= 1 of a stored evaluation: ``record`` is an EvaluationRecord's JSON when ok."""

    evaluation_id: int
    repeat: int
    status: str
    error: str | None
    record: dict[str, Any] | None
    run_id: str | None
    created_at: float

    @property
    def ok(self) -> bool:
        """Whether training succeeded."""
        return self.status == "ok"


@dataclass(frozen=True)
class StoredEvaluation:
    """One stored evaluation: ``record`` is the JSON form of an EvaluationRecord when ok.

    The row itself is repeat 0; ``repeats`` holds the stored repeats r >= 1 in repeat order
    (not necessarily contiguous while a top-up is being written).
    """

    id: int
    key: str
    dataset: str
    training: str
    seed: int
    status: str
    error: str | None
    record: dict[str, Any] | None
    metrics: dict[str, Any]
    run_id: str | None
    created_at: float
    repeats: tuple[StoredRepeat, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether training succeeded."""
        return self.status == "ok"

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
    status: str
    error: str | None
    result: dict[str, Any] | None
    created_at: float
    updated_at: float


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


class ResultsStore:
    """The SQLite results store.

    Args:
        path: Database file.
        create: Create the file when missing (a search); otherwise a missing file is an error
            (``runs``, ``front``, ``report``).

    Raises:
        StoreError: Missing file (``create=False``), not a faqnas database, newer schema,
            unreadable file.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        text = os.fspath(path)
        if not text.strip():
            raise StoreError(
                invalid(
                    "store",
                    "the path of a database file",
                    text,
                    "Pass --store PATH (or leave it out for ./faqnas.db).",
                    what="option",
                )
            )
        if text.endswith(("/", os.sep)):
            raise StoreError(
                invalid(
                    "store",
                    "a file's path, not a folder's",
                    text,
                    f"Pass e.g. --store {text.rstrip('/' + os.sep) or '.'}/faqnas.db.",
                    what="option",
                )
            )
        self.path = Path(path)
        exists = self.path.exists()
        if exists and not self.path.is_dir() and not stat.S_ISREG(self.path.stat().st_mode):
            raise StoreError(
                invalid(
                    "store",
                    "a regular file (a faqnas database)",
                    text,
                    "Pass --store PATH to a database file; devices and pipes cannot hold one.",
                    what="option",
                )
            )
        if not exists and not create:
            raise StoreError(
                f"The store must be an existing faqnas database. Got {str(self.path)!r}, which "
                "does not exist. Run 'faqnas search' first, or pass --store PATH (or set "
                "FAQNAS_STORE)."
            )
        if exists and self.path.is_dir():
            raise StoreError(
                f"The store must be a file. Got the directory {str(self.path)!r} instead. "
                "Pass --store DIR/faqnas.db."
            )
        if not exists and not self.path.parent.exists():
            raise StoreError(
                f"The store's folder must exist. Got {str(self.path.parent)!r} instead. "
                "Create it or pass another --store."
            )
        folder = self.path.parent
        if exists and not (os.access(self.path, os.W_OK) and os.access(folder, os.W_OK)):
            raise StoreError(
                invalid(
                    "store",
                    "a writable file in a writable folder (SQLite writes its journal beside it)",
                    f"{text} (read-only)",
                    "Make the file and its folder writable, or copy the store elsewhere.",
                    what="option",
                )
            )
        mode = "rw" if exists else "rwc"
        try:
            self._db = sqlite3.connect(
                f"file:{self.path.resolve()}?mode={mode}",
                uri=True,
                timeout=30,
                isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise StoreError(
                f"The store must be a readable SQLite file. Got {str(self.path)!r}: {exc}. "
                "Check the path and its permissions."
            ) from exc
        self._db.row_factory = sqlite3.Row
        try:
            self._check_and_migrate()
        except BaseException:
            self._db.close()
            raise

    # ------------------------------------------------------------------------------- lifecycle
    def _check_and_migrate(self) -> None:
        """Validate before writing anything; only then switch to WAL and migrate."""
        try:
            app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"The store must be a faqnas SQLite database. Got {str(self.path)!r}, which is "
                f"not a database ({exc}). Pass another --store; this file was not changed."
            ) from exc
        if app_id != APPLICATION_ID and not (app_id == 0 and tables == 0):
            raise StoreError(
                f"The store must be a faqnas database. Got {str(self.path)!r}, a SQLite file of "
                "another application. Pass another --store; this file was not changed."
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The store's schema must be version {SCHEMA_VERSION} or older. Got version "
                f"{version} in {str(self.path)!r}, written by a newer faqnas. Upgrade "
                "faqnas-qiskit; this file was not changed."
            )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc
        try:
            yield
        except BaseException as exc:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._failure(exc) from exc
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise self._failure(exc) from exc

    def _failure(self, exc: sqlite3.Error) -> StoreError:
        """One line for a database error: the path, SQLite's words, what to check."""
        return StoreError(
            f"The store must be a writable, intact faqnas database. Got {str(self.path)!r}: "
            f"{exc}. Check the file's permissions and free space, or pass another --store; "
            "nothing of this write was kept."
        )

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ runs
    def create_run(
        self, *, dataset: str, seed: int, config: dict[str, Any], versions: dict[str, str]
    ) -> str:
        """Insert a new run with status ``running``; returns its id (``r`` + 8 hex digits)."""
        run_id = "r" + uuid.uuid4().hex[:8]
        now = time.time()
        with self._transaction():
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (run_id, now, now, dataset, seed, canonical_json(config), canonical_json(versions)),
            )
            self._db.execute(
                "INSERT INTO run_owners (run_id, host, pid, started_at) VALUES (?, ?, ?, ?)",
                (run_id, socket.gethostname(), os.getpid(), now),
            )
        return run_id

    def set_run_status(self, run_id: str, status: str) -> None:
        """Update a run's status (one of running, interrupted, finished, failed).

        ``running`` also records this process (host and pid) as the run's owner, so that a
        run whose process died without a word (kill -9, power loss) reads as ``interrupted``.
        """
        if status not in RUN_STATUSES:
            raise StoreError(
                invalid("status", f"one of {', '.join(RUN_STATUSES)}", status, what="field")
            )
        now = time.time()
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET status = ?, updated_at = ? WHERE id = ?", (status, now, run_id)
            )
            if status == "running":
                self._db.execute(
                    "INSERT OR REPLACE INTO run_owners (run_id, host, pid, started_at) "
                    "VALUES (?, ?, ?, ?)",
                    (run_id, socket.gethostname(), os.getpid(), now),
                )

    def _effective(self, run: RunRow) -> RunRow:
        """``running`` becomes ``interrupted`` when the owning process on this host is gone."""
        if run.status != "running":
            return run
        owner = self._db.execute(
            "SELECT host, pid FROM run_owners WHERE run_id = ?", (run.id,)
        ).fetchone()
        if owner is None or owner[0] != socket.gethostname() or _alive(int(owner[1])):
            return run  # another machine's process cannot be checked from here
        return replace(run, status="interrupted")

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
        return self._effective(_run_row(row))

    def list_runs(self) -> list[RunRow]:
        """All runs, oldest first."""
        rows = self._db.execute("SELECT * FROM runs ORDER BY created_at, id").fetchall()
        return [self._effective(_run_row(r)) for r in rows]

    # ----------------------------------------------------------------------------- evaluations
    def lookup(self, key: str, dataset: str, training: str, seed: int) -> StoredEvaluation | None:
        """The stored evaluation of this candidate, if any."""
        row = self._db.execute(
            "SELECT * FROM evaluations WHERE key = ? AND dataset = ? AND training = ? AND seed = ?",
            (key, dataset, training, seed),
        ).fetchone()
        return None if row is None else self._with_repeats(_evaluation(row))

    def _with_repeats(self, evaluation: StoredEvaluation) -> StoredEvaluation:
        rows = self._db.execute(
            "SELECT * FROM repeats WHERE evaluation_id = ? ORDER BY repeat", (evaluation.id,)
        ).fetchall()
        if not rows:
            return evaluation
        return replace(evaluation, repeats=tuple(_repeat(r) for r in rows))

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
            "ok" if row.record is not None else "failed",
            row.error,
            None if row.record is None else canonical_json(row.record),
            row.weights,
            run_id,
            time.time(),
        )
        if replace_failed:
            self._db.execute(
                "UPDATE repeats SET status = ?, error = ?, record = ?, weights = ?, "
                "run_id = ?, created_at = ? WHERE evaluation_id = ? AND repeat = ? AND "
                "status = 'failed'",
                (*result, evaluation_id, row.repeat),
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
        record: dict[str, Any] | None,
        error: str | None,
        metrics: dict[str, Any],
        weights: bytes | None,
        run_id: str | None,
        replace_failed: bool = False,
        repeats: Sequence[RepeatRow] = (),
    ) -> StoredEvaluation:
        """Commit one evaluation now (``record`` None and ``error`` set for a failure).

        An existing row for the same candidate is kept (first write wins) and returned, unless
        ``replace_failed`` is set and that row is a failure: then it is overwritten in place
        (same id), for failures of the infrastructure rather than of the candidate. ``repeats``
        (r >= 1) are written in the same transaction, so a candidate's repeats trained together
        are stored together or not at all.
        """
        status = "ok" if record is not None else "failed"
        candidate = (key, dataset, training, seed)
        result = (
            status,
            error,
            None if record is None else canonical_json(record),
            canonical_json(metrics),
            weights,
            run_id,
            time.time(),
        )
        with self._transaction():
            if replace_failed:
                self._db.execute(
                    "UPDATE evaluations SET status = ?, error = ?, record = ?, metrics = ?, "
                    "weights = ?, run_id = ?, created_at = ? WHERE key = ? AND dataset = ? AND "
                    "training = ? AND seed = ? AND status = 'failed'",
                    (*result, *candidate),
                )
            self._db.execute(
                "INSERT OR IGNORE INTO evaluations "
                "(key, dataset, training, seed, status, error, record, metrics, weights, run_id, "
                "created_at) "
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
            rows = self._db.execute("SELECT * FROM evaluations ORDER BY id")
        else:
            rows = self._db.execute(
                "SELECT * FROM evaluations WHERE dataset = ? ORDER BY id", (dataset,)
            )
        evaluations = [_evaluation(r) for r in rows]
        repeats: dict[int, list[StoredRepeat]] = {}
        for row in self._db.execute("SELECT * FROM repeats ORDER BY evaluation_id, repeat"):
            repeats.setdefault(row["evaluation_id"], []).append(_repeat(row))
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
        """Cached cost metrics of an architecture under the given settings (canonical JSON)."""
        row = self._db.execute(
            "SELECT metrics FROM architecture_metrics WHERE key = ? AND settings = ?",
            (key, settings),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put_metrics(self, key: str, settings: str, metrics: dict[str, Any]) -> None:
        """Cache the cost metrics of an architecture."""
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO architecture_metrics VALUES (?, ?, ?)",
                (key, settings, canonical_json(metrics)),
            )

    # --------------------------------------------------------------------------- hardware jobs
    def hardware_job(
        self, run_id: str, backend: str, key: str, shots: int, samples: int = 0
    ) -> HardwareJobRow | None:
        """The re-evaluation of ``key`` from ``run_id`` on ``backend`` at ``shots``, if any.

        ``samples`` is the number of test samples asked for (0: the whole test split). A row
        recorded before samples were part of the key (:data:`LEGACY_SAMPLES`) answers any
        request when no row matches exactly.
        """
        row = self._db.execute(
            "SELECT * FROM hardware_jobs WHERE run_id = ? AND backend = ? AND key = ? AND "
            "shots = ? AND samples IN (?, ?) ORDER BY samples = ? DESC LIMIT 1",
            (run_id, backend, key, shots, samples, LEGACY_SAMPLES, samples),
        ).fetchone()
        return None if row is None else _hardware_row(row)

    def plan_hardware_job(
        self,
        *,
        run_id: str,
        backend: str,
        profile: dict[str, Any],
        key: str,
        evaluation_id: int,
        shots: int,
        samples: int = 0,
    ) -> HardwareJobRow:
        """Write a ``planned`` row (or return the existing one) before anything is submitted.

        ``profile`` must hold no secrets: it is stored as given. ``samples``: test samples
        asked for, 0 for the whole test split.
        """
        existing = self.hardware_job(run_id, backend, key, shots, samples)
        if existing is not None:
            return existing
        now = time.time()
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO hardware_jobs (run_id, backend, profile, key, "
                "evaluation_id, shots, samples, job_id, status, error, result, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'planned', NULL, NULL, ?, ?)",
                (
                    run_id,
                    backend,
                    canonical_json(profile),
                    key,
                    evaluation_id,
                    shots,
                    samples,
                    now,
                    now,
                ),
            )
        row = self.hardware_job(run_id, backend, key, shots, samples)
        assert row is not None
        return row

    def mark_hardware_submitted(self, job_row_id: int, job_id: str) -> None:
        """Store the provider's job id the moment the job is accepted (never pay twice)."""
        with self._transaction():
            self._db.execute(
                "UPDATE hardware_jobs SET job_id = ?, status = 'submitted', updated_at = ? "
                "WHERE id = ?",
                (job_id, time.time(), job_row_id),
            )

    def finish_hardware_job(
        self, job_row_id: int, *, result: dict[str, Any] | None, error: str | None
    ) -> None:
        """Record the outcome: ``done`` with a result, or ``failed`` with an error."""
        status = "done" if result is not None else "failed"
        with self._transaction():
            self._db.execute(
                "UPDATE hardware_jobs SET status = ?, result = ?, error = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    status,
                    None if result is None else canonical_json(result),
                    error,
                    time.time(),
                    job_row_id,
                ),
            )

    def hardware_jobs(self, run_id: str | None = None) -> list[HardwareJobRow]:
        """Hardware re-evaluations (of one run, or all), oldest first."""
        if run_id is None:
            rows = self._db.execute("SELECT * FROM hardware_jobs ORDER BY id")
        else:
            rows = self._db.execute(
                "SELECT * FROM hardware_jobs WHERE run_id = ? ORDER BY id", (run_id,)
            )
        return [_hardware_row(r) for r in rows]

    def evaluation_by_id(self, evaluation_id: int) -> StoredEvaluation | None:
        """The evaluation with this row id."""
        row = self._db.execute(
            "SELECT * FROM evaluations WHERE id = ?", (evaluation_id,)
        ).fetchone()
        return None if row is None else self._with_repeats(_evaluation(row))


def _hardware_row(row: sqlite3.Row) -> HardwareJobRow:
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
        status=row["status"],
        error=row["error"],
        result=None if row["result"] is None else json.loads(row["result"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _run_row(row: sqlite3.Row) -> RunRow:
    return RunRow(
        row["id"],
        row["created_at"],
        row["updated_at"],
        row["status"],
        row["dataset"],
        row["seed"],
        json.loads(row["config"]),
        json.loads(row["versions"]),
    )


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell: assume alive)
    return True


def _repeat(row: sqlite3.Row) -> StoredRepeat:
    return StoredRepeat(
        evaluation_id=row["evaluation_id"],
        repeat=row["repeat"],
        status=row["status"],
        error=row["error"],
        record=None if row["record"] is None else json.loads(row["record"]),
        run_id=row["run_id"],
        created_at=row["created_at"],
    )


def _evaluation(row: sqlite3.Row) -> StoredEvaluation:
    return StoredEvaluation(
        id=row["id"],
        key=row["key"],
        dataset=row["dataset"],
        training=row["training"],
        seed=row["seed"],
        status=row["status"],
        error=row["error"],
        record=None if row["record"] is None else json.loads(row["record"]),
        metrics=json.loads(row["metrics"]),
        run_id=row["run_id"],
        created_at=row["created_at"],
    )
