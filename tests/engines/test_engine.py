from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.circuit import Gate, Parameter, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.primitives import EstimatorV2 as AerEstimator
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.engines import (
    BatchedParamShiftGradient,
    CircuitProgram,
    HQNNSimulator,
    TorchEstimator,
    make_engine,
)
from faqnas_qiskit.errors import ConfigError, EngineError
from faqnas_qiskit.models.hqnn import QuantumLayer
from faqnas_qiskit.space import Genome, SearchSpace
from tests.reference import reference_state, reference_z


def _features(genome: Genome, rng: np.random.Generator, batch: int) -> np.ndarray:
    if genome.embedding == "angle":
        return rng.uniform(-np.pi, np.pi, (batch, genome.n_qubits))
    return rng.normal(size=(batch, 2**genome.n_qubits))


def compare_with_aer(
    genome: Genome, rng: np.random.Generator, batch: int = 2
) -> tuple[float, float]:
    """Max deviation of the fast engine (complex128) from Aer: (values, gradients)."""
    weights = rng.uniform(-np.pi, np.pi, genome.n_weights)
    hqnn = build_circuit(genome)
    fast = QuantumLayer(hqnn, make_engine("statevector"), weights).double()
    aer = QuantumLayer(hqnn, make_engine("aer"), weights).double()
    assert fast.simulator is not None and aer.simulator is None
    x = torch.tensor(_features(genome, rng, batch))
    probe = torch.tensor(rng.normal(size=(batch, genome.n_qubits)))
    results = []
    for layer in (fast, aer):
        xi = x.clone().requires_grad_(True)
        out = layer(xi)
        (out * probe).sum().backward()
        assert xi.grad is not None and layer.weight.grad is not None
        results.append((out.detach(), xi.grad, layer.weight.grad.clone()))
    (v1, gx1, gw1), (v2, gx2, gw2) = results
    value_err = float((v1 - v2).abs().max())
    grad_err = max(float((gx1 - gx2).abs().max()), float((gw1 - gw2).abs().max()))
    return value_err, grad_err


def _sample(rng: np.random.Generator, count: int, max_amplitude_qubits: int) -> list[Genome]:
    genomes = []
    space = SearchSpace()
    while len(genomes) < count:
        g = space.sample(1, rng)[0]
        if g.embedding == "amplitude" and g.n_qubits > max_amplitude_qubits:
            continue
        genomes.append(g)
    return genomes


def test_engine_matches_aer_values_and_gradients_sample() -> None:
    rng = np.random.default_rng(7)
    genomes = _sample(rng, 16, max_amplitude_qubits=5)
    genomes += [
        Genome.parse("q10-angle-cx-circular-rx.ry.rz.ry"),
        Genome.parse("q6-amplitude-cz-linear-ry.ry"),
    ]
    for genome in genomes:
        value_err, grad_err = compare_with_aer(genome, rng)
        assert value_err < 1e-6, str(genome)
        assert grad_err < 1e-5, str(genome)


@pytest.mark.slow
def test_engine_matches_aer_on_200_genomes() -> None:
    rng = np.random.default_rng(2024)
    genomes = _sample(rng, 200, max_amplitude_qubits=7)
    seen = {(g.embedding, g.entangler, g.topology) for g in genomes}
    assert len(seen) == 8
    for genome in genomes:
        value_err, grad_err = compare_with_aer(genome, rng)
        assert value_err < 1e-6, str(genome)
        assert grad_err < 1e-5, str(genome)


def test_simulator_matches_independent_reference(rng: np.random.Generator) -> None:
    for genome in SearchSpace(qubits=(2, 3, 4, 5, 6)).sample(12, rng):
        sim = HQNNSimulator(build_circuit(genome))
        x = _features(genome, rng, 3)
        w = rng.uniform(-np.pi, np.pi, genome.n_weights)
        for reference in (False, True):
            got = sim.expectations(torch.tensor(x), torch.tensor(w), reference=reference).numpy()
            want = np.array([reference_z(reference_state(genome, row, w)) for row in x])
            assert np.abs(got - want).max() < 1e-10


def test_complex64_is_close_to_complex128(rng: np.random.Generator) -> None:
    genome = Genome.parse("q8-angle-cz-circular-ry.rx.ry.rz")
    sim = HQNNSimulator(build_circuit(genome))
    x = _features(genome, rng, 16)
    w = rng.uniform(-np.pi, np.pi, genome.n_weights)
    single = sim.expectations(
        torch.tensor(x, dtype=torch.float32), torch.tensor(w, dtype=torch.float32)
    )
    double = sim.expectations(torch.tensor(x), torch.tensor(w))
    assert single.dtype == torch.float32 and double.dtype == torch.float64
    assert float((single.double() - double).abs().max()) < 1e-5


def test_reference_mode_equals_fast_mode(rng: np.random.Generator) -> None:
    for genome in SearchSpace(qubits=(6, 7, 8)).sample(6, rng):
        hqnn = build_circuit(genome)
        program = CircuitProgram(hqnn.circuit, hqnn.input_params, hqnn.weight_params)
        values = torch.tensor(rng.uniform(-3, 3, (4, len(hqnn.input_params))))
        w = torch.tensor(rng.uniform(-3, 3, genome.n_weights))
        fast = program.states(values, w, dtype=torch.complex128)
        ref = program.states(values, w, dtype=torch.complex128, reference=True)
        assert float((fast - ref).abs().max()) < 1e-12


