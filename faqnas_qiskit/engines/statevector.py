"""The fast engine: exact batched statevector simulation of an HQNN's quantum layer in torch.

Gradients for inputs and weights come from autograd (exact, no parameter shift). The embedding
is recognised and prepared directly: angle embedding as a product state, amplitude embedding
as ``v/||v||``, which is exactly what the circuit's RY tree prepares (tested against Aer).
"""

from __future__ import annotations

import numpy as np
import torch

from faqnas_qiskit.circuits import HQNNCircuit, amplitude_state, entangling_pairs
from faqnas_qiskit.engines.program import CircuitProgram, z_expectations

__all__ = ["HQNNSimulator", "complex_dtype_for"]


def complex_dtype_for(real: torch.dtype) -> torch.dtype:
    """complex128 for float64 inputs, complex64 otherwise."""
    return torch.complex128 if real == torch.float64 else torch.complex64


class HQNNSimulator:
    """Exact ⟨Z_i⟩ of one HQNN circuit, batched over samples, differentiable by autograd.

    Args:
        hqnn: The genome's circuit.
    """

    def __init__(self, hqnn: HQNNCircuit) -> None:
        self.hqnn = hqnn
        if hqnn.genome.embedding == "angle":
            # inputs stay gate angles: the product-state phase of the program absorbs them
            self.program = CircuitProgram(hqnn.circuit, hqnn.input_params, hqnn.weight_params)
        else:
            self.program = CircuitProgram(hqnn.ansatz, (), hqnn.weight_params)
        self._entanglers: dict[
            tuple[str, torch.dtype], tuple[torch.Tensor, torch.Tensor | None]
        ] = {}

    def states(
        self, features: torch.Tensor, weights: torch.Tensor, *, reference: bool = False
    ) -> torch.Tensor:
        """Final statevectors, shape (batch, 2**n), complex128 for float64 inputs else complex64.

        Args:
            features: Pre-layer output, shape (batch, m), m = n (angle) or 2**n (amplitude).
            weights: Circuit weights θ, shape (depth * n,), order of ``hqnn.weight_params``.
            reference: Apply every gate as one dense matrix (the FLOPs-counting path).
        """
        dtype = complex_dtype_for(features.dtype)
        if self.hqnn.genome.embedding == "angle":
            return self.program.states(features, weights, dtype=dtype, reference=reference)
        initial = amplitude_state(features, dtype)
        return self.program.states(None, weights, initial=initial, dtype=dtype, reference=reference)

    def expectations(
        self, features: torch.Tensor, weights: torch.Tensor, *, reference: bool = False
    ) -> torch.Tensor:
        """⟨Z_i⟩, shape (batch, n), real, in [-1, 1]; arguments as in :meth:`states`."""
        return z_expectations(self.states(features, weights, reference=reference))

    def replicated_expectations(
        self, features: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """⟨Z_i⟩ of R replicas of the circuit, each with its own weights and samples.

        The replicas run as one batched computation over a leading replica dimension: each
        layer's single-qubit rotations are one Kronecker block per replica (two blocks, high and
        low qubits, applied as batched GEMMs), the entangler one signed permutation of the
        basis, shared by all. Replica r's result equals :meth:`expectations` of its features
        and weights up to the order of floating-point operations (tested to 1e-12 in float64).

        Args:
            features: Pre-layer outputs, shape (R, batch, m), m = n (angle) or 2**n (amplitude).
            weights: Circuit weights of each replica, shape (R, depth * n), order of
                ``hqnn.weight_params`` (by layer, then by qubit).

        Returns:
            Shape (R, batch, n), real, dtype of ``features``.
        """
        replicas, batch, width = features.shape
        genome = self.hqnn.genome
        n = genome.n_qubits
        dtype = complex_dtype_for(features.dtype)
        if genome.embedding == "angle":
            state = _angle_product_state(features, dtype)
        else:
            flat = features.reshape(replicas * batch, width)
            state = amplitude_state(flat, dtype).reshape(replicas, batch, 2**n)
        source, phase = self._entangler(features.device, dtype)
        layers = weights.to(features.dtype).reshape(replicas, genome.depth, n)
        for layer, rotation in enumerate(genome.active_rotations):
            mats = _rotations(layers[:, layer], rotation, dtype)  # (R, n, 2, 2)
            state = _apply_replica_layer(state, mats, n)
            state = state[..., source]
            if phase is not None:
                state = state * phase
        readout = z_expectations(state.reshape(replicas * batch, 2**n))
        return readout.reshape(replicas, batch, n).to(features.dtype)

    def _entangler(
        self, device: torch.device, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One entangling layer as ``new[..., i] = phase[i] * old[..., source[i]]``."""
        key = (str(device), dtype)
        if key not in self._entanglers:
            genome = self.hqnn.genome
            n = genome.n_qubits
            index = np.arange(2**n, dtype=np.int64)
            # track where each basis state goes: gate by gate, forward
            position = index.copy()
            sign = np.ones(2**n)
            for control, target in entangling_pairs(n, genome.topology):
                bit_c = (position >> control) & 1
                if genome.entangler == "cx":
                    position = position ^ (bit_c << target)
                else:
                    sign = sign * np.where(bit_c & ((position >> target) & 1), -1.0, 1.0)
            source = np.empty(2**n, dtype=np.int64)
            source[position] = index
            phase = np.empty(2**n)
            phase[position] = sign
            self._entanglers[key] = (
                torch.as_tensor(source, device=device),
                None
                if np.all(phase == 1.0)
                else torch.as_tensor(phase, dtype=dtype, device=device),
            )
        return self._entanglers[key]


def _angle_product_state(features: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """RX(x_i)|0> on every qubit i, as a full state (R, B, 2**n) from angles (R, B, n)."""
    half = torch.div(features, 2)
    zero = torch.zeros_like(half)
    # RX(x)|0> = cos(x/2)|0> - i sin(x/2)|1>; qubit n-1 is the most significant
    amp0 = torch.complex(torch.cos(half), zero).to(dtype)
    amp1 = torch.complex(zero, torch.neg(torch.sin(half))).to(dtype)
    vectors = torch.stack((amp0, amp1), dim=-1)  # (R, B, n, 2)
    n = features.shape[-1]
    state = vectors[..., n - 1, :]
    for q in range(n - 2, -1, -1):
        state = (state.unsqueeze(-1) * vectors[..., q, :].unsqueeze(-2)).flatten(-2)
    return state


def _rotations(angles: torch.Tensor, kind: str, dtype: torch.dtype) -> torch.Tensor:
    """RX, RY or RZ matrices, shape (R, n, 2, 2), from angles (R, n) in radians.

    One kind for the whole layer, so the matrix is built directly: the program's general
    builder (``CircuitProgram._rotation_matrices``) selects per gate among kinds with masks and
    builds them anew on every call, which costs this hot path more than it saves in code.
    """
    half = torch.div(angles, 2)
    c = torch.cos(half)
    s = torch.sin(half)
    zero = torch.zeros_like(c)
    if kind == "rx":
        rows = (
            (torch.complex(c, zero), torch.complex(zero, -s)),
            (torch.complex(zero, -s), torch.complex(c, zero)),
        )
    elif kind == "ry":
        rows = (
            (torch.complex(c, zero), torch.complex(-s, zero)),
            (torch.complex(s, zero), torch.complex(c, zero)),
        )
    else:
        rows = (
            (torch.complex(c, -s), torch.complex(zero, zero)),
            (torch.complex(zero, zero), torch.complex(c, s)),
        )
    top = torch.stack(rows[0], dim=-1)
    bottom = torch.stack(rows[1], dim=-1)
    return torch.stack((top, bottom), dim=-2).to(dtype)


def _kron_block(mats: torch.Tensor, qubits: range) -> torch.Tensor:
    """Kronecker product of (R, n, 2, 2) matrices over ``qubits``, most significant first."""
    block: torch.Tensor | None = None
    for q in reversed(qubits):
        factor = mats[:, q]
        if block is None:
            block = factor
        else:
            p = block.shape[-1]
            block = (block[:, :, None, :, None] * factor[:, None, :, None, :]).reshape(
                -1, 2 * p, 2 * p
            )
    assert block is not None
    return block


def _apply_replica_layer(state: torch.Tensor, mats: torch.Tensor, n: int) -> torch.Tensor:
    """One rotation on every qubit, per-replica matrices (R, n, 2, 2), on states (R, B, 2**n).

    The layer is the Kronecker product of the low qubits' block (right of the state viewed as
    (2**(n-h), 2**h) per sample) and the high qubits' block (left): two batched GEMMs.
    """
    replicas, batch, dim = state.shape
    h = (n + 1) // 2
    low = _kron_block(mats, range(0, h))  # (R, 2**h, 2**h)
    view = state.reshape(replicas, batch * 2 ** (n - h), 2**h)
    view = torch.matmul(view, low.transpose(-1, -2))
    if n - h:
        high = _kron_block(mats, range(h, n))  # (R, 2**(n-h), 2**(n-h))
        view = torch.matmul(high.unsqueeze(1), view.reshape(replicas, batch, 2 ** (n - h), 2**h))
    return view.reshape(replicas, batch, dim)
