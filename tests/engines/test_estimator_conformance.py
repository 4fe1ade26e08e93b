"""TorchEstimator in place of Qiskit's StatevectorEstimator, and under qiskit-machine-learning.

The behaviours are those that Qiskit's own ``StatevectorEstimator`` tests and
qiskit-machine-learning's ``EstimatorQNN`` / ``TorchConnector`` tests check (PUB forms,
parameter-value forms, endianness, errors, precision and seeds, metadata; QNN shapes with and
without inputs, weights or input gradients; training through ``TorchConnector``). The reference
in every comparison is ``StatevectorEstimator`` run on the same PUBs, or a value worked out by
hand in the test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.circuit import Gate, Parameter, QuantumCircuit
from qiskit.circuit.library import (
    get_standard_gate_name_mapping,
    real_amplitudes,
    zz_feature_map,
)
from qiskit.primitives import StatevectorEstimator
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.quantum_info import SparseObservable, SparsePauliOp, Statevector
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.exceptions import QiskitMachineLearningError
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
from qiskit_machine_learning.neural_networks import EstimatorQNN

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.engines import TorchEstimator, make_engine
from faqnas_qiskit.errors import ConfigError, EngineError, FaqnasError
from faqnas_qiskit.models.hqnn import QuantumLayer
from faqnas_qiskit.space import Genome

EXACT = 1e-12


def _ansatz(reps: int) -> QuantumCircuit:
    """A two-qubit RealAmplitudes appended as one composite instruction."""
    qc = QuantumCircuit(2)
    qc.append(real_amplitudes(num_qubits=2, reps=reps), [0, 1])
    return qc


HAMILTONIAN = SparsePauliOp.from_list(
    [("II", -1.05), ("IZ", 0.4), ("ZI", -0.4), ("ZZ", -0.011), ("XX", 0.18)]
)
H1 = SparsePauliOp.from_list([("II", 1), ("IZ", 2), ("XI", 3)])
H2 = SparsePauliOp.from_list([("IZ", 1)])
H3 = SparsePauliOp.from_list([("ZI", 1), ("ZZ", 1)])
THETA1 = [0, 1, 1, 2, 3, 5]
THETA2 = [0, 1, 1, 2, 3, 5, 8, 13]
THETA3 = [1, 2, 3, 4, 5, 6]


def _both(pubs: list, **options: object) -> tuple[list, list]:
    """Results of TorchEstimator and StatevectorEstimator on the same PUBs."""
    ours = TorchEstimator(**options).run(pubs).result()  # type: ignore[arg-type]
    reference = StatevectorEstimator(**options).run(pubs).result()  # type: ignore[arg-type]
    return list(ours), list(reference)


def _assert_same(ours: list, reference: list, tol: float = EXACT) -> None:
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference, strict=True):
        assert a.data.evs.shape == b.data.evs.shape
        assert a.data.stds.shape == b.data.stds.shape
        assert a.data.shape == b.data.shape
        np.testing.assert_allclose(a.data.evs, b.data.evs, rtol=0, atol=tol)
        np.testing.assert_array_equal(a.data.stds, b.data.stds)
        assert a.metadata == b.metadata


# ------------------------------------------------------------------------ Qiskit's estimator tests
def test_run_with_composite_ansatz_and_several_pubs() -> None:
    psi1, psi2 = _ansatz(2), _ansatz(3)
    pubs = [
        (psi1, H1, [THETA1]),
        (psi2, H1, THETA2),
        (psi1, [H2, H3], THETA1),
        (psi1, [H1, H3], [THETA1, THETA3]),
        (psi2, H2, THETA2),
    ]
    ours, reference = _both(pubs)
    _assert_same(ours, reference)
    assert ours[0].data.evs.shape == (1,) and ours[2].data.evs.shape == (2,)


def test_explicit_estimator_pubs() -> None:
    psi1, psi2 = _ansatz(2), _ansatz(3)
    pub1 = EstimatorPub(
        psi1,
        ObservablesArray.coerce([H1, H3]),
        BindingsArray.coerce({tuple(psi1.parameters): [THETA1, THETA3]}),
    )
    pub2 = EstimatorPub(
        psi2, ObservablesArray.coerce(H2), BindingsArray.coerce({tuple(psi2.parameters): THETA2})
    )
    ours, reference = _both([pub1, pub2])
    _assert_same(ours, reference)


def test_bound_circuit_without_parameters() -> None:
    circuit = _ansatz(2).assign_parameters(THETA1)
    ours, reference = _both([(circuit, HAMILTONIAN)])
    _assert_same(ours, reference)
    assert ours[0].data.evs.shape == ()


@pytest.mark.parametrize(
    "values",
    [None, [], [[]], np.array([]), np.array([[]]), [np.array([])]],
    ids=["None", "list", "nested", "array", "2d-array", "list-of-array"],
)
def test_parameter_free_circuit_value_forms(values: object) -> None:
    qc = QuantumCircuit(1)
    qc.x(0)
    ours, reference = _both([(qc, SparsePauliOp("Z"), values)])
    _assert_same(ours, reference)
    np.testing.assert_allclose(ours[0].data.evs, -1)  # X|0> = |1>, <Z> = -1
    assert ours[0].metadata["target_precision"] == 0


def test_issue_examples_parameter_free_and_empty_arrays() -> None:
    assert float(TorchEstimator().run([(QuantumCircuit(1), "Z")]).result()[0].data.evs) == 1.0
    a = Parameter("a")
    qc = QuantumCircuit(1)
    qc.ry(a, 0)
    for precision in (0.0, 0.1):
        ours, reference = _both(
            [(qc, "Z", np.zeros((0, 1))), (qc, ["Z", "X"], np.zeros((0, 1, 1)))]
        )
        _assert_same(ours, reference)
        ours = TorchEstimator().run([(qc, "Z", np.zeros((0, 1)))], precision=precision).result()
        assert ours[0].data.evs.shape == (0,)


@pytest.mark.parametrize("values", [[np.pi], np.array([np.pi])], ids=["list", "array"])
def test_one_parameter_value_forms(values: object) -> None:
    x = Parameter("x")
    qc = QuantumCircuit(1)
    qc.ry(x, 0)
    ours = TorchEstimator().run([(qc, SparsePauliOp("Z"), values)]).result()
    np.testing.assert_allclose(ours[0].data.evs, [-1], atol=EXACT)  # RY(π)|0> = |1>


@pytest.mark.parametrize(
    "values",
    [
        THETA1,
        [THETA1],
        np.array(THETA1),
        np.array([THETA1]),
        [np.array(THETA1)],
    ],
    ids=["list", "nested", "array", "2d-array", "list-of-array"],
)
def test_several_parameter_value_forms(values: object) -> None:
    ours, reference = _both([(_ansatz(2), H1, values)])
    _assert_same(ours, reference)


@pytest.mark.parametrize(
    ("label", "flip", "expected"),
    [("I", False, 1), ("Z", False, 1), ("I", True, 1), ("Z", True, -1)],
)
def test_one_qubit(label: str, flip: bool, expected: int) -> None:
    qc = QuantumCircuit(1)
    if flip:
        qc.x(0)
    result = TorchEstimator().run([(qc, SparsePauliOp(label))]).result()
    np.testing.assert_allclose(result[0].data.evs, expected)


@pytest.mark.parametrize(
    ("label", "flip", "expected"),
    [("II", False, 1), ("II", True, 1), ("ZI", False, 1), ("ZI", True, 1), ("IZ", True, -1)],
)
def test_two_qubits_endianness(label: str, flip: bool, expected: int) -> None:
    qc = QuantumCircuit(2)
    if flip:
        qc.x(0)  # qubit 0 is the rightmost label character
    result = TorchEstimator().run([(qc, SparsePauliOp(label))]).result()
    np.testing.assert_allclose(result[0].data.evs, expected)


def test_invalid_pubs_raise_value_error_as_the_reference_does() -> None:
    qc, qc2 = QuantumCircuit(1), QuantumCircuit(2)
    op, op2 = SparsePauliOp("I"), SparsePauliOp("II")
    est = TorchEstimator()
    cases = [
        ([(qc, op2)], None),  # observable on another number of qubits
        ([(qc, op, [[1e4]])], None),  # a value for a circuit without parameters
        ([(qc2, op2, [[1, 2]])], None),
        ([(qc, [op, op2], [[1]])], None),
        ([(qc, op)], -1.0),  # negative precision
    ]
    for pubs, precision in cases:
        for estimator in (est, StatevectorEstimator()):
            with pytest.raises(ValueError):
                estimator.run(pubs, precision=precision).result()
    with pytest.raises(ValueError):
        est.run([(qc, 1j * op)], precision=0.1).result()  # not Hermitian
    with pytest.raises(ValueError, match="An invalid Estimator pub-like was given"):
        est.run((qc, op)).result()  # type: ignore[arg-type]  # missing []
    with pytest.raises(ConfigError):
        TorchEstimator(default_precision=-0.1)


def test_numpy_parameter_arrays() -> None:
    qc = _ansatz(2)
    op = SparsePauliOp.from_list([("IZ", 1), ("XI", 2), ("ZY", -1)])
    params = np.random.default_rng(12).random((5, qc.num_parameters))
    est = TorchEstimator()
    target = est.run([(qc, op, params.tolist())]).result()[0].data.evs
    assert target.shape == (5,)
    for form in (params, list(params)):
        np.testing.assert_array_equal(est.run([(qc, op, form)]).result()[0].data.evs, target)
    reference = StatevectorEstimator().run([(qc, op, params)]).result()[0].data.evs
    np.testing.assert_allclose(target, reference, rtol=0, atol=EXACT)


def test_precision_and_integer_seed_restart_per_pub() -> None:
    psi1 = _ansatz(2)
    pub = (psi1, H1, [THETA1])
    ours = TorchEstimator(default_precision=1.0, seed=1)
    reference = StatevectorEstimator(default_precision=1.0, seed=1)
    first = ours.run([pub]).result()[0].data.evs
    np.testing.assert_allclose(first, reference.run([pub]).result()[0].data.evs, atol=EXACT)
    two = ours.run([pub, pub]).result()  # an int seed restarts at every PUB
    np.testing.assert_array_equal(two[0].data.evs, first)
    np.testing.assert_array_equal(two[1].data.evs, first)
    exact = ours.run([pub], precision=0).result()[0].data.evs
    np.testing.assert_allclose(exact, StatevectorEstimator().run([pub]).result()[0].data.evs)
    assert not np.allclose(exact, first)


def test_generator_seed_continues_and_none_draws_fresh() -> None:
    qc = _ansatz(2)
    pub = (qc, [H1, H2, H3], THETA1)
    ours = TorchEstimator(default_precision=0.1, seed=np.random.default_rng(4))
    reference = StatevectorEstimator(default_precision=0.1, seed=np.random.default_rng(4))
    a = [r.data.evs for r in ours.run([pub, pub]).result()]
    b = [r.data.evs for r in reference.run([pub, pub]).result()]
    np.testing.assert_allclose(a, b, rtol=0, atol=EXACT)
    assert not np.allclose(a[0], a[1])
    fresh = TorchEstimator(default_precision=0.1)
    assert not np.allclose(*(fresh.run([pub]).result()[0].data.evs for _ in range(2)))


@pytest.mark.parametrize("precision", [0.0, 0.05])
@pytest.mark.parametrize(
    ("obs_shape", "param_shape"),
    [
        ((), ()),
        ((), (1,)),
        ((1,), ()),
        ((3,), (3,)),
        ((2, 1), (1, 4)),
        ((4, 1, 2), (3, 1)),
        ((), (0,)),
    ],
)
def test_every_broadcast_shape_at_every_precision(
    obs_shape: tuple[int, ...], param_shape: tuple[int, ...], precision: float
) -> None:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.cx(0, 1)
    qc.rx(b, 1)
    rng = np.random.default_rng(5)
    labels = ["ZZ", "XI", "IY", "ZX", "YY", "IZ", "XX", "ZI"]
    observables = np.empty(obs_shape, dtype=object)
    for k, idx in enumerate(np.ndindex(*obs_shape)):
        observables[idx] = SparsePauliOp(labels[k % len(labels)], rng.normal())
    obs = observables if obs_shape else SparsePauliOp("ZZ", 0.7)
    values = rng.uniform(-3, 3, (*param_shape, 2))
    pubs = [(qc, obs, values)]
    ours, reference = _both(pubs, default_precision=precision, seed=11)
    _assert_same(ours, reference)
    assert ours[0].data.evs.shape == np.broadcast_shapes(obs_shape, param_shape)


def test_iterable_of_pubs_and_metadata() -> None:
    circuit = _ansatz(2).assign_parameters(THETA1)
    est = TorchEstimator()
    result = est.run(iter([(circuit, HAMILTONIAN), (circuit, HAMILTONIAN)])).result()
    assert len(result) == 2 and result[0].data.evs == result[1].data.evs
    qc, qc2 = QuantumCircuit(2), QuantumCircuit(2)
    qc2.metadata = {"a": 1}
    result = est.run([(qc, "ZZ"), (qc2, "ZZ")], precision=0.1).result()
    assert result.metadata == {"version": 2}
    assert result[0].metadata == {"target_precision": 0.1, "circuit_metadata": {}}
    assert result[1].metadata == {"target_precision": 0.1, "circuit_metadata": {"a": 1}}


# ------------------------------------------------------------------ observables beyond Paulis
@pytest.mark.parametrize("label", ["0", "1", "+", "-", "r", "l"])
def test_projector_terms_are_exact(label: str) -> None:
    qc = QuantumCircuit(1)
    qc.ry(1.0, 0)
    qc.rz(0.4, 0)
    state = Statevector(qc).data
    vectors = {
        "0": [1, 0],
        "1": [0, 1],
        "+": [1, 1],
        "-": [1, -1],
        "r": [1, 1j],
        "l": [1, -1j],
    }
    v = np.array(vectors[label], dtype=complex)
    expected = abs(np.vdot(v / np.linalg.norm(v), state)) ** 2  # |<v|ψ>|^2 by hand
    got = TorchEstimator().run([(qc, SparseObservable(label))]).result()[0].data.evs
    assert abs(float(got) - expected) < EXACT


def test_issue_projector_example() -> None:
    qc = QuantumCircuit(1)
    qc.ry(1, 0)
    got = float(TorchEstimator().run([(qc, SparseObservable("0"))]).result()[0].data.evs)
    assert abs(got - np.cos(0.5) ** 2) < EXACT  # 0.770, not 1.0


def test_mixed_sparse_observable_matches_its_pauli_expansion() -> None:
    qc = _ansatz(2).assign_parameters(THETA3)
    qc.h(1)
    obs = SparseObservable.from_sparse_list(
        [("0X", [1, 0], 0.5), ("r", [1], -1.5), ("+-", [0, 1], 2.0), ("", [], 0.25)], 2
    )
    expanded = SparsePauliOp.from_sparse_observable(obs)
    ours = TorchEstimator().run([(qc, obs)]).result()[0].data.evs
    reference = StatevectorEstimator().run([(qc, expanded)]).result()[0].data.evs
    assert abs(float(ours) - float(reference)) < EXACT


# -------------------------------------------------------------------------- program cache
def test_cache_follows_the_circuit_content() -> None:
    a = Parameter("a")
    qc = QuantumCircuit(1)
    qc.ry(a, 0)
    est = TorchEstimator()
    before = float(est.run([(qc, "Z", [0.0])]).result()[0].data.evs)
    qc.x(0)  # the issue's example: the same object, changed after its first run
    after = float(est.run([(qc, "Z", [0.0])]).result()[0].data.evs)
    assert before == pytest.approx(1.0) and after == pytest.approx(-1.0)
    copy = qc.copy()
    est.run([(copy, "Z", [0.0])]).result()
    assert est.cached_programs == 2  # an equal circuit reuses the program
    assert est.program(copy) is est.program(qc)


def test_cache_is_bounded_and_lets_circuits_go() -> None:
    est = TorchEstimator(cache_size=8)
    for k in range(50):
        qc = QuantumCircuit(1)
        qc.rx(0.01 * k, 0)
        est.run([(qc, "Z")]).result()
    assert est.cached_programs == 8


def test_assigned_parameters_change_the_key() -> None:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(1)
    qc.rx(a, 0)
    qc.ry(b, 0)
    est = TorchEstimator()
    bound = qc.assign_parameters({a: 0.3}, inplace=False)
    ours = est.run([(qc, "Z", [0.3, 0.5]), (bound, "Z", [0.5])]).result()
    np.testing.assert_allclose(ours[0].data.evs, ours[1].data.evs, atol=EXACT)
    qc.assign_parameters({a: 1.1}, inplace=True)
    ours = est.run([(qc, "Z", [0.5])]).result()[0].data.evs
    reference = StatevectorEstimator().run([(qc, "Z", [0.5])]).result()[0].data.evs
    np.testing.assert_allclose(ours, reference, atol=EXACT)


# --------------------------------------------------------------------- gates and refusals
def _gate_circuit(name: str, a: Parameter, b: Parameter, c: Parameter) -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.ry(0.3, 1)
    expr = 2 * a - 0.25
    one = {"p": qc.p, "rx": qc.rx, "ry": qc.ry, "rz": qc.rz}
    two = {"rzz": qc.rzz, "rxx": qc.rxx, "ryy": qc.ryy, "rzx": qc.rzx, "crx": qc.crx,
           "cry": qc.cry, "crz": qc.crz, "cp": qc.cp}  # fmt: skip
    if name in one:
        one[name](expr, 1)
    elif name in two:
        two[name](expr, 2, 0)
    elif name == "u":
        qc.u(expr, b, c - a, 1)
    elif name == "r":
        qc.r(expr, b, 2)
    elif name == "cu":
        qc.cu(expr, b, c, 0.3 * a, 0, 2)
    else:
        getattr(qc, name)(*([0, 2] if name == "swap" else [1]))
    qc.cx(1, 0)
    return qc


GATES = ["p", "rx", "ry", "rz", "u", "r", "rzz", "rxx", "ryy", "rzx", "crx", "cry", "crz",
         "cp", "cu", "swap", "h", "s", "sdg", "t", "tdg", "sx", "sxdg", "x", "y", "z"]  # fmt: skip


@pytest.mark.parametrize("name", GATES)
def test_each_supported_gate_matches_the_reference(name: str) -> None:
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    qc = _gate_circuit(name, a, b, c)
    values = np.random.default_rng(0).uniform(-3, 3, (4, qc.num_parameters))
    obs = [SparsePauliOp(label) for label in ("ZII", "IXI", "IIY", "XYZ", "ZZX")]
    pub = (qc, [[o] for o in obs], values)
    ours, reference = _both([pub])
    _assert_same(ours, reference)


def test_library_blocks_as_composite_instructions() -> None:
    qc = QuantumCircuit(3)
    qc.append(zz_feature_map(3, reps=2), [0, 1, 2])  # non-affine angles: (π - x)(π - y)
    qc.append(real_amplitudes(3, reps=2).to_gate(), [2, 0, 1])  # a Gate wrapping a circuit
    values = np.random.default_rng(1).uniform(-2, 2, (5, qc.num_parameters))
    pub = (qc, ["ZZI", "IXX", "YIZ"], values[:, None, :])
    ours, reference = _both([pub])
    _assert_same(ours, reference)


_STANDARD_UNITARY = sorted(
    name
    for name, gate in get_standard_gate_name_mapping().items()
    if name not in ("measure", "reset", "barrier", "delay") and gate.num_qubits <= 4
)


@pytest.mark.parametrize("inverse", [False, True], ids=["gate", "inverse"])
@pytest.mark.parametrize("name", _STANDARD_UNITARY)
def test_every_standard_gate_and_its_inverse_matches_the_reference(
    name: str, inverse: bool
) -> None:
    """Qiskit's whole standard library up to 4 qubits, with free parameters, and each inverse."""
    template = get_standard_gate_name_mapping()[name]
    params = [Parameter(f"g{i}") for i in range(len(template.params))]
    gate = template.base_class(*params) if params else template
    n = max(template.num_qubits, 1)
    qc = QuantumCircuit(n)
    qc.h(range(n))  # a generic state, so that no gate acts trivially
    qc.ry(0.4, 0)
    qc.append(gate.inverse() if inverse else gate, range(template.num_qubits))
    qc.rx(0.3, n - 1)
    rng = np.random.default_rng(len(name))
    labels = ["".join(rng.choice(list("XYZ"), size=n)) for _ in range(3)]
    values = rng.uniform(-3, 3, (4, 1, qc.num_parameters))
    pub = (qc, labels, values) if qc.num_parameters else (qc, labels)
    ours, reference = _both([pub])
    _assert_same(ours, reference)


