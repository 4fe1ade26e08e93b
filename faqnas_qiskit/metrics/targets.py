"""Targets for the transpiled metrics: Aer and the fake IBM backends, loaded once and reused.

A :class:`TargetInfo` holds a backend, its ``Target``, one preset pass manager per
(optimisation level, seed) and the counts of every genome it has transpiled: it transpiles a
genome's circuit, counts it (:class:`CircuitCounts`: gates, depths, duration, readout and
initialisation) and reads the target's repetition delay. Target names, the defaults and why
they were chosen are in :mod:`faqnas_qiskit.metrics.transpiled`.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.converters import circuit_to_dag
from qiskit.providers import BackendV2
from qiskit.transpiler import PassManager, Target, generate_preset_pass_manager

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.limits import check
from faqnas_qiskit.metrics.qpu_time import DEFAULT_REP_DELAY_S
from faqnas_qiskit.space import Genome

__all__ = [
    "AER_TARGET",
    "DEFAULT_AER_OPTIMIZATION_LEVEL",
    "DEFAULT_OPTIMIZATION_LEVEL",
    "DEFAULT_SEED_TRANSPILER",
    "DEFAULT_TARGET",
    "CircuitCounts",
    "TargetInfo",
    "ibm_target_names",
]

AER_TARGET = "aer"
DEFAULT_TARGET = "fake_fez"
DEFAULT_OPTIMIZATION_LEVEL = 1
DEFAULT_AER_OPTIMIZATION_LEVEL = 1
DEFAULT_SEED_TRANSPILER = 0
_FAKE_PROVIDER = "qiskit_ibm_runtime.fake_provider"
_EXAMPLES = ("fake_fez", "fake_torino", "fake_marrakesh", "fake_kingston")


def _normalise(name: str) -> str:
    key = name.strip().lower().replace("_", "").replace("-", "")
    return key[:-2] if key.endswith("v2") else key


def _fake_backend_classes() -> dict[str, type[BackendV2]]:
    """Canonical name (``fake_fez``) -> class, for every device in the fake provider."""
    module = importlib.import_module(_FAKE_PROVIDER)
    base = importlib.import_module(f"{_FAKE_PROVIDER}.fake_backend").FakeBackendV2
    classes: dict[str, type[BackendV2]] = {}
    for attr, value in vars(module).items():
        if (
            attr.startswith("Fake")
            and not attr.endswith("Backend")  # generic test backends, not devices
            and inspect.isclass(value)
            and issubclass(value, base)
        ):
            stem = attr[len("Fake") :]
            stem = stem[:-2] if stem.endswith("V2") else stem
            classes[f"fake_{stem.lower()}"] = value
    return dict(sorted(classes.items()))


def ibm_target_names() -> tuple[str, ...]:
    """Names accepted as IBM targets: every fake device of ``qiskit_ibm_runtime.fake_provider``.

    Returns:
        Sorted canonical names such as ``"fake_fez"``, ``"fake_torino"``.
    """
    return tuple(_fake_backend_classes())


def _unknown_target(name: object, names: tuple[str, ...]) -> ConfigError:
    close = difflib.get_close_matches(str(name).lower(), names, n=1)
    hint = f"Did you mean '{close[0]}'? " if close else ""
    examples = ", ".join(f"'{n}'" for n in _EXAMPLES if n in names)
    return ConfigError(
        invalid(
            "ibm-target",  # what the CLI calls it (--ibm-target); `target` in the Python API
            f"the name of a fake IBM backend from {_FAKE_PROVIDER} (e.g. {examples})",
            name,
            f"{hint}There are {len(names)}: see faqnas_qiskit.metrics.ibm_target_names().",
            what="option",
        )
    )


def _check_level(optimization_level: int, name: str = "optimization_level") -> None:
    check("optimization-level", optimization_level, parameter=name)


def _check_seed(seed_transpiler: int) -> None:
    check("seed-transpiler", seed_transpiler, parameter="seed_transpiler")


def _shape(transpiled: QuantumCircuit) -> tuple[dict[str, int], int, int, int, int]:
    """(count_ops, size, depth, two-qubit gates, two-qubit depth) of a circuit.

    The values of ``count_ops()``, ``size()``, ``depth()``, the number of two-qubit operations
    and ``depth(lambda instr: instr.operation.num_qubits == 2)``, computed on the circuit's DAG:
    ``QuantumCircuit.depth`` walks the instructions in Python (55 ms for a 10-qubit amplitude
    circuit on a 156-qubit target, twice), the DAG's methods are native.
    """
    dag = circuit_to_dag(transpiled, copy_operations=False)
    ops = {str(name): int(count) for name, count in dag.count_ops(recurse=False).items()}
    level: dict[Any, int] = {}
    two_qubit_depth = 0
    two_qubit = dag.two_qubit_ops()  # in topological order
    for node in two_qubit:
        first, second = node.qargs
        reached = max(level.get(first, 0), level.get(second, 0)) + 1
        level[first] = level[second] = reached
        two_qubit_depth = max(two_qubit_depth, reached)
    return ops, int(dag.size()), int(dag.depth()), len(two_qubit), two_qubit_depth


@dataclass(frozen=True)
class CircuitCounts:
    """What a transpiled circuit costs, before shots and samples enter.

    Attributes:
        ops: Operation name -> count.
        size: Number of operations.
        depth: Circuit depth.
        two_qubit_gates: Number of two-qubit operations.
        two_qubit_depth: Depth counting two-qubit operations only.
        duration_s: One shot without readout, seconds; None when untimed.
        init_s: Longest qubit initialisation (``reset``) on the circuit's qubits, seconds.
        measure_s: Longest ``measure`` on the circuit's qubits, seconds.
    """

    ops: Mapping[str, int]
    size: int
    depth: int
    two_qubit_gates: int
    two_qubit_depth: int
    duration_s: float | None
    init_s: float
    measure_s: float


class TargetInfo:
    """A transpilation target, built once and shared by every genome.

    Holds the backend, its ``Target``, one preset pass manager per (optimization level, seed),
    built on first use, and the counts of every genome it transpiled (:meth:`genome_counts`).
    Build with :meth:`load` (a name) or :meth:`from_backend` (any ``BackendV2``, e.g. a real IBM
    backend already at hand). Not thread-safe; a worker process should hold its own.

    Args:
        name: The name recorded with the counts.
        backend: The backend.
        timed: Whether the target has instruction durations (False for Aer).
    """

    def __init__(self, name: str, backend: BackendV2, *, timed: bool) -> None:
        self.name = name
        self.backend = backend
        self.target: Target = backend.target
        self.timed = timed
        self._pass_managers: dict[tuple[int, int], PassManager] = {}
        self._counts: dict[tuple[str, int, int], CircuitCounts] = {}

    @classmethod
    def load(cls, name: str) -> TargetInfo:
        """The target called ``name``: ``"aer"`` (``AerSimulator()``) or a fake IBM backend.

        Fake backend names are the class names of ``qiskit_ibm_runtime.fake_provider`` in
        snake case without the ``V2`` suffix (``fake_fez``, ``fake_torino``, ``fake_manila``);
        case, ``-`` and ``_`` are ignored.

        Raises:
            ConfigError: For an unknown name, naming close matches.
        """
        if not isinstance(name, str):
            raise _unknown_target(name, ibm_target_names())
        if _normalise(name) == AER_TARGET:
            from qiskit_aer import AerSimulator

            return cls(AER_TARGET, AerSimulator(), timed=False)
        classes = _fake_backend_classes()
        canonical = {_normalise(n): n for n in classes}.get(_normalise(name))
        if canonical is None:
            raise _unknown_target(name, tuple(classes))
        return cls(canonical, classes[canonical](), timed=True)

    @classmethod
    def from_backend(cls, backend: BackendV2, name: str | None = None) -> TargetInfo:
        """Wrap a backend (fake or real); timed when its target has a ``dt``."""
        return cls(name or backend.name, backend, timed=backend.target.dt is not None)

    @property
    def num_qubits(self) -> int:
        """Qubits of the target."""
        return int(self.target.num_qubits or 0)

    @property
    def rep_delay_s(self) -> float | None:
        """The backend's default repetition delay, seconds (None when untimed).

        ``backend.configuration().default_rep_delay`` where the backend has one, else IBM's
        documented typical value :data:`~faqnas_qiskit.metrics.qpu_time.DEFAULT_REP_DELAY_S`.
        """
        if not self.timed:
            return None
        value = getattr(self._configuration(), "default_rep_delay", None)
        return float(value) if value is not None else DEFAULT_REP_DELAY_S

    @property
    def rep_delay_range_s(self) -> tuple[float, float] | None:
        """Allowed repetition delays (min, max), seconds, when the backend declares them."""
        value = getattr(self._configuration(), "rep_delay_range", None)
        if value is None or len(value) != 2:
            return None
        return float(value[0]), float(value[1])

    def _configuration(self) -> Any:
        configuration = getattr(self.backend, "configuration", None)
        if not callable(configuration):
            return None
        try:
            return configuration()
        except Exception:  # BackendV2 subclasses without a V1-style configuration raise
            return None

    def check_fits(self, genome: Genome) -> None:
        """Raise unless the genome's qubits fit on the target.

        Raises:
            ConfigError: Naming the genome's and the target's qubit counts.
        """
        if genome.n_qubits > self.num_qubits:
            raise ConfigError(
                f"The 'genome' parameter must have at most {self.num_qubits} qubits to fit "
                f"target '{self.name}' ({self.num_qubits} qubits). Got '{genome.key}' "
                f"({genome.n_qubits} qubits) instead. Choose a target with at least "
                f"{genome.n_qubits} qubits (e.g. 'fake_fez', 156 qubits) or a genome with at "
                f"most {self.num_qubits}."
            )

    def pass_manager(self, optimization_level: int, seed_transpiler: int) -> PassManager:
        """The preset pass manager for these settings, built once.

        It is exactly ``generate_preset_pass_manager(optimization_level=..., backend=...,
        seed_transpiler=...)``; running it again gives the same circuit (fixed seed).
        """
        _check_level(optimization_level)
        _check_seed(seed_transpiler)
        key = (optimization_level, seed_transpiler)
        manager = self._pass_managers.get(key)
        if manager is None:
            manager = generate_preset_pass_manager(
                optimization_level=optimization_level,
                backend=self.backend,
                seed_transpiler=seed_transpiler,
            )
            self._pass_managers[key] = manager
        return manager

    def transpile(
        self,
        circuit: QuantumCircuit,
        *,
        optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL,
        seed_transpiler: int = DEFAULT_SEED_TRANSPILER,
    ) -> QuantumCircuit:
        """The ISA circuit of ``circuit`` on this target."""
        if circuit.num_qubits > self.num_qubits:
            raise ConfigError(
                invalid(
                    "circuit",
                    f"a circuit of at most {self.num_qubits} qubits for target '{self.name}'",
                    f"{circuit.num_qubits} qubits",
                )
            )
        result: QuantumCircuit = self.pass_manager(optimization_level, seed_transpiler).run(circuit)
        return result

    def duration_s(self, transpiled: QuantumCircuit) -> float | None:
        """Duration of one shot of an ISA circuit, seconds; None on an untimed target.

        The longest path through the circuit with the target's instruction durations
        (``QuantumCircuit.estimate_duration(target)``, rounded to a whole number of ``dt``), which
        equals the length of the circuit scheduled ALAP (``scheduling_method="alap"``; tested).
        """
        if not self.timed:
            return None
        seconds = float(transpiled.estimate_duration(self.target, unit="s"))
        dt = self.target.dt
        # IBM durations are whole numbers of dt: snap away the float sum's rounding
        return seconds if dt is None else round(seconds / dt) * float(dt)

    def count(self, transpiled: QuantumCircuit) -> CircuitCounts:
        """Counts, depths and timings of an ISA circuit of this target."""
        ops, size, depth, two_qubit, two_qubit_depth = _shape(transpiled)
        init_s, measure_s = self.readout_s(transpiled)
        return CircuitCounts(
            ops,
            size,
            depth,
            two_qubit,
            two_qubit_depth,
            self.duration_s(transpiled),
            init_s,
            measure_s,
        )

    def clear_counts(self) -> None:
        """Forget the kept genome counts (pass managers stay)."""
        self._counts.clear()

    def has_counts(self, genome: Genome, optimization_level: int, seed_transpiler: int) -> bool:
        """Whether :meth:`genome_counts` has these counts already."""
        return (genome.key, optimization_level, seed_transpiler) in self._counts

    def genome_counts(
        self,
        genome: Genome,
        *,
        optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL,
        seed_transpiler: int = DEFAULT_SEED_TRANSPILER,
        circuit: QuantumCircuit | None = None,
    ) -> CircuitCounts:
        """:meth:`count` of the genome's transpiled circuit, computed once per settings.

        The counts depend on the genome and the transpiler settings only (not on shots,
        samples or the dataset), so this target object keeps them for every later request.

        Args:
            genome: The architecture.
            optimization_level: Preset pass manager level.
            seed_transpiler: Seed of the pass manager.
            circuit: ``build_circuit(genome).circuit`` when the caller has it already.

        Raises:
            ConfigError: If the genome has more qubits than the target.
        """
        key = (genome.key, optimization_level, seed_transpiler)
        counts = self._counts.get(key)
        if counts is None:
            self.check_fits(genome)
            if circuit is None:
                circuit = build_circuit(genome).circuit
            counts = self.count(
                self.transpile(
                    circuit, optimization_level=optimization_level, seed_transpiler=seed_transpiler
                )
            )
            self._counts[key] = counts
        return counts

    def _longest(self, instruction: str, qubits: list[int]) -> float:
        if instruction not in self.target.operation_names:
            return 0.0
        longest = 0.0
        for q in qubits:
            props = self.target[instruction].get((q,))
            if props is not None and props.duration is not None:
                longest = max(longest, float(props.duration))
        return longest

    def readout_s(self, transpiled: QuantumCircuit) -> tuple[float, float]:
        """(init, measure) durations per shot on the circuit's qubits, seconds.

        The longest ``reset`` (the qubit initialisation before each shot) and ``measure`` over
        the physical qubits that hold the circuit's virtual qubits; (0, 0) when untimed.
        """
        if not self.timed:
            return 0.0, 0.0
        layout = transpiled.layout
        if layout is not None:
            qubits = list(layout.final_index_layout())
        else:
            qubits = list(range(transpiled.num_qubits))
        return self._longest("reset", qubits), self._longest("measure", qubits)
