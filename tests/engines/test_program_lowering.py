"""CircuitProgram's compilation: whole unitaries against Qiskit's Operator, cache keys, autograd.

Running the program on every basis state at once gives its full unitary, which must equal
``Operator(circuit)`` up to one global phase, in the fast and in the reference mode.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.circuit.library import (
    CU1Gate,
    U1Gate,
    U2Gate,
    U3Gate,
    XXMinusYYGate,
    XXPlusYYGate,
    real_amplitudes,
    zz_feature_map,
)
from qiskit.quantum_info import Operator, SparsePauliOp
from qiskit_machine_learning.neural_networks import EstimatorQNN

from faqnas_qiskit.engines import CircuitProgram, TorchEstimator
from faqnas_qiskit.engines.program import circuit_key


def _unitary(program: CircuitProgram, values: np.ndarray, *, reference: bool) -> np.ndarray:
    """Columns U|k> for every basis state k, shape (2**n, 2**n)."""
    dim = 2**program.n_qubits
    basis = torch.eye(dim, dtype=torch.complex128)
    batched = torch.tensor(np.tile(values, (dim, 1)))
    states = program.states(
        batched, None, initial=basis, dtype=torch.complex128, reference=reference
    )
    return states.numpy().T


def _assert_equal_up_to_phase(got: np.ndarray, want: np.ndarray) -> None:
    k = np.unravel_index(np.argmax(np.abs(want)), want.shape)
    phase = got[k] / want[k]
    assert abs(abs(phase) - 1) < 1e-12
    assert np.abs(got - phase * want).max() < 1e-12


def _gates_circuit() -> QuantumCircuit:
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.p(a, 1)
    qc.u(a, 2 * b, c - 0.1, 2)
    qc.r(b, c, 0)
    qc.rzz(a, 0, 1)
    qc.rxx(b, 1, 2)
    qc.ryy(c, 2, 0)
    qc.rzx(a + b, 1, 0)
    qc.crx(a, 0, 2)
    qc.cry(-b, 2, 1)
    qc.crz(0.5 * c, 1, 0)
    qc.cp(a, 2, 0)
    qc.cu(a, b, c, 0.3, 0, 1)
    qc.append(U1Gate(b), [2])
    qc.append(U2Gate(a, c), [1])
    qc.append(U3Gate(c, a, b), [0])
    qc.append(CU1Gate(c), [0, 2])
    qc.append(XXPlusYYGate(a, b), [0, 1])
    qc.append(XXMinusYYGate(c, 0.2), [1, 2])
    for name in ("s", "sdg", "t", "tdg", "sx", "sxdg", "x", "y", "z"):
        getattr(qc, name)(1)
    qc.swap(0, 2)
    qc.ccx(0, 1, 2)
    qc.append(zz_feature_map(2, reps=1), [2, 0])
    qc.append(real_amplitudes(3, reps=1).to_gate(), [1, 2, 0])
    return qc


@pytest.mark.parametrize("reference", [False, True])
def test_whole_unitary_matches_operator(reference: bool) -> None:
    qc = _gates_circuit()
    program = CircuitProgram(qc, tuple(qc.parameters))
    rng = np.random.default_rng(8)
    for _ in range(3):
        values = rng.uniform(-np.pi, np.pi, qc.num_parameters)
        want = Operator(qc.assign_parameters(values)).data
        _assert_equal_up_to_phase(_unitary(program, values, reference=reference), want)


def test_shared_parameters_give_the_same_unitary() -> None:
    qc = _gates_circuit()
    params = tuple(qc.parameters)
    split = CircuitProgram(qc, params[:3], params[3:])
    values = np.random.default_rng(2).uniform(-2, 2, len(params))
    dim = 2**qc.num_qubits
    states = split.states(
        torch.tensor(np.tile(values[:3], (dim, 1))),
        torch.tensor(values[3:]),
        initial=torch.eye(dim, dtype=torch.complex128),
        dtype=torch.complex128,
    )
    want = Operator(qc.assign_parameters(values)).data
    _assert_equal_up_to_phase(states.numpy().T, want)


def test_autograd_through_non_affine_angles_equals_finite_differences() -> None:
    x, y = Parameter("x"), Parameter("y")
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.rz(x * y + x.sin(), 0)
    qc.cx(0, 1)
    qc.ry((np.pi - x) * (np.pi - y), 1)
    qc.cp(y**2, 0, 1)
    qc.h(0)
    program = CircuitProgram(qc, (x,), (y,))
    signs = torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64)  # <Z Z>

    def zz(xv: torch.Tensor, yv: torch.Tensor) -> torch.Tensor:
        state = program.states(xv, yv, dtype=torch.complex128)
        return (state.abs() ** 2 @ signs).sum()

    xv = torch.tensor([[0.3], [-1.2]], dtype=torch.float64, requires_grad=True)
    yv = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    zz(xv, yv).backward()
    assert xv.grad is not None and yv.grad is not None
    grad_x, grad_y = xv.grad, yv.grad
    xv, yv = xv.detach(), yv.detach()
    h = 1e-6
    for i in range(2):
        e = torch.zeros_like(xv)
        e[i, 0] = h
        fd = (zz(xv + e, yv) - zz(xv - e, yv)) / (2 * h)
        assert abs(float(fd) - float(grad_x[i, 0])) < 1e-7
    e = torch.tensor([h], dtype=torch.float64)
    fd = (zz(xv, yv + e) - zz(xv, yv - e)) / (2 * h)
    assert abs(float(fd) - float(grad_y[0])) < 1e-7
    # and the values themselves against Qiskit
    for row in (0.3, -1.2):
        want = Operator(qc.assign_parameters({x: row, y: 0.7})).data[:, 0]
        got = program.states(
            torch.tensor([[row]], dtype=torch.float64),
            torch.tensor([0.7], dtype=torch.float64),
            dtype=torch.complex128,
        )
        _assert_equal_up_to_phase(got.numpy()[0], want)


def test_circuit_key_is_content_equality() -> None:
    a = Parameter("a")
    qc = QuantumCircuit(2)
    qc.rx(2 * a + 0.3, 0)
    qc.cx(0, 1)
    assert circuit_key(qc) == circuit_key(qc.copy())
    assert hash(circuit_key(qc)) == hash(circuit_key(qc.copy()))
    near = QuantumCircuit(2)
    near.rx(2 * a + 0.30000000000000004, 0)  # Qiskit's == calls these equal; programs differ
    near.cx(0, 1)
    assert circuit_key(near) != circuit_key(qc)
    other = QuantumCircuit(2)
    other.rx(2 * Parameter("a") + 0.3, 0)  # same name, another Parameter
    other.cx(0, 1)
    assert circuit_key(other) != circuit_key(qc)
    before = circuit_key(qc)
    qc.x(1)
    assert circuit_key(qc) != before
    block = real_amplitudes(2, reps=1)
    wrapped = QuantumCircuit(2)
    wrapped.append(block.to_gate(), [0, 1])
    changed = QuantumCircuit(2)
    block2 = real_amplitudes(2, reps=1)
    block2.x(0)
    changed.append(block2.to_gate(), [0, 1])  # same name and parameters, another definition
    assert circuit_key(wrapped) != circuit_key(changed)


def test_qnn_gradients_do_not_grow_the_cache() -> None:
    """The issue: 100 programs after 50 backward passes; equal circuits now share one."""
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(1)
    qc.h(0)
    qc.ry(a, 0)
    qc.rx(b, 0)
    estimator = TorchEstimator()
    qnn = EstimatorQNN(
        circuit=qc,
        estimator=estimator,
        observables=[SparsePauliOp("Z")],
        input_params=[a],
        weight_params=[b],
        input_gradients=True,
        default_precision=0.0,
    )
    rng = np.random.default_rng(0)
    for _ in range(50):
        qnn.backward(rng.uniform(size=(4, 1)), rng.uniform(size=1))
    assert estimator.cached_programs <= 2
