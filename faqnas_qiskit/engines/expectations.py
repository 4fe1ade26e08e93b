"""Expectation values read from batched statevectors: all ⟨Z_i⟩ at once, or Pauli strings.

State convention: shape (batch, 2**n), complex, Qiskit basis order (qubit 0 is the least
significant bit of the index).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["pauli_expectations", "z_expectations"]


def _z_signs(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    index = torch.arange(2**n, device=device)
    bits = (index.unsqueeze(1) >> torch.arange(n, device=device)) & 1
    one = torch.ones((), dtype=dtype, device=device)
    return torch.where(bits == 1, -one, one)  # (2**n, n); built without counted FLOPs


def z_expectations(state: torch.Tensor) -> torch.Tensor:
    """⟨Z_i⟩, i = 0..n-1: probabilities (one ``aten::mul``) times a sign table (one ``aten::mm``).

    Args:
        state: Shape (B, 2**n), complex.

    Returns:
        Real tensor, shape (B, n), values in [-1, 1].
    """
    dim = state.shape[1]
    n = dim.bit_length() - 1
    probs = torch.mul(state.conj(), state).real
    return torch.mm(probs, _z_signs(n, probs.dtype, probs.device))


def pauli_expectations(state: torch.Tensor, paulis: Sequence[str]) -> torch.Tensor:
    """⟨P⟩ for Pauli strings in Qiskit label order (rightmost character is qubit 0).

    Args:
        state: Shape (B, 2**n), complex.
        paulis: Labels over I, X, Y, Z of length n.

    Returns:
        Real tensor, shape (len(paulis), B).
    """
    batch, dim = state.shape
    n = dim.bit_length() - 1
    index = torch.arange(dim, device=state.device)
    out = []
    for label in paulis:
        x_mask = z_mask = n_y = 0
        for q, ch in enumerate(reversed(label)):
            if ch in "XY":
                x_mask |= 1 << q
            if ch in "ZY":
                z_mask |= 1 << q
            n_y += ch == "Y"
        # P|b> = i^{n_y} (-1)^{popcount(b & z)} |b ^ x>
        parity = torch.zeros(dim, dtype=torch.int64, device=state.device)
        masked = index & z_mask
        for q in range(n):
            parity ^= (masked >> q) & 1
        sign = (1 - 2 * parity).to(state.dtype) * (1j**n_y)
        applied = state * sign
        flipped = state[:, index ^ x_mask]
        out.append((flipped.conj() * applied).sum(dim=1).real)
    return torch.stack(out) if out else torch.zeros((0, batch), dtype=state.real.dtype)
