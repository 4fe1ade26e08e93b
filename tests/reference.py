"""An independent numpy simulation of DESIGN §3, written for the tests."""

from __future__ import annotations

import numpy as np


def _op_on(n: int, qubit: int, u: np.ndarray) -> np.ndarray:
    """Full 2**n operator of a one-qubit gate, Qiskit order (qubit 0 least significant)."""
    out = np.array([[1.0 + 0j]])
    for q in reversed(range(n)):
        out = np.kron(out, u if q == qubit else np.eye(2))
    return out


def _rot(kind: str, theta: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    if kind == "rx":
        return np.array([[c, -1j * s], [-1j * s, c]])
    if kind == "ry":
        return np.array([[c, -s], [s, c]], dtype=complex)
    return np.array([[np.exp(-1j * theta / 2), 0], [0, np.exp(1j * theta / 2)]])


def _cx(n: int, control: int, target: int) -> np.ndarray:
    dim = 2**n
    m = np.zeros((dim, dim), dtype=complex)
    for b in range(dim):
        m[b ^ (((b >> control) & 1) << target), b] = 1
    return m


def _cz(n: int, a: int, b: int) -> np.ndarray:
    return np.diag([(-1.0) ** (((i >> a) & 1) * ((i >> b) & 1)) for i in range(2**n)]).astype(
        complex
    )


def reference_state(genome, features: np.ndarray, weights: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """DESIGN §3 written out with dense matrices: the test's own simulator.

    Args:
        genome: A Genome.
        features: Angle embedding: n angles; amplitude: a real vector of length 2**n.
        weights: depth * n angles, by layer then by qubit.
    """
    n = genome.n_qubits
    if genome.embedding == "angle":
        state = np.zeros(2**n, dtype=complex)
        state[0] = 1
        for i in range(n):
            state = _op_on(n, i, _rot("rx", features[i])) @ state
    else:
        norm = np.linalg.norm(features)
        state = features / norm if norm > 0 else np.eye(2**n)[0]
        state = state.astype(complex)
    pairs = [(i, i + 1) for i in range(n - 1)]
    if genome.topology == "circular" and n > 2:
        pairs.append((n - 1, 0))
    for layer, kind in enumerate(genome.active_rotations):
        for i in range(n):
            state = _op_on(n, i, _rot(kind, weights[layer * n + i])) @ state
        for a, b in pairs:
            state = (_cx(n, a, b) if genome.entangler == "cx" else _cz(n, a, b)) @ state
    return state


def reference_z(state: np.ndarray) -> np.ndarray:
    """⟨Z_i⟩, i = 0..n-1, of a statevector."""
    n = state.size.bit_length() - 1
    probs = np.abs(state) ** 2
    return np.array(
        [sum(p * (1 - 2 * ((b >> i) & 1)) for b, p in enumerate(probs)) for i in range(n)]
    )