def test_inverses_of_composite_instructions() -> None:
    qc = QuantumCircuit(3)
    qc.append(zz_feature_map(3, parameter_prefix="x").to_gate().inverse(), [0, 1, 2])
    qc.append(real_amplitudes(3, reps=1).inverse(), [2, 0, 1])  # a circuit's inverse, appended
    qc.append(real_amplitudes(3, reps=1, parameter_prefix="w").to_gate(), [0, 1, 2])
    values = np.random.default_rng(4).uniform(-2, 2, (3, 1, qc.num_parameters))
    ours, reference = _both([(qc.inverse(), ["ZZX", "XYZ"], values)])
    _assert_same(ours, reference)


def _measured() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    return qc


def _reset() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.reset(0)
    return qc


def _conditional() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
    return qc


def _nested_reset() -> QuantumCircuit:
    inner = QuantumCircuit(1)
    inner.reset(0)
    qc = QuantumCircuit(1)
    qc.append(inner.to_instruction(), [0])
    return qc


def _opaque() -> QuantumCircuit:
    qc = QuantumCircuit(1)
    qc.append(Gate("opaque", 1, [Parameter("a")]), [0])
    return qc


@pytest.mark.parametrize("make", [_measured, _reset, _conditional, _nested_reset, _opaque])
def test_unsupported_operations_are_refused_before_any_work(make: object) -> None:
    qc = make()  # type: ignore[operator]
    values = [0.1] * qc.num_parameters
    with pytest.raises(EngineError) as info:
        TorchEstimator().run([(qc, "Z" * qc.num_qubits, values)])  # raised by run(), no result()
    assert isinstance(info.value, FaqnasError)
    assert "must be" in str(info.value) and "Got" in str(info.value)


