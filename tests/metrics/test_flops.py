"""FLOPs: the documented formulas against torch's profiler, read through its public API."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch.nn import functional

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.metrics import (
    classical_flops,
    classical_flops_formula,
    count_flops,
    quantum_flops,
    quantum_flops_formula,
    training_flops,
    training_flops_formula,
)
from faqnas_qiskit.models import build_model
from faqnas_qiskit.space import Genome, SearchSpace


def profiled(run: Callable[[], object]) -> int:
    """Sum of ``flops`` over ``prof.events()``: the profiler's public event list."""
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], with_flops=True
    ) as prof:
        run()
    return sum(int(e.flops or 0) for e in prof.events())


def profiled_raw(run: Callable[[], object]) -> int:
    """Sum of ``flops`` over every operator the profiler recorded (its raw result).

    ``prof.events()`` builds Python objects for each operator (~0.15 ms each: seconds for a
    hundred genomes); the raw sum is the same for forward passes, which never nest an operator
    in one of the same name (checked against ``prof.events()`` below).
    """
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], with_flops=True
    ) as prof:
        run()
    return sum(int(e.flops()) for e in prof.profiler.kineto_results.events())


def design_fq(genome: Genome) -> int:
    """DESIGN §5's F_Q written out again: embedding + per layer + readout."""
    n, dim = genome.n_qubits, 2**genome.n_qubits
    pairs = 1 if n == 2 else (n - 1 if genome.topology == "linear" else n)
    embedding = n * 4 * dim if genome.embedding == "angle" else dim
    return embedding + genome.depth * (n * 4 * dim + pairs * 8 * dim) + dim + 2 * n * dim


def reference_fq(genome: Genome, rng: np.random.Generator, *, raw: bool = False) -> int:
    simulator = HQNNSimulator(build_circuit(genome))
    features = torch.tensor(rng.normal(size=(1, genome.n_inputs)), dtype=torch.float32)
    weights = torch.tensor(rng.uniform(-1, 1, genome.n_weights), dtype=torch.float32)
    count = profiled_raw if raw else profiled
    with torch.no_grad():
        return count(lambda: simulator.expectations(features, weights, reference=True))


