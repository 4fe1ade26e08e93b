"""Genome -> Qiskit circuits: embeddings, variational layers, observables (pure Qiskit)."""

from faqnas_qiskit.circuits.amplitude import amplitude_angles, amplitude_block, amplitude_state
from faqnas_qiskit.circuits.analysis import (
    dead_weights,
    effective_weights,
    genome_dead_weights,
    has_live_weights,
)
from faqnas_qiskit.circuits.builder import (
    HQNNCircuit,
    build_ansatz,
    build_circuit,
    entangling_pairs,
)

__all__ = [
    "HQNNCircuit",
    "amplitude_angles",
    "amplitude_block",
    "amplitude_state",
    "build_ansatz",
    "build_circuit",
    "dead_weights",
    "effective_weights",
    "entangling_pairs",
    "genome_dead_weights",
    "has_live_weights",
]