# ------------------------------------------------------- qiskit-machine-learning's QNN tests
def _qnn_circuit(n_inputs: int, n_weights: int) -> tuple[QuantumCircuit, list, list]:
    inputs = [Parameter(f"input{i}") for i in range(n_inputs)]
    weights = [Parameter(f"weight{i}") for i in range(n_weights)]
    if n_inputs == n_weights > 0:  # input i and weight i on qubit i
        qc = QuantumCircuit(n_inputs)
        qc.h(0)
        for i, (x, w) in enumerate(zip(inputs, weights, strict=True)):
            qc.ry(x, i)
            qc.rx(w, i)
        return qc, inputs, weights
    qc = QuantumCircuit(1)  # every parameter on one qubit, RY and RX in turn
    qc.h(0)
    for k, p in enumerate([*inputs, *weights]):
        (qc.ry if k % 2 == 0 else qc.rx)(p, 0)
    return qc, inputs, weights


QNN_CASES = {
    "1_1": (1, 1, [("Z", 1), ("X", 1)], None),
    "2_1": (2, 2, [("ZZ", 1), ("XX", 1)], None),
    "1_2": (1, 1, [("Z", 1), ("X", 1)], [("Z", 2), ("X", 2)]),
    "2_2": (2, 2, [("ZZ", 1)], [("XX", 1)]),
    "no_inputs": (0, 2, [("Z", 1), ("X", 1)], None),
    "no_weights": (2, 0, [("Z", 1), ("X", 1)], None),
    "no_parameters": (0, 0, [("Z", 1), ("X", 1)], None),
    "default_observables": (1, 1, None, None),
}


