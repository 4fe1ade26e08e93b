"""Differential test: TorchEstimator against Qiskit's StatevectorEstimator on random PUBs.

Random circuits mix every supported gate (with parameters, affine expressions and constants),
library blocks appended as composite instructions (some with non-affine angles), nested custom
gates, observables with projector terms, broadcasting shapes, and circuits changed in place
between runs. At precision 0 the values must agree to 1e-12 in double precision; at precision
> 0 with the same integer seed the noise is drawn identically, so they agree to 1e-12 too. A
separate statistical test checks the noise's standard deviation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit
from qiskit.circuit.library import (
    efficient_su2,
    real_amplitudes,
    z_feature_map,
    zz_feature_map,
)
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparseObservable, SparsePauliOp

from faqnas_qiskit.engines import TorchEstimator
from faqnas_qiskit.engines.program import SUPPORTED_PARAMETRIC_GATES

N_CIRCUITS = 320
TOL = 1e-12

ONE_QUBIT_PARAMETRIC = {"rx": 1, "ry": 1, "rz": 1, "p": 1, "u": 3, "r": 2}
TWO_QUBIT_PARAMETRIC = {
    "rzz": 1,
    "rxx": 1,
    "ryy": 1,
    "rzx": 1,
    "crx": 1,
    "cry": 1,
    "crz": 1,
    "cp": 1,
    "cu": 4,
}
ONE_QUBIT_FIXED = ["h", "s", "sdg", "t", "tdg", "sx", "sxdg", "x", "y", "z", "id"]
TWO_QUBIT_FIXED = ["cx", "cz", "cy", "swap", "iswap", "ecr", "ch", "dcx"]
LIBRARY: dict[str, Callable[[int, str], QuantumCircuit]] = {
    "real_amplitudes": lambda n, prefix: real_amplitudes(n, reps=1, parameter_prefix=prefix),
    "efficient_su2": lambda n, prefix: efficient_su2(n, reps=1, parameter_prefix=prefix),
    "zz_feature_map": lambda n, prefix: zz_feature_map(n, reps=1, parameter_prefix=prefix),
    "z_feature_map": lambda n, prefix: z_feature_map(n, reps=1, parameter_prefix=prefix),
}
SHAPES = [((), ()), ((), (3,)), ((2,), ()), ((3,), (3,)), ((2, 1), (1, 3)), ((1,), (2, 2)),
          ((2, 2), (2,)), ((), (0,))]  # fmt: skip
TERM_CHARS = "IXYZ01+-rl"


class _Builder:
    """Random circuits over ``n`` qubits with fresh parameters (names unique per circuit)."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.n = n
        self.qc = QuantumCircuit(n)
        self.params: list[Parameter] = []
        self.used: set[str] = set()
        self.blocks = 0

    def angle(self) -> float | ParameterExpression:
        kind = self.rng.integers(4)
        if kind == 0:
            return float(self.rng.uniform(-np.pi, np.pi))
        if kind == 1 or not self.params:
            p = Parameter(f"p{len(self.params)}")
            self.params.append(p)
            return p
        q = self.params[self.rng.integers(len(self.params))]
        if kind == 2:
            return float(self.rng.uniform(-2, 2)) * q + float(self.rng.uniform(-1, 1))
        r = self.params[self.rng.integers(len(self.params))]
        return q - 0.5 * r if q is not r else 2 * q

    def qubits(self, k: int) -> list[int]:
        return [int(q) for q in self.rng.choice(self.n, size=k, replace=False)]

    def gate(self, qc: QuantumCircuit | None = None) -> None:
        qc = self.qc if qc is None else qc
        choices = ["p1", "f1"] + (["p2", "f2", "block"] if self.n >= 2 else [])
        if self.n >= 3:
            choices += ["ccx", "nested"]
        kind = choices[self.rng.integers(len(choices))]
        if kind == "p1":
            name = list(ONE_QUBIT_PARAMETRIC)[self.rng.integers(len(ONE_QUBIT_PARAMETRIC))]
            args = [self.angle() for _ in range(ONE_QUBIT_PARAMETRIC[name])]
            getattr(qc, name)(*args, self.qubits(1)[0])
        elif kind == "p2":
            name = list(TWO_QUBIT_PARAMETRIC)[self.rng.integers(len(TWO_QUBIT_PARAMETRIC))]
            args = [self.angle() for _ in range(TWO_QUBIT_PARAMETRIC[name])]
            getattr(qc, name)(*args, *self.qubits(2))
        elif kind == "f1":
            name = ONE_QUBIT_FIXED[self.rng.integers(len(ONE_QUBIT_FIXED))]
            getattr(qc, name)(self.qubits(1)[0])
        elif kind == "f2":
            name = TWO_QUBIT_FIXED[self.rng.integers(len(TWO_QUBIT_FIXED))]
            getattr(qc, name)(*self.qubits(2))
        elif kind == "ccx":
            name = "ccx"
            qc.ccx(*self.qubits(3))
        elif kind == "block":
            name = list(LIBRARY)[self.rng.integers(len(LIBRARY))]
            k = int(self.rng.integers(2, self.n + 1))
            block = LIBRARY[name](k, f"b{self.blocks}")
            self.blocks += 1
            self.params.extend(block.parameters)
            as_gate = bool(self.rng.integers(2))
            qc.append(block.to_gate() if as_gate else block.to_instruction(), self.qubits(k))
        else:  # a custom gate whose definition holds gates and another composite
            name = "nested"
            inner = _Builder(self.rng, 3)
            inner.params = self.params  # share parameters (and their names)
            inner.blocks = self.blocks + 100
            for _ in range(3):
                inner.gate()
            self.blocks = inner.blocks
            inner.qc.name = "nested"
            try:
                composite = inner.qc.to_gate()
            except Exception:  # an Instruction inside: a Gate cannot hold it
                composite = inner.qc.to_instruction()
            qc.append(composite, self.qubits(3))
        self.used.add(name)


