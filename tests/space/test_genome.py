from __future__ import annotations

import numpy as np
import pytest

from faqnas_qiskit.errors import FaqnasError, GenomeError
from faqnas_qiskit.space import Genome, SearchSpace


def test_full_space_size_matches_paper() -> None:
    space = SearchSpace()
    assert space.size == 9 * 2 * 2 * 2 * 4 * 3**4 == 23328
    assert space.n_networks == 9 * 2 * 2 * 2 * (3 + 9 + 27 + 81)


def test_codec_round_trips_every_vector() -> None:
    space = SearchSpace()
    seen = 0
    keys = set()
    for vector in space.vectors():
        genome = space.decode(vector)
        assert np.array_equal(space.encode(genome), vector)
        keys.add(genome.key)
        seen += 1
    assert seen == 23328
    assert len(keys) == space.n_networks


def test_gene_order_of_the_codec() -> None:
    space = SearchSpace()
    genome = space.decode([8, 1, 1, 0, 2, 2, 0, 1, 0])
    assert genome == Genome(10, "amplitude", "cz", "linear", 3, ("rz", "rx", "ry", "rx"))
    assert str(genome) == "q10-amplitude-cz-linear-rz.rx.ry"


def test_string_round_trip_over_every_network() -> None:
    for genome in SearchSpace().networks():
        assert Genome.parse(str(genome)) == genome


def test_inactive_slots_share_the_key() -> None:
    a = Genome(4, "angle", "cz", "circular", 2, ("ry", "rx", "rz", "rz"))
    b = Genome(4, "angle", "cz", "circular", 2, ("ry", "rx", "ry", "rx"))
    assert a != b
    assert a.key == b.key == "q4-angle-cz-circular-ry.rx"
    assert a.canonical() == b.canonical()


def test_parse_example() -> None:
    g = Genome.parse("q4-angle-cz-circular-ry.rx.rz")
    assert (g.n_qubits, g.embedding, g.entangler, g.topology, g.depth) == (
        4,
        "angle",
        "cz",
        "circular",
        3,
    )
    assert g.active_rotations == ("ry", "rx", "rz")
    assert g.n_inputs == 4 and g.n_weights == 12
    assert Genome.parse("q3-amplitude-cx-linear-rx").n_inputs == 8


@pytest.mark.parametrize(
    ("text", "part", "allowed"),
    [
        ("q11-angle-cz-circular-ry", "qubits", "'q2' to 'q10'"),
        ("q1-angle-cz-circular-ry", "qubits", "'q2' to 'q10'"),
        ("x4-angle-cz-circular-ry", "qubits", "'q2' to 'q10'"),
        ("q4-basis-cz-circular-ry", "embedding", "angle, amplitude"),
        ("q4-angle-cy-circular-ry", "entangler", "cx, cz"),
        ("q4-angle-cz-ring-ry", "topology", "linear, circular"),
        ("q4-angle-cz-circular-ry.ry.ry.ry.ry", "rotations", "1 to 4"),
        ("q4-angle-cz-circular-ry..rx", "rotations", "rx, ry, rz"),
        ("q4-angle-cz-circular-", "rotations", "rx, ry, rz"),
    ],
)
def test_parse_names_the_wrong_part(text: str, part: str, allowed: str) -> None:
    with pytest.raises(GenomeError) as info:
        Genome.parse(text)
    message = str(info.value)
    assert f"The {part} part of genome {text!r}" in message
    assert allowed in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text", ["", "q4", "q4-angle-cz-circular", "q4-angle-cz-circular-ry-rx", 7]
)
def test_parse_rejects_wrong_shape(text: object) -> None:
    with pytest.raises(GenomeError, match="must be"):
        Genome.parse(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_qubits": 1},
        {"n_qubits": True},
        {"embedding": "basis"},
        {"entangler": "swap"},
        {"topology": "all"},
        {"depth": 0},
        {"depth": 5},
        {"rotations": ("ry", "rq")},
        {"depth": 3, "rotations": ("ry",)},
    ],
)
def test_constructor_validates(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = dict(
        n_qubits=4, embedding="angle", entangler="cx", topology="linear", depth=1, rotations=("ry",)
    )
    base.update(kwargs)
    with pytest.raises(FaqnasError):
        Genome(**base)  # type: ignore[arg-type]


def test_sampling_is_seeded_and_uniform() -> None:
    space = SearchSpace()
    a = space.sample(200, np.random.default_rng(5))
    b = space.sample(200, np.random.default_rng(5))
    c = space.sample(200, np.random.default_rng(6))
    assert a == b and a != c
    vectors = space.sample_vectors(20000, np.random.default_rng(0))
    assert vectors.min() == 0 and np.array_equal(vectors.max(axis=0), space.upper_bounds)
    # qubit gene: 9 values, each about 1/9 of the draws
    counts = np.bincount(vectors[:, 0], minlength=9) / 20000
    assert np.all(np.abs(counts - 1 / 9) < 0.02)


def test_sub_space() -> None:
    space = SearchSpace(qubits=(2, 3, 4), depths=(1, 2), embeddings=("angle",))
    networks = list(space.networks())
    assert len(networks) == space.n_networks == 3 * 1 * 2 * 2 * (3 + 9)
    assert all(space.contains(g) for g in networks)
    assert space.size == 3 * 1 * 2 * 2 * 2 * 3**4
    for vector in space.sample_vectors(50, np.random.default_rng(1)):
        assert space.contains(space.decode(vector))
    with pytest.raises(GenomeError, match="inside this search space"):
        space.encode(Genome.parse("q5-angle-cx-linear-ry"))
    with pytest.raises(GenomeError, match="non-empty"):
        SearchSpace(qubits=())
    with pytest.raises(GenomeError, match="subset"):
        SearchSpace(qubits=(1, 2))
    assert "qubits 2,3,4" in space.describe()


def test_decode_rejects_bad_vectors() -> None:
    space = SearchSpace()
    with pytest.raises(GenomeError, match="shape"):
        space.decode([0, 0])
    with pytest.raises(GenomeError, match="from 0 to 8"):
        space.decode([9, 0, 0, 0, 0, 0, 0, 0, 0])
