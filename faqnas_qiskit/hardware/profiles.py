"""Backend profiles: one TOML file per named target (DESIGN §8).

A profile says which adapter runs the re-evaluation (``aer``: ideal simulation, ``fake``: noisy
simulation from a fake IBM backend's calibration snapshot, ``ibm_runtime``: IBM Quantum hardware),
on which backend, at how many shots, with which transpiler optimisation level, and within which
limits. The shipped profiles are package data (``faqnas_qiskit/hardware/backends/*.toml``, read
with :mod:`importlib.resources`, so they work from a wheel and from an editable install); the
top-level ``backends/`` folder of the repository holds the same files for users to read and copy.
A user's own profile is any ``.toml`` file with the same fields.

Example (``backends/ibm_fez.toml``)::

    name = "ibm_fez"
    adapter = "ibm_runtime"
    backend = "ibm_fez"
    snapshot = "fake_fez"
    shots = 1024
    optimization_level = 1

    [limits]
    max_qubits = 156
    max_qpu_seconds = 60.0

Profiles hold no secrets: the IBM token never goes in a profile (the CLI reads it from the
environment or a saved Qiskit account).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.hardware.errors import ProfileError
from faqnas_qiskit.limits import (
    MAX_SHOTS,
    Bound,
    Choice,
    Fields,
    Instance,
    Relation,
    Text,
    check,
    check_fields,
    check_rules,
)
from faqnas_qiskit.store import TextEnum

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "ADAPTERS",
    "LIMITS_FIELDS",
    "MAX_SHOTS",
    "PROFILE_FIELDS",
    "PROFILE_RULES",
    "AdapterKind",
    "BackendProfile",
    "Limits",
    "list_profiles",
    "load_profile",
    "profile_from_mapping",
    "profile_names",
]


class AdapterKind(TextEnum):
    """Which adapter runs a profile's re-evaluations (a profile's ``adapter`` field)."""

    AER = "aer"
    """Ideal shot-based simulation with Qiskit Aer."""
    FAKE = "fake"
    """Noisy simulation of a fake IBM backend's calibration snapshot."""
    IBM_RUNTIME = "ibm_runtime"
    """IBM Quantum hardware through Qiskit Runtime."""


#: Adapter kinds: ideal Aer simulation, noisy simulation of a fake IBM backend, IBM hardware.
ADAPTERS: tuple[str, ...] = tuple(kind.value for kind in AdapterKind)


_PACKAGE = "faqnas_qiskit.hardware"
_FOLDER = "backends"
_NAME = r"[a-z0-9][a-z0-9_.-]*"
_TOP_KEYS = frozenset(
    {
        "name",
        "description",
        "adapter",
        "backend",
        "snapshot",
        "shots",
        "optimization_level",
        "seed_transpiler",
        "resilience_level",
        "rep_delay_s",
        "job_overhead_s",
        "limits",
    }
)
_LIMIT_KEYS = frozenset({"max_qubits", "max_qpu_seconds"})


def _where(source: str) -> str:
    return f"field of {source}" if source else "field of the profile"


_FIX = "Fix it in the profile (see 'faqnas backends' for the shipped ones)."
_NAMED = "a lower-case name of letters, digits, '_', '-' or '.'"

LIMITS_FIELDS = Fields.of(
    "Limits",
    _FIX,
    # no architecture of the space has more than 10 qubits; 1,000 covers every device while
    # refusing nonsense such as 100000
    Bound.count("limits.max_qubits", low=1, high=1000),
    Bound.seconds("limits.max_qpu_seconds", positive=True, optional=True),
)
"""The declared constraints of a profile's ``[limits]`` table."""


def _check_limits(max_qubits: object, max_qpu_seconds: object, source: str) -> float | None:
    """Check a ``[limits]`` table's values; its QPU seconds as a float (or None)."""
    where = source or "the profile"
    check("limits.max_qubits", max_qubits, fields=LIMITS_FIELDS, where=where, error=ProfileError)
    seconds = check(
        "limits.max_qpu_seconds",
        max_qpu_seconds,
        fields=LIMITS_FIELDS,
        where=where,
        error=ProfileError,
    )
    return None if seconds is None else float(seconds)


@dataclass(frozen=True)
class Limits:
    """What a re-evaluation on a profile may use (frozen, validated).

    Attributes:
        max_qubits: Largest architecture (qubits n) the profile accepts.
        max_qpu_seconds: Largest predicted QPU time, seconds, that one re-evaluation call may
            submit (the sum over the jobs it submits), or None for no limit. Applies to every
            profile with a device target (``fake`` rehearses the ``ibm_runtime`` budget).
    """

    max_qubits: int = 10
    max_qpu_seconds: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "max_qpu_seconds", _check_limits(self.max_qubits, self.max_qpu_seconds, "")
        )


