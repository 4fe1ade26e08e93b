"""Expectation values of ``SparseObservable`` terms (Paulis and projectors) on batched states.

A term is a label over ``I X Y Z 0 1 + - r l`` in Qiskit order (the rightmost character acts on
qubit 0), as ``ObservablesArray`` hands them out. Pauli-only labels take the sign-and-flip path
of :func:`~faqnas_qiskit.engines.expectations.pauli_expectations`; a label with a projector applies
each non-identity factor as its 2x2 matrix and takes the inner product. Both are exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from faqnas_qiskit.engines.expectations import pauli_expectations
from faqnas_qiskit.errors import EngineError

__all__ = ["TERM_CHARACTERS", "term_expectations"]

_HALF = 0.5
#: Single-qubit factors of a ``SparseObservable`` term, as 2x2 matrices.
_FACTORS: dict[str, np.ndarray] = {
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
    "0": np.array([[1, 0], [0, 0]], dtype=np.complex128),  # |0><0|
    "1": np.array([[0, 0], [0, 1]], dtype=np.complex128),  # |1><1|
    "+": _HALF * np.array([[1, 1], [1, 1]], dtype=np.complex128),  # |+><+|
    "-": _HALF * np.array([[1, -1], [-1, 1]], dtype=np.complex128),  # |-><-|
    "r": _HALF * np.array([[1, -1j], [1j, 1]], dtype=np.complex128),  # |+i><+i|
    "l": _HALF * np.array([[1, 1j], [-1j, 1]], dtype=np.complex128),  # |-i><-i|
}
TERM_CHARACTERS = "I" + "".join(_FACTORS)
_PAULI = frozenset("IXYZ")


def term_expectations(state: torch.Tensor, labels: Sequence[str]) -> torch.Tensor:
    """⟨ψ|T|ψ⟩ for each term label T, real part.

    Args:
        state: Shape (B, 2**n), complex.
        labels: Labels of length n over ``I X Y Z 0 1 + - r l`` (rightmost: qubit 0).

    Returns:
        Real tensor, shape (len(labels), B).

    Raises:
        EngineError: For a label of the wrong length or with another character.
    """
    batch, dim = state.shape
    n = dim.bit_length() - 1
    for label in labels:
        if len(label) != n or not set(label) <= set(TERM_CHARACTERS):
            raise EngineError(
                f"Observable terms must be labels of length {n} over {TERM_CHARACTERS}. "
                f"Got {label!r} instead. Pass Pauli or SparseObservable observables."
            )
    out = torch.zeros((len(labels), batch), dtype=state.real.dtype, device=state.device)
    paulis = [i for i, label in enumerate(labels) if set(label) <= _PAULI]
    if paulis:
        out[paulis] = pauli_expectations(state, [labels[i] for i in paulis])
    for i, label in enumerate(labels):
        if set(label) <= _PAULI:
            continue
        applied = state
        for qubit, ch in enumerate(reversed(label)):
            if ch != "I":
                matrix = torch.as_tensor(_FACTORS[ch], dtype=state.dtype, device=state.device)
                view = applied.reshape(batch, 2 ** (n - 1 - qubit), 2, 2**qubit)
                applied = torch.matmul(matrix, view).reshape(batch, dim)
        out[i] = (state.conj() * applied).sum(dim=1).real
    return out
