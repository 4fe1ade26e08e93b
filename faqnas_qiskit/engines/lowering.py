"""Lowering a Qiskit circuit to torch-ready operations, and a circuit's content key.

A circuit becomes a list of RX/RY/RZ rotations (angles affine in the parameters, or torch
expressions when not affine) and fixed gate matrices: composite instructions are unrolled
through their definitions, and the parametric gates of :data:`SUPPORTED_PARAMETRIC_GATES` are
rewritten exactly (up to a global phase). Monomial gates (CX, CZ, X, SWAP, ...) become signed
permutations of the basis for fusion. :class:`~faqnas_qiskit.engines.program.CircuitProgram`
compiles a circuit with these and runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from qiskit.circuit import ControlFlowOp, Parameter, ParameterExpression, QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping

from faqnas_qiskit.errors import EngineError

__all__ = ["SUPPORTED_PARAMETRIC_GATES", "circuit_key"]

#: Gates lowered natively with parameters (affine angles); any other instruction whose parameters
#: are free is unrolled through its definition, recursively, down to these and fixed gates.
SUPPORTED_PARAMETRIC_GATES = (
    "rx",
    "ry",
    "rz",
    "p",
    "u1",
    "u",
    "u3",
    "u2",
    "r",
    "rzz",
    "rxx",
    "ryy",
    "rzx",
    "crx",
    "cry",
    "crz",
    "cp",
    "cu1",
)
_ROTATIONS = ("rx", "ry", "rz")
_IGNORED = ("barrier", "delay", "id", "global_phase")
_NON_UNITARY = ("measure", "reset", "initialize", "store")
_STANDARD = frozenset(get_standard_gate_name_mapping())
_MAX_DEPTH = 64  # nesting of definitions; deeper means a recursive definition


@dataclass(frozen=True)
class _Rotation:
    kind: str  # "rx" | "ry" | "rz"
    qubit: int
    batched: bool  # angle depends on per-sample (batched) parameters
    index: int  # position in the batched or the shared angle vector


@dataclass(frozen=True)
class _Fixed:
    qubits: tuple[int, ...]
    matrix: npt.NDArray[np.complex128]  # (2**k, 2**k), Qiskit little-endian over ``qubits``


@dataclass(frozen=True)
class _Permutation:
    """``new[:, i] = phase[i] * old[:, source[i]]`` for a run of monomial gates (CX, CZ, X, ...)."""

    source: npt.NDArray[np.int64]  # (2**n,)
    phase: npt.NDArray[np.complex128] | None  # (2**n,) or None when all ones


@dataclass(frozen=True)
class _Layer:
    """A run of single-qubit gates with no multi-qubit gate between them (fast mode only)."""

    gates: tuple[tuple[int, int], ...]  # (qubit, position of the gate in the fast-op source list)


_Op = _Rotation | _Fixed | _Permutation | _Layer


_Affine = tuple[npt.NDArray[np.float64], float]  # (coeffs (P,), offset): coeffs @ values + offset


@dataclass(frozen=True)
class _Expression:
    """A non-affine gate angle: ``function(*values[indices])`` with torch operations."""

    function: Callable[..., Any]
    indices: tuple[int, ...]  # positions of its parameters in batched + shared


_Angle = _Affine | _Expression

# sympy function names -> torch (sympy comes with torch); anything else fails when evaluated
_TORCH_FUNCTIONS: dict[str, Any] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "asin": torch.asin,
    "acos": torch.acos,
    "atan": torch.atan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "Abs": torch.abs,
    "sign": torch.sign,
    "conjugate": lambda x: x,  # real parameter values
    "re": lambda x: x,
    "im": torch.zeros_like,
}


def _angle(angle: object, position: dict[Parameter, int]) -> _Angle:
    """A gate angle as ``coeffs @ parameter_values + offset`` or, if not affine, an expression."""
    coeffs = np.zeros(len(position))
    if not isinstance(angle, ParameterExpression):
        return coeffs, _real(angle)
    free = angle.parameters
    for p in free:
        if p not in position:
            raise EngineError(
                f"The circuit parameter '{p.name}' must be among the parameters being bound. "
                "Bind it, or list it in the parameter order."
            )
        grad = angle.gradient(p)
        if isinstance(grad, ParameterExpression):
            if grad.parameters:
                return _expression(angle, position)
            grad = complex(grad).real
        coeffs[position[p]] = float(grad)
    zero = angle.bind({p: 0.0 for p in free})
    return coeffs, complex(zero).real


def _expression(angle: ParameterExpression, position: dict[Parameter, int]) -> _Expression:
    import sympy  # a dependency of torch; only needed for non-affine angles

    parameters = sorted(angle.parameters, key=lambda p: position[p])
    expr = angle.sympify()
    by_name = {str(symbol): symbol for symbol in expr.free_symbols}
    # real symbols: parameter values are real, so sympy keeps re()/im() out of the expression
    real = [sympy.Symbol(f"v{i}", real=True) for i in range(len(parameters))]
    pairs = zip(parameters, real, strict=True)
    expr = expr.subs({by_name[p.name]: r for p, r in pairs if p.name in by_name})
    function = sympy.lambdify(real, expr, modules=[_TORCH_FUNCTIONS, "math"])
    return _Expression(function, tuple(position[p] for p in parameters))


def _real(value: object) -> float:
    """A bound gate parameter as a float (Qiskit may hold an int, a complex or an expression)."""
    return complex(value).real  # type: ignore[arg-type,call-overload]


def _scaled(angle: _Angle, factor: float, shift: float = 0.0) -> _Angle:
    if isinstance(angle, _Expression):
        inner = angle.function

        def function(*values: Any) -> Any:
            return inner(*values) * factor + shift

        return _Expression(function, angle.indices)
    return angle[0] * factor, angle[1] * factor + shift


def _free(operation: object) -> bool:
    """Whether any parameter of ``operation`` still depends on a circuit parameter."""
    return any(
        isinstance(v, ParameterExpression) and bool(v.parameters)
        for v in getattr(operation, "params", ())
    )


def _param_key(value: object) -> Hashable:
    """A hashable, exact stand-in for one instruction parameter (for :func:`circuit_key`)."""
    if isinstance(value, ParameterExpression):
        # str() prints floats exactly (shortest round trip); the parameters tell apart
        # same-named Parameter objects. (``==`` on expressions is approximate: not usable.)
        return ("expr", str(value), tuple(sorted(value.parameters, key=lambda p: p.name)))
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, (int, float, complex, str, np.number)):
        return (type(value).__name__, value)
    if isinstance(value, QuantumCircuit):
        return ("circuit", circuit_key(value))
    return ("repr", repr(value))


def circuit_key(circuit: QuantumCircuit) -> Hashable:
    """A hashable key equal for two circuits exactly when they compile to the same program.

    It covers the number of qubits, the parameter order and every instruction (name, qubits,
    clbits, parameters), and, for instructions outside Qiskit's standard gate library, their
    definitions recursively. A circuit changed in place after a run gets a new key.

    Args:
        circuit: Any circuit.

    Returns:
        A nested tuple (compare with ``==``; hashing it is cheap relative to compiling).
    """
    items: list[Hashable] = [circuit.num_qubits, tuple(circuit.parameters)]
    for instruction in circuit.data:
        operation = instruction.operation
        qubits = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        clbits = tuple(circuit.find_bit(c).index for c in instruction.clbits)
        params = tuple(_param_key(v) for v in getattr(operation, "params", ()))
        entry: tuple[Hashable, ...] = (operation.name, qubits, clbits, params)
        if operation.name not in _STANDARD:
            definition = getattr(operation, "definition", None)
            entry += (None if definition is None else circuit_key(definition),)
        items.append(entry)
    return tuple(items)


def _plain_selection(
    coeffs: npt.NDArray[np.float64], offsets: npt.NDArray[np.float64], start: int, stop: int
) -> npt.NDArray[np.int64] | None:
    """Column of each row if every angle is exactly one parameter in [start, stop), else None."""
    if coeffs.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    block = coeffs[:, start:stop]
    ones = block == 1.0
    plain = (
        np.all(offsets == 0)
        and np.all(ones.sum(axis=1) == 1)
        and np.count_nonzero(coeffs) == coeffs.shape[0]
    )
    return np.argmax(ones, axis=1).astype(np.int64) if plain else None


def _monomial(matrix: npt.NDArray[np.complex128]) -> bool:
    nonzero = np.abs(matrix) > 1e-12
    return bool(np.all(nonzero.sum(axis=0) == 1) and np.all(nonzero.sum(axis=1) == 1))


def _as_permutation(op: _Fixed, n_qubits: int) -> _Permutation:
    """The full-space signed permutation of a monomial gate."""
    dim = 2**n_qubits
    index = np.arange(dim)
    local = np.zeros(dim, dtype=np.int64)
    for j, q in enumerate(op.qubits):
        local |= ((index >> q) & 1) << j
    # column c of a monomial matrix has one nonzero row r: |c> -> m[r, c] |r>
    rows = np.argmax(np.abs(op.matrix) > 1e-12, axis=0)
    values = op.matrix[rows, np.arange(op.matrix.shape[1])]
    new_local = rows[local]
    target = index.copy()
    for j, q in enumerate(op.qubits):
        target = (target & ~(1 << q)) | (((new_local >> j) & 1) << q)
    source = np.empty(dim, dtype=np.int64)
    source[target] = index
    phase = np.empty(dim, dtype=np.complex128)
    phase[target] = values[local]
    return _Permutation(source, None if np.allclose(phase, 1.0) else phase)


def _compose(first: _Permutation, second: _Permutation) -> _Permutation:
    """Apply ``first`` then ``second``."""
    source = first.source[second.source]
    if first.phase is None and second.phase is None:
        return _Permutation(source, None)
    p1 = np.ones(len(source), dtype=np.complex128) if first.phase is None else first.phase
    p2 = np.ones(len(source), dtype=np.complex128) if second.phase is None else second.phase
    phase = p2 * p1[second.source]
    return _Permutation(source, None if np.allclose(phase, 1.0) else phase)


_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)
_S = np.diag([1, 1j]).astype(np.complex128)
_SDG = np.diag([1, -1j]).astype(np.complex128)
# little-endian over (control, target): |c=1, t> -> |c=1, 1-t>
_CX = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=np.complex128)


class _Lowering:
    """Turns a circuit into RX/RY/RZ rotations with affine angles and fixed gate matrices.

    Parametric gates of :data:`SUPPORTED_PARAMETRIC_GATES` are rewritten into rotations and
    fixed gates exactly, up to a global phase (which no expectation value sees); parameter-free
    gates become their matrix; anything else is unrolled through its definition, recursively.
    """

    def __init__(self, position: dict[Parameter, int], n_batched: int) -> None:
        self.position = position
        self.n_batched = n_batched
        self.ops: list[_Op] = []
        self.rows_b: list[_Angle] = []
        self.rows_s: list[_Angle] = []

    def rotation(self, kind: str, qubit: int, angle: _Angle) -> None:
        if isinstance(angle, _Expression):
            batched = any(i < self.n_batched for i in angle.indices)
        else:
            batched = bool(np.any(angle[0][: self.n_batched] != 0))
        rows = self.rows_b if batched else self.rows_s
        self.ops.append(_Rotation(kind, qubit, batched, len(rows)))
        rows.append(angle)

    def fixed(self, matrix: npt.NDArray[np.complex128], qubits: tuple[int, ...]) -> None:
        self.ops.append(_Fixed(qubits, matrix))

    def circuit(self, circuit: QuantumCircuit, qubit_map: tuple[int, ...], depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise EngineError(
                f"Instruction definitions must nest at most {_MAX_DEPTH} levels deep. Got a "
                "deeper (recursive?) definition instead. Decompose the circuit first."
            )
        for instruction in circuit.data:
            qubits = tuple(qubit_map[circuit.find_bit(q).index] for q in instruction.qubits)
            self.instruction(instruction.operation, qubits, bool(instruction.clbits), depth)

    def instruction(
        self, operation: object, qubits: tuple[int, ...], clbits: bool, depth: int
    ) -> None:
        name: str = getattr(operation, "name", type(operation).__name__)
        if name in _IGNORED:
            return
        if (
            clbits
            or name in _NON_UNITARY
            or isinstance(operation, ControlFlowOp)
            or getattr(operation, "condition", None) is not None
        ):
            raise EngineError(
                f"Circuits for the statevector engine must be unitary. Got a '{name}' "
                "instruction instead. Remove measurements, resets and classical control."
            )
        params = list(getattr(operation, "params", ()))
        if name in _ROTATIONS:
            self.rotation(name, qubits[0], _angle(params[0], self.position))
            return
        free = _free(operation)
        if free and name in SUPPORTED_PARAMETRIC_GATES:
            self.native(name, qubits, [_angle(v, self.position) for v in params])
            return
        if not free:
            matrix = _matrix(operation)
            if matrix is not None:
                self.fixed(matrix, qubits)
                return
        definition = getattr(operation, "definition", None)
        if definition is None:
            if free:
                raise EngineError(
                    f"Parametric gates must be one of {', '.join(SUPPORTED_PARAMETRIC_GATES)}, "
                    f"or have a definition. Got '{name}' instead. Transpile to rx/ry/rz with "
                    "basis_gates first."
                )
            raise EngineError(
                f"Gates for the statevector engine must have a matrix or a definition. Got "
                f"'{name}' instead. Decompose it into standard gates."
            )
        self.circuit(definition, qubits, depth + 1)

    def native(self, name: str, q: tuple[int, ...], a: list[_Angle]) -> None:
        """A supported parametric gate as rotations and fixed gates (exact up to global phase)."""
        half_pi: _Angle = (np.zeros(len(self.position)), np.pi / 2)
        if name in ("p", "u1"):  # P(λ) = e^{iλ/2} RZ(λ)
            self.rotation("rz", q[0], a[0])
        elif name in ("u", "u3", "u2"):  # U(θ, φ, λ) = e^{i(φ+λ)/2} RZ(φ) RY(θ) RZ(λ)
            theta, phi, lam = (half_pi, *a) if name == "u2" else a
            self.rotation("rz", q[0], lam)
            self.rotation("ry", q[0], theta)
            self.rotation("rz", q[0], phi)
        elif name == "r":  # R(θ, φ) = RZ(φ) RX(θ) RZ(-φ)
            theta, phi = a
            self.rotation("rz", q[0], _scaled(phi, -1.0))
            self.rotation("rx", q[0], theta)
            self.rotation("rz", q[0], phi)
        elif name == "rzz":
            self.fixed(_CX, (q[0], q[1]))
            self.rotation("rz", q[1], a[0])
            self.fixed(_CX, (q[0], q[1]))
        elif name == "rxx":  # H⊗H RZZ H⊗H
            self.fixed(_H, (q[0],))
            self.fixed(_H, (q[1],))
            self.native("rzz", q, a)
            self.fixed(_H, (q[0],))
            self.fixed(_H, (q[1],))
        elif name == "ryy":  # Y = S X S†
            self.fixed(_SDG, (q[0],))
            self.fixed(_SDG, (q[1],))
            self.native("rxx", q, a)
            self.fixed(_S, (q[0],))
            self.fixed(_S, (q[1],))
        elif name == "rzx":  # Z on q[0], X on q[1]
            self.fixed(_H, (q[1],))
            self.native("rzz", q, a)
            self.fixed(_H, (q[1],))
        elif name in ("crz", "cry"):  # X R(-θ/2) X = R(θ/2) for R = RZ, RY
            kind = "rz" if name == "crz" else "ry"
            self.rotation(kind, q[1], _scaled(a[0], 0.5))
            self.fixed(_CX, (q[0], q[1]))
            self.rotation(kind, q[1], _scaled(a[0], -0.5))
            self.fixed(_CX, (q[0], q[1]))
        elif name == "crx":  # H RZ H = RX
            self.fixed(_H, (q[1],))
            self.native("crz", q, a)
            self.fixed(_H, (q[1],))
        elif name in ("cp", "cu1"):  # CP(λ) = e^{iλ/4} CRZ(λ) (RZ(λ/2) on the control)
            self.rotation("rz", q[0], _scaled(a[0], 0.5))
            self.native("crz", q, a)
        else:  # pragma: no cover - SUPPORTED_PARAMETRIC_GATES and this table agree
            raise EngineError(f"The gate table must lower every supported gate. Got {name!r}.")


def _matrix(operation: object) -> npt.NDArray[np.complex128] | None:
    """The unitary of a parameter-free gate, or None when it has none (then unroll it)."""
    to_matrix = getattr(operation, "to_matrix", None)
    if to_matrix is None:
        return None
    try:
        return np.asarray(to_matrix(), dtype=np.complex128)
    except Exception:  # qiskit raises several types for gates without a matrix
        return None
