"""Genome -> Qiskit circuit of the quantum layer (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from faqnas_qiskit.circuits.amplitude import amplitude_angles, amplitude_block
from faqnas_qiskit.space import Genome

__all__ = ["HQNNCircuit", "build_ansatz", "build_circuit", "entangling_pairs"]


def entangling_pairs(n_qubits: int, topology: str) -> list[tuple[int, int]]:
    """Qubit pairs of one entangling layer, (control, target) for CX.

    Linear: (0,1), (1,2), ..., (n-2,n-1); circular adds (n-1,0) when n > 2.
    """
    pairs = [(i, i + 1) for i in range(n_qubits - 1)]
    if topology == "circular" and n_qubits > 2:
        pairs.append((n_qubits - 1, 0))
    return pairs


@dataclass(frozen=True, eq=False)
class HQNNCircuit:
    """The quantum layer of one genome.

    Attributes:
        genome: The genome it was built from.
        circuit: Embedding followed by the variational layers; no measurements.
        embedding: The embedding block alone (first part of ``circuit``).
        ansatz: The variational layers alone (second part of ``circuit``).
        input_params: Input parameters, in order: n angles (angle embedding) or ``2**n - 1``
            RY-tree angles (amplitude embedding).
        weight_params: Weights θ, ``depth * n`` of them, by layer then by qubit.
        observables: ⟨Z_i⟩ for i = 0..n-1, in that order.
    """

    genome: Genome
    circuit: QuantumCircuit
    embedding: QuantumCircuit
    ansatz: QuantumCircuit
    input_params: ParameterVector
    weight_params: ParameterVector
    observables: tuple[SparsePauliOp, ...]

    @property
    def n_qubits(self) -> int:
        """Number of qubits n."""
        return self.genome.n_qubits

    def input_values(self, features: torch.Tensor) -> torch.Tensor:
        """Circuit input parameter values from the pre-layer output.

        Angle embedding: the identity (angles in radians). Amplitude embedding: the RY-tree
        angles that prepare ``v/||v||`` (differentiable).

        Args:
            features: Shape (batch, m) with m = n (angle) or 2**n (amplitude).

        Returns:
            Shape (batch, len(input_params)).
        """
        if self.genome.embedding == "angle":
            return features
        return amplitude_angles(features, self.n_qubits)


def build_ansatz(genome: Genome) -> tuple[QuantumCircuit, ParameterVector]:
    """The variational layers of ``genome`` alone and their weights θ (by layer, then qubit).

    For each layer l: the rotation ``rotations[l]`` with weight θ[l*n + i] on every qubit i,
    then the entangler on the topology's pairs (CX control first).
    """
    n = genome.n_qubits
    weights = ParameterVector("θ", genome.n_weights)
    ansatz = QuantumCircuit(n, name="ansatz")
    pairs = entangling_pairs(n, genome.topology)
    for layer, rotation in enumerate(genome.active_rotations):
        gate = getattr(ansatz, rotation)
        for i in range(n):
            gate(weights[layer * n + i], i)
        for control, target in pairs:
            if genome.entangler == "cx":
                ansatz.cx(control, target)
            else:
                ansatz.cz(control, target)
    return ansatz, weights


def build_circuit(genome: Genome) -> HQNNCircuit:
    """Build the quantum layer of ``genome``.

    Layout (DESIGN §3, Qiskit qubit order): the embedding (RX(x_i) on qubit i, or the amplitude
    RY tree), then for each layer l the rotation ``rotations[l]`` with weight θ[l*n + i] on every
    qubit i, then the entangler on the topology's pairs (CX control first).

    Args:
        genome: The architecture.

    Returns:
        The circuit with its parameter vectors and observables.
    """
    n = genome.n_qubits
    # Names sort "x" < "θ", so circuit.parameters lists inputs first, then weights.
    if genome.embedding == "angle":
        inputs = ParameterVector("x", n)
        embedding = QuantumCircuit(n, name="angle")
        for i in range(n):
            embedding.rx(inputs[i], i)
    else:
        inputs = ParameterVector("x", 2**n - 1)
        embedding = amplitude_block(n, inputs)

    ansatz, weights = build_ansatz(genome)
    circuit = QuantumCircuit(n, name=genome.key, metadata={"genome": genome.key})
    circuit.compose(embedding, inplace=True)
    circuit.compose(ansatz, inplace=True)
    observables = tuple(
        SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], num_qubits=n) for i in range(n)
    )
    return HQNNCircuit(genome, circuit, embedding, ansatz, inputs, weights, observables)
