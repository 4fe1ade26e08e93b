"""The fast engine: exact batched statevector simulation of an HQNN's quantum layer in torch.

Gradients for inputs and weights come from autograd (exact, no parameter shift). The embedding
is recognised and prepared directly: angle embedding as a product state, amplitude embedding
as ``v/||v||``, which is exactly what the circuit's RY tree prepares (tested against Aer).
"""

from __future__ import annotations

import torch

from faqnas_qiskit.circuits import HQNNCircuit, amplitude_state
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
