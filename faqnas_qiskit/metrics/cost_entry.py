"""One row of the machine's cost cache: :class:`CostEntry`, its JSON form and how it is computed.

A :class:`CostEntry` holds the genome-level cost of one network on one target (F_Q, effective
quantum weights, the transpiled circuit's counts and schedule, the target's repetition delay) and
gives back the :class:`~faqnas_qiskit.metrics.TranspiledMetrics` record for any shots and samples.
:func:`compute_entry` transpiles to make one; :mod:`faqnas_qiskit.metrics.cache` stores them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

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
from faqnas_qiskit.metrics.cache_keys import _COLUMNS
from faqnas_qiskit.metrics.flops import quantum_flops_formula
from faqnas_qiskit.metrics.qpu_time import (
    DEFAULT_JOB_OVERHEAD_S,
    DEFAULT_REP_DELAY_S,
    job_qpu_seconds,
)
from faqnas_qiskit.metrics.targets import CircuitCounts, TargetInfo
from faqnas_qiskit.metrics.transpiled import TranspiledMetrics
from faqnas_qiskit.space import Genome

__all__ = [
    "COST_ENTRY_FIELDS",
    "COST_ENTRY_RULES",
    "CostEntry",
    "compute_entry",
    "entry_from_dict",
]


_RECOMPUTE = "Recompute the entry (faqnas atlas, or drop the cache file)."
_COUNTS = (
    "quantum_flops",
    "params_quantum",
    "params_quantum_effective",
    "size",
    "depth",
    "two_qubit_gates",
    "two_qubit_depth",
)

COST_ENTRY_FIELDS = Fields.of(
    "CostEntry",
    _RECOMPUTE,
    Text("genome"),
    Text("target"),
    option_field("optimization-level"),
    option_field("seed-transpiler"),
    *(Bound.count(name) for name in _COUNTS),
    Counts("ops"),
    Bound.seconds("duration_s", optional=True),
    Bound.seconds("rep_delay_s", optional=True),
    *(Bound.seconds(name) for name in ("compute_s", "init_s", "measure_s")),
)
"""The declared constraints of :class:`CostEntry`'s fields."""


def _span(value: object) -> tuple[float, float] | None:
    """A (min, max) of finite seconds >= 0 with min <= max, as floats, else None."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return None
    low, high = value
    seconds = Bound.seconds("rep_delay_range_s")
    try:
        low, high = seconds.check(low), seconds.check(high)
    except ConfigError:
        return None
    return (low, high) if low <= high else None


COST_ENTRY_RULES: tuple[Relation[CostEntry], ...] = (
    Relation(
        "params_quantum_effective",
        holds=lambda e: e.params_quantum_effective <= e.params_quantum,
        rule=lambda e: f"at most params_quantum ({e.params_quantum})",
        value=lambda e: e.params_quantum_effective,
        fix=_RECOMPUTE,
        what="field",
        breaks={"params_quantum_effective": 10**6},
    ),
    Relation(
        "ops",
        holds=lambda e: sum(e.ops.values()) == e.size,
        rule=lambda e: f"gate counts that add up to size ({e.size})",
        value=lambda e: dict(e.ops),
        fix=_RECOMPUTE,
        what="field",
        breaks={"ops": {"cz": 10**6}},
    ),
    Relation(
        "rep_delay_range_s",
        holds=lambda e: e.rep_delay_range_s is None or _span(e.rep_delay_range_s) is not None,
        rule=lambda e: "(min, max) seconds, finite, at least 0, min at most max, or None",
        value=lambda e: e.rep_delay_range_s,
        fix=_RECOMPUTE,
        what="field",
        breaks={"rep_delay_range_s": (1.0, 0.5)},
    ),
)
"""The rules between :class:`CostEntry`'s fields."""


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
        for name, value in check_fields(COST_ENTRY_FIELDS, self).items():
            object.__setattr__(self, name, value)
        check_rules(self, COST_ENTRY_RULES)
        object.__setattr__(self, "ops", MappingProxyType(dict(sorted(self.ops.items()))))
        if self.rep_delay_range_s is not None:
            object.__setattr__(self, "rep_delay_range_s", _span(self.rep_delay_range_s))

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