def _qnn(case: str, estimator: object) -> EstimatorQNN:
    n_in, n_w, first, second = QNN_CASES[case]
    qc, inputs, weights = _qnn_circuit(n_in, n_w)
    observables = None
    if first is not None:
        observables = [SparsePauliOp.from_list(first)]
        if second is not None:
            observables.append(SparsePauliOp.from_list(second))
    return EstimatorQNN(
        circuit=qc,
        estimator=estimator,
        observables=observables,
        input_params=inputs or None,
        weight_params=weights or None,
        gradient=ParamShiftEstimatorGradient(estimator=estimator),
        default_precision=0.0,  # the library's default (1/64) adds noise: compare exact values
    )


@pytest.mark.parametrize("case", list(QNN_CASES))
def test_estimator_qnn_forward_and_backward(case: str) -> None:
    ours, reference = _qnn(case, TorchEstimator()), _qnn(case, StatevectorEstimator())
    n_in = ours.num_inputs
    rng = np.random.default_rng(3)
    weights = rng.uniform(-2, 2, ours.num_weights) if ours.num_weights else None
    forms: list[object] = [None] if n_in == 0 else [
        rng.uniform(-2, 2, n_in).tolist(),  # one sample
        rng.uniform(-2, 2, (3, n_in)),  # a batch
        rng.uniform(-2, 2, (2, 2, n_in)),  # extra leading dimension
    ]  # fmt: skip
    if n_in == 1:
        forms.append(1.5)  # a scalar
    for input_gradients in (False, True):
        ours.input_gradients = reference.input_gradients = input_gradients
        for data in forms:
            np.testing.assert_allclose(
                ours.forward(data, weights), reference.forward(data, weights), atol=EXACT
            )
            for got, want in zip(
                ours.backward(data, weights), reference.backward(data, weights), strict=True
            ):
                assert (got is None) == (want is None)
                if got is not None:
                    np.testing.assert_allclose(got, want, atol=1e-10)
            if not input_gradients or n_in == 0:
                assert ours.backward(data, weights)[0] is None


