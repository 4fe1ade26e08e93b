"""The genome: nine integer genes that describe one hybrid quantum neural network.

Gene order (DESIGN §2), fixed because codecs, stores and other tools rely on it:
``n_qubits, embedding, entangler, topology, depth, rotations[0], rotations[1], rotations[2],
rotations[3]``. Rotation slots past ``depth`` are inactive: two genomes that differ only there
build the same network and share a canonical key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from faqnas_qiskit.errors import GenomeError, invalid

__all__ = [
    "DEPTHS",
    "EMBEDDINGS",
    "ENTANGLERS",
    "GENE_NAMES",
    "MAX_DEPTH",
    "QUBITS",
    "ROTATIONS",
    "TOPOLOGIES",
    "Embedding",
    "Entangler",
    "Genome",
    "Rotation",
    "Topology",
]

Embedding = Literal["angle", "amplitude"]
Entangler = Literal["cx", "cz"]
Topology = Literal["linear", "circular"]
Rotation = Literal["rx", "ry", "rz"]

QUBITS: tuple[int, ...] = tuple(range(2, 11))
EMBEDDINGS: tuple[Embedding, ...] = ("angle", "amplitude")
ENTANGLERS: tuple[Entangler, ...] = ("cx", "cz")
TOPOLOGIES: tuple[Topology, ...] = ("linear", "circular")
DEPTHS: tuple[int, ...] = (1, 2, 3, 4)
ROTATIONS: tuple[Rotation, ...] = ("rx", "ry", "rz")
MAX_DEPTH = 4
GENE_NAMES: tuple[str, ...] = (
    "n_qubits",
    "embedding",
    "entangler",
    "topology",
    "depth",
    "rotation0",
    "rotation1",
    "rotation2",
    "rotation3",
)

_FORM = (
    "q{n}-{embedding}-{entangler}-{topology}-{rot}[.{rot}]... e.g. 'q4-angle-cz-circular-ry.rx.rz'"
)
_QUBIT_RE = re.compile(r"q([0-9]+)")  # ASCII digits only (\d also matches '٣')


def _choices(values: tuple[object, ...]) -> str:
    return "one of " + ", ".join(str(v) for v in values)


def _part_error(part: str, rule: str, value: str, text: str) -> GenomeError:
    return GenomeError(
        f"The {part} part of genome {_short(text)} must be {rule}. Got {_short(value)} instead. "
        f"Genome strings have the form {_FORM}."
    )


def _short(text: str, limit: int = 80) -> str:
    """``repr(text)``, cut to ``limit`` characters with the full length said (long input)."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 20]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Genome:
    """One point of the search space; validated on creation.

    Attributes:
        n_qubits: Number of qubits n, 2..10.
        embedding: ``"angle"`` (n inputs, RX(x_i) on qubit i) or ``"amplitude"`` (2**n inputs,
            the normalised vector prepared by a tree of RY rotations).
        entangler: ``"cx"`` or ``"cz"``.
        topology: ``"linear"`` (pairs (i, i+1)) or ``"circular"`` (adds (n-1, 0) when n > 2).
        depth: Number of variational layers, 1..4.
        rotations: Four rotation genes, one per layer; only the first ``depth`` are active.
            A shorter tuple is padded with ``"rx"`` in the inactive slots.
    """

    n_qubits: int
    embedding: Embedding
    entangler: Entangler
    topology: Topology
    depth: int
    rotations: tuple[Rotation, ...]

    def __post_init__(self) -> None:
        if isinstance(self.n_qubits, bool) or self.n_qubits not in QUBITS:
            raise GenomeError(
                invalid("n_qubits", "an integer from 2 to 10", self.n_qubits, what="gene")
            )
        if self.embedding not in EMBEDDINGS:
            raise GenomeError(
                invalid("embedding", _choices(EMBEDDINGS), self.embedding, what="gene")
            )
        if self.entangler not in ENTANGLERS:
            raise GenomeError(
                invalid("entangler", _choices(ENTANGLERS), self.entangler, what="gene")
            )
        if self.topology not in TOPOLOGIES:
            raise GenomeError(invalid("topology", _choices(TOPOLOGIES), self.topology, what="gene"))
        if isinstance(self.depth, bool) or self.depth not in DEPTHS:
            raise GenomeError(invalid("depth", "an integer from 1 to 4", self.depth, what="gene"))
        rotations = tuple(self.rotations)
        if not self.depth <= len(rotations) <= MAX_DEPTH:
            raise GenomeError(
                invalid(
                    "rotations",
                    f"a sequence of {self.depth} to {MAX_DEPTH} rotations (one per layer)",
                    list(rotations),
                    what="gene",
                )
            )
        for rotation in rotations:
            if rotation not in ROTATIONS:
                raise GenomeError(invalid("rotations", _choices(ROTATIONS), rotation, what="gene"))
        padded = rotations + ("rx",) * (MAX_DEPTH - len(rotations))
        object.__setattr__(self, "rotations", padded)

    @property
    def active_rotations(self) -> tuple[Rotation, ...]:
        """The rotation of each layer, ``depth`` of them."""
        return self.rotations[: self.depth]

    @property
    def key(self) -> str:
        """Canonical key: the canonical string, which ignores inactive rotation slots."""
        return str(self)

    def canonical(self) -> Genome:
        """This genome with inactive rotation slots reset to ``"rx"`` (same key, same network)."""
        return Genome(
            self.n_qubits,
            self.embedding,
            self.entangler,
            self.topology,
            self.depth,
            self.active_rotations,
        )

    @property
    def n_inputs(self) -> int:
        """Width m of the features fed to the quantum layer: n (angle) or 2**n (amplitude)."""
        return self.n_qubits if self.embedding == "angle" else 2**self.n_qubits

    @property
    def n_weights(self) -> int:
        """Number of trainable circuit weights: depth * n_qubits."""
        return self.depth * self.n_qubits

    def __str__(self) -> str:
        rots = ".".join(self.active_rotations)
        return f"q{self.n_qubits}-{self.embedding}-{self.entangler}-{self.topology}-{rots}"

    @classmethod
    def parse(cls, text: str) -> Genome:
        """Parse a canonical genome string such as ``"q4-angle-cz-circular-ry.rx"``.

        The depth is the number of rotations given.

        Raises:
            GenomeError: Naming the part that is wrong and what is allowed there.
        """
        if not isinstance(text, str):
            raise GenomeError(invalid("genome", f"a string of the form {_FORM}", text))
        parts = text.strip().split("-")
        if len(parts) != 5:
            raise GenomeError(
                invalid(
                    "genome",
                    f"five parts separated by '-': {_FORM}",
                    text,
                    f"It has {len(parts)} part(s).",
                )
            )
        qubits, embedding, entangler, topology, rots = parts
        match = _QUBIT_RE.fullmatch(qubits)
        if match is None or int(match.group(1)) not in QUBITS:
            raise _part_error("qubits", "'q2' to 'q10'", qubits, text)
        for name, value, allowed in (
            ("embedding", embedding, EMBEDDINGS),
            ("entangler", entangler, ENTANGLERS),
            ("topology", topology, TOPOLOGIES),
        ):
            if value not in allowed:
                raise _part_error(name, _choices(allowed), value, text)
        layers = rots.split(".")
        if not 1 <= len(layers) <= MAX_DEPTH:
            raise _part_error(
                "rotations", f"1 to {MAX_DEPTH} rotations joined by '.', one per layer", rots, text
            )
        for layer in layers:
            if layer not in ROTATIONS:
                raise _part_error(
                    "rotations", f"rotations from {', '.join(ROTATIONS)} joined by '.'", rots, text
                )
        return cls(
            n_qubits=int(match.group(1)),
            embedding=cast(Embedding, embedding),
            entangler=cast(Entangler, entangler),
            topology=cast(Topology, topology),
            depth=len(layers),
            rotations=cast(tuple[Rotation, ...], tuple(layers)),
        )
