"""Amplitude embedding as a parametric state preparation: a tree of uniformly controlled RY.

Layout (Qiskit order: qubit 0 is the least significant bit of a basis index). Level
``k = 0..n-1`` targets qubit ``t = n-1-k`` and is controlled by the ``k`` more significant qubits
``t+1..n-1``, whose value is the prefix ``p = index >> (t+1)``. For a real vector ``v`` of length
``2**n`` the multiplexed angle of prefix ``p`` is

* inner levels: ``alpha = 2*atan2(||v[p, 1, :]||, ||v[p, 0, :]||)`` (norms of the two halves);
* the leaf level (``t = 0``): ``alpha = 2*atan2(v[2p+1], v[2p])``, signed, so negative entries
  are prepared exactly.

Each multiplexor is decomposed with the Gray-code scheme of Möttönen et al. (2004): ``2**k`` RY
gates and ``2**k`` CX gates, whose RY angles are ``theta = 2**-k * M.T @ alpha`` with
``M[j, i] = (-1)**popcount(j & gray(i))``. The circuit's input parameters are these ``theta``
(``2**n - 1`` of them, in gate order), so that every input parameter sits in exactly one gate and
the parameter-shift rule applies. The full tree has ``2**n - 2`` CX gates: the real hardware cost
of amplitude embedding.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from qiskit.circuit import ParameterVector, QuantumCircuit

from faqnas_qiskit.errors import ConfigError, invalid

__all__ = [
    "amplitude_angles",
    "amplitude_block",
    "amplitude_state",
    "n_amplitude_parameters",
]


def n_amplitude_parameters(n_qubits: int) -> int:
    """Number of RY angles of the tree: ``2**n - 1``."""
    return 2**n_qubits - 1


def _gray(i: int) -> int:
    return i ^ (i >> 1)


def _control_bits(k: int) -> list[int]:
    """Bit (of the prefix) that flips between gray(i) and gray(i+1 mod 2**k), for each i."""
    size = 2**k
    return [(_gray(i) ^ _gray((i + 1) % size)).bit_length() - 1 for i in range(size)]


@cache
def _gray_transform(k: int) -> np.ndarray:
    """``2**-k * M.T``, shape (2**k, 2**k): multiplexed angles alpha -> gate angles theta."""
    size = 2**k
    j = np.arange(size)[:, None]
    g = np.array([_gray(i) for i in range(size)])[None, :]
    parity = np.vectorize(lambda a: bin(a).count("1") % 2)(j & g)
    m = np.where(parity == 1, -1.0, 1.0)  # M[j, i]
    return np.ascontiguousarray(m.T / size)


def amplitude_block(n_qubits: int, params: ParameterVector) -> QuantumCircuit:
    """The state-preparation circuit, with ``params`` (length ``2**n - 1``) as RY angles.

    Args:
        n_qubits: Number of qubits n.
        params: Parameter vector of length ``2**n - 1``, used in gate order.

    Returns:
        A circuit of ``2**n - 1`` RY and ``2**n - 2`` CX gates on n qubits.
    """
    if len(params) != n_amplitude_parameters(n_qubits):
        raise ConfigError(
            invalid(
                "params",
                f"{n_amplitude_parameters(n_qubits)} long (2**n - 1) for {n_qubits} qubits",
                len(params),
                "Pass a ParameterVector of that length.",
            )
        )
    qc = QuantumCircuit(n_qubits, name="amplitude")
    index = 0
    for k in range(n_qubits):
        target = n_qubits - 1 - k
        if k == 0:
            qc.ry(params[index], target)
            index += 1
            continue
        for bit in _control_bits(k):
            qc.ry(params[index], target)
            qc.cx(target + 1 + bit, target)
            index += 1
    return qc


def _safe_norm(squares: torch.Tensor) -> torch.Tensor:
    """sqrt with a zero (not infinite) gradient at 0."""
    positive = squares > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, squares, 1.0)), 0.0)


def _safe_angle(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``2*atan2(y, x)``, 0 with zero gradient where x = y = 0 (the subtree is empty)."""
    empty = (x == 0) & (y == 0)
    return 2.0 * torch.where(
        empty, 0.0, torch.atan2(torch.where(empty, 0.0, y), torch.where(empty, 1.0, x))
    )


def amplitude_angles(features: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """RY-tree angles that prepare ``v/||v||`` for each row v of ``features``.

    Differentiable; exact for negative and zero entries; an all-zero row gives all-zero angles
    (the state |0...0>) and finite gradients.

    Args:
        features: Real tensor, shape (batch, 2**n).
        n_qubits: Number of qubits n.

    Returns:
        Gate angles in radians, shape (batch, 2**n - 1), in the circuit's gate order.
    """
    batch, width = features.shape
    if width != 2**n_qubits:
        raise ConfigError(
            invalid(
                "features",
                f"{2**n_qubits} wide (2**n) for amplitude embedding on {n_qubits} qubits",
                width,
                "Map the inputs to 2**n features first (the HQNN's pre-layer does).",
            )
        )
    squares = features * features
    out = []
    for k in range(n_qubits):
        t = n_qubits - 1 - k
        if t == 0:
            pairs = features.reshape(batch, 2**k, 2)
            alpha = _safe_angle(pairs[..., 1], pairs[..., 0])
        else:
            halves = squares.reshape(batch, 2**k, 2, 2**t).sum(dim=-1)
            alpha = _safe_angle(_safe_norm(halves[..., 1]), _safe_norm(halves[..., 0]))
        if k == 0:
            out.append(alpha)
        else:
            transform = torch.as_tensor(
                _gray_transform(k), dtype=features.dtype, device=features.device
            )
            out.append(alpha @ transform.T)
    return torch.cat(out, dim=1)


def amplitude_state(features: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The state ``v/||v||`` directly (|0...0> for a zero row); what the RY tree prepares.

    Args:
        features: Real tensor, shape (batch, 2**n).
        dtype: Complex dtype of the result.

    Returns:
        Statevector, shape (batch, 2**n), Qiskit basis order.
    """
    norm = _safe_norm((features * features).sum(dim=1, keepdim=True))
    zero = norm == 0
    state = features / torch.where(zero, 1.0, norm)
    ground = torch.zeros_like(features)
    ground[:, 0] = 1.0
    return torch.where(zero, ground, state).to(dtype)