def test_torch_connector_gradients_equal_finite_differences() -> None:
    qnn = _qnn("2_2", TorchEstimator())
    qnn.input_gradients = True
    layer = TorchConnector(qnn, initial_weights=np.array([0.3, -0.7]))
    x = torch.tensor([[0.1, 0.5], [1.0, -0.4], [2.0, 0.3]], requires_grad=True)
    out = layer(x)
    assert out.shape == (3, 2)
    probe = torch.tensor([[1.0, -2.0], [0.5, 0.25], [-1.0, 1.0]])
    (out * probe).sum().backward()
    assert x.grad is not None and layer.weight.grad is not None

    def loss(xv: np.ndarray, wv: np.ndarray) -> float:
        return float((qnn.forward(xv, wv) * probe.numpy()).sum())

    x0, w0, h = x.detach().numpy().astype(float), np.array([0.3, -0.7]), 1e-6
    for i in np.ndindex(*x0.shape):
        e = np.zeros_like(x0)
        e[i] = h
        fd = (loss(x0 + e, w0) - loss(x0 - e, w0)) / (2 * h)
        assert abs(fd - float(x.grad[i])) < 1e-5
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        fd = (loss(x0, w0 + e) - loss(x0, w0 - e)) / (2 * h)
        assert abs(fd - float(layer.weight.grad[j])) < 1e-5