def test_estimator_matches_aer_with_broadcasting(rng: np.random.Generator) -> None:
    hqnn = build_circuit(Genome.parse("q3-amplitude-cz-circular-rx.ry"))
    values = rng.uniform(-3, 3, (4, 1, len(hqnn.circuit.parameters)))
    observables = [[*hqnn.observables, SparsePauliOp(["XYZ", "IXX", "YYI"], [0.5, 0.2, -1.0])]]
    pub = (hqnn.circuit, observables, values)
    ours = TorchEstimator().run([pub]).result()[0].data.evs
    aer = AerEstimator().run([pub]).result()[0].data.evs
    assert ours.shape == aer.shape == (4, 4)
    assert np.abs(ours - aer).max() < 1e-10


def test_estimator_generic_circuit_and_precision() -> None:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.rx(2 * a + 0.3, 1)
    qc.swap(0, 1)
    qc.s(1)
    qc.ry(b - a, 0)
    qc.cx(1, 0)
    obs = SparsePauliOp(["ZZ", "XI", "IY"], [1.0, 0.5, 0.25])
    values = np.array([[0.1, 0.7], [1.2, -0.4], [0.0, 0.0]])
    ours = TorchEstimator().run([(qc, obs, values)]).result()[0].data.evs
    aer = AerEstimator().run([(qc, obs, values)]).result()[0].data.evs
    assert np.abs(ours - aer).max() < 1e-10
    noisy = TorchEstimator(seed=3).run([(qc, obs, values)], precision=0.1).result()[0]
    # stds are zeros, as StatevectorEstimator reports them
    assert np.all(noisy.data.stds == 0) and not np.allclose(noisy.data.evs, ours)
    again = TorchEstimator(seed=3).run([(qc, obs, values)], precision=0.1).result()[0]
    assert np.array_equal(again.data.evs, noisy.data.evs)
    # a Generator continues across calls, as in Qiskit's StatevectorEstimator
    streaming = TorchEstimator(seed=np.random.default_rng(3))
    first = streaming.run([(qc, obs, values)], precision=0.1).result()[0].data.evs
    second = streaming.run([(qc, obs, values)], precision=0.1).result()[0].data.evs
    assert np.array_equal(first, noisy.data.evs) and not np.allclose(first, second)
    assert np.abs(second - ours).max() < 0.6  # noise of standard deviation 0.1


def test_unsupported_gates_are_refused() -> None:
    a = Parameter("a")
    qc = QuantumCircuit(2)
    qc.append(Gate("opaque", 2, [a]), [0, 1])  # parametric, without a definition
    with pytest.raises(EngineError, match="Parametric gates must be one of rx, ry, rz"):
        TorchEstimator().run([(qc, SparsePauliOp("ZZ"), [0.1])]).result()
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with pytest.raises(EngineError, match="must be unitary"):
        CircuitProgram(qc)
    with pytest.raises(ConfigError):
        TorchEstimator(default_precision=-1)


def test_batched_parameter_shift_equals_library_gradient(rng: np.random.Generator) -> None:
    hqnn = build_circuit(Genome.parse("q3-angle-cx-circular-rx.rz"))
    estimator = AerEstimator()
    n = len(hqnn.circuit.parameters)
    values = rng.uniform(-3, 3, (4, n))
    circuits = [hqnn.circuit] * 6
    observables = [hqnn.observables[i % 3] for i in range(6)]
    params = [values[i % 4] for i in range(6)]
    ours = (
        BatchedParamShiftGradient(estimator=estimator).run(circuits, observables, params).result()
    )
    lib = (
        ParamShiftEstimatorGradient(estimator=estimator).run(circuits, observables, params).result()
    )
    for g1, g2 in zip(ours.gradients, lib.gradients, strict=True):
        assert np.abs(np.asarray(g1) - np.asarray(g2)).max() < 1e-10


@pytest.mark.parametrize(
    "text",
    [
        "q8-amplitude-cx-circular-ry.rz",
        "q9-amplitude-cz-linear-rx",
        "q10-amplitude-cz-circular-ry.rx.ry.rz",
    ],
)
def test_large_amplitude_values_match_aer(text: str) -> None:
    """Values (not gradients: parameter shift over 2**n - 1 input angles is too slow here)."""
    rng = np.random.default_rng(3)
    genome = Genome.parse(text)
    hqnn = build_circuit(genome)
    weights = rng.uniform(-np.pi, np.pi, genome.n_weights)
    features = torch.tensor(rng.normal(size=(2, 2**genome.n_qubits)))
    ours = HQNNSimulator(hqnn).expectations(features, torch.tensor(weights)).numpy()
    inputs = hqnn.input_values(features).numpy()
    values = np.concatenate([inputs, np.tile(weights, (2, 1))], axis=1)[:, None, :]
    observables = [list(hqnn.observables)]
    aer = AerEstimator().run([(hqnn.circuit, observables, values)]).result()[0].data.evs
    assert np.abs(ours - aer).max() < 1e-6
