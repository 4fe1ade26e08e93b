"""ISA circuits for a target, their cost, and predicted QPU seconds (via ``faqnas_qiskit.metrics``).

An HQNN circuit is transpiled once per architecture by the metrics package's
:class:`~faqnas_qiskit.metrics.TargetInfo` (the preset pass manager
``generate_preset_pass_manager(backend=..., optimization_level=..., seed_transpiler=...)``, built
once per target), every instruction is checked against the target before anything is submitted,
and the ⟨Z_i⟩ observables follow the layout (``observable.apply_layout(isa.layout)``). Counts,
durations and the QPU-time model are the metrics package's, so search-time predictions and
re-evaluation predictions agree:
:func:`faqnas_qiskit.metrics.predicted_qpu_seconds` (IBM's published usage estimate)::

    QPU s = overhead_s + (rep_delay_s + init_s + duration_s + measure_s) x samples x shots
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from faqnas_qiskit.circuits import HQNNCircuit
from faqnas_qiskit.errors import invalid
from faqnas_qiskit.hardware.errors import PreflightError
from faqnas_qiskit.metrics import TargetInfo
from faqnas_qiskit.metrics import predicted_qpu_seconds as _metrics_prediction

__all__ = ["IsaCircuit", "IsaMetrics", "predicted_qpu_seconds", "to_isa"]


@dataclass(frozen=True)
class IsaMetrics:
    """Cost of one ISA circuit on its target.

    Attributes:
        two_qubit_gates: Two-qubit operations (CZ/ECR/CX after translation).
        two_qubit_depth: Depth counting two-qubit operations only.
        depth: Circuit depth (no measurements).
        size: Number of operations (no measurements).
        ops: Operation name -> count.
        duration_s: One shot without readout, seconds, or None (untimed target: the ideal
            simulator).
        init_s: Qubit initialisation per shot on the circuit's qubits, seconds.
        measure_s: Readout per shot on the circuit's qubits, seconds.
    """

    two_qubit_gates: int
    two_qubit_depth: int
    depth: int
    size: int
    ops: dict[str, int] = field(default_factory=dict)
    duration_s: float | None = None
    init_s: float = 0.0
    measure_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "two_qubit_gates": self.two_qubit_gates,
            "two_qubit_depth": self.two_qubit_depth,
            "depth": self.depth,
            "size": self.size,
            "ops": dict(self.ops),
            "duration_s": self.duration_s,
            "init_s": self.init_s,
            "measure_s": self.measure_s,
        }


@dataclass(frozen=True, eq=False)
class IsaCircuit:
    """An HQNN circuit in a target's ISA, with its observables laid out.

    Attributes:
        circuit: The ISA circuit (parameterised; inputs and weights keep their names).
        observables: ⟨Z_i⟩ for virtual qubit i = 0..n-1, laid out on the physical qubits.
        physical_qubits: Physical qubit of each virtual qubit i (initial layout).
        metrics: Its cost on the target.
    """

    circuit: QuantumCircuit
    observables: tuple[SparsePauliOp, ...]
    physical_qubits: tuple[int, ...]
    metrics: IsaMetrics


def _check_isa(circuit: QuantumCircuit, info: TargetInfo, key: str) -> None:
    for instruction in circuit.data:
        name = instruction.operation.name
        if name == "barrier":
            continue
        qargs = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        if not info.target.instruction_supported(name, qargs):
            raise PreflightError(
                invalid(
                    "genome",
                    f"transpilable to the ISA of {info.name}",
                    key,
                    f"After transpilation it still has {name} on qubits {list(qargs)}, which the "
                    "target does not support. Try another optimisation level in the profile.",
                    what="architecture",
                )
            )


def to_isa(
    hqnn: HQNNCircuit, info: TargetInfo, *, optimization_level: int, seed_transpiler: int
) -> IsaCircuit:
    """Transpile an HQNN circuit to the target's ISA and lay its observables out.

    Args:
        hqnn: The architecture's circuit.
        info: The target (its pass managers are built once and kept).
        optimization_level: Preset pass manager level, 0 to 3.
        seed_transpiler: Transpiler seed (the same seed gives the same ISA circuit).

    Raises:
        PreflightError: If the transpiled circuit still has an instruction the target lacks, or
            the observables do not match the ISA circuit's width.
    """
    key = hqnn.genome.key
    isa = info.transpile(
        hqnn.circuit, optimization_level=optimization_level, seed_transpiler=seed_transpiler
    )
    _check_isa(isa, info, key)
    if isa.layout is not None:
        observables = tuple(o.apply_layout(isa.layout) for o in hqnn.observables)
        physical = tuple(int(q) for q in isa.layout.initial_index_layout(filter_ancillas=True))
    else:  # nothing was laid out: virtual qubit i is physical qubit i
        observables = tuple(hqnn.observables)
        physical = tuple(range(hqnn.n_qubits))
    if any(o.num_qubits != isa.num_qubits for o in observables):
        raise PreflightError(
            invalid(
                "observables",
                f"laid out on the {isa.num_qubits} qubits of the ISA circuit",
                [o.num_qubits for o in observables],
                what="field",
            )
        )
    counts = info.count(isa)
    metrics = IsaMetrics(
        two_qubit_gates=counts.two_qubit_gates,
        two_qubit_depth=counts.two_qubit_depth,
        depth=counts.depth,
        size=counts.size,
        ops=dict(counts.ops),
        duration_s=counts.duration_s,
        init_s=counts.init_s,
        measure_s=counts.measure_s,
    )
    return IsaCircuit(isa, observables, physical, metrics)


def predicted_qpu_seconds(
    metrics: IsaMetrics,
    *,
    samples: int,
    shots: int,
    rep_delay_s: float,
    job_overhead_s: float,
) -> float | None:
    """Predicted QPU seconds of one job of ``samples`` broadcast executions at ``shots``.

    Delegates to :func:`faqnas_qiskit.metrics.predicted_qpu_seconds`.

    Returns:
        Seconds, or None when the target is untimed (nothing to predict).
    """
    if metrics.duration_s is None:
        return None
    return _metrics_prediction(
        metrics.duration_s,
        samples=samples,
        shots=shots,
        rep_delay_s=rep_delay_s,
        init_s=metrics.init_s,
        measure_s=metrics.measure_s,
        overhead_s=job_overhead_s,
    )
