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

Targets (:class:`TargetInfo`, :class:`CircuitCounts`, the names and defaults) are in
:mod:`faqnas_qiskit.metrics.targets` and re-exported here; the QPU seconds of a job follow from
the schedule by :func:`~faqnas_qiskit.metrics.qpu_time.job_qpu_seconds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from qiskit.circuit import QuantumCircuit

from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.limits import (
    Bound,
    Counts,
    Fields,
    Relation,
    Text,
    check_fields,
    check_rules,
    option_field,
)
from faqnas_qiskit.metrics.qpu_time import DEFAULT_JOB_OVERHEAD_S, job_qpu_seconds
from faqnas_qiskit.metrics.targets import (
    AER_TARGET,
    DEFAULT_AER_OPTIMIZATION_LEVEL,
    DEFAULT_OPTIMIZATION_LEVEL,
    DEFAULT_SEED_TRANSPILER,
    DEFAULT_TARGET,
    CircuitCounts,
    TargetInfo,
    ibm_target_names,
)
from faqnas_qiskit.space import Genome

__all__ = [
    "AER_TARGET",
    "DEFAULT_AER_OPTIMIZATION_LEVEL",
    "DEFAULT_OPTIMIZATION_LEVEL",
    "DEFAULT_SEED_TRANSPILER",
    "DEFAULT_TARGET",
    "TRANSPILED_FIELDS",
    "TRANSPILED_RULES",
    "CircuitCounts",
    "TargetInfo",
    "TranspiledMetrics",
    "count_transpiled",
    "ibm_target_names",
    "transpiled_metrics",
]


_RECOMPUTE = "Recompute the metrics."
_COUNTS = ("size", "depth", "two_qubit_gates", "two_qubit_depth")

TRANSPILED_FIELDS = Fields.of(
    "TranspiledMetrics",
    _RECOMPUTE,
    Text("target"),
    option_field("optimization-level"),
    option_field("seed-transpiler"),
    Counts("ops"),
    *(Bound.count(name) for name in _COUNTS),
    Bound.seconds("duration_s", optional=True),
    Bound.seconds("predicted_qpu_s", optional=True),
)
"""The declared constraints of :class:`TranspiledMetrics`' fields."""


TRANSPILED_RULES: tuple[Relation[TranspiledMetrics], ...] = (
    Relation(
        "two_qubit_gates",
        holds=lambda m: m.two_qubit_gates <= m.size and m.two_qubit_depth <= m.depth,
        rule=lambda m: f"at most size ({m.size}) with a two-qubit depth at most depth ({m.depth})",
        value=lambda m: f"{m.two_qubit_gates} gates, depth {m.two_qubit_depth}",
        fix=_RECOMPUTE,
        what="field",
        breaks={"two_qubit_gates": 10**6},
    ),
    Relation(
        "ops",
        holds=lambda m: sum(m.ops.values()) == m.size,
        rule=lambda m: f"counts that add up to size ({m.size})",
        value=lambda m: dict(m.ops),
        fix=_RECOMPUTE,
        what="field",
        breaks={"ops": {"cz": 10**6}},
    ),
)
"""The rules between :class:`TranspiledMetrics`' fields."""


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
        for name, value in check_fields(TRANSPILED_FIELDS, self).items():
            object.__setattr__(self, name, value)
        check_rules(self, TRANSPILED_RULES)
        object.__setattr__(self, "ops", MappingProxyType(dict(sorted(self.ops.items()))))

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
