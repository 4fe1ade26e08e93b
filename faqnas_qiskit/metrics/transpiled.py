"""Transpiled gate counts and durations of an HQNN circuit on Aer and on an IBM target.

The circuit is the genome's whole quantum layer, ``build_circuit(genome).circuit``: embedding
and variational layers, parameters unbound, no measurements (the Estimator measures the
observables itself; the QPU-time model adds the readout, see :mod:`.qpu_time`). It is transpiled
by Qiskit's preset pass manager, ``generate_preset_pass_manager(optimization_level=...,
backend=..., seed_transpiler=...)``, the same call a user makes to get ISA circuits for the IBM
Runtime primitives, so the counts are those of the circuit that would be submitted. Unbound
parameters keep the counts independent of trained weights and make one transpilation serve every
sample (the primitives broadcast parameter values over one ISA circuit).

Defaults, and why:

* IBM target ``fake_fez`` (a 156-qubit Heron r2 device from ``qiskit_ibm_runtime.fake_provider``)
  at **optimization level 1**: the level of IBM's own examples that prepare ISA circuits for the
  Runtime primitives (among them the usage-estimate page that :mod:`.qpu_time` follows), and the
  cheapest that searches for a layout. This transpilation is most of the cost of collecting the
  metrics: on a 10-qubit amplitude circuit level 1 takes ~35 ms, level 2 ~155 ms, level 3
  ~210 ms. Level 2 finds better layouts for circular topologies (heavy-hex has no short cycles:
  17 instead of 26 CZ for ``q4-angle-cz-circular-ry.rx``) and 5-15 % fewer two-qubit gates on
  amplitude embeddings; pass ``optimization_level=2`` when those counts matter more than the
  time (docs/metrics.md has the measurements).
* Aer at **optimization level 1**: Aer executes the circuit as given, in its own wide basis,
  without routing; level 1 translates and cancels adjacent inverses in well under 2 ms, while
  level 2's two-qubit peephole pass tries Aer's dozens of two-qubit basis gates and takes 0.65 s
  on a 10-qubit amplitude circuit to remove commuting CZ pairs only.
* ``seed_transpiler=0``: Sabre layout and routing are randomised; a fixed seed makes the counts
  reproducible. Both settings are recorded with the counts.

Heavy objects (the fake backend and its ``Target``, each pass manager) live in a
:class:`TargetInfo`, built once per target and reused for every genome.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.converters import circuit_to_dag
from qiskit.providers import BackendV2
from qiskit.transpiler import PassManager, Target, generate_preset_pass_manager

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.metrics.qpu_time import (
    DEFAULT_JOB_OVERHEAD_S,
    DEFAULT_REP_DELAY_S,
    predicted_qpu_seconds,
)
from faqnas_qiskit.space import Genome

__all__ = [
    "AER_TARGET",
    "DEFAULT_AER_OPTIMIZATION_LEVEL",
    "DEFAULT_OPTIMIZATION_LEVEL",
    "DEFAULT_SEED_TRANSPILER",
    "DEFAULT_TARGET",
    "CircuitCounts",
    "TargetInfo",
    "TranspiledMetrics",
    "count_transpiled",
    "ibm_target_names",
    "transpiled_metrics",
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
    if (
        isinstance(optimization_level, bool)
        or not isinstance(optimization_level, int)
        or optimization_level not in (0, 1, 2, 3)
    ):
        raise ConfigError(
            invalid(name, "one of 0, 1, 2, 3", optimization_level, "The default is 1.")
        )


def _check_seed(seed_transpiler: int) -> None:
    if (
        isinstance(seed_transpiler, bool)
        or not isinstance(seed_transpiler, int)
        or seed_transpiler < 0
    ):
        raise ConfigError(invalid("seed_transpiler", "an integer of at least 0", seed_transpiler))


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


@dataclass(frozen=True)
class TranspiledMetrics:
    """Gate counts and timing of one genome's circuit transpiled for one target.

    Attributes:
        target: Target name (``"aer"``, ``"fake_fez"``, ...).
        optimization_level: Preset pass manager level, 0..3.
        seed_transpiler: Seed of the pass manager.
        ops: Operation name -> count (``count_ops()``), e.g. ``{"cz": 17, "rz": 36, "sx": 36}``.
        size: Number of operations.
        depth: Circuit depth (all operations).
        two_qubit_gates: Number of two-qubit operations.
        two_qubit_depth: Depth counting two-qubit operations only.
        duration_s: Duration of one shot, seconds (without readout); None when the target has no
            timing (Aer).
        predicted_qpu_s: Predicted QPU usage, seconds, of running the circuit for the given
            samples and shots (:func:`~faqnas_qiskit.metrics.qpu_time.predicted_qpu_seconds`);
            None when the target has no timing (Aer).
    """

    target: str
    optimization_level: int
    seed_transpiler: int
    ops: Mapping[str, int]
    size: int
    depth: int
    two_qubit_gates: int
    two_qubit_depth: int
    duration_s: float | None
    predicted_qpu_s: float | None

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target:
            raise ConfigError(invalid("target", "a non-empty string", self.target, what="field"))
        _check_level(self.optimization_level)
        _check_seed(self.seed_transpiler)
        ops = dict(self.ops)
        for name, count in ops.items():
            if not isinstance(name, str) or isinstance(count, bool) or not isinstance(count, int):
                raise ConfigError(
                    invalid("ops", "a mapping of gate names to counts", ops, what="field")
                )
            if count < 0:
                raise ConfigError(invalid("ops", "non-negative counts", ops, what="field"))
        object.__setattr__(self, "ops", MappingProxyType(dict(sorted(ops.items()))))
        for name in ("size", "depth", "two_qubit_gates", "two_qubit_depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(invalid(name, "an integer of at least 0", value, what="field"))
        if self.two_qubit_gates > self.size or self.two_qubit_depth > self.depth:
            raise ConfigError(
                invalid(
                    "two_qubit_gates",
                    f"at most size ({self.size}) with a two-qubit depth at most depth "
                    f"({self.depth})",
                    f"{self.two_qubit_gates} gates, depth {self.two_qubit_depth}",
                    what="field",
                )
            )
        if sum(ops.values()) != self.size:
            raise ConfigError(
                invalid("ops", f"counts that add up to size ({self.size})", ops, what="field")
            )
        for name in ("duration_s", "predicted_qpu_s"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(invalid(name, "a number or None", value, what="field"))
            if not math.isfinite(value) or value < 0:
                raise ConfigError(invalid(name, "finite and at least 0", value, what="field"))
            object.__setattr__(self, name, float(value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; keys are the attribute names."""
        return {
            "target": self.target,
            "optimization_level": self.optimization_level,
            "seed_transpiler": self.seed_transpiler,
            "ops": dict(self.ops),
            "size": self.size,
            "depth": self.depth,
            "two_qubit_gates": self.two_qubit_gates,
            "two_qubit_depth": self.two_qubit_depth,
            "duration_s": self.duration_s,
            "predicted_qpu_s": self.predicted_qpu_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranspiledMetrics:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: When a key is missing or a value is invalid.
        """
        missing = [name for name in _TRANSPILED_FIELDS if name not in data]
        if missing:
            raise ConfigError(
                invalid(
                    "transpiled",
                    "an object with the keys of TranspiledMetrics.to_dict()",
                    f"one without {', '.join(missing)}",
                    "Recompute the metrics.",
                    what="field",
                )
            )
        return cls(**{name: data[name] for name in _TRANSPILED_FIELDS})


_TRANSPILED_FIELDS = (
    "target",
    "optimization_level",
    "seed_transpiler",
    "ops",
    "size",
    "depth",
    "two_qubit_gates",
    "two_qubit_depth",
    "duration_s",
    "predicted_qpu_s",
)


def job_qpu_seconds(
    duration_s: float | None,
    *,
    init_s: float,
    measure_s: float,
    target_rep_delay_s: float | None,
    rep_delay_range_s: tuple[float, float] | None,
    shots: int,
    samples: int,
    rep_delay_s: float | None,
    overhead_s: float,
    init_qubits: bool,
) -> float | None:
    """Predicted QPU seconds of one job from a circuit's schedule on a target (None untimed).

    The one place the schedule becomes a prediction, for freshly transpiled circuits and for
    the machine cache's rows alike (they must agree exactly). ``rep_delay_s`` None takes the
    target's delay, or ``DEFAULT_REP_DELAY_S`` when the target has none.
    """
    if duration_s is None:
        return None
    delay = target_rep_delay_s if rep_delay_s is None else rep_delay_s
    return predicted_qpu_seconds(
        duration_s,
        samples=samples,
        shots=shots,
        rep_delay_s=DEFAULT_REP_DELAY_S if delay is None else delay,
        init_s=init_s if init_qubits else 0.0,
        measure_s=measure_s,
        overhead_s=overhead_s,
        rep_delay_range_s=rep_delay_range_s,
    )


def _finish(
    counts: CircuitCounts,
    info: TargetInfo,
    *,
    optimization_level: int,
    seed_transpiler: int,
    shots: int,
    samples: int,
    rep_delay_s: float | None,
    overhead_s: float,
    init_qubits: bool,
) -> TranspiledMetrics:
    predicted = job_qpu_seconds(
        counts.duration_s,
        init_s=counts.init_s,
        measure_s=counts.measure_s,
        target_rep_delay_s=info.rep_delay_s,
        rep_delay_range_s=info.rep_delay_range_s,
        shots=shots,
        samples=samples,
        rep_delay_s=rep_delay_s,
        overhead_s=overhead_s,
        init_qubits=init_qubits,
    )
    return TranspiledMetrics(
        target=info.name,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        ops=counts.ops,
        size=counts.size,
        depth=counts.depth,
        two_qubit_gates=counts.two_qubit_gates,
        two_qubit_depth=counts.two_qubit_depth,
        duration_s=counts.duration_s,
        predicted_qpu_s=predicted,
    )


def count_transpiled(
    transpiled: QuantumCircuit,
    info: TargetInfo,
    *,
    optimization_level: int,
    seed_transpiler: int,
    shots: int,
    samples: int,
    rep_delay_s: float | None = None,
    overhead_s: float = DEFAULT_JOB_OVERHEAD_S,
    init_qubits: bool = True,
) -> TranspiledMetrics:
    """The metrics of an already transpiled circuit (arguments as in :func:`transpiled_metrics`).

    ``optimization_level`` and ``seed_transpiler`` are recorded as given: they should be the
    ones ``transpiled`` was made with.
    """
    return _finish(
        info.count(transpiled),
        info,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        shots=shots,
        samples=samples,
        rep_delay_s=rep_delay_s,
        overhead_s=overhead_s,
        init_qubits=init_qubits,
    )


def transpiled_metrics(
    genome: Genome,
    target: TargetInfo | str = DEFAULT_TARGET,
    *,
    optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL,
    seed_transpiler: int = DEFAULT_SEED_TRANSPILER,
    shots: int = 1024,
    samples: int = 1,
    rep_delay_s: float | None = None,
    overhead_s: float = DEFAULT_JOB_OVERHEAD_S,
    init_qubits: bool = True,
    circuit: QuantumCircuit | None = None,
) -> TranspiledMetrics:
    """Transpile the genome's circuit for ``target`` and count it.

    A :class:`TargetInfo` keeps the counts of each (genome, level, seed): asking again with
    other shots, samples or delays only recomputes the predicted QPU seconds.

    Args:
        genome: The architecture; its circuit is ``build_circuit(genome).circuit``
            (parameters unbound, no measurements).
        target: A :class:`TargetInfo` (reuse it across genomes) or a target name.
        optimization_level: Preset pass manager level, 0..3.
        seed_transpiler: Seed of the pass manager.
        shots: Shots per circuit, for the predicted QPU seconds.
        samples: Circuits executed (one per sample, broadcast in one PUB).
        rep_delay_s: Repetition delay, seconds; the backend's default when None.
        overhead_s: Per-job overhead, seconds.
        init_qubits: Whether each shot starts with a qubit initialisation (the primitives'
            default), which adds the target's ``reset`` duration.
        circuit: ``build_circuit(genome).circuit`` when the caller has it already.

    Returns:
        Counts, depth, two-qubit counts, duration and predicted QPU seconds (timed targets).

    Raises:
        ConfigError: For an unknown target, a genome with more qubits than the target, or bad
            settings.
    """
    info = target if isinstance(target, TargetInfo) else TargetInfo.load(target)
    counts = info.genome_counts(
        genome,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        circuit=circuit,
    )
    return _finish(
        counts,
        info,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        shots=shots,
        samples=samples,
        rep_delay_s=rep_delay_s,
        overhead_s=overhead_s,
        init_qubits=init_qubits,
    )
