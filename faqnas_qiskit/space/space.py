"""The search space: allowed values per gene, an integer codec, seeded sampling, enumeration."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import prod
from typing import cast

import numpy as np
import numpy.typing as npt

from faqnas_qiskit.errors import GenomeError, invalid
from faqnas_qiskit.space.genome import (
    DEPTHS,
    EMBEDDINGS,
    ENTANGLERS,
    GENE_NAMES,
    MAX_DEPTH,
    QUBITS,
    ROTATIONS,
    TOPOLOGIES,
    Embedding,
    Entangler,
    Genome,
    Rotation,
    Topology,
)

__all__ = ["SearchSpace"]

IntVector = npt.NDArray[np.int64]


def _subset(name: str, given: Sequence[object], allowed: Sequence[object]) -> tuple[object, ...]:
    values = tuple(dict.fromkeys(given))  # keep order, drop repeats
    if not values:
        raise GenomeError(
            invalid(
                name,
                f"a non-empty subset of {list(allowed)}",
                list(given),
                "Allow at least one value.",
            )
        )
    for value in values:
        if value not in allowed:
            raise GenomeError(invalid(name, f"a subset of {list(allowed)}", list(given)))
    # canonical order, so that two spaces with the same values encode alike
    return tuple(v for v in allowed if v in values)


@dataclass(frozen=True)
class SearchSpace:
    """A product of allowed values per gene; the full space by default (23,328 gene vectors).

    The integer codec maps a genome to a vector of nine indices, one per gene in the order of
    :data:`~faqnas_qiskit.space.genome.GENE_NAMES`, each an index into that gene's allowed
    values. Restricted spaces (``SearchSpace(qubits=(2, 3, 4), depths=(1, 2))``) serve
    sub-space searches and exhaustive fronts.
    """

    qubits: tuple[int, ...] = QUBITS
    embeddings: tuple[Embedding, ...] = EMBEDDINGS
    entanglers: tuple[Entangler, ...] = ENTANGLERS
    topologies: tuple[Topology, ...] = TOPOLOGIES
    depths: tuple[int, ...] = DEPTHS
    rotations: tuple[Rotation, ...] = ROTATIONS

    def __post_init__(self) -> None:
        for name, allowed in (
            ("qubits", QUBITS),
            ("embeddings", EMBEDDINGS),
            ("entanglers", ENTANGLERS),
            ("topologies", TOPOLOGIES),
            ("depths", DEPTHS),
            ("rotations", ROTATIONS),
        ):
            object.__setattr__(self, name, _subset(name, getattr(self, name), allowed))

    @property
    def gene_values(self) -> tuple[tuple[object, ...], ...]:
        """Allowed values of each of the nine genes, in gene order."""
        return (
            self.qubits,
            self.embeddings,
            self.entanglers,
            self.topologies,
            self.depths,
            *([self.rotations] * MAX_DEPTH),
        )

    @property
    def upper_bounds(self) -> IntVector:
        """Largest index of each gene, shape (9,); lower bounds are all 0."""
        return np.array([len(v) - 1 for v in self.gene_values], dtype=np.int64)

    @property
    def size(self) -> int:
        """Number of gene vectors (23,328 for the full space)."""
        return prod(len(v) for v in self.gene_values)

    @property
    def n_networks(self) -> int:
        """Number of distinct networks, i.e. canonical keys (8,640 for the full space)."""
        head = len(self.qubits) * len(self.embeddings) * len(self.entanglers) * len(self.topologies)
        return head * sum(len(self.rotations) ** d for d in self.depths)

    def contains(self, genome: Genome) -> bool:
        """Whether every active gene of ``genome`` is allowed here."""
        return (
            genome.n_qubits in self.qubits
            and genome.embedding in self.embeddings
            and genome.entangler in self.entanglers
            and genome.topology in self.topologies
            and genome.depth in self.depths
            and all(r in self.rotations for r in genome.active_rotations)
        )

    def encode(self, genome: Genome) -> IntVector:
        """Genome -> index vector, shape (9,). Inactive slots outside the space encode as 0.

        Raises:
            GenomeError: If an active gene is not allowed in this space.
        """
        if not self.contains(genome):
            raise GenomeError(
                invalid("genome", f"inside this search space ({self.describe()})", str(genome))
            )
        genes = (
            genome.n_qubits,
            genome.embedding,
            genome.entangler,
            genome.topology,
            genome.depth,
            *genome.rotations,
        )
        out = np.empty(len(GENE_NAMES), dtype=np.int64)
        for i, (value, allowed) in enumerate(zip(genes, self.gene_values, strict=True)):
            out[i] = allowed.index(value) if value in allowed else 0
        return out

    def decode(self, vector: Sequence[int] | npt.NDArray[np.integer]) -> Genome:
        """Index vector, shape (9,) -> Genome.

        Raises:
            GenomeError: If the vector has the wrong length or an index out of range.
        """
        values = np.asarray(vector)
        if values.shape != (len(GENE_NAMES),):
            raise GenomeError(invalid("vector", "of shape (9,)", values.shape, what="genome"))
        genes: list[object] = []
        for name, index, allowed in zip(GENE_NAMES, values.tolist(), self.gene_values, strict=True):
            if not isinstance(index, int) or not 0 <= index < len(allowed):
                raise GenomeError(
                    invalid(name, f"an index from 0 to {len(allowed) - 1}", index, what="gene")
                )
            genes.append(allowed[index])
        return Genome(
            n_qubits=cast(int, genes[0]),
            embedding=cast(Embedding, genes[1]),
            entangler=cast(Entangler, genes[2]),
            topology=cast(Topology, genes[3]),
            depth=cast(int, genes[4]),
            rotations=cast(tuple[Rotation, ...], tuple(genes[5:])),
        )

    def sample_vectors(self, n: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """``n`` uniform gene vectors, shape (n, 9), from the given generator."""
        return rng.integers(0, self.upper_bounds + 1, size=(n, len(GENE_NAMES)), dtype=np.int64)

    def sample(self, n: int, rng: np.random.Generator) -> list[Genome]:
        """``n`` genomes drawn uniformly over gene vectors from the given generator."""
        return [self.decode(v) for v in self.sample_vectors(n, rng)]

    def vectors(self) -> Iterator[IntVector]:
        """Every gene vector of the space, in lexicographic index order."""
        for combo in itertools.product(*(range(len(v)) for v in self.gene_values)):
            yield np.array(combo, dtype=np.int64)

    def networks(self) -> Iterator[Genome]:
        """Every distinct network once (canonical genomes), for exhaustive search."""
        head = itertools.product(self.qubits, self.embeddings, self.entanglers, self.topologies)
        for n, emb, ent, top in head:
            for depth in self.depths:
                for rots in itertools.product(self.rotations, repeat=depth):
                    yield Genome(n, emb, ent, top, depth, rots)

    def describe(self) -> str:
        """A short human description, e.g. ``qubits 2-4, depth 1-2, embedding angle``."""
        full = SearchSpace()
        parts = []
        for name, values, default in (
            ("qubits", self.qubits, full.qubits),
            ("embedding", self.embeddings, full.embeddings),
            ("entangler", self.entanglers, full.entanglers),
            ("topology", self.topologies, full.topologies),
            ("depth", self.depths, full.depths),
            ("rotations", self.rotations, full.rotations),
        ):
            if values != default:
                parts.append(f"{name} {','.join(str(v) for v in values)}")
        return "; ".join(parts) if parts else "the full space"