def _train(model: torch.nn.Module, teacher: torch.nn.Module, steps: int = 20) -> list[float]:
    """Fit ``model`` to ``teacher``'s outputs (same architecture, other weights): MSE losses."""
    x = torch.tensor(np.random.default_rng(0).uniform(-1, 1, (16, 2)), dtype=torch.float32)
    with torch.no_grad():
        target = teacher(x)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.mean((model(x) - target) ** 2)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def test_estimator_qnn_at_precision_trains_through_torch_connector() -> None:
    """qiskit-machine-learning's own parameter-shift gradient, on noisy values (precision 0.01)."""
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.append(zz_feature_map(2, reps=1, parameter_prefix="x"), [0, 1])
    qc.ry(a, 0)
    qc.ry(b, 1)
    qc.cx(0, 1)
    inputs = sorted((p for p in qc.parameters if p.name.startswith("x")), key=lambda p: p.name)
    estimator = TorchEstimator(default_precision=0.01, seed=np.random.default_rng(7))
    qnn = EstimatorQNN(
        circuit=qc,
        estimator=estimator,
        observables=[SparsePauliOp("ZZ")],
        input_params=inputs,
        weight_params=[a, b],
        default_precision=0.01,
    )
    model = TorchConnector(qnn, initial_weights=np.array([0.1, 2.5]))
    teacher = TorchConnector(qnn, initial_weights=np.array([1.2, -0.8]))
    losses = _train(model, teacher)
    assert losses[-1] < 0.25 * losses[0]
    assert estimator.cached_programs <= 64


