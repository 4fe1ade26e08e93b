"""The search space of hybrid quantum neural networks (pure)."""

from faqnas_qiskit.space.genome import (
    DEPTHS,
    EMBEDDINGS,
    ENTANGLERS,
    GENE_NAMES,
    QUBITS,
    ROTATIONS,
    TOPOLOGIES,
    Genome,
)
from faqnas_qiskit.space.space import SearchSpace

__all__ = [
    "DEPTHS",
    "EMBEDDINGS",
    "ENTANGLERS",
    "GENE_NAMES",
    "QUBITS",
    "ROTATIONS",
    "TOPOLOGIES",
    "Genome",
    "SearchSpace",
]
