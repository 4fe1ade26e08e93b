"""The HQNN kernel (dense unitary and layered forms) against Qiskit and the reference mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.engines.hqnn_kernel import plan_weights, run_plan, use_dense
from faqnas_qiskit.space import Genome, SearchSpace

KEYS = [
    "q2-angle-cx-linear-rz",
    "q2-amplitude-cz-circular-rx.ry",
    "q3-angle-cz-circular-ry.rx.rz",
    "q4-angle-cx-circular-rx.ry.rz.rx",
    "q4-amplitude-cx-linear-rz.rz",
    "q5-amplitude-cz-circular-ry.rx.ry",
    "q6-angle-cz-linear-rx.rz.ry.rx",
    "q7-angle-cx-circular-ry",
    "q8-amplitude-cz-circular-rx.rx.rz.ry",
]


def _features(genome: Genome, gen: torch.Generator, batch: int) -> torch.Tensor:
    width = genome.n_qubits if genome.embedding == "angle" else 2**genome.n_qubits
    return torch.randn(batch, width, generator=gen, dtype=torch.float64) * 2


def _qiskit_z(genome: Genome, features: torch.Tensor, weights: torch.Tensor) -> np.ndarray:
    """⟨Z_i⟩ of each row from Qiskit's ``Statevector`` of the bound circuit, shape (B, n)."""
    hqnn = build_circuit(genome)
    angles = hqnn.input_values(features).numpy()
    out = []
    for row in angles:
        binding = dict(zip(hqnn.input_params, row, strict=True))
        binding.update(zip(hqnn.weight_params, weights.numpy(), strict=True))
        probs = Statevector(hqnn.circuit.assign_parameters(binding)).probabilities()
        bits = (np.arange(2**genome.n_qubits)[:, None] >> np.arange(genome.n_qubits)) & 1
        out.append(probs @ (1.0 - 2.0 * bits))
    return np.array(out)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("dense", [True, False])
def test_kernel_matches_qiskit_statevector(key: str, dense: bool) -> None:
    genome = Genome.parse(key)
    simulator = HQNNSimulator(build_circuit(genome))
    gen = torch.Generator().manual_seed(3)
    features = _features(genome, gen, 5)
    weights = torch.rand(genome.n_weights, generator=gen, dtype=torch.float64) * 6 - 3
    got = simulator.replicated_expectations(features[None], weights[None], dense=dense)[0]
    assert got.dtype == torch.float64 and got.shape == (5, genome.n_qubits)
    assert np.abs(got.numpy() - _qiskit_z(genome, features, weights)).max() < 1e-12


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("dense", [True, False])
def test_kernel_gradients_equal_the_reference_mode(key: str, dense: bool) -> None:
    genome = Genome.parse(key)
    simulator = HQNNSimulator(build_circuit(genome))
    gen = torch.Generator().manual_seed(11)
    features = _features(genome, gen, 4).requires_grad_()
    weights = (
        torch.rand(genome.n_weights, generator=gen, dtype=torch.float64) * 6 - 3
    ).requires_grad_()
    cotangent = torch.randn(4, genome.n_qubits, generator=gen, dtype=torch.float64)

    def grads(out: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.autograd.grad((out * cotangent).sum(), (features, weights))

    ref = simulator.expectations(features, weights, reference=True)
    got = simulator.replicated_expectations(features[None], weights[None], dense=dense)[0]
    assert float((got - ref).detach().abs().max()) < 1e-12
    for a, b in zip(grads(got), grads(ref), strict=True):
        assert float((a - b).abs().max()) < 1e-12


def test_kernel_weight_gradient_matches_finite_differences() -> None:
    genome = Genome.parse("q3-angle-cx-circular-rx.ry")
    simulator = HQNNSimulator(build_circuit(genome))
    gen = torch.Generator().manual_seed(5)
    features = _features(genome, gen, 3)
    weights = torch.rand(genome.n_weights, generator=gen, dtype=torch.float64).requires_grad_()
    (grad,) = torch.autograd.grad(simulator.expectations(features, weights).sum(), weights)
    step = 1e-6
    for i in range(genome.n_weights):
        shift = torch.zeros_like(weights)
        shift[i] = step
        with torch.no_grad():
            up = simulator.expectations(features, weights + shift).sum()
            down = simulator.expectations(features, weights - shift).sum()
        assert abs(float((up - down) / (2 * step)) - float(grad[i])) < 1e-8


def test_default_path_is_the_kernel_and_equals_the_program_path() -> None:
    rng = np.random.default_rng(9)
    for genome in SearchSpace(qubits=(2, 3, 4, 5, 6, 7, 8)).sample(10, rng):
        simulator = HQNNSimulator(build_circuit(genome))
        gen = torch.Generator().manual_seed(1)
        features = _features(genome, gen, 6)
        weights = torch.randn(genome.n_weights, generator=gen, dtype=torch.float64)
        default = simulator.expectations(features, weights)
        program = simulator.program_expectations(features, weights)
        kernel = simulator.replicated_expectations(features[None], weights[None])[0]
        assert torch.equal(default, kernel)
        assert float((default - program).abs().max()) < 1e-12


def test_float32_kernel_is_close_to_float64() -> None:
    genome = Genome.parse("q6-angle-cz-circular-ry.rx.ry.rz")
    simulator = HQNNSimulator(build_circuit(genome))
    gen = torch.Generator().manual_seed(2)
    features = _features(genome, gen, 8)
    weights = torch.randn(genome.n_weights, generator=gen, dtype=torch.float64)
    for dense in (True, False):
        single = simulator.replicated_expectations(
            features[None].float(), weights[None].float(), dense=dense
        )[0]
        double = simulator.replicated_expectations(features[None], weights[None], dense=dense)[0]
        assert single.dtype == torch.float32
        assert float((single.double() - double).abs().max()) < 1e-5


def test_padded_networks_in_one_plan_equal_each_network_alone() -> None:
    genomes = [
        Genome.parse("q4-angle-cx-linear-ry"),
        Genome.parse("q4-angle-cz-circular-rx.rz.ry"),
        Genome.parse("q4-angle-cx-circular-rz.rx"),
    ]
    gen = torch.Generator().manual_seed(4)
    features = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64)
    weights = torch.zeros(3, 3, 4, dtype=torch.float64)
    for m, genome in enumerate(genomes):
        weights[m, : genome.depth] = torch.randn(genome.depth, 4, generator=gen)
    plan = plan_weights(genomes, torch.float64, "cpu")
    assert plan.depth == 3 and not plan.uniform
    for dense in (True, False):
        together = run_plan(plan, features, weights, dense=dense)
        for m, genome in enumerate(genomes):
            alone = HQNNSimulator(build_circuit(genome)).expectations(
                features[m], weights[m, : genome.depth].flatten(), reference=True
            )
            assert float((together[m] - alone).abs().max()) < 1e-12


def test_plans_reject_mixed_qubit_counts() -> None:
    with pytest.raises(ValueError, match="share the qubit count"):
        plan_weights(
            [Genome.parse("q3-angle-cx-linear-rx"), Genome.parse("q4-angle-cx-linear-rx")],
            torch.float64,
            "cpu",
        )


def test_dense_form_is_chosen_on_small_circuits_only() -> None:
    assert use_dense(2, 64) and use_dense(4, 64) and use_dense(6, 1024)
    assert not use_dense(8, 64) and not use_dense(10, 1024)
