"""Genome -> Qiskit circuits: embeddings, variational layers, observables (pure Qiskit)."""

from faqnas_qiskit.circuits.amplitude import amplitude_angles, amplitude_block, amplitude_state
from faqnas_qiskit.circuits.builder import HQNNCircuit, build_circuit, entangling_pairs

__all__ = [
    "HQNNCircuit",
    "amplitude_angles",
    "amplitude_block",
    "amplitude_state",
    "build_circuit",
    "entangling_pairs",
]