def test_quantum_layer_autograd_path_trains_at_precision_zero() -> None:
    genome = Genome.parse("q2-angle-cx-linear-ry.rx")
    hqnn = build_circuit(genome)
    layer = QuantumLayer(hqnn, make_engine("statevector"), np.array([0.1, 2.5, -1.0, 0.4]))
    teacher = QuantumLayer(hqnn, make_engine("statevector"), np.array([1.2, -0.8, 0.5, 1.5]))
    assert layer.simulator is not None
    losses = _train(layer, teacher)
    assert losses[-1] < 0.25 * losses[0]


# ------------------------------------------------- QuantumLayer raises what TorchConnector does
@pytest.mark.parametrize("engine", ["statevector", "aer"])
def test_quantum_layer_input_errors_match_torch_connector(engine: str) -> None:
    hqnn = build_circuit(Genome.parse("q3-angle-cz-linear-ry"))
    layer = QuantumLayer(hqnn, make_engine(engine), np.zeros(3))
    connector = TorchConnector(layer.neural_network, initial_weights=np.zeros(3))
    for bad in (torch.zeros(2, 4), torch.zeros(5), None):
        for module in (connector, layer):
            with pytest.raises(QiskitMachineLearningError):
                module(bad)
    with pytest.raises(FaqnasError, match="last dimension"):
        layer(torch.zeros(2, 4))


def test_quantum_layer_shapes_follow_torch_connector() -> None:
    hqnn = build_circuit(Genome.parse("q3-angle-cz-linear-ry"))
    weights = np.array([0.2, -0.4, 0.9])
    layer = QuantumLayer(hqnn, make_engine("statevector"), weights)
    connector = TorchConnector(layer.neural_network, initial_weights=weights)
    x = torch.tensor(np.random.default_rng(2).uniform(-2, 2, (2, 4, 3)), dtype=torch.float32)
    for data in (x[0, 0], x[0], x):
        ours, theirs = layer(data), connector(data)
        assert ours.shape == theirs.shape == (*data.shape[:-1], 3)
        assert float((ours - theirs).detach().abs().max()) < 1e-5
