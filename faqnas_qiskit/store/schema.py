"""The store's file: its schema and migrations, opening it safely, and transactions on it.

A file is checked before anything is written to it: a path that cannot hold a database, a SQLite
file of another application or a newer schema is refused and left as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TypeAlias

from faqnas_qiskit.errors import FaqnasError, invalid

__all__ = [
    "APPLICATION_ID",
    "LEGACY_SAMPLES",
    "SCHEMA_VERSION",
    "Database",
    "StoreError",
    "check_and_migrate",
    "keep_metrics",
    "metrics_reference",
    "open_database",
]

APPLICATION_ID = 0x46514E53  # "FQNS"
SCHEMA_VERSION = 5

Migration: TypeAlias = "str | Callable[[sqlite3.Connection], None]"
"""One step of the schema: SQL statements (``;``-separated) or a function of the connection,
run inside the step's transaction."""

_MIGRATIONS: dict[int, Migration] = {
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

_EVALUATIONS_V5 = """
    CREATE TABLE evaluations_v5 (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        dataset TEXT NOT NULL,
        training TEXT NOT NULL,
        seed INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error TEXT,
        record TEXT,
        metrics_settings TEXT NOT NULL,
        weights BLOB,
        run_id TEXT,
        created_at REAL NOT NULL,
        UNIQUE (key, dataset, training, seed),
        FOREIGN KEY (key, metrics_settings) REFERENCES architecture_metrics (key, settings)
    )
"""


def _canonical(value: object) -> str:
    """Sorted, compact JSON, as ``rows.canonical_json`` writes every stored value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _loads(text: str, what: str) -> object:
    """A stored JSON value being migrated.

    Raises:
        StoreError: When it is not JSON (a row written by hand); the migration is undone.
    """
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            invalid(
                what,
                "JSON",
                f"{text!r:.80} ({exc})",
                "The row was written by hand or by another program; fix or delete it. The "
                "store was left at its version.",
                what="stored value",
            )
        ) from exc


def _digest_settings(metrics: str) -> str:
    """The ``settings`` of metrics stored without known settings: their own digest, a key no
    canonical JSON of real settings has."""
    return _canonical({"sha256": hashlib.sha256(metrics.encode()).hexdigest()})


def keep_metrics(db: sqlite3.Connection, key: str, settings: str, metrics: str) -> bool:
    """Write ``metrics`` (canonical JSON) of ``key`` under ``settings`` unless a row is there
    (first write wins); True when that row holds these metrics.

    The same value kept under its digest until now (settings unknown to its writer) is folded
    into this row: the evaluations that referred to it refer to this one, and it is deleted,
    so that the value stays stored once.
    """
    db.execute(
        "INSERT OR IGNORE INTO architecture_metrics (key, settings, metrics) VALUES (?, ?, ?)",
        (key, settings, metrics),
    )
    row = db.execute(
        "SELECT metrics FROM architecture_metrics WHERE key = ? AND settings = ?",
        (key, settings),
    ).fetchone()
    if row is None or row[0] != metrics:
        return False
    digest = _digest_settings(metrics)
    if digest != settings:
        db.execute(
            "UPDATE evaluations SET metrics_settings = ? WHERE key = ? AND metrics_settings = ?",
            (settings, key, digest),
        )
        db.execute("DELETE FROM architecture_metrics WHERE key = ? AND settings = ?", (key, digest))
    return True


def metrics_reference(db: sqlite3.Connection, key: str, metrics: str, settings: str | None) -> str:
    """The ``settings`` of the ``architecture_metrics`` row of ``key`` that holds ``metrics``
    (canonical JSON), written now when no row holds them: what an evaluation row refers to.

    ``settings`` (canonical JSON of what the metrics depend on, as the search's metrics cache
    keys them) is used when given and its row holds these metrics (see :func:`keep_metrics`).
    Otherwise an existing row of ``key`` with equal metrics is used, or a new row keyed by the
    metrics' own digest (``{"sha256": ...}``): metrics whose settings are unknown (computed by
    a caller's own provider, or stored before schema version 5) are kept once per distinct
    value, until a writer that knows their settings folds them into that row.
    """
    if settings is not None and keep_metrics(db, key, settings, metrics):
        return settings
    row = db.execute(
        "SELECT settings FROM architecture_metrics WHERE key = ? AND metrics = ? "
        "ORDER BY settings LIMIT 1",
        (key, metrics),
    ).fetchone()
    if row is not None:
        return str(row[0])
    digest = _digest_settings(metrics)
    db.execute(
        "INSERT INTO architecture_metrics (key, settings, metrics) VALUES (?, ?, ?)",
        (key, digest, metrics),
    )
    return digest


def _without_metrics(record: str | None, metrics: str) -> str | None:
    """A stored EvaluationRecord's JSON without its copy of the row's metrics.

    Records written before schema version 5 carry the metrics of their evaluation row (the
    same value); that copy is dropped. A record whose copy differs (written by hand) is kept
    as it is, so that no number is lost.
    """
    if record is None:
        return None
    data = _loads(record, "record")
    if (
        not isinstance(data, dict)
        or "metrics" not in data
        or _canonical(data["metrics"]) != metrics
    ):
        return record
    del data["metrics"]
    return _canonical(data)


def _metrics_stored_once(db: sqlite3.Connection) -> None:
    """Version 5: an evaluation refers to its architecture's metrics instead of a copy.

    Each row's metrics go to ``architecture_metrics`` (an equal row of its key is reused, see
    :func:`metrics_reference`), the row keeps their ``metrics_settings``, and the copies inside
    the stored records of the row and its repeats are dropped. Every number is kept; it runs
    in the step's one transaction, so an interrupted migration leaves version 4 as it was.
    """
    db.execute(_EVALUATIONS_V5)
    rows = db.execute(
        "SELECT id, key, dataset, training, seed, status, error, record, metrics, weights, "
        "run_id, created_at FROM evaluations ORDER BY id"
    ).fetchall()
    for row in rows:
        (eid, key, dataset, training, seed, status, error, record, metrics, *rest) = tuple(row)
        weights, run_id, created_at = rest
        canonical = _canonical(_loads(metrics, "metrics"))
        settings = metrics_reference(db, key, canonical, None)
        db.execute(
            "INSERT INTO evaluations_v5 (id, key, dataset, training, seed, status, error, record, "
            "metrics_settings, weights, run_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                eid,
                key,
                dataset,
                training,
                seed,
                status,
                error,
                _without_metrics(record, canonical),
                settings,
                weights,
                run_id,
                created_at,
            ),
        )
        for repeat, stored in db.execute(
            "SELECT repeat, record FROM repeats WHERE evaluation_id = ?", (eid,)
        ).fetchall():
            kept = _without_metrics(stored, canonical)
            if kept != stored:
                db.execute(
                    "UPDATE repeats SET record = ? WHERE evaluation_id = ? AND repeat = ?",
                    (kept, eid, repeat),
                )
    db.execute("DROP TABLE evaluations")
    db.execute("ALTER TABLE evaluations_v5 RENAME TO evaluations")
    broken = db.execute("PRAGMA foreign_key_check(evaluations)").fetchall()
    if broken:  # cannot happen: every row's metrics were written above
        raise StoreError(
            f"Every evaluation must refer to stored metrics after migration. Got {len(broken)} "
            "that do not; the store was left at version 4."
        )


# evaluations refer to their architecture's metrics (DESIGN §7: stored once) instead of a copy
_MIGRATIONS[5] = _metrics_stored_once

LEGACY_SAMPLES = -1
"""``samples`` of a hardware job recorded by schema version 2, which did not key on it."""


class StoreError(FaqnasError):
    """The store file is missing, not a faqnas database, too new, or corrupt."""


def open_database(path: str | Path, *, create: bool) -> tuple[Path, sqlite3.Connection]:
    """Check ``path`` and open it (not yet migrated), as ``ResultsStore`` does.

    Raises:
        StoreError: Missing file (``create=False``), a folder, a device, a read-only file, or
            a file SQLite cannot open.
    """
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
    path = Path(path)
    exists = path.exists()
    if exists and not path.is_dir() and not stat.S_ISREG(path.stat().st_mode):
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
            f"The store must be an existing faqnas database. Got {str(path)!r}, which "
            "does not exist. Run 'faqnas search' first, or pass --store PATH (or set "
            "FAQNAS_STORE)."
        )
    if exists and path.is_dir():
        raise StoreError(
            f"The store must be a file. Got the directory {str(path)!r} instead. "
            "Pass --store DIR/faqnas.db."
        )
    if not exists and not path.parent.exists():
        raise StoreError(
            f"The store's folder must exist. Got {str(path.parent)!r} instead. "
            "Create it or pass another --store."
        )
    folder = path.parent
    if exists and not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
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
        db = sqlite3.connect(
            f"file:{path.resolve()}?mode={mode}",
            uri=True,
            timeout=30,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise StoreError(
            f"The store must be a readable SQLite file. Got {str(path)!r}: {exc}. "
            "Check the path and its permissions."
        ) from exc
    db.row_factory = sqlite3.Row
    return path, db


def check_and_migrate(
    db: sqlite3.Connection,
    path: Path,
    transaction: Callable[[], AbstractContextManager[None]],
) -> None:
    """Validate before writing anything; only then switch to WAL and migrate.

    Raises:
        StoreError: Not a faqnas database, or a newer schema (the file is not changed).
    """
    try:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"The store must be a faqnas SQLite database. Got {str(path)!r}, which is "
            f"not a database ({exc}). Pass another --store; this file was not changed."
        ) from exc
    if app_id != APPLICATION_ID and not (app_id == 0 and tables == 0):
        raise StoreError(
            f"The store must be a faqnas database. Got {str(path)!r}, a SQLite file of "
            "another application. Pass another --store; this file was not changed."
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The store's schema must be version {SCHEMA_VERSION} or older. Got version "
            f"{version} in {str(path)!r}, written by a newer faqnas. Upgrade "
            "faqnas-qiskit; this file was not changed."
        )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    # off while migrating (it cannot change inside a transaction): a step that rebuilds a table
    # others refer to drops the old one first, and checks its own references instead
    db.execute("PRAGMA foreign_keys=OFF")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with transaction():
            step = _MIGRATIONS[target]
            if isinstance(step, str):
                for statement in step.split(";"):
                    if statement.strip():
                        db.execute(statement)
            else:
                step(db)
            db.execute(f"PRAGMA user_version = {target}")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA foreign_keys=ON")


class Database:
    """An open, checked and migrated store file, and transactions on it.

    Args:
        path: Database file.
        create: Create the file when missing; otherwise a missing file is an error.

    Raises:
        StoreError: See :func:`open_database` and :func:`check_and_migrate`.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path, self._db = open_database(path, create=create)
        try:
            check_and_migrate(self._db, self.path, self._transaction)
        except BaseException:
            self._db.close()
            raise

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
