"""The dead-weight analysis (DESIGN §5.1) against autograd and hand-checked circuits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit.circuit import ParameterVector, QuantumCircuit

from faqnas_qiskit.circuits import (
    build_circuit,
    dead_weights,
    effective_weights,
    genome_dead_weights,
    has_live_weights,
)
from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.space import Genome, SearchSpace


def _autograd_dead(genome: Genome, gen: torch.Generator) -> set[int]:
    simulator = HQNNSimulator(build_circuit(genome))
    width = genome.n_qubits if genome.embedding == "angle" else 2**genome.n_qubits
    features = torch.randn(3, width, generator=gen, dtype=torch.float64)
    theta = (torch.rand(genome.n_weights, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
    jacobian = torch.autograd.functional.jacobian(
        lambda w: simulator.expectations(features, w), theta
    )
    column = jacobian.abs().reshape(-1, genome.n_weights).amax(dim=0)
    return {int(i) for i in torch.nonzero(column < 1e-12).flatten()}


def test_the_issue_example_has_no_trainable_weight() -> None:
    genome = Genome.parse("q10-amplitude-cx-linear-rz.rz.rz")
    assert genome_dead_weights(genome) == frozenset(range(30))
    assert effective_weights(genome) == 0 and not has_live_weights(genome)


def test_trailing_rz_layers_are_dead_and_nothing_else() -> None:
    assert genome_dead_weights(Genome.parse("q3-angle-cz-linear-ry.rz.rz")) == frozenset(
        range(3, 9)
    )
    assert genome_dead_weights(Genome.parse("q3-angle-cz-linear-rz.ry")) == frozenset()
    assert effective_weights(Genome.parse("q4-amplitude-cx-circular-rx.rz")) == 4


def test_analysis_agrees_with_autograd_on_a_sample_of_the_space() -> None:
    space = SearchSpace(qubits=(2, 3, 4, 5))
    networks = list(space.networks())
    rng = np.random.default_rng(5)
    sample = [networks[i] for i in rng.choice(len(networks), size=120, replace=False)]
    # and every all-rz or trailing-rz network of 2-3 qubits, where dead weights concentrate
    sample += [g for g in networks if g.n_qubits <= 3 and g.active_rotations[-1] == "rz"]
    gen = torch.Generator().manual_seed(0)
    checked = dead = 0
    for genome in sample:
        expected = _autograd_dead(genome, gen)
        assert set(genome_dead_weights(genome)) == expected, genome.key
        checked += genome.n_weights
        dead += len(expected)
    assert dead > 0 and checked > dead  # both kinds were seen


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        # diagonal gates followed by monomial ones (swap, cx, x, cz) cannot change Z readouts
        (
            lambda qc, t: (qc.p(t[0], 0), qc.swap(0, 1), qc.cx(1, 0), qc.x(1), qc.rzz(t[1], 0, 1)),
            {0, 1},
        ),
        # a Hadamard after RZ turns its phase into a population: live
        (lambda qc, t: (qc.rz(t[0], 0), qc.h(0), qc.crz(t[1], 0, 1)), {1}),
        # a weight used twice is dead only if both uses are
        (lambda qc, t: (qc.rz(t[0], 0), qc.ry(t[1], 1), qc.rx(t[0], 1)), set()),
    ],
)
def test_general_circuits(build, expected: set[int]) -> None:  # type: ignore[no-untyped-def]
    theta = ParameterVector("t", 2)
    qc = QuantumCircuit(2)
    build(qc, theta)
    assert set(dead_weights(qc, list(theta))) == expected
