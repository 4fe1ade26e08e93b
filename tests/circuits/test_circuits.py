from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from faqnas_qiskit.circuits import amplitude_angles, build_circuit
from faqnas_qiskit.space import Genome, SearchSpace
from tests.reference import reference_state


def _random_genomes(rng: np.random.Generator, count: int) -> list[Genome]:
    genomes = SearchSpace(qubits=tuple(range(2, 8))).sample(count, rng)
    # make sure every gate, topology and both embeddings appear, and the largest sizes
    genomes += [
        Genome.parse("q10-angle-cx-circular-rx.ry.rz.ry"),
        Genome.parse("q9-amplitude-cz-circular-rz.rx"),
        Genome.parse("q2-angle-cz-circular-rz"),
        Genome.parse("q3-amplitude-cx-linear-rx.ry.rz.rx"),
    ]
    return genomes


def test_statevector_matches_independent_simulation(rng: np.random.Generator) -> None:
    for genome in _random_genomes(rng, 40):
        built = build_circuit(genome)
        n = genome.n_qubits
        if genome.embedding == "angle":
            features = rng.uniform(-np.pi, np.pi, n)
        else:
            features = rng.normal(size=2**n)
            features[rng.integers(0, 2**n)] = 0.0
        weights = rng.uniform(-np.pi, np.pi, genome.n_weights)
        inputs = built.input_values(torch.tensor(features)[None])[0].numpy()
        bound = built.circuit.assign_parameters(
            dict(zip(built.input_params, inputs, strict=True))
            | dict(zip(built.weight_params, weights, strict=True))
        )
        got = Statevector(bound).data
        want = reference_state(genome, features, weights)
        assert np.abs(got - want).max() < 1e-9, str(genome)


@pytest.mark.parametrize("n", range(2, 11))
def test_amplitude_block_prepares_normalised_vector(n: int, rng: np.random.Generator) -> None:
    genome = Genome(n, "amplitude", "cx", "linear", 1, ("rx",))
    built = build_circuit(genome)
    vectors = [rng.normal(size=2**n), -np.abs(rng.normal(size=2**n)), np.eye(2**n)[-1] * -3.0]
    sparse = rng.normal(size=2**n)
    sparse[: 2 ** (n - 1)] = 0.0
    vectors.append(sparse)
    for v in vectors:
        angles = built.input_values(torch.tensor(v)[None])[0].numpy()
        state = Statevector(built.embedding.assign_parameters(angles)).data
        assert np.abs(state - v / np.linalg.norm(v)).max() < 1e-10


def test_amplitude_counts_and_real_cost() -> None:
    for n in (2, 3, 5, 8):
        built = build_circuit(Genome(n, "amplitude", "cx", "linear", 1, ("rx",)))
        ops = built.embedding.count_ops()
        assert len(built.input_params) == 2**n - 1
        assert ops["ry"] == 2**n - 1
        assert ops.get("cx", 0) == 2**n - 2


def test_zero_vector_has_finite_gradients() -> None:
    v = torch.zeros(1, 8, dtype=torch.float64, requires_grad=True)
    angles = amplitude_angles(v, 3)
    assert torch.all(angles == 0)
    angles.sum().backward()
    assert v.grad is not None and torch.all(torch.isfinite(v.grad))


def test_amplitude_angles_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    v = torch.tensor(rng.normal(size=(2, 16)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: amplitude_angles(t, 4), (v,), eps=1e-6, atol=1e-6)


def test_layout_and_parameter_order() -> None:
    built = build_circuit(Genome.parse("q3-angle-cx-circular-ry.rz"))
    params = list(built.circuit.parameters)
    assert params == [*built.input_params, *built.weight_params]
    names = [
        (inst.operation.name, [built.circuit.find_bit(q).index for q in inst.qubits])
        for inst in built.circuit.data
    ]
    assert names == [
        ("rx", [0]), ("rx", [1]), ("rx", [2]),
        ("ry", [0]), ("ry", [1]), ("ry", [2]),
        ("cx", [0, 1]), ("cx", [1, 2]), ("cx", [2, 0]),
        ("rz", [0]), ("rz", [1]), ("rz", [2]),
        ("cx", [0, 1]), ("cx", [1, 2]), ("cx", [2, 0]),
    ]  # fmt: skip
    # weight θ[l*n + i] sits on qubit i of layer l
    layer2 = [inst for inst in built.circuit.data if inst.operation.name == "rz"]
    assert [inst.operation.params[0] for inst in layer2] == list(built.weight_params[3:6])
    assert [o.paulis[0].to_label() for o in built.observables] == ["IIZ", "IZI", "ZII"]


def test_two_qubit_circular_has_one_pair() -> None:
    built = build_circuit(Genome.parse("q2-angle-cz-circular-rx"))
    assert built.circuit.count_ops()["cz"] == 1


def test_amplitude_building_blocks_refuse_wrong_widths_with_the_root_error() -> None:
    import torch
    from qiskit.circuit import ParameterVector

    from faqnas_qiskit.circuits.amplitude import amplitude_angles, amplitude_block
    from faqnas_qiskit.errors import FaqnasError

    # 3 qubits: 2**3 - 1 = 7 tree angles and 8 features
    with pytest.raises(FaqnasError, match=r"must be 7 long .* for 3 qubits. Got 6 instead"):
        amplitude_block(3, ParameterVector("a", 6))
    with pytest.raises(FaqnasError, match=r"must be 8 wide \(2\*\*n\).*Got 5 instead"):
        amplitude_angles(torch.zeros(2, 5), 3)
