"""A persistent, machine-wide cache of genome-level cost metrics (DESIGN §5.2).

Every genome-level metric (F_Q, effective quantum weights, transpiled counts, two-qubit depth,
schedule, predicted QPU seconds per sample and shot) depends on the genome and the target only:
not on the dataset's rows, the store or the run. :class:`CostCache` keeps them in one SQLite file
per machine (by default ``$XDG_CACHE_HOME/faqnas/metrics.db`` or ``~/.cache/faqnas/metrics.db``,
see :func:`default_cache_path`), shared by every store and every process.

What a row promises:

* **Key**: canonical genome key, target name, optimisation level, ``seed_transpiler`` and the
  versions of the software that made it (faqnas-qiskit, qiskit, and qiskit-ibm-runtime for fake
  IBM targets or qiskit-aer for Aer, plus :data:`CACHE_FORMAT`). A row made by other versions is
  never served: after an upgrade everything is computed afresh.
* **Exactness**: a row holds the transpiled circuit's counts as computed (floats stored as IEEE
  doubles), so :meth:`CostEntry.transpiled` equals
  :func:`~faqnas_qiskit.metrics.transpiled_metrics` exactly, for any shots and samples.
* **Immutability**: a row, once written, is never changed (the same key always holds the same
  values: the transpiler is seeded).
* **Concurrency**: WAL journal and a busy timeout; any number of processes may read and write at
  once. Each :meth:`CostCache.put` is its own transaction, so a process killed at any moment loses
  at most the entry it was writing.
* **Never fatal**: an unreadable, unwritable or corrupt file turns the cache off with one warning
  line (``logging``); lookups then miss and writes are dropped, so the caller computes instead.

F_C and the parameter counts follow from the layer widths by formula and are not stored.

The keys, schema and versions are in :mod:`faqnas_qiskit.metrics.cache_keys`, the row record
:class:`CostEntry` in :mod:`faqnas_qiskit.metrics.cost_entry`; both are re-exported here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.metrics.cache_keys import (
    _COLUMNS,
    _SCHEMA,
    CACHE_ENV,
    CACHE_FORMAT,
    _formula_versions_key,
    _versions_key,
    canonical_target_name,
    default_cache_path,
    software_versions,
)
from faqnas_qiskit.metrics.cost_entry import CostEntry, compute_entry, entry_from_dict

__all__ = [
    "CACHE_ENV",
    "CACHE_FORMAT",
    "CostCache",
    "CostEntry",
    "canonical_target_name",
    "compute_entry",
    "default_cache_path",
    "entry_from_dict",
    "software_versions",
]

log = logging.getLogger(__name__)


def _row(entry: CostEntry, versions: str, created_at: float) -> tuple[Any, ...]:
    low, high = entry.rep_delay_range_s if entry.rep_delay_range_s is not None else (None, None)
    return (
        entry.genome,
        entry.target,
        entry.optimization_level,
        entry.seed_transpiler,
        versions,
        entry.quantum_flops,
        entry.params_quantum,
        entry.params_quantum_effective,
        json.dumps(dict(entry.ops), sort_keys=True),
        entry.size,
        entry.depth,
        entry.two_qubit_gates,
        entry.two_qubit_depth,
        entry.duration_s,
        entry.init_s,
        entry.measure_s,
        entry.rep_delay_s,
        low,
        high,
        entry.compute_s,
        created_at,
    )


def _entry(row: sqlite3.Row) -> CostEntry:
    low, high = row["rep_delay_min_s"], row["rep_delay_max_s"]
    return CostEntry(
        genome=row["genome"],
        target=row["target"],
        optimization_level=row["optimization_level"],
        seed_transpiler=row["seed_transpiler"],
        quantum_flops=row["quantum_flops"],
        params_quantum=row["params_quantum"],
        params_quantum_effective=row["params_quantum_effective"],
        ops=json.loads(row["ops"]),
        size=row["size"],
        depth=row["depth"],
        two_qubit_gates=row["two_qubit_gates"],
        two_qubit_depth=row["two_qubit_depth"],
        duration_s=row["duration_s"],
        init_s=row["init_s"],
        measure_s=row["measure_s"],
        rep_delay_s=row["rep_delay_s"],
        rep_delay_range_s=None if low is None or high is None else (low, high),
        compute_s=row["compute_s"],
    )


class CostCache:
    """The machine's cache of genome-level costs: a SQLite file (see the module docstring).

    Opening never raises for a bad file: an unreadable, unwritable or corrupt cache logs one
    warning and turns itself off (:attr:`usable` is False); lookups then miss and writes are
    dropped. The same happens if the file goes bad later. One connection per instance; create
    one per process (not thread-safe).

    Args:
        path: The SQLite file; its folder is created when missing.
        versions: Package versions that key the rows (default: the installed ones, see
            :func:`software_versions`); pass others to simulate an upgrade.
        timeout_s: How long a write waits for another writer's lock, seconds.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        versions: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.versions: Mapping[str, str] = MappingProxyType(
            dict(software_versions() if versions is None else versions)
        )
        self.timeout_s = timeout_s
        self.problem: str | None = None
        self._db: sqlite3.Connection | None = None
        self._keys: dict[str, str] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            self._db = db
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            self._disable(exc)

    # ------------------------------------------------------------------------------ state
    @property
    def usable(self) -> bool:
        """Whether the file can be read and written (False after any failure)."""
        return self._db is not None

    def _disable(self, exc: BaseException) -> None:
        self.problem = f"{type(exc).__name__}: {exc}"
        log.warning(
            "metrics cache %s is unusable (%s); computing metrics without it.",
            self.path,
            self.problem,
        )
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    def close(self) -> None:
        """Close the connection (the instance then behaves as unusable, without a warning)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> CostCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def versions_key(self, target: str) -> str:
        """The versions part of the key of ``target``'s rows."""
        key = self._keys.get(target)
        if key is None:
            key = self._keys[target] = _versions_key(self.versions, target)
        return key

    # ------------------------------------------------------------------------------ reads
    def get(
        self, genome: str, target: str, optimization_level: int, seed_transpiler: int
    ) -> CostEntry | None:
        """The row of ``genome`` (canonical key) on ``target``, or None (miss or unusable)."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT * FROM costs WHERE genome = ? AND target = ? AND optimization_level = ? "
                "AND seed_transpiler = ? AND versions = ?",
                (genome, target, optimization_level, seed_transpiler, self.versions_key(target)),
            ).fetchone()
            return None if row is None else _entry(row)
        except sqlite3.Error as exc:
            self._disable(exc)
        except ConfigError as exc:  # a row that no longer validates: recompute, say so once
            self._disable(exc)
        return None

    def has_target(self, target: str) -> bool:
        """Whether any row of ``target`` exists under the current versions."""
        if self._db is None:
            return False
        try:
            row = self._db.execute(
                "SELECT 1 FROM costs WHERE target = ? AND versions = ? LIMIT 1",
                (target, self.versions_key(target)),
            ).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return False
        return row is not None

    def keys(self, target: str, optimization_level: int, seed_transpiler: int) -> set[str]:
        """Genome keys with a row on ``target`` under the current versions."""
        if self._db is None:
            return set()
        try:
            rows = self._db.execute(
                "SELECT genome FROM costs WHERE target = ? AND optimization_level = ? AND "
                "seed_transpiler = ? AND versions = ?",
                (target, optimization_level, seed_transpiler, self.versions_key(target)),
            ).fetchall()
        except sqlite3.Error as exc:
            self._disable(exc)
            return set()
        return {row[0] for row in rows}

    def entries(
        self, target: str, optimization_level: int, seed_transpiler: int
    ) -> list[CostEntry]:
        """Every row of ``target`` under the current versions, sorted by genome key."""
        if self._db is None:
            return []
        try:
            rows = self._db.execute(
                "SELECT * FROM costs WHERE target = ? AND optimization_level = ? AND "
                "seed_transpiler = ? AND versions = ? ORDER BY genome",
                (target, optimization_level, seed_transpiler, self.versions_key(target)),
            ).fetchall()
            return [_entry(row) for row in rows]
        except (sqlite3.Error, ConfigError) as exc:
            self._disable(exc)
            return []

    def targets(self) -> list[tuple[str, int, int, int]]:
        """(target, optimisation level, seed, rows) of every atlas under the current versions."""
        if self._db is None:
            return []
        try:
            rows = self._db.execute(
                "SELECT target, optimization_level, seed_transpiler, versions, COUNT(*) "
                "FROM costs GROUP BY target, optimization_level, seed_transpiler, versions "
                "ORDER BY target, optimization_level, seed_transpiler"
            ).fetchall()
        except sqlite3.Error as exc:
            self._disable(exc)
            return []
        return [
            (row[0], row[1], row[2], row[4]) for row in rows if row[3] == self.versions_key(row[0])
        ]

    def formula_check(self, n_features: int, n_classes: int) -> bool | None:
        """Stored outcome of the FLOPs formula check at these widths, or None."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT holds FROM formula_checks WHERE n_features = ? AND n_classes = ? AND "
                "versions = ?",
                (n_features, n_classes, _formula_versions_key(self.versions)),
            ).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return None
        return None if row is None else bool(row[0])

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound file, else what is wrong."""
        if self._db is None:
            return f"unusable: {self.problem or 'closed'}"
        try:
            rows = self._db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.Error as exc:
            return f"{type(exc).__name__}: {exc}"
        return "; ".join(str(row[0]) for row in rows)

    # ----------------------------------------------------------------------------- writes
    def put(self, entry: CostEntry) -> None:
        """Store one row in its own transaction (dropped when the cache is unusable)."""
        self.put_many((entry,))

    def put_many(self, entries: Iterable[CostEntry]) -> None:
        """Store rows in one transaction; rows already present are kept as they are."""
        if self._db is None:
            return
        now = time.time()
        rows = [_row(e, self.versions_key(e.target), now) for e in entries]
        if not rows:
            return
        placeholders = ", ".join("?" * (len(_COLUMNS) + 2))
        try:
            with self._transaction():
                self._db.executemany(f"INSERT OR IGNORE INTO costs VALUES ({placeholders})", rows)
        except sqlite3.Error as exc:
            self._disable(exc)

    def put_formula_check(self, n_features: int, n_classes: int, holds: bool) -> None:
        """Store the outcome of the FLOPs formula check at these widths."""
        if self._db is None:
            return
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT OR REPLACE INTO formula_checks VALUES (?, ?, ?, ?)",
                    (n_features, n_classes, _formula_versions_key(self.versions), int(holds)),
                )
        except sqlite3.Error as exc:
            self._disable(exc)

    def _transaction(self) -> _Transaction:
        assert self._db is not None
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
