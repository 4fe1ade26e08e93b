"""The fast engine: exact batched statevector simulation of an HQNN's quantum layer in torch.

Gradients for inputs and weights come from autograd (exact, no parameter shift). The embedding
is recognised and prepared directly: angle embedding as a product state, amplitude embedding
as ``v/||v||``, which is exactly what the circuit's RY tree prepares (tested against Aer).
"""

from __future__ import annotations

import torch

from faqnas_qiskit.circuits import HQNNCircuit, amplitude_state
from faqnas_qiskit.engines.expectations import z_expectations
from faqnas_qiskit.engines.hqnn_adjoint import run_plan_adjoint
from faqnas_qiskit.engines.hqnn_kernel import WeightPlan, plan_weights, run_plan, use_dense
from faqnas_qiskit.engines.program import CircuitProgram

__all__ = ["HQNNSimulator", "complex_dtype_for"]


def complex_dtype_for(real: torch.dtype) -> torch.dtype:
    """complex128 for float64 inputs, complex64 otherwise."""
    return torch.complex128 if real == torch.float64 else torch.complex64


class HQNNSimulator:
    """Exact ⟨Z_i⟩ of one HQNN circuit, batched over samples, differentiable by autograd.

    Three paths compute the same values, differing only in the order of floating-point
    operations: the HQNN kernel (:mod:`~faqnas_qiskit.engines.hqnn_kernel`, the default: a
    fixed few batched kernels per call), the general compiled program's fast mode
    (:meth:`program_expectations`, the engine before the kernel, kept as a cross-check) and its
    reference mode (every gate one dense product; the FLOPs-counting path, DESIGN §5).

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
        self._plans: dict[tuple[str, torch.dtype], WeightPlan] = {}

    def plan(self, real: torch.dtype, device: torch.device) -> WeightPlan:
        """The kernel's constants for ``real`` (float32/float64) inputs on ``device`` (cached)."""
        key = (str(device), real)
        if key not in self._plans:
            self._plans[key] = plan_weights([self.hqnn.genome], real, device)
        return self._plans[key]

    def states(
        self, features: torch.Tensor, weights: torch.Tensor, *, reference: bool = False
    ) -> torch.Tensor:
        """Final statevectors of the compiled program, shape (batch, 2**n).

        Complex128 for float64 inputs, else complex64.

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
        """⟨Z_i⟩, shape (batch, n), real, in [-1, 1], dtype of ``features``.

        Args:
            features: Pre-layer output, shape (batch, m), m = n (angle) or 2**n (amplitude).
            weights: Circuit weights θ, shape (depth * n,), order of ``hqnn.weight_params``.
            reference: Run the reference mode (every gate one dense matrix, the path F_Q is
                counted on) instead of the HQNN kernel.
        """
        if reference:
            return z_expectations(self.states(features, weights, reference=True))
        return self.replicated_expectations(features.unsqueeze(0), weights.unsqueeze(0))[0]

    def program_expectations(self, features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """⟨Z_i⟩ by the compiled program's fast mode (the engine before the HQNN kernel).

        Arguments and result as in :meth:`expectations`; kept to check and benchmark the
        kernel against.
        """
        return z_expectations(self.states(features, weights)).to(features.dtype)

    def replicated_expectations(
        self,
        features: torch.Tensor,
        weights: torch.Tensor,
        *,
        dense: bool | None = None,
        autograd: bool = False,
    ) -> torch.Tensor:
        """⟨Z_i⟩ of R replicas of the circuit, each with its own weights and samples.

        The replicas run as one batched computation over a leading replica dimension
        (:func:`~faqnas_qiskit.engines.hqnn_kernel.run_plan`). Replica r's result equals
        :meth:`expectations` of its features and weights up to the order of floating-point
        operations (tested to 1e-12 in float64).

        Args:
            features: Pre-layer outputs, shape (R, batch, m), m = n (angle) or 2**n (amplitude).
            weights: Circuit weights of each replica, shape (R, depth * n), order of
                ``hqnn.weight_params`` (by layer, then by qubit).
            dense: Force the dense-unitary (True) or layered (False) form; None picks the
                cheaper (:func:`~faqnas_qiskit.engines.hqnn_kernel.use_dense`).
            autograd: Differentiate the kernel's torch operations with autograd
                (:func:`~faqnas_qiskit.engines.hqnn_kernel.run_plan`, the reference the
                default is checked against) instead of the hand-written adjoint backward
                (:func:`~faqnas_qiskit.engines.hqnn_adjoint.run_plan_adjoint`, the default).

        Returns:
            Shape (R, batch, n), real, dtype of ``features``.
        """
        genome = self.hqnn.genome
        plan = self.plan(features.dtype, features.device)
        layers = weights.reshape(weights.shape[0], genome.depth, genome.n_qubits)
        if autograd:
            return run_plan(plan, features, layers, dense=dense)
        if dense is None:
            dense = use_dense(plan.n_qubits, features.shape[1])
        return run_plan_adjoint(plan, features, layers, dense)
