"""The store's file: its schema and migrations, opening it safely, and transactions on it.

The migration to version 5 (metrics stored once) lives with the rows it writes, in
:mod:`~faqnas_qiskit.store.metrics_rows`.

A file is checked before anything is written to it: a path that cannot hold a database, a SQLite
file of another application or a newer schema is refused and left as it was.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TypeAlias

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.store.errors import StoreError
from faqnas_qiskit.store.metrics_rows import (
    keep_metrics,
    metrics_reference,
    metrics_stored_once,
)

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

# evaluations refer to their architecture's metrics (DESIGN §7: stored once) instead of a copy
_MIGRATIONS[5] = metrics_stored_once

LEGACY_SAMPLES = -1
"""``samples`` of a hardware job recorded by schema version 2, which did not key on it."""


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
