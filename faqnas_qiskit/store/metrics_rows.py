"""Architecture metrics stored once: the rows evaluations refer to, and the migration to them.

Schema version 5 (DESIGN §7): an evaluation row names its architecture's cost metrics by
``(key, metrics_settings)`` in ``architecture_metrics`` instead of carrying a copy.
:func:`keep_metrics` and :func:`metrics_reference` pick or write that row;
:func:`metrics_stored_once` migrates a version 4 store to it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.store.errors import StoreError

__all__ = ["keep_metrics", "metrics_reference", "metrics_stored_once"]

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


def metrics_stored_once(db: sqlite3.Connection) -> None:
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