def _observable(rng: np.random.Generator, n: int) -> SparseObservable:
    terms = []
    for _ in range(int(rng.integers(1, 4))):
        label = "".join(TERM_CHARS[i] for i in rng.integers(len(TERM_CHARS), size=n))
        qubits = [q for q in range(n) if label[n - 1 - q] != "I"]
        sparse = "".join(label[n - 1 - q] for q in qubits)
        terms.append((sparse, qubits, float(rng.normal())))
    return SparseObservable.from_sparse_list(terms, n)


def _observables(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> tuple:
    ours = np.empty(shape, dtype=object)
    reference = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        obs = _observable(rng, n)
        ours[idx] = obs
        reference[idx] = SparsePauliOp.from_sparse_observable(obs)
    if shape == ():
        return ours[()], reference[()]
    return ours, reference


def _pub(rng: np.random.Generator, qc: QuantumCircuit) -> tuple[tuple, tuple]:
    obs_shape, param_shape = SHAPES[rng.integers(len(SHAPES))]
    ours_obs, ref_obs = _observables(rng, qc.num_qubits, obs_shape)
    values = rng.uniform(-np.pi, np.pi, (*param_shape, qc.num_parameters))
    if qc.num_parameters == 0 and param_shape == ():
        return (qc, ours_obs), (qc, ref_obs)
    return (qc, ours_obs, values), (qc, ref_obs, values)


def _compare(
    ours: TorchEstimator, reference: StatevectorEstimator, pubs: list, ref_pubs: list
) -> float:
    a = ours.run(pubs).result()
    b = reference.run(ref_pubs).result()
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        assert x.data.evs.shape == y.data.evs.shape
        np.testing.assert_array_equal(x.data.stds, y.data.stds)
        assert x.metadata == y.metadata
        if x.data.evs.size:
            worst = max(worst, float(np.abs(x.data.evs - y.data.evs).max()))
    return worst


@pytest.mark.slow
def test_torch_estimator_equals_statevector_estimator_on_random_circuits() -> None:
    rng = np.random.default_rng(20261202)
    ours = TorchEstimator(cache_size=16)
    exact = StatevectorEstimator()
    used: set[str] = set()
    worst = 0.0
    mutated = noisy = 0
    for k in range(N_CIRCUITS):
        builder = _Builder(rng, int(rng.integers(1, 5)))
        for _ in range(int(rng.integers(2, 9))):
            builder.gate()
        used |= builder.used
        qc = builder.qc
        pubs, ref_pubs = zip(*(_pub(rng, qc) for _ in range(int(rng.integers(1, 3)))), strict=True)
        worst = max(worst, _compare(ours, exact, list(pubs), list(ref_pubs)))
        if k % 4 == 0:  # change the same circuit object in place, run again on the same estimator
            if qc.num_parameters and rng.integers(2):
                p = qc.parameters[int(rng.integers(qc.num_parameters))]
                qc.assign_parameters({p: float(rng.uniform(-3, 3))}, inplace=True)
            else:
                builder.gate()
                used |= builder.used
            pub, ref_pub = _pub(rng, qc)
            worst = max(worst, _compare(ours, exact, [pub], [ref_pub]))
            mutated += 1
        if k % 5 == 0:  # same integer seed: the same noise, drawn in the same order
            precision = float(rng.uniform(0.01, 0.5))
            seed = int(rng.integers(1000))
            noisy_ours = TorchEstimator(default_precision=precision, seed=seed)
            noisy_ref = StatevectorEstimator(default_precision=precision, seed=seed)
            pub, ref_pub = _pub(rng, qc)
            worst = max(worst, _compare(noisy_ours, noisy_ref, [pub, pub], [ref_pub, ref_pub]))
            noisy += 1
    assert worst < TOL, worst
    assert mutated >= 50 and noisy >= 50
    assert ours.cached_programs <= 16
    expected = (
        set(SUPPORTED_PARAMETRIC_GATES) - {"u1", "u2", "u3", "cu1"}  # legacy names: own test
    ) | set(ONE_QUBIT_FIXED + TWO_QUBIT_FIXED + ["ccx", "nested", "cu", *LIBRARY])
    assert expected <= used, expected - used


def test_legacy_gate_names_match_the_reference() -> None:
    from qiskit.circuit.library import CU1Gate, U1Gate, U2Gate, U3Gate

    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.append(U1Gate(a), [0])
    qc.append(U2Gate(b, 0.5 * c), [1])
    qc.append(U3Gate(a - b, c, 0.2), [0])
    qc.append(CU1Gate(2 * c), [1, 0])
    values = np.random.default_rng(3).uniform(-3, 3, (4, 3))
    pub = (qc, [["ZX"], ["YY"], ["XZ"]], values)
    a_ = TorchEstimator().run([pub]).result()[0].data.evs
    b_ = StatevectorEstimator().run([pub]).result()[0].data.evs
    assert float(np.abs(a_ - b_).max()) < TOL


@pytest.mark.parametrize("precision", [0.01, 0.2])
def test_noise_has_the_requested_standard_deviation(precision: float) -> None:
    a = Parameter("a")
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.cx(0, 1)
    obs = SparsePauliOp(["ZZ", "XX"], [0.5, 0.25])
    exact = TorchEstimator().run([(qc, obs, [0.7])]).result()[0].data.evs
    n = 20000
    values = np.full((n, 1), 0.7)
    result = TorchEstimator(seed=42).run([(qc, obs, values)] * 2, precision=precision).result()
    noise = result[0].data.evs - exact
    # the sample std of n normal draws is within 4 standard errors (σ / sqrt(2n)) of σ
    assert abs(noise.std() - precision) < 4 * precision / np.sqrt(2 * n)
    assert abs(noise.mean()) < 4 * precision / np.sqrt(n)
    # one seed, two PUBs: an int seed restarts per PUB, as in StatevectorEstimator
    np.testing.assert_array_equal(result[0].data.evs, result[1].data.evs)
    # the draws are independent across values
    assert abs(np.corrcoef(noise[: n - 1], noise[1:n])[0, 1]) < 4 / np.sqrt(n)
