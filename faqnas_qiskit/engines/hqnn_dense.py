"""The dense form of the HQNN kernel with its backward pass, in as few operations as possible.

On small circuits (2**n a few dozen at most, :func:`~faqnas_qiskit.engines.hqnn_kernel.use_dense`)
a training step is bound by the number of tensor operations, not by arithmetic: every operation
costs microseconds of dispatch whatever its size. This form builds each layer as one matrix and
keeps the work per layer to one batched product forward and two backward (DESIGN §4):

* Row states: the weight part maps the identity's rows (basis states) through layer matrices
  ``A_l = R_l^T P_l^T`` (rotations ``R_l``, the Kronecker product of every qubit's 2 x 2, then
  the entangler's signed column permutation ``P_l^T``), so ``S_l = A_1 ... A_l`` and ``S_L``
  holds the unitary's columns as rows. The angle embedding's phase ``(-i)^popcount`` is
  ``diag(1, -i)`` on each qubit, folded into layer 1's factors. The batch's real amplitudes a
  then give ``psi = a S_L`` as one real GEMM against ``[Re S_L, Im S_L]``.
* Backward from the costate ``mu_L`` of ``S_L``: ``Y_l = mu_l^H S_l`` and
  ``mu_(l-1) = mu_l A_l^H``. With ``T_l = S_l P_l`` (the states after layer l's rotations)
  and ``nu_l = mu_l P_l``, ``dL/dθ_lq = 1/2 Re sum_(k,k') (nu_l^H T_l)[k, k'] G_q[k, k']``, and
  ``nu_l^H T_l = P_l^T Y_l P_l``: each qubit's 2 x 2 partial trace of it is one gather from the
  stacked ``Y_l`` (the permutation and its signs folded into the gather's index and factors).

Values and gradients equal :func:`~faqnas_qiskit.engines.hqnn_kernel.run_plan` and autograd
through it up to the order of floating-point operations (tested in float64 to 1e-12).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from faqnas_qiskit.engines.hqnn_kernel import WeightPlan, embedding_amplitudes

__all__ = [
    "DenseState",
    "DenseTables",
    "angle_backward",
    "dense_backward",
    "dense_forward",
    "dense_tables",
    "kron_tree",
]


@dataclass(frozen=True, eq=False)
class DenseTables:
    """Constants of the dense form of M' networks (M' = 1 or M, as in the plan).

    Attributes:
        factor_table: ``R_q^T = cos(θ/2) I^T + sin(θ/2) G^T`` as a real linear map of
            ``(cos, sin)``: shape (M', L, 1, 2, 8), row 0 holding ``I^T`` and row 1 ``G^T``
            (real and imaginary parts interleaved); layer 1 is ``diag(1, -i) I^T`` and
            ``diag(1, -i) G^T`` with angle embedding (the embedding's phase).
        source: Column permutation of the layer matrices, int64 (M', L, D, D) broadcastable
            (``A[..., i] = sign[i] R^T[..., source[i]]``), or None when it is the identity.
        sign: Its signs, real (M', L, 1, D), or None.
        trace: Gather index into each layer's flattened ``Y_l``, int64 (M', L, n*2*2*D/2):
            entry ``[q, b, b', r]`` is ``inv(k) * D + inv(k')`` with k, k' = r with bit q set
            to b, b' and inv the inverse permutation.
        trace_sign: ``sign(inv(k)) * sign(inv(k'))``, real, same shape, or None.
        signs_2t: ``2 * signs^T``, real (n, D): dL/dprobabilities times two, from dL/d⟨Z⟩.
        amplitude_index: ``2 q + bit_q(k)`` for k-major (k, q), int64 (D * n,): where the
            angle embedding's amplitude k takes qubit q's factor among (cos, sin) pairs.
    """

    factor_table: torch.Tensor
    source: torch.Tensor | None
    sign: torch.Tensor | None
    trace: torch.Tensor
    trace_sign: torch.Tensor | None
    signs_2t: torch.Tensor
    amplitude_index: torch.Tensor


_TABLES: weakref.WeakKeyDictionary[WeightPlan, DenseTables] = weakref.WeakKeyDictionary()


def dense_tables(plan: WeightPlan) -> DenseTables:
    """The dense form's constants for ``plan`` (built once per plan)."""
    cached = _TABLES.get(plan)
    if cached is not None:
        return cached
    n, dim = plan.n_qubits, 2**plan.n_qubits
    device, real = plan.eye.device, plan.signs.dtype
    generators = plan.generators.detach().cpu().numpy()  # (M', L, 1, 2, 2)
    identity = np.broadcast_to(np.eye(2), generators.shape).astype(np.complex128)
    generator_t = np.swapaxes(generators, -1, -2).copy()
    if plan.angle:  # (R diag(1, -i))^T = diag(1, -i) R^T
        phase = np.diag([1.0, -1j])
        identity[:, 0] = phase @ identity[:, 0]
        generator_t[:, 0] = phase @ generator_t[:, 0]
    source = plan.source.detach().cpu().numpy()  # (M', L, D)
    sign = None if plan.sign is None else plan.sign.detach().cpu().numpy()
    inverse = np.argsort(source, axis=-1)
    index = np.arange(dim)
    rest = np.arange(dim // 2)
    rows = np.empty((n, 2, 2, dim // 2), dtype=np.int64)
    cols = np.empty_like(rows)
    for q in range(n):
        low, high = rest & ((1 << q) - 1), (rest >> q) << (q + 1)
        for b in (0, 1):
            for b2 in (0, 1):
                rows[q, b, b2] = high | (b << q) | low
                cols[q, b, b2] = high | (b2 << q) | low
    inv_rows = inverse[:, :, rows.reshape(-1)]  # (M', L, n*2*2*D/2)
    inv_cols = inverse[:, :, cols.reshape(-1)]
    trace = inv_rows * dim + inv_cols
    trace_sign = None
    if sign is not None:
        trace_sign = np.take_along_axis(sign, inv_rows, -1) * np.take_along_axis(sign, inv_cols, -1)
    identity_source = bool(np.all(source == index))
    pair = np.stack((identity, generator_t), axis=-3)  # (M', L, 1, 2, 2, 2)
    table = np.stack((pair.real, pair.imag), axis=-1).reshape(*pair.shape[:-3], 2, 8)
    tables = DenseTables(
        factor_table=torch.as_tensor(table, dtype=real, device=device),
        source=None
        if identity_source
        else torch.as_tensor(source[:, :, None, :], device=device).expand(-1, -1, dim, -1),
        sign=None
        if sign is None
        else torch.as_tensor(sign[:, :, None, :], dtype=real, device=device),
        trace=torch.as_tensor(trace, device=device),
        trace_sign=None
        if trace_sign is None
        else torch.as_tensor(trace_sign, dtype=real, device=device),
        signs_2t=(2 * plan.signs.transpose(0, 1)).contiguous(),
        amplitude_index=torch.as_tensor(
            (2 * np.arange(n)[None, :] + ((index[:, None] >> np.arange(n)) & 1)).reshape(-1),
            device=device,
        ),
    )
    _TABLES[plan] = tables
    return tables


def kron_tree(mats: Any) -> Any:
    """Kronecker product of mats (..., n, d, d) over n (index n-1 most significant), by pairs:
    about log2(n) products instead of n - 1. Shape (..., d**n, d**n). Written with reshapes,
    indexing and products only, so it takes a torch tensor or a NumPy array alike (the NumPy
    trainer's form uses it too)."""
    lead = mats.shape[:-3]
    count, d = mats.shape[-3], mats.shape[-1]
    mats = mats.reshape(-1, count, d, d)
    rows = mats.shape[0]
    leftover: list[Any] = []  # odd factors, each above everything before it
    while count > 1:
        if count % 2:
            leftover.append(mats[:, -1])
            mats = mats[:, :-1]
        count //= 2
        pairs = mats.reshape(rows, count, 2, d, d)
        low = pairs[:, :, 0].reshape(rows, count, 1, d, 1, d)
        high = pairs[:, :, 1].reshape(rows, count, d, 1, d, 1)
        mats = (high * low).reshape(rows, count, d * d, d * d)
        d *= d
    block = mats[:, 0]
    for factor in reversed(leftover):  # the last left over is the lowest of them
        p, f = block.shape[-1], factor.shape[-1]
        block = (factor.reshape(rows, f, 1, f, 1) * block.reshape(rows, 1, p, 1, p)).reshape(
            rows, f * p, f * p
        )
    return block.reshape(*lead, block.shape[-1], block.shape[-1])


def _angle_amplitudes(features: torch.Tensor, tables: DenseTables) -> torch.Tensor:
    """``prod_q cos(x_q/2)`` or ``sin(x_q/2)`` by bit q of k, (M, B, D), from (M, B, n)."""
    models, batch, n = features.shape
    half = features * 0.5
    pairs = torch.stack((torch.cos(half), torch.sin(half)), dim=-1).reshape(models, batch, 2 * n)
    index = tables.amplitude_index.expand(models, batch, -1)
    return torch.gather(pairs, 2, index).reshape(models, batch, -1, n).prod(dim=-1)


def angle_backward(
    amplitudes: torch.Tensor, grad_a: torch.Tensor, plan: WeightPlan
) -> torch.Tensor:
    """dL/dh (M, B, n) from dL/da (M, B, D) for the angle embedding's amplitudes:
    ``1/2 sum_k dL/da_k (2 bit_q(k) - 1) a_(k XOR 2**q)``."""
    models, batch, dim = amplitudes.shape
    n = plan.n_qubits
    if n <= _GATHER_QUBITS:
        index = plan.flip.expand(models, batch, -1)
        partner = torch.gather(amplitudes, 2, index).reshape(models, batch, n, dim)
        return (partner * (grad_a.unsqueeze(2) * plan.bit_sign)).sum(dim=-1) * 0.5
    terms = []
    for q in range(n):  # pairs (k, k XOR 2**q) with bit q of k 0: g_1 a_0 - g_0 a_1
        a = amplitudes.reshape(models, batch, dim >> (q + 1), 2, 1 << q)
        g = grad_a.reshape(models, batch, dim >> (q + 1), 2, 1 << q)
        pair = g[..., 1, :] * a[..., 0, :] - g[..., 0, :] * a[..., 1, :]
        terms.append(pair.sum(dim=(-2, -1)))
    return torch.stack(terms, dim=-1) * 0.5


#: Up to this many qubits the angle embedding's backward gathers every qubit's partner
#: amplitudes at once; above, a strided pass per qubit costs less (measured: 4 qubits 18 vs 65
#: µs, 8 qubits 551 vs 171 µs at batch 64).
_GATHER_QUBITS = 5


@dataclass(frozen=True, eq=False)
class DenseState:
    """What the dense form's backward pass needs.

    Attributes:
        plan: The models' constants.
        tables: The dense form's constants.
        amplitudes: Real embedded amplitudes a, shape (M, B, D).
        norm: ``||h||`` per row (1 for a zero row), (M, B, 1), amplitude embedding only.
        zero: Rows of h that are all zero, (M, B, 1), amplitude embedding only.
        layers: ``A_l`` for every layer, complex (M, L, D, D).
        states: ``S_l = A_1 ... A_l`` for l = 1..L, each complex (M, D, D).
        out: ``[Re S_L, Im S_L]``, real (M, D, 2D).
        psi: ``a @ out``, real (M, B, 2D).
    """

    plan: WeightPlan
    tables: DenseTables
    amplitudes: torch.Tensor
    norm: torch.Tensor | None
    zero: torch.Tensor | None
    layers: torch.Tensor
    states: list[torch.Tensor]
    out: torch.Tensor
    psi: torch.Tensor


def dense_forward(
    plan: WeightPlan, features: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, DenseState]:
    """⟨Z_i⟩ of M models by the dense form, and what its backward pass needs.

    Args:
        plan: The models' constants (dtype of ``features``).
        features: Pre-layer outputs, shape (M, B, m), m = n (angle) or 2**n (amplitude).
        weights: Circuit weights, shape (M, L, n), radians (padded layers hold zeros).

    Returns:
        ⟨Z_i⟩, shape (M, B, n), dtype of ``features``, and the saved state.
    """
    tables = dense_tables(plan)
    models, _, _ = features.shape
    dim = 2**plan.n_qubits
    half = weights.to(features.dtype) * 0.5
    trig = torch.stack((torch.cos(half), torch.sin(half)), dim=-1).unsqueeze(-2)  # (M, L, n, 1, 2)
    factors = torch.view_as_complex(
        torch.matmul(trig, tables.factor_table).reshape(*half.shape, 2, 2, 2)
    )  # (M, L, n, 2, 2): R_q^T
    layers = kron_tree(factors)  # (M, L, D, D): R^T
    if tables.source is not None:
        layers = torch.gather(layers, 3, tables.source.expand(models, -1, -1, -1))
    if tables.sign is not None:
        layers = layers * tables.sign
    states = [layers[:, 0]]
    for layer in range(1, plan.depth):
        states.append(torch.bmm(states[-1], layers[:, layer]))
    last = states[-1]
    out = torch.cat((last.real, last.imag), dim=-1)  # (M, D, 2D)
    norm = zero = None
    if plan.angle:
        amplitudes = _angle_amplitudes(features, tables)
    else:
        amplitudes = embedding_amplitudes(features, angle=False)
        squares = (features * features).sum(dim=-1, keepdim=True)
        zero = squares == 0
        norm = torch.sqrt(torch.where(zero, 1.0, squares))
    psi = torch.bmm(amplitudes, out)  # (M, B, 2D)
    probs = psi.unflatten(-1, (2, dim)).square().sum(dim=-2)
    z = torch.matmul(probs, plan.signs)
    state = DenseState(plan, tables, amplitudes, norm, zero, layers, states, out, psi)
    return z, state


def dense_backward(state: DenseState, grad_z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/da (M, B, D) and dL/dweights (M, L, n) of the dense form, from dL/d⟨Z⟩ (M, B, n)."""
    plan, tables = state.plan, state.tables
    models, _, dim = state.amplitudes.shape
    grad_p2 = torch.matmul(grad_z, tables.signs_2t)  # 2 dL/dprobabilities, (M, B, D)
    grad_psi = (state.psi.unflatten(-1, (2, dim)) * grad_p2.unsqueeze(-2)).flatten(-2)
    grad_a = torch.bmm(grad_psi, state.out.mT)  # (M, B, D)
    grad_out = torch.bmm(state.amplitudes.mT, grad_psi)  # (M, D, 2D)
    costate = torch.complex(grad_out[..., :dim], grad_out[..., dim:])
    overlaps = []
    adjoints = state.layers.mH
    for layer in range(plan.depth - 1, -1, -1):
        overlaps.append(torch.bmm(costate.mH, state.states[layer]))
        if layer:
            costate = torch.bmm(costate, adjoints[:, layer])
    stacked = torch.stack(overlaps[::-1], dim=1).reshape(models, plan.depth, dim * dim)
    traced = torch.gather(stacked, 2, tables.trace.expand(models, -1, -1))
    if tables.trace_sign is not None:
        traced = traced * tables.trace_sign
    blocks = traced.reshape(models, plan.depth, plan.n_qubits, 2, 2, dim // 2).sum(dim=-1)
    grad_w = (plan.generators * blocks).sum(dim=(-2, -1)).real * 0.5
    return grad_a, grad_w
