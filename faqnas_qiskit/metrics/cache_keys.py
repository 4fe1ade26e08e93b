"""Keys and layout of the machine's cost cache: where the file lives, the versions that key a
row, the SQL schema and its columns, and canonical target names.

A row is keyed by genome, target, optimisation level, ``seed_transpiler`` and the versions of the
software that made it (see :mod:`faqnas_qiskit.metrics.cache`, which stores and reads the rows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from faqnas_qiskit import __version__
from faqnas_qiskit.metrics.targets import AER_TARGET, _normalise

__all__ = [
    "CACHE_ENV",
    "CACHE_FORMAT",
    "canonical_target_name",
    "default_cache_path",
    "software_versions",
]

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
