"""Static analysis of a circuit's weights: which of them cannot change the readout (DESIGN §5.1).

A weight is *dead* when the gradient of every ⟨Z_i⟩ with respect to it is identically zero. The
analysis proves it for a rotation whose gate is diagonal in the computational basis and is
followed only by monomial gates (a permutation of basis states times phases: CX, CZ, SWAP, X,
and diagonal gates) before a Z-basis readout. A diagonal gate only changes the phases of basis
amplitudes; monomial gates then move each amplitude to one basis state, so the Z-basis
probabilities, hence every ⟨Z_i⟩, do not depend on those phases. In the FAQNAS space this is
exactly the trailing RZ layers (checked against autograd on all 8,640 networks by
``benchmarks/dead_weights.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

from faqnas_qiskit.circuits.builder import build_ansatz
from faqnas_qiskit.space import Genome

__all__ = ["dead_weights", "effective_weights", "genome_dead_weights", "has_live_weights"]

#: Parametric gates that are diagonal (and hence monomial) for every angle.
_DIAGONAL_PARAMETRIC = frozenset({"rz", "p", "u1", "rzz", "crz", "cp", "cu1", "mcp", "mcphase"})
_IGNORED = frozenset({"barrier", "delay", "id"})
_KINDS: dict[tuple[object, ...], tuple[bool, bool]] = {}  # (name, qubits, params) -> kinds


def _fixed_kind(operation: Any) -> tuple[bool, bool]:
    """``(diagonal, monomial)`` of a gate without free parameters, from its matrix."""
    try:
        matrix = np.asarray(operation.to_matrix(), dtype=np.complex128)
    except Exception:  # no matrix (measure, reset, ...): assume the worst
        return False, False
    nonzero = np.abs(matrix) > 1e-12
    diagonal = not bool(np.any(nonzero & ~np.eye(matrix.shape[0], dtype=bool)))
    monomial = bool(np.all(nonzero.sum(axis=0) == 1) and np.all(nonzero.sum(axis=1) == 1))
    return diagonal, monomial


def dead_weights(circuit: QuantumCircuit, weights: Sequence[Parameter]) -> frozenset[int]:
    """Positions in ``weights`` of the weights whose gradient is identically zero.

    The readout is assumed to be diagonal in the computational basis (⟨Z_i⟩, probabilities).

    Args:
        circuit: The circuit (embedding and ansatz, or the ansatz alone).
        weights: The trainable parameters, in the order of the weight vector.

    Returns:
        Indices ``i`` of ``weights`` such that no gate that depends on ``weights[i]`` is
        followed by anything but monomial gates, and every such gate is diagonal.
    """
    position = {p: i for i, p in enumerate(weights)}
    live: set[int] = set()
    touched: set[int] = set()
    monomial_after = True
    for instruction in reversed(circuit.data):
        operation = instruction.operation
        if operation.name in _IGNORED:
            continue
        free = {
            p
            for value in operation.params
            if isinstance(value, ParameterExpression)
            for p in value.parameters
        }
        if free:
            diagonal = operation.name in _DIAGONAL_PARAMETRIC
            monomial = diagonal
        else:
            try:
                key = (operation.name, operation.num_qubits, tuple(operation.params))
                kinds = _KINDS.get(key)
                if kinds is None:
                    kinds = _KINDS.setdefault(key, _fixed_kind(operation))
            except TypeError:  # unhashable parameters
                kinds = _fixed_kind(operation)
            diagonal, monomial = kinds
        for p in free:
            if p in position:
                touched.add(position[p])
                if not (diagonal and monomial_after):
                    live.add(position[p])
        monomial_after = monomial_after and monomial
    return frozenset(touched - live)


@lru_cache(maxsize=16384)
def genome_dead_weights(genome: Genome) -> frozenset[int]:
    """Dead weight indices (order of ``θ``: by layer, then by qubit) of ``genome``'s circuit."""
    ansatz, weights = build_ansatz(genome)
    return dead_weights(ansatz, list(weights))


def effective_weights(genome: Genome) -> int:
    """Number of circuit weights whose gradient is not identically zero."""
    return genome.n_weights - len(genome_dead_weights(genome))


def has_live_weights(genome: Genome) -> bool:
    """Whether ``genome``'s quantum layer has at least one trainable (effective) weight."""
    return effective_weights(genome) > 0