def reference_training(genome: Genome, n_features: int, n_classes: int) -> int:
    """One sample's training step of the real model, quantum layer in reference mode."""
    model = build_model(genome, n_features, n_classes, seed=3)
    simulator = model.quantum.simulator
    assert simulator is not None
    x = torch.randn(1, n_features, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([n_classes - 1])

    def step() -> None:
        hidden = model.pre(x)
        q = simulator.expectations(hidden, model.quantum.weight, reference=True)
        out = torch.log_softmax(model.post(q), dim=1)
        functional.nll_loss(out, y).backward()

    return profiled(step)


def test_the_briefs_measured_example() -> None:
    genome = Genome.parse("q4-angle-cx-linear-ry.ry")
    assert quantum_flops(genome) == quantum_flops_formula(genome) == 256 + 1408 + 16


def test_fq_formula_equals_the_profiler_on_a_random_sample() -> None:
    rng = np.random.default_rng(20240611)
    # up to 6 qubits, so that 100 profiled runs stay fast; 7-10 qubits are checked below
    genomes = SearchSpace(qubits=(2, 3, 4, 5, 6)).sample(100, rng)
    assert len({g.embedding for g in genomes}) == 2 and len({g.topology for g in genomes}) == 2
    for genome in genomes:
        measured = reference_fq(genome, rng, raw=True)
        assert measured == quantum_flops_formula(genome) == design_fq(genome), genome.key


@pytest.mark.parametrize(
    "text",
    [
        "q7-angle-cx-circular-rx.rz.ry",
        "q8-amplitude-cz-circular-rz.ry",
        "q9-angle-cx-linear-rx",
        "q10-angle-cz-circular-ry",
    ],
)
def test_fq_formula_equals_the_profiler_on_large_genomes(text: str) -> None:
    genome = Genome.parse(text)
    assert reference_fq(genome, np.random.default_rng(0), raw=True) == design_fq(genome)
    assert quantum_flops_formula(genome) == design_fq(genome)


def test_quantum_flops_reads_the_profiler_like_its_event_list() -> None:
    rng = np.random.default_rng(5)
    for genome in SearchSpace(qubits=(2, 3, 4)).sample(12, rng):
        expected = reference_fq(genome, rng)
        assert quantum_flops(genome) == reference_fq(genome, rng, raw=True) == expected
        assert expected == design_fq(genome)


def test_fq_grows_with_qubits_and_depth_and_is_never_zero() -> None:
    space = SearchSpace()
    for embedding, entangler, topology in itertools.product(
        space.embeddings, space.entanglers, space.topologies
    ):
        for rotations in itertools.product(space.rotations, repeat=2):
            for depth in (1, 2):
                by_qubits = [
                    quantum_flops_formula(
                        Genome(n, embedding, entangler, topology, depth, rotations)
                    )
                    for n in space.qubits
                ]
                assert all(a < b for a, b in itertools.pairwise(by_qubits))
            for n in space.qubits:
                by_depth = [
                    quantum_flops_formula(
                        Genome(n, embedding, entangler, topology, d, rotations * 2)
                    )
                    for d in space.depths
                ]
                assert all(a < b for a, b in itertools.pairwise(by_depth))
    assert min(quantum_flops_formula(g) for g in space.networks()) > 0


def test_rotation_kind_and_entangler_do_not_change_fq() -> None:
    a = Genome.parse("q5-angle-cx-circular-rx.ry")
    b = Genome.parse("q5-angle-cz-circular-rz.rz")
    assert quantum_flops(a) == quantum_flops(b)


@pytest.mark.parametrize(("n_features", "n_classes"), [(4, 3), (13, 3), (64, 10), (30, 2)])
def test_fc_formula_equals_the_profiler_of_the_models_linear_layers(
    n_features: int, n_classes: int
) -> None:
    for text in ("q3-angle-cx-linear-rx", "q5-amplitude-cz-circular-ry"):
        genome = Genome.parse(text)
        model = build_model(genome, n_features, n_classes, seed=0)
        x = torch.randn(1, n_features)
        q = torch.rand(1, genome.n_qubits)
        with torch.no_grad():
            measured = profiled(
                lambda model=model, x=x, q=q: (
                    model.pre(x),
                    torch.log_softmax(model.post(q), dim=1),
                )
            )
        expected = 2 * n_features * genome.n_inputs + 2 * genome.n_qubits * n_classes
        assert measured == expected == classical_flops_formula(genome, n_features, n_classes)
        assert classical_flops(genome, n_features, n_classes) == expected


def test_training_formula_equals_the_profiled_step_of_the_real_model() -> None:
    rng = np.random.default_rng(77)
    genomes = SearchSpace(qubits=(2, 3, 4)).sample(12, rng)
    assert {g.embedding for g in genomes} == {"angle", "amplitude"}
    widths = [(4, 3), (13, 3), (30, 2), (64, 10)]
    for i, genome in enumerate(genomes):
        n_features, n_classes = widths[i % len(widths)]
        measured = reference_training(genome, n_features, n_classes)
        assert measured == training_flops_formula(genome, n_features, n_classes), genome.key


def test_count_flops_splits_one_profiled_step() -> None:
    rng = np.random.default_rng(8)
    for genome in SearchSpace(qubits=(2, 3, 4)).sample(6, rng):
        counts = count_flops(genome, 4, 3)
        assert counts.quantum == quantum_flops_formula(genome)
        assert counts.classical == classical_flops_formula(genome, 4, 3)
        assert counts.training == training_flops_formula(genome, 4, 3)
        assert counts.training > 2 * (counts.quantum + counts.classical)


def test_training_flops_scale_with_samples_and_epochs() -> None:
    genome = Genome.parse("q3-amplitude-cx-linear-ry")
    per_sample = training_flops_formula(genome, 4, 3)
    assert training_flops(genome, 4, 3, n_train=90, epochs=5) == per_sample * 90 * 5


def test_per_sample_training_flops_bound_a_batch() -> None:
    """Weight-only operators are paid once per batch: per-sample counting is an upper bound."""
    genome = Genome.parse("q3-angle-cz-circular-rx.rz")
    model = build_model(genome, 4, 3, seed=0)
    simulator = model.quantum.simulator
    assert simulator is not None
    x, y = torch.randn(8, 4), torch.zeros(8, dtype=torch.long)

    def step() -> None:
        q = simulator.expectations(model.pre(x), model.quantum.weight, reference=True)
        functional.nll_loss(torch.log_softmax(model.post(q), dim=1), y).backward()

    batch = profiled(step)
    per_sample = training_flops_formula(genome, 4, 3)
    assert 0.97 * 8 * per_sample < batch <= 8 * per_sample


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda g: classical_flops_formula(g, 0, 3), "n_features"),
        (lambda g: classical_flops_formula(g, 4, 1), "n_classes"),
        (lambda g: training_flops(g, 4, 3, n_train=0, epochs=5), "n_train"),
        (lambda g: training_flops(g, 4, 3, n_train=10, epochs=0), "epochs"),
    ],
)
def test_bad_widths_are_rejected_in_one_line(call: Callable[[Genome], int], name: str) -> None:
    with pytest.raises(ConfigError) as info:
        call(Genome.parse("q2-angle-cx-linear-rx"))
    message = str(info.value)
    assert f"'{name}'" in message and "\n" not in message and "Got" in message
