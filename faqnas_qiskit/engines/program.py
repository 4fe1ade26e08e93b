"""A Qiskit circuit compiled to torch operations on a batched statevector.

Two execution modes share one compiled program:

* **fast** (default): single-qubit gates act on per-qubit vectors while the state is still a
  product state; runs of CX/CZ/X/SWAP-like gates are fused into one signed permutation of the
  basis; single-qubit gates on the full state are one broadcast ``matmul`` each. Exact: no
  approximation is made, only the order of floating-point operations differs.
* **reference**: the state starts as a full vector and every gate, parameterised or not, is one
  dense application of its own ``2**k x 2**k`` matrix (one ``aten::mm``/``aten::bmm``). It is the
  path quantum FLOPs are counted on (DESIGN §5) and the one the fast mode is tested against.

State convention: shape (batch, 2**n), complex, Qiskit basis order (qubit 0 is the least
significant bit of the index).

The lowering of a circuit to these operations is in :mod:`faqnas_qiskit.engines.lowering`, the
expectation values read from the final states in :mod:`faqnas_qiskit.engines.expectations`; both
are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from qiskit.circuit import Parameter, QuantumCircuit

from faqnas_qiskit.engines.expectations import pauli_expectations, z_expectations
from faqnas_qiskit.engines.lowering import (
    SUPPORTED_PARAMETRIC_GATES,
    _Angle,
    _as_permutation,
    _compose,
    _Expression,
    _Fixed,
    _Layer,
    _Lowering,
    _monomial,
    _Op,
    _Permutation,
    _plain_selection,
    _Rotation,
    circuit_key,
)
from faqnas_qiskit.errors import EngineError

__all__ = [
    "SUPPORTED_PARAMETRIC_GATES",
    "CircuitProgram",
    "circuit_key",
    "pauli_expectations",
    "z_expectations",
]


class CircuitProgram:
    """A circuit compiled for torch: RX/RY/RZ rotations (affine angles) and fixed gates.

    Compilation unrolls composite instructions through their definitions (recursively) and
    rewrites the parametric gates of :data:`SUPPORTED_PARAMETRIC_GATES` into rotations and fixed
    gates, exactly up to a global phase; parameter-free gates are applied as their matrix.

    Args:
        circuit: A circuit without measurements, resets or classical control.
        batched_parameters: Parameters whose values differ per sample (e.g. inputs).
        shared_parameters: Parameters shared by the whole batch (e.g. weights).

    Raises:
        EngineError: Before any simulation, for a non-unitary instruction (measure, reset,
            classical control), a parametric gate that is neither supported nor defined, a
            non-affine angle, or an unbound parameter.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        batched_parameters: Sequence[Parameter] = (),
        shared_parameters: Sequence[Parameter] = (),
    ) -> None:
        self.n_qubits = circuit.num_qubits
        self.batched_parameters = tuple(batched_parameters)
        self.shared_parameters = tuple(shared_parameters)
        everything = self.batched_parameters + self.shared_parameters
        missing = set(circuit.parameters) - set(everything)
        if missing:
            names = ", ".join(sorted(p.name for p in missing))
            raise EngineError(
                f"Every circuit parameter must be bound. Got unbound {names} instead. "
                "Pass them as batched or shared parameters."
            )
        n_batched = len(self.batched_parameters)
        lowering = _Lowering({p: i for i, p in enumerate(everything)}, n_batched)
        lowering.circuit(circuit, tuple(range(self.n_qubits)), 0)
        ops, rows_b, rows_s = lowering.ops, lowering.rows_b, lowering.rows_s
        self._reference_ops: tuple[_Op, ...] = tuple(ops)
        self._fast_ops: tuple[_Op, ...] = self._fuse(ops)

        def table(rows: list[_Angle]) -> tuple[np.ndarray, np.ndarray]:
            # an expression row is zero here; _angles overwrites it with the expression's value
            zero = np.zeros(len(everything))
            affine = [(zero, 0.0) if isinstance(r, _Expression) else r for r in rows]
            if not affine:
                return np.zeros((0, len(everything))), np.zeros(0)
            return np.stack([r[0] for r in affine]), np.array([r[1] for r in affine])

        def expressions(rows: list[_Angle]) -> tuple[list[int], list[_Expression]]:
            found = [(i, r) for i, r in enumerate(rows) if isinstance(r, _Expression)]
            return [i for i, _ in found], [r for _, r in found]

        self._expr_rows_b, self._expr_b = expressions(rows_b)
        self._expr_rows_s, self._expr_s = expressions(rows_s)

        self._coeff_b, self._offset_b = table(rows_b)
        self._coeff_s, self._offset_s = table(rows_s)
        # Most circuits use each parameter as a plain angle: select it instead of an affine map,
        # which is cheaper and keeps the profiler's FLOP count to the statevector work alone.
        self._select_b = _plain_selection(self._coeff_b, self._offset_b, 0, n_batched)
        self._select_s = _plain_selection(self._coeff_s, self._offset_s, n_batched, len(everything))
        self._kinds_b = [op.kind for op in ops if isinstance(op, _Rotation) and op.batched]
        self._kinds_s = [op.kind for op in ops if isinstance(op, _Rotation) and not op.batched]
        self._constants: dict[tuple[torch.dtype, str], dict[str, torch.Tensor]] = {}

    # ----------------------------------------------------------------------------- compilation
    def _fuse(self, ops: list[_Op]) -> tuple[_Op, ...]:
        fused: list[_Op] = []
        run: list[tuple[int, int]] = []
        for position, op in enumerate(ops):
            single = isinstance(op, _Rotation) or (isinstance(op, _Fixed) and len(op.qubits) == 1)
            if single:
                qubit = op.qubit if isinstance(op, _Rotation) else op.qubits[0]  # type: ignore[union-attr]
                run.append((qubit, position))
                continue
            if run:
                fused.append(_Layer(tuple(run)))
                run = []
            if isinstance(op, _Fixed) and len(op.qubits) > 1 and _monomial(op.matrix):
                perm = _as_permutation(op, self.n_qubits)
                if fused and isinstance(fused[-1], _Permutation):
                    fused[-1] = _compose(fused[-1], perm)
                else:
                    fused.append(perm)
            else:
                fused.append(op)
        if run:
            fused.append(_Layer(tuple(run)))
        return tuple(fused)

    @property
    def n_gates(self) -> int:
        """Number of gate applications in reference mode."""
        return len(self._reference_ops)

    def gate_qubit_counts(self) -> list[int]:
        """Arity of each gate in reference order (for FLOP formulas)."""
        return [1 if isinstance(op, _Rotation) else len(op.qubits) for op in self._reference_ops]  # type: ignore[union-attr]

    def _consts(self, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
        key = (dtype, str(device))
        if key not in self._constants:
            real = torch.float64 if dtype == torch.complex128 else torch.float32
            c: dict[str, torch.Tensor] = {
                "coeff_b": torch.as_tensor(self._coeff_b, dtype=real, device=device),
                "offset_b": torch.as_tensor(self._offset_b, dtype=real, device=device),
                "coeff_s": torch.as_tensor(self._coeff_s, dtype=real, device=device),
                "offset_s": torch.as_tensor(self._offset_s, dtype=real, device=device),
            }
            for i, op in enumerate(self._fast_ops):
                if isinstance(op, _Permutation):
                    c[f"src{i}"] = torch.tensor(np.array(op.source), device=device)
                    if op.phase is not None:
                        c[f"ph{i}"] = torch.tensor(np.array(op.phase), dtype=dtype, device=device)
                elif isinstance(op, _Fixed):
                    c[f"m{i}"] = torch.tensor(np.array(op.matrix), dtype=dtype, device=device)
            c["eye"] = torch.eye(2, dtype=dtype, device=device)
            c["expr_rows_b"] = torch.tensor(self._expr_rows_b, dtype=torch.long, device=device)
            c["expr_rows_s"] = torch.tensor(self._expr_rows_s, dtype=torch.long, device=device)
            if self._select_b is not None and self._select_s is not None:
                c["select_b"] = torch.tensor(self._select_b, dtype=torch.long, device=device)
                c["select_s"] = torch.tensor(self._select_s, dtype=torch.long, device=device)
            for i, op in enumerate(self._reference_ops):
                if isinstance(op, _Fixed):
                    c[f"r{i}"] = torch.tensor(np.array(op.matrix), dtype=dtype, device=device)
            self._constants[key] = c
        return self._constants[key]

    # -------------------------------------------------------------------------------- execution
    @staticmethod
    def _rotation_matrices(
        angles: torch.Tensor, kinds: list[str], dtype: torch.dtype
    ) -> torch.Tensor:
        """RX/RY/RZ matrices, shape (..., k, 2, 2), from angles (..., k) in radians.

        Built with cos, sin, div and stack only, which the torch profiler does not count as
        FLOPs: the quantum FLOPs metric counts the statevector work alone.
        """
        if not kinds:
            return torch.zeros((*angles.shape, 2, 2), dtype=dtype, device=angles.device)
        half = torch.div(angles, 2)
        c = torch.cos(half)
        s = torch.sin(half)
        zero = torch.zeros_like(c)
        is_x = torch.tensor([k == "rx" for k in kinds], device=angles.device)
        is_y = torch.tensor([k == "ry" for k in kinds], device=angles.device)
        is_z = torch.tensor([k == "rz" for k in kinds], device=angles.device)
        neg_s = torch.neg(s)
        # rx: [[c, -is], [-is, c]]; ry: [[c, -s], [s, c]]; rz: [[c - is, 0], [0, c + is]]
        m00 = torch.complex(c, torch.where(is_z, neg_s, zero))
        m11 = torch.complex(c, torch.where(is_z, s, zero))
        m01 = torch.complex(torch.where(is_y, neg_s, zero), torch.where(is_x, neg_s, zero))
        m10 = torch.complex(torch.where(is_y, s, zero), torch.where(is_x, neg_s, zero))
        top = torch.stack((m00, m01), dim=-1)
        bottom = torch.stack((m10, m11), dim=-1)
        return torch.stack((top, bottom), dim=-2).to(dtype)

    def _angles(
        self, batched: torch.Tensor, shared: torch.Tensor, c: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self._select_b is not None and self._select_s is not None:
            return batched[:, c["select_b"]], shared[c["select_s"]]
        nb = len(self.batched_parameters)
        cb, cs = c["coeff_b"], c["coeff_s"]
        # shared-only angles: (k_s,); batched angles: (B, k_b)
        ang_s = torch.addmv(c["offset_s"], cs[:, nb:], shared) if cs.shape[0] else c["offset_s"]
        if cb.shape[0]:
            ang_b = batched @ cb[:, :nb].T + c["offset_b"]
            if len(self.shared_parameters):
                ang_b = ang_b + torch.mv(cb[:, nb:], shared)
        else:
            ang_b = torch.zeros((batched.shape[0], 0), dtype=batched.dtype, device=batched.device)
        if self._expr_b or self._expr_s:
            ang_b, ang_s = self._expression_angles(batched, shared, ang_b, ang_s, c)
        return ang_b, ang_s

    def _expression_angles(
        self,
        batched: torch.Tensor,
        shared: torch.Tensor,
        ang_b: torch.Tensor,
        ang_s: torch.Tensor,
        c: dict[str, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Put the values of the non-affine angles into their rows (differentiably)."""
        nb = len(self.batched_parameters)

        def value(index: int) -> torch.Tensor:
            return batched[:, index] if index < nb else shared[index - nb]

        def evaluate(expr: _Expression, shape: tuple[int, ...]) -> torch.Tensor:
            out = expr.function(*(value(i) for i in expr.indices))
            if isinstance(out, torch.Tensor) and out.is_complex():
                out = out.real
            out = torch.as_tensor(out, dtype=batched.dtype, device=batched.device)
            return torch.broadcast_to(out, shape)

        if self._expr_b:
            rows = batched.shape[0]
            values = torch.stack([evaluate(e, (rows,)) for e in self._expr_b], dim=1)
            ang_b = ang_b.index_copy(1, c["expr_rows_b"], values)
        if self._expr_s:
            values = torch.stack([evaluate(e, ()) for e in self._expr_s])
            ang_s = ang_s.index_copy(0, c["expr_rows_s"], values)
        return ang_b, ang_s

    def states(
        self,
        batched: torch.Tensor | None = None,
        shared: torch.Tensor | None = None,
        *,
        initial: torch.Tensor | None = None,
        dtype: torch.dtype = torch.complex64,
        reference: bool = False,
    ) -> torch.Tensor:
        """Final statevectors.

        Args:
            batched: Values of ``batched_parameters``, shape (batch, len(batched_parameters)).
            shared: Values of ``shared_parameters``, shape (len(shared_parameters),).
            initial: Initial states, shape (batch, 2**n); |0...0> when None.
            dtype: ``torch.complex64`` or ``torch.complex128``.
            reference: Apply every gate as one dense matrix (the FLOPs-counting path).

        Returns:
            Statevectors, shape (batch, 2**n).
        """
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        device = (
            batched.device
            if batched is not None
            else shared.device
            if shared is not None
            else torch.device("cpu")
        )
        if batched is None:
            rows = initial.shape[0] if initial is not None else 1
            batched = torch.zeros((rows, 0), dtype=real, device=device)
        if shared is None:
            shared = torch.zeros(0, dtype=real, device=device)
        batched = batched.to(real)
        shared = shared.to(real)
        if batched.shape[-1] != len(self.batched_parameters) or shared.shape != (
            len(self.shared_parameters),
        ):
            raise EngineError(
                f"Parameter values must have shapes (batch, {len(self.batched_parameters)}) and "
                f"({len(self.shared_parameters)},). Got {tuple(batched.shape)} and "
                f"{tuple(shared.shape)} instead."
            )
        batch = batched.shape[0] if initial is None else initial.shape[0]
        c = self._consts(dtype, device)
        ang_b, ang_s = self._angles(batched, shared, c)
        mats_b = self._rotation_matrices(ang_b, self._kinds_b, dtype)  # (B, k_b, 2, 2)
        mats_s = self._rotation_matrices(ang_s, self._kinds_s, dtype)  # (k_s, 2, 2)
        if reference:
            return self._run_reference(batch, mats_b, mats_s, initial, dtype, c)
        return self._run_fast(batch, mats_b, mats_s, initial, dtype, c)

    def _run_reference(
        self,
        batch: int,
        mats_b: torch.Tensor,
        mats_s: torch.Tensor,
        initial: torch.Tensor | None,
        dtype: torch.dtype,
        c: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        n = self.n_qubits
        if initial is None:
            state = torch.zeros((batch, 2**n), dtype=dtype, device=mats_s.device)
            state[:, 0] = 1
        else:
            state = initial.to(dtype)
        for i, op in enumerate(self._reference_ops):
            if isinstance(op, _Rotation):
                matrix = mats_b[:, op.index] if op.batched else mats_s[op.index]
                state = _apply_dense(state, matrix, (op.qubit,), n)
            elif isinstance(op, _Fixed):
                state = _apply_dense(state, c[f"r{i}"], op.qubits, n)
        return state

    def _run_fast(
        self,
        batch: int,
        mats_b: torch.Tensor,
        mats_s: torch.Tensor,
        initial: torch.Tensor | None,
        dtype: torch.dtype,
        c: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        n = self.n_qubits
        device = mats_s.device
        state: torch.Tensor | None = None if initial is None else initial.to(dtype)
        # product-state phase: one (2,) or (B, 2) vector per qubit until the first 2-qubit gate
        local: list[torch.Tensor] = []
        if state is None:
            ground = torch.zeros(2, dtype=dtype, device=device)
            ground[0] = 1
            local = [ground] * n
        for i, op in enumerate(self._fast_ops):
            if isinstance(op, _Layer):
                per_qubit: dict[int, torch.Tensor] = {}
                for qubit, position in op.gates:
                    source = self._reference_ops[position]
                    if isinstance(source, _Rotation):
                        matrix = mats_b[:, source.index] if source.batched else mats_s[source.index]
                    else:
                        matrix = c[f"r{position}"]
                    previous = per_qubit.get(qubit)
                    per_qubit[qubit] = (
                        matrix if previous is None else torch.matmul(matrix, previous)
                    )
                if state is None:
                    for qubit, matrix in per_qubit.items():
                        local[qubit] = torch.matmul(matrix, local[qubit].unsqueeze(-1)).squeeze(-1)
                else:
                    state = _apply_layer(state, per_qubit, n, c["eye"])
                continue
            if state is None:
                state = _product_state(local, batch)
            if isinstance(op, _Permutation):
                state = state[:, c[f"src{i}"]]
                if op.phase is not None:
                    state = state * c[f"ph{i}"]
            else:
                assert isinstance(op, _Fixed)
                state = _apply_dense(state, c[f"m{i}"], op.qubits, n)
        if state is None:
            state = _product_state(local, batch)
        return state


def _product_state(local: list[torch.Tensor], batch: int) -> torch.Tensor:
    """Kronecker product of per-qubit vectors (qubit n-1 most significant), shape (B, 2**n)."""
    vectors = [v if v.dim() == 2 else v.expand(batch, 2) for v in local]
    state = vectors[-1]
    for v in reversed(vectors[:-1]):
        state = (state.unsqueeze(-1) * v.unsqueeze(-2)).reshape(batch, -1)
    return state


def _kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kronecker product of square matrices with broadcast batch dims: (..., p, p), (..., r, r)."""
    p, r = a.shape[-1], b.shape[-1]
    lead = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return out.reshape(*lead, p * r, p * r)


def _group_matrix(
    per_qubit: dict[int, torch.Tensor], qubits: range, eye: torch.Tensor
) -> torch.Tensor:
    """Kronecker product over ``qubits`` (most significant first), identity where untouched."""
    matrix: torch.Tensor | None = None
    for q in reversed(qubits):
        factor = per_qubit.get(q, eye)
        matrix = factor if matrix is None else _kron(matrix, factor)
    assert matrix is not None
    return matrix


def _apply_layer(
    state: torch.Tensor, per_qubit: dict[int, torch.Tensor], n: int, eye: torch.Tensor
) -> torch.Tensor:
    """Single-qubit gates on distinct qubits, shape (2, 2) or (B, 2, 2) each, on a full state.

    With several gates, the layer is applied as two Kronecker blocks: the high qubits' matrix
    from the left and the low qubits' from the right of the state viewed as a
    (2**(n-h), 2**h) matrix, i.e. two GEMMs instead of one strided product per qubit.
    """
    if len(per_qubit) < 3 or n < 6:
        for qubit, matrix in per_qubit.items():
            state = _apply_single(state, matrix, qubit, n)
        return state
    batch = state.shape[0]
    h = n // 2
    view = state.view(batch, 2 ** (n - h), 2**h)
    if any(q < h for q in per_qubit):
        low = _group_matrix(per_qubit, range(0, h), eye)
        view = torch.matmul(view, low.transpose(-1, -2))
    if any(q >= h for q in per_qubit):
        high = _group_matrix(per_qubit, range(h, n), eye)
        view = torch.matmul(high, view)
    return view.reshape(batch, 2**n)


def _apply_single(state: torch.Tensor, matrix: torch.Tensor, qubit: int, n: int) -> torch.Tensor:
    """One single-qubit gate, (2, 2) or (B, 2, 2), on a full state (B, 2**n)."""
    batch = state.shape[0]
    view = state.view(batch, 2 ** (n - 1 - qubit), 2, 2**qubit)
    if matrix.dim() == 3:
        out = torch.matmul(matrix.unsqueeze(1), view)
    else:
        out = torch.matmul(matrix, view)
    return out.reshape(batch, 2**n)


def _apply_dense(
    state: torch.Tensor, matrix: torch.Tensor, qubits: tuple[int, ...], n: int
) -> torch.Tensor:
    """One gate as a single dense product: ``aten::mm`` (shared) or ``aten::bmm`` (per sample).

    Args:
        state: Shape (B, 2**n).
        matrix: Shape (2**k, 2**k) or (B, 2**k, 2**k), little-endian over ``qubits``.
        qubits: The k qubits the gate acts on.
        n: Number of qubits.

    Returns:
        Shape (B, 2**n).
    """
    batch = state.shape[0]
    k = len(qubits)
    tensor = state.reshape(batch, *([2] * n))
    # tensor axis 1 + j holds qubit n-1-j; gate row index is sum_j b[qubits[j]] * 2**j
    axes = [1 + (n - 1 - q) for q in reversed(qubits)]
    rest = [a for a in range(1, n + 1) if a not in axes]
    if matrix.dim() == 2:
        order = [*axes, 0, *rest]
        moved = tensor.permute(order).reshape(2**k, -1)
        out = torch.mm(matrix, moved).reshape([tensor.shape[a] for a in order])
    else:
        order = [0, *axes, *rest]
        moved = tensor.permute(order).reshape(batch, 2**k, -1)
        out = torch.bmm(matrix, moved).reshape([tensor.shape[a] for a in order])
    inverse = [order.index(a) for a in range(n + 1)]
    return out.permute(inverse).reshape(batch, 2**n)