PROFILE_FIELDS = Fields.of(
    "BackendProfile",
    _FIX,
    Text("name", phrase=_NAMED, pattern=_NAME),
    Choice(
        "adapter",
        ADAPTERS,
        "aer: ideal simulation; fake: noisy simulation of a fake IBM backend; "
        "ibm_runtime: IBM Quantum hardware.",
    ),
    Text("backend", phrase=_NAMED, pattern=_NAME),
    Text("snapshot", phrase=_NAMED, pattern=_NAME, optional=True),
    Bound.count("shots", low=1, high=MAX_SHOTS),
    Bound.count("optimization_level", high=3),
    Bound.count("seed_transpiler"),
    Bound.count("resilience_level", high=2),
    Text("description", phrase="a string", empty=True),
    Bound.seconds("rep_delay_s", optional=True),
    Bound.seconds("job_overhead_s"),
    Instance("limits", Limits, "Give it as a [limits] table."),
)
"""The declared constraints of a :class:`BackendProfile`'s fields."""

PROFILE_RULES: tuple[Relation[BackendProfile], ...] = (
    Relation(
        "backend",
        holds=lambda p: p.adapter != AdapterKind.AER or p.backend == "aer_simulator",
        rule=lambda p: "'aer_simulator' for the aer adapter",
        value=lambda p: p.backend,
        fix='Set backend = "aer_simulator", or another adapter.',
        what="field",
        breaks={"adapter": "aer", "backend": "ibm_fez"},
    ),
    Relation(
        "backend",
        holds=lambda p: p.adapter != AdapterKind.FAKE or p.backend.startswith("fake_"),
        rule=lambda p: "a fake IBM backend name such as 'fake_fez' for the fake adapter",
        value=lambda p: p.backend,
        fix="Name a fake backend (see qiskit_ibm_runtime.fake_provider), or another adapter.",
        what="field",
        breaks={"adapter": "fake", "backend": "ibm_fez"},
    ),
    Relation(
        "snapshot",
        holds=lambda p: (
            p.snapshot is None
            or (p.adapter == AdapterKind.IBM_RUNTIME and p.snapshot.startswith("fake_"))
        ),
        rule=lambda p: "a fake backend name such as 'fake_fez', and only on ibm_runtime profiles",
        value=lambda p: p.snapshot,
        fix="Remove it, or name the device's fake backend on an ibm_runtime profile.",
        what="field",
        breaks={"adapter": "aer", "backend": "aer_simulator", "snapshot": "fake_fez"},
    ),
)
"""The rules between a :class:`BackendProfile`'s fields."""


