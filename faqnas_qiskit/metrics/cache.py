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
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

from faqnas_qiskit import __version__
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.metrics.flops import quantum_flops_formula
from faqnas_qiskit.metrics.qpu_time import (
    DEFAULT_JOB_OVERHEAD_S,
    DEFAULT_REP_DELAY_S,
)
from faqnas_qiskit.metrics.transpiled import (
    AER_TARGET,
    CircuitCounts,
    TargetInfo,
    TranspiledMetrics,
    _check_level,
    _check_seed,
    _normalise,
    job_qpu_seconds,
)
from faqnas_qiskit.space import Genome

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

CACHE_ENV = "FAQNAS_CACHE"
"""Environment variable the CLI reads for the cache file (``--cache`` overrides it)."""

CACHE_FORMAT = 1
"""Version of the row layout and of what a row means; part of every key."""

_PACKAGES = ("faqnas-qiskit", "qiskit", "qiskit-ibm-runtime", "qiskit-aer", "torch")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS costs (
    genome TEXT NOT NULL,
    target TEXT NOT NULL,
    optimization_level INTEGER NOT NULL,
    seed_transpiler INTEGER NOT NULL,
    versions TEXT NOT NULL,
    quantum_flops INTEGER NOT NULL,
    params_quantum INTEGER NOT NULL,
    params_quantum_effective INTEGER NOT NULL,
    ops TEXT NOT NULL,
    size INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    two_qubit_gates INTEGER NOT NULL,
    two_qubit_depth INTEGER NOT NULL,
    duration_s REAL,
    init_s REAL NOT NULL,
    measure_s REAL NOT NULL,
    rep_delay_s REAL,
    rep_delay_min_s REAL,
    rep_delay_max_s REAL,
    compute_s REAL NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (genome, target, optimization_level, seed_transpiler, versions)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS formula_checks (
    n_features INTEGER NOT NULL,
    n_classes INTEGER NOT NULL,
    versions TEXT NOT NULL,
    holds INTEGER NOT NULL,
    PRIMARY KEY (n_features, n_classes, versions)
) WITHOUT ROWID;
"""

_COLUMNS = (
    "genome",
    "target",
    "optimization_level",
    "seed_transpiler",
    "quantum_flops",
    "params_quantum",
    "params_quantum_effective",
    "ops",
    "size",
    "depth",
    "two_qubit_gates",
    "two_qubit_depth",
    "duration_s",
    "init_s",
    "measure_s",
    "rep_delay_s",
    "rep_delay_min_s",
    "rep_delay_max_s",
    "compute_s",
)


def default_cache_path(environ: Mapping[str, str]) -> Path:
    """Where the machine's cache lives, from the environment given (the CLI passes its own).

    ``$FAQNAS_CACHE`` when set, else ``$XDG_CACHE_HOME/faqnas/metrics.db`` (when set and
    absolute, as the XDG specification asks), else ``$HOME/.cache/faqnas/metrics.db``.

    Args:
        environ: The environment, e.g. ``os.environ``.

    Returns:
        The path of the SQLite file (it may not exist yet).
    """
    explicit = environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "faqnas" / "metrics.db"
    home = environ.get("HOME")
    base = Path(home) if home else Path.home()
    return base / ".cache" / "faqnas" / "metrics.db"


def software_versions() -> dict[str, str]:
    """Installed versions of the packages a cached metric depends on.

    Returns:
        ``{"faqnas-qiskit": ..., "qiskit": ..., "qiskit-ibm-runtime": ..., "qiskit-aer": ...,
        "torch": ...}``; ``"none"`` for a package that is not installed.
    """
    out: dict[str, str] = {}
    for package in _PACKAGES:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = __version__ if package == "faqnas-qiskit" else "none"
    return out


def canonical_target_name(name: str) -> str:
    """The canonical name of a target, without importing the fake provider.

    ``"aer"`` for Aer, else ``fake_<stem>`` as :meth:`TargetInfo.load` names fake backends
    (``"FakeFez"``, ``"fake-fez"`` and ``"fake_fez"`` give ``"fake_fez"``). The name is not
    checked: only a loaded target proves that it exists.
    """
    key = _normalise(name)
    if key == AER_TARGET:
        return AER_TARGET
    return f"fake_{key[4:]}" if key.startswith("fake") else key


def _finite_or_none(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(invalid(name, "a finite number of seconds or None", value, what="field"))
    if value < 0:
        raise ConfigError(invalid(name, "at least 0 seconds", value, what="field"))
    return float(value)


@dataclass(frozen=True)
class CostEntry:
    """Genome-level cost of one network on one target: one row of the cache.

    Attributes:
        genome: Canonical genome key.
        target: Target name (``"aer"`` or a fake IBM backend such as ``"fake_fez"``).
        optimization_level: Preset pass manager level, 0..3.
        seed_transpiler: Seed of the pass manager.
        quantum_flops: F_Q, FLOPs of the quantum layer's forward pass for one sample (formula).
        params_quantum: Circuit weights.
        params_quantum_effective: Circuit weights whose gradient is not identically zero.
        ops: Operation name -> count of the transpiled circuit.
        size: Operations of the transpiled circuit.
        depth: Depth of the transpiled circuit.
        two_qubit_gates: Two-qubit operations.
        two_qubit_depth: Depth counting two-qubit operations only.
        duration_s: One shot of the scheduled circuit without readout, seconds; None untimed.
        init_s: Longest qubit initialisation on the circuit's physical qubits, seconds.
        measure_s: Longest readout on the circuit's physical qubits, seconds.
        rep_delay_s: The target's default repetition delay, seconds; None untimed.
        rep_delay_range_s: The target's allowed (min, max) repetition delay, seconds, or None.
        compute_s: Wall time it took to compute the entry, seconds.
    """

    genome: str
    target: str
    optimization_level: int
    seed_transpiler: int
    quantum_flops: int
    params_quantum: int
    params_quantum_effective: int
    ops: Mapping[str, int]
    size: int
    depth: int
    two_qubit_gates: int
    two_qubit_depth: int
    duration_s: float | None
    init_s: float
    measure_s: float
    rep_delay_s: float | None
    rep_delay_range_s: tuple[float, float] | None
    compute_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("genome", "target"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(invalid(name, "a non-empty string", value, what="field"))
        _check_level(self.optimization_level)
        _check_seed(self.seed_transpiler)
        for name in (
            "quantum_flops",
            "params_quantum",
            "params_quantum_effective",
            "size",
            "depth",
            "two_qubit_gates",
            "two_qubit_depth",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(invalid(name, "an integer of at least 0", value, what="field"))
        if self.params_quantum_effective > self.params_quantum:
            raise ConfigError(
                invalid(
                    "params_quantum_effective",
                    f"at most params_quantum ({self.params_quantum})",
                    self.params_quantum_effective,
                    what="field",
                )
            )
        ops = dict(self.ops)
        if (
            any(
                not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int) or v < 0
                for k, v in ops.items()
            )
            or sum(ops.values()) != self.size
        ):
            raise ConfigError(
                invalid("ops", f"gate counts that add up to size ({self.size})", ops, what="field")
            )
        object.__setattr__(self, "ops", MappingProxyType(dict(sorted(ops.items()))))
        for name in ("duration_s", "rep_delay_s", "compute_s", "init_s", "measure_s"):
            value = _finite_or_none(name, getattr(self, name))
            if value is None and name in ("compute_s", "init_s", "measure_s"):
                raise ConfigError(invalid(name, "a number of seconds", value, what="field"))
            object.__setattr__(self, name, value)
        if self.rep_delay_range_s is not None:
            low, high = (_finite_or_none("rep_delay_range_s", v) for v in self.rep_delay_range_s)
            if low is None or high is None or low > high:
                raise ConfigError(
                    invalid(
                        "rep_delay_range_s",
                        "(min, max) seconds",
                        self.rep_delay_range_s,
                        what="field",
                    )
                )
            object.__setattr__(self, "rep_delay_range_s", (low, high))

    @property
    def timed(self) -> bool:
        """Whether the target has instruction durations (False for Aer)."""
        return self.duration_s is not None

    @property
    def counts(self) -> CircuitCounts:
        """The transpiled circuit's counts, as :meth:`TargetInfo.genome_counts` returns them."""
        return CircuitCounts(
            dict(self.ops),
            self.size,
            self.depth,
            self.two_qubit_gates,
            self.two_qubit_depth,
            self.duration_s,
            self.init_s,
            self.measure_s,
        )

    @property
    def shot_s(self) -> float | None:
        """QPU seconds per sample and shot: repetition delay + init + circuit + readout.

        The slope of :meth:`predicted_qpu_s` in samples × shots; None on an untimed target.
        """
        if self.duration_s is None:
            return None
        delay = DEFAULT_REP_DELAY_S if self.rep_delay_s is None else self.rep_delay_s
        return delay + self.init_s + self.duration_s + self.measure_s

    def transpiled(
        self,
        *,
        shots: int,
        samples: int,
        rep_delay_s: float | None = None,
        overhead_s: float = DEFAULT_JOB_OVERHEAD_S,
        init_qubits: bool = True,
    ) -> TranspiledMetrics:
        """The record :func:`~faqnas_qiskit.metrics.transpiled_metrics` returns, from the row.

        Args:
            shots: Shots per circuit.
            samples: Circuits executed (one per sample).
            rep_delay_s: Repetition delay, seconds; the target's default when None.
            overhead_s: Per-job overhead, seconds.
            init_qubits: Whether each shot starts with a qubit initialisation.

        Returns:
            Counts, duration and predicted QPU seconds (None on an untimed target).
        """
        predicted = job_qpu_seconds(
            self.duration_s,
            init_s=self.init_s,
            measure_s=self.measure_s,
            target_rep_delay_s=self.rep_delay_s,
            rep_delay_range_s=self.rep_delay_range_s,
            shots=shots,
            samples=samples,
            rep_delay_s=rep_delay_s,
            overhead_s=overhead_s,
            init_qubits=init_qubits,
        )
        return TranspiledMetrics(
            target=self.target,
            optimization_level=self.optimization_level,
            seed_transpiler=self.seed_transpiler,
            ops=self.ops,
            size=self.size,
            depth=self.depth,
            two_qubit_gates=self.two_qubit_gates,
            two_qubit_depth=self.two_qubit_depth,
            duration_s=self.duration_s,
            predicted_qpu_s=predicted,
        )

    def predicted_qpu_s(
        self, *, samples: int, shots: int, overhead_s: float = DEFAULT_JOB_OVERHEAD_S
    ) -> float | None:
        """Predicted QPU seconds of one job of ``samples`` circuits × ``shots`` (None untimed)."""
        return self.transpiled(shots=shots, samples=samples, overhead_s=overhead_s).predicted_qpu_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; keys are the attribute names plus ``shot_s``."""
        return {
            "genome": self.genome,
            "target": self.target,
            "optimization_level": self.optimization_level,
            "seed_transpiler": self.seed_transpiler,
            "quantum_flops": self.quantum_flops,
            "params_quantum": self.params_quantum,
            "params_quantum_effective": self.params_quantum_effective,
            "ops": dict(self.ops),
            "size": self.size,
            "depth": self.depth,
            "two_qubit_gates": self.two_qubit_gates,
            "two_qubit_depth": self.two_qubit_depth,
            "duration_s": self.duration_s,
            "init_s": self.init_s,
            "measure_s": self.measure_s,
            "rep_delay_s": self.rep_delay_s,
            "rep_delay_range_s": None
            if self.rep_delay_range_s is None
            else list(self.rep_delay_range_s),
            "shot_s": self.shot_s,
            "compute_s": self.compute_s,
        }


def entry_from_dict(data: Mapping[str, Any]) -> CostEntry:
    """Inverse of :meth:`CostEntry.to_dict` (``shot_s`` is derived and ignored).

    Raises:
        ConfigError: When a key is missing or a value is invalid.
    """
    fields = [n for n in _COLUMNS if n not in ("rep_delay_min_s", "rep_delay_max_s")]
    missing = [n for n in (*fields, "rep_delay_range_s") if n not in data]
    if missing:
        raise ConfigError(
            invalid(
                "entry",
                "an object with the keys of CostEntry.to_dict()",
                f"one without {', '.join(missing)}",
            )
        )
    span = data["rep_delay_range_s"]
    return CostEntry(
        **{n: data[n] for n in fields},
        rep_delay_range_s=None if span is None else (span[0], span[1]),
    )


def compute_entry(
    genome: Genome,
    info: TargetInfo,
    *,
    optimization_level: int,
    seed_transpiler: int,
    circuit: Any = None,
) -> CostEntry:
    """Compute one network's cache row on one target (transpiles unless ``info`` has the counts).

    Args:
        genome: The architecture.
        info: The target, loaded once and reused across genomes.
        optimization_level: Preset pass manager level.
        seed_transpiler: Seed of the pass manager.
        circuit: ``build_circuit(genome).circuit`` when the caller has it already.

    Returns:
        The row.

    Raises:
        ConfigError: If the genome has more qubits than the target.
    """
    from faqnas_qiskit.circuits import effective_weights

    started = time.perf_counter()
    counts = info.genome_counts(
        genome,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        circuit=circuit,
    )
    effective = effective_weights(genome)
    return CostEntry(
        genome=genome.key,
        target=info.name,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        quantum_flops=quantum_flops_formula(genome),
        params_quantum=genome.n_weights,
        params_quantum_effective=effective,
        ops=dict(counts.ops),
        size=counts.size,
        depth=counts.depth,
        two_qubit_gates=counts.two_qubit_gates,
        two_qubit_depth=counts.two_qubit_depth,
        duration_s=counts.duration_s,
        init_s=counts.init_s,
        measure_s=counts.measure_s,
        rep_delay_s=info.rep_delay_s,
        rep_delay_range_s=info.rep_delay_range_s,
        compute_s=time.perf_counter() - started,
    )


def _versions_key(versions: Mapping[str, str], target: str) -> str:
    """The versions a row of ``target`` depends on, as canonical JSON (part of its key)."""
    backend = "qiskit-aer" if target == AER_TARGET else "qiskit-ibm-runtime"
    chosen = {p: versions.get(p, "none") for p in ("faqnas-qiskit", "qiskit", backend)}
    chosen["format"] = str(CACHE_FORMAT)
    return json.dumps(chosen, sort_keys=True, separators=(",", ":"))


def _formula_versions_key(versions: Mapping[str, str]) -> str:
    chosen = {p: versions.get(p, "none") for p in ("faqnas-qiskit", "torch")}
    chosen["format"] = str(CACHE_FORMAT)
    return json.dumps(chosen, sort_keys=True, separators=(",", ":"))


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