@dataclass(frozen=True)
class BackendProfile:
    """A named re-evaluation target (frozen, validated on creation).

    Attributes:
        name: Profile name (the file's stem for shipped profiles), e.g. ``"fake_fez"``.
        adapter: ``"aer"``, ``"fake"`` or ``"ibm_runtime"`` (an :class:`AdapterKind` once
            created).
        backend: Backend name: ``"aer_simulator"`` (aer), a fake backend such as ``"fake_fez"``
            (fake), or an IBM Quantum backend such as ``"ibm_fez"`` (ibm_runtime).
        shots: Shots per circuit execution (each test sample is one execution).
        optimization_level: Preset pass manager optimisation level, 0 to 3 (default 1, as the
            search-time metrics, so the circuit that runs is the one whose cost was ranked).
        seed_transpiler: Transpiler seed, so the ISA circuit (and its cost) is reproducible
            (default 0, as the search-time metrics).
        description: One line for ``faqnas backends``.
        snapshot: For ``ibm_runtime``: a fake backend with the device's calibration snapshot,
            used as the target of an offline dry run (no credentials needed), or None.
        resilience_level: For ``ibm_runtime``: the estimator's resilience level (0: raw
            expectation values, as the simulators; 1: plus measurement-error mitigation, whose
            extra shots the predicted QPU seconds do not include).
        rep_delay_s: Delay between shots, seconds, for the QPU-time prediction; None takes the
            backend's ``default_rep_delay`` (250 µs when the backend does not say).
        job_overhead_s: Fixed QPU seconds per job in the prediction; default IBM's documented
            "approximately 2s per sub-job" (``faqnas_qiskit.metrics.DEFAULT_JOB_OVERHEAD_S``).
        limits: Qubit and QPU-time limits.
        source: Where the profile was read from (for messages); not compared, not stored.
    """

    name: str
    adapter: AdapterKind
    backend: str
    shots: int = 1024
    optimization_level: int = 1
    seed_transpiler: int = 0
    description: str = ""
    snapshot: str | None = None
    resilience_level: int = 0
    rep_delay_s: float | None = None
    job_overhead_s: float = 2.0
    limits: Limits = field(default_factory=Limits)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self.source or "the profile"
        checked = check_fields(PROFILE_FIELDS, self, where=where, error=ProfileError)
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "adapter", AdapterKind(self.adapter))
        check_rules(self, PROFILE_RULES, where=where, error=ProfileError)

    @property
    def is_hardware(self) -> bool:
        """Whether jobs run on (and bill) an IBM Quantum QPU."""
        return self.adapter == AdapterKind.IBM_RUNTIME

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with every hardware job; holds no secrets)."""
        out = asdict(self)
        out.pop("source")
        out["adapter"] = str(self.adapter)
        return out


def profile_from_mapping(
    data: Mapping[str, Any], *, source: str = "", name: str = ""
) -> BackendProfile:
    """Build a profile from parsed TOML (or :meth:`BackendProfile.to_dict` output).

    Args:
        data: The profile's fields; ``limits`` as a nested mapping.
        source: Where it came from, for error messages.
        name: Default for a missing ``name`` (a file's stem).

    Raises:
        ProfileError: Unknown keys or a field outside its rules (the message names the field).
    """
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ProfileError(
            invalid(
                unknown[0],
                f"one of the known fields ({', '.join(sorted(_TOP_KEYS))})",
                unknown[0],
                "Remove or rename it.",
                what=_where(source),
            )
        )
    fields = dict(data)
    limits = fields.pop("limits", {})
    if not isinstance(limits, Mapping):
        raise ProfileError(invalid("limits", "a [limits] table", limits, what=_where(source)))
    unknown = sorted(set(limits) - _LIMIT_KEYS)
    if unknown:
        raise ProfileError(
            invalid(
                f"limits.{unknown[0]}",
                f"one of limits.{', limits.'.join(sorted(_LIMIT_KEYS))}",
                unknown[0],
                "Remove or rename it.",
                what=_where(source),
            )
        )
    for required in ("adapter", "backend"):
        if required not in fields:
            raise ProfileError(
                invalid(required, "present", None, f"Add {required} = ... .", what=_where(source))
            )
    fields.setdefault("name", name)
    _check_limits(limits.get("max_qubits", 10), limits.get("max_qpu_seconds"), source)
    return BackendProfile(limits=Limits(**limits), source=source, **fields)


def _parse(text: str, source: str, stem: str) -> BackendProfile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(
            f"The file of {source} must be valid TOML. Got a syntax error instead ({exc}). "
            "Fix the file."
        ) from None
    return profile_from_mapping(data, source=source, name=stem)


def _shipped_files() -> dict[str, Any]:
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    return {
        entry.name[: -len(".toml")]: entry
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def _shipped(stem: str) -> str:
    return f"the shipped profile {stem!r}"


def profile_names() -> tuple[str, ...]:
    """Names of the shipped profiles, sorted."""
    return tuple(sorted(_shipped_files()))


def list_profiles() -> tuple[BackendProfile, ...]:
    """The shipped profiles, sorted by name.

    Raises:
        ProfileError: If a shipped file is broken (a packaging bug).
    """
    files = _shipped_files()
    out = []
    for stem in sorted(files):
        profile = _parse(files[stem].read_text(encoding="utf-8"), _shipped(stem), stem)
        if profile.name != stem:
            raise ProfileError(
                invalid(
                    "name", f"{stem!r} (the file's stem)", profile.name, what=_where(_shipped(stem))
                )
            )
        out.append(profile)
    return tuple(out)


def _looks_like_path(value: str | os.PathLike[str]) -> bool:
    if not isinstance(value, str):
        return True
    return value.endswith(".toml") or "/" in value or os.sep in value


def load_profile(name_or_path: str | os.PathLike[str]) -> BackendProfile:
    """A shipped profile by name, or a user's own profile file.

    Args:
        name_or_path: A shipped name (``"aer"``, ``"fake_fez"``, ``"ibm_fez"``, ...; case and
            ``-``/``_`` are forgiven) or a path to a ``.toml`` file.

    Returns:
        The validated profile.

    Raises:
        ProfileError: Unknown name, missing or unreadable file, invalid TOML, or a bad field
            (the message names it).
    """
    if _looks_like_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise ProfileError(
                invalid(
                    "backend",
                    "a shipped profile name or an existing .toml file",
                    str(path),
                    f"Shipped profiles: {', '.join(profile_names())} (see 'faqnas backends').",
                    what="option",
                )
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(
                f"The profile {str(path)!r} must be a readable UTF-8 file. Got {exc} instead."
            ) from None
        return _parse(text, f"the profile {str(path)!r}", path.stem)
    name = str(name_or_path).strip().lower().replace("-", "_")
    files = _shipped_files()
    if name not in files:
        raise ProfileError(
            invalid(
                "backend",
                f"one of {', '.join(sorted(files))}, or a path to a .toml profile",
                str(name_or_path),
                "List them with 'faqnas backends'.",
                what="option",
            )
        )
    return _parse(files[name].read_text(encoding="utf-8"), _shipped(name), name)
