"""The HQNN kernel with a hand-written backward pass: the adjoint method, no autograd graph.

:func:`~faqnas_qiskit.engines.hqnn_kernel.run_plan` composes the kernel from torch operations and
lets autograd differentiate them: exact, but a training step then pays autograd's bookkeeping
for every one of its small operations, which on 2-8 qubits costs more than the arithmetic. Here
the same computation runs as one :class:`torch.autograd.Function` whose backward pass is written
out (DESIGN §4: exact gradients, no parameter shift):

* Dense form (small circuits): :mod:`~faqnas_qiskit.engines.hqnn_dense`, the unitary built as
  a product of layer matrices and applied to the batch by one real GEMM.
* Layered form (this module): the batch's B embedded states, held high-major (M, Dh, B, Dl),
  go through the layers. Layer l maps ``S -> T_l`` (the rotations ``R_l``, two Kronecker-block
  GEMMs) then ``S' = P_l(T_l)`` (the entangler, a signed permutation, one gather). Backward,
  from the costate ``mu`` of the output (``dL = Re sum conj(mu) dS``): per layer in reverse,
  ``nu = P_l^T mu``, the weight gradient ``dL/dθ_lq = 1/2 Re sum conj(nu) (G_q T_l)`` (since
  ``dR/dθ = 1/2 G R`` for ``R = cos(θ/2) I + sin(θ/2) G`` with ``G^2 = -I``), computed as
  2 x 2 partial traces of two GEMM overlaps, and ``mu = R_l^H nu``. The angle embedding's
  phase ``(-i)^popcount`` is ``diag(1, -i)`` on each qubit, folded into layer 1's factors.
* Embedding: angle amplitudes ``a_k = prod_q cos/sin(h_q/2)`` have
  ``da_k/dh_q = 1/2 (2 bit_q(k) - 1) a_{k XOR 2**q}``; amplitude ``a = h/||h||`` has
  ``da = (dh - a (a . dh)) / ||h||`` (zero for a zero row, which prepares |0...0>).

Values equal :func:`run_plan`'s up to the order of floating-point operations, gradients equal
autograd's through it (tested in float64 to 1e-12, and against finite differences).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import torch

from faqnas_qiskit.engines.hqnn_dense import (
    DenseState,
    angle_backward,
    dense_backward,
    dense_forward,
)
from faqnas_qiskit.engines.hqnn_kernel import (
    WeightPlan,
    embedding_amplitudes,
    kron_qubits,
    rotation_matrices,
    run_plan,
)

__all__ = ["kernel_backward", "kernel_forward", "run_plan_adjoint"]


@dataclass(frozen=True, eq=False)
class KernelState:
    """What the layered form's backward pass needs, for M models on B samples.

    States are held *high-major*: B column states of 2**n amplitudes as a tensor
    (M, Dh, B, Dl), Dl = 2**h for the low qubits 0..h-1 (h = ceil(n/2)) and Dh = 2**(n-h), so
    that both Kronecker halves of a rotation layer, and both halves of the weight gradient, are
    single GEMMs without copies.

    Attributes:
        plan: The models' constants.
        amplitudes: Real embedded amplitudes a, shape (M, B, D).
        norm: ``||h||`` per row (1 for a zero row), shape (M, B, 1), amplitude embedding only.
        zero: Rows of h that are all zero, shape (M, B, 1), amplitude embedding only.
        low: ``R_low^T`` per layer, complex, shape (M, L, Dl, Dl).
        high: ``R_high`` per layer, complex, shape (M, L, Dh, Dh).
        rotated: ``T_l`` (the states after layer l's rotations), each complex (M, Dh, B, Dl).
        out: The final states, complex (M, Dh, B, Dl).
    """

    plan: WeightPlan
    amplitudes: torch.Tensor
    norm: torch.Tensor | None
    zero: torch.Tensor | None
    low: torch.Tensor
    high: torch.Tensor
    rotated: list[torch.Tensor]
    out: torch.Tensor


def _split(plan: WeightPlan) -> tuple[int, int]:
    """(Dh, Dl): the high and low Kronecker halves of the basis."""
    low = 2 ** ((plan.n_qubits + 1) // 2)
    return 2**plan.n_qubits // low, low


def _rotate(states: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Apply ``R_high ⊗ R_low`` to high-major states (M, Dh, C, Dl), given ``low`` =
    ``R_low^T`` (M, Dl, Dl) and ``high`` = ``R_high`` (M, Dh, Dh): two GEMMs."""
    models, high_dim, columns, low_dim = states.shape
    view = torch.matmul(states.reshape(models, high_dim * columns, low_dim), low)
    view = torch.matmul(high, view.reshape(models, high_dim, columns * low_dim))
    return view.reshape(models, high_dim, columns, low_dim)


_GATHER_INDEX: weakref.WeakKeyDictionary[WeightPlan, dict[tuple[int, bool, int], torch.Tensor]] = (
    weakref.WeakKeyDictionary()
)
"""Per plan, its flat gather indices by (columns C, direction, layer), each (M', Dh * C * Dl);
one per batch size when every layer and model has the same permutation (``uniform``), one per
layer otherwise. Gone with the plan."""


def _gather_index(plan: WeightPlan, layer: int, columns: int, *, inverse: bool) -> torch.Tensor:
    """Flat positions in high-major (M, Dh, C, Dl) states of each output's source, (M', D*C)."""
    key = (columns, inverse, 0 if plan.uniform else layer)
    cached = _GATHER_INDEX.setdefault(plan, {})
    if key in cached:
        return cached[key]
    high_dim, low_dim = _split(plan)
    source = (plan.inverse if inverse else plan.source)[:, key[2]]
    base = (source // low_dim) * (columns * low_dim) + source % low_dim  # (M', D)
    offsets = torch.arange(columns, device=source.device) * low_dim
    index = base.reshape(-1, high_dim, 1, low_dim) + offsets.reshape(1, 1, columns, 1)
    cached[key] = index.reshape(index.shape[0], -1)
    return cached[key]


def _permute(states: torch.Tensor, plan: WeightPlan, layer: int, *, inverse: bool) -> torch.Tensor:
    """The entangler of ``layer`` (or its transpose) on high-major states: one gather (none for
    CZ, a sign only) and the signs."""
    sign = plan.inverse_sign if inverse else plan.sign
    models, high_dim, columns, low_dim = states.shape
    out = states
    if not plan.identity:
        index = _gather_index(plan, layer, columns, inverse=inverse)
        out = torch.gather(states.reshape(models, -1), 1, index.expand(models, -1))
        out = out.reshape(states.shape)
    if sign is not None:
        out = out * sign[:, layer].reshape(-1, high_dim, 1, low_dim)
    return out


def _to_high_major(rows: torch.Tensor, plan: WeightPlan) -> torch.Tensor:
    """(M, C, D) row states as high-major (M, Dh, C, Dl)."""
    high_dim, low_dim = _split(plan)
    models, columns, _ = rows.shape
    return rows.reshape(models, columns, high_dim, low_dim).transpose(1, 2).contiguous()


def _to_rows(states: torch.Tensor) -> torch.Tensor:
    """High-major (M, Dh, C, Dl) states as rows (M, C, D)."""
    models, high_dim, columns, low_dim = states.shape
    return states.transpose(1, 2).reshape(models, columns, high_dim * low_dim)


def kernel_forward(
    plan: WeightPlan, features: torch.Tensor, weights: torch.Tensor, dense: bool
) -> tuple[torch.Tensor, KernelState | DenseState]:
    """⟨Z_i⟩ of M models and what their backward pass needs.

    Args:
        plan: The models' constants (dtype of ``features``).
        features: Pre-layer outputs, shape (M, B, m), m = n (angle) or 2**n (amplitude).
        weights: Circuit weights, shape (M, L, n), radians (padded layers hold zeros).
        dense: Build the unitary (:func:`~faqnas_qiskit.engines.hqnn_dense.dense_forward`) or
            run the batch through the layers (False).

    Returns:
        ⟨Z_i⟩, shape (M, B, n), dtype of ``features``, and the saved state.
    """
    if dense:
        return dense_forward(plan, features, weights)
    n = plan.n_qubits
    h = (n + 1) // 2
    mats = rotation_matrices(weights.to(features.dtype), plan)
    if plan.embed_phase is not None:
        # the angle embedding's phase (-i)^popcount is diag(1, -i) on every qubit: part of
        # the first layer's Kronecker factors (T_1 = R_1 Φ S_0; dT_1/dθ is still 1/2 G T_1)
        first = mats[:, :1] * plan.phase_factor  # R_q diag(1, -i): columns scaled
        mats = torch.cat((first, mats[:, 1:]), dim=1)
    low = kron_qubits(mats, range(0, h)).transpose(-1, -2)
    high = kron_qubits(mats, range(h, n)) if n > h else torch.ones_like(low[..., :1, :1])
    amplitudes = embedding_amplitudes(features, plan.angle)
    norm = zero = None
    if not plan.angle:
        norm, zero = _norm(features)
    states = _to_high_major(amplitudes.to(plan.eye.dtype), plan)
    rotated = []
    for layer in range(plan.depth):
        after = _rotate(states, low[:, layer], high[:, layer])
        rotated.append(after)
        states = _permute(after, plan, layer, inverse=False)
    probs = _to_rows(torch.view_as_real(states).square().sum(dim=-1))
    z = torch.matmul(probs, plan.signs)
    return z, KernelState(plan, amplitudes, norm, zero, low, high, rotated, states)


def _norm(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``||h||`` per row (1 for a zero row) and the zero rows, each (M, B, 1)."""
    squares = (features * features).sum(dim=-1, keepdim=True)
    zero = squares == 0
    return torch.sqrt(torch.where(zero, 1.0, squares)), zero


def _qubit_overlaps(nu: torch.Tensor, after: torch.Tensor, plan: WeightPlan) -> torch.Tensor:
    """``O_q[b, b'] = sum conj(nu[c, k]) after[c, k']`` over the columns c and the basis pairs
    (k, k') that agree except on qubit q, where k has b and k' has b'; shape (M, n, 2, 2).

    With them, ``sum conj(nu) (G_q after) = sum_{b,b'} G[b, b'] O_q[b, b']``. The low qubits'
    ``Dl x Dl`` overlap is one GEMM over (high index, column), the high qubits' ``Dh x Dh``
    one over (column, low index); each qubit's 2 x 2 block is then a gather and a sum (a
    partial trace).
    """
    models, high_dim, columns, low_dim = nu.shape
    flat_nu = nu.reshape(models, high_dim * columns, low_dim)
    flat_after = after.reshape(models, high_dim * columns, low_dim)
    low = torch.matmul(flat_nu.mH, flat_after).reshape(models, low_dim * low_dim)
    blocks = [low[:, plan.trace_low].sum(dim=-1)]  # (M, h, 2, 2)
    if plan.trace_high is not None:
        wide_nu = nu.reshape(models, high_dim, columns * low_dim)
        wide_after = after.reshape(models, high_dim, columns * low_dim)
        # conj(nu) after^T = conj(nu after^H): the conjugate taken on the small result
        high = torch.matmul(wide_nu, wide_after.mH).conj().reshape(models, high_dim * high_dim)
        blocks.append(high[:, plan.trace_high].sum(dim=-1))
    return torch.cat(blocks, dim=1)


def kernel_backward(
    state: KernelState | DenseState, grad_z: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of a loss with respect to the features and the weights, by the adjoint method.

    Args:
        state: From :func:`kernel_forward`.
        grad_z: dL/d⟨Z_i⟩, shape (M, B, n).

    Returns:
        dL/dfeatures, shape (M, B, m), and dL/dweights, shape (M, L, n), real.
    """
    plan = state.plan
    amplitudes = state.amplitudes
    if isinstance(state, DenseState):
        grad_a, grad_w = dense_backward(state, grad_z)
    else:
        grad_p = torch.matmul(grad_z, plan.signs.transpose(0, 1))  # (M, B, D)
        costate = state.out * (2 * _to_high_major(grad_p, plan))
        overlaps = []
        for layer in range(plan.depth - 1, -1, -1):
            nu = _permute(costate, plan, layer, inverse=True)
            overlaps.append(_qubit_overlaps(nu, state.rotated[layer], plan))
            low = state.low[:, layer].mT.conj()
            costate = _rotate(nu, low, state.high[:, layer].mH)
        # dL/dθ_lq = 1/2 Re sum_{b,b'} G_l[b, b'] O_lq[b, b']
        stacked = torch.stack(overlaps[::-1], dim=1)  # (M, L, n, 2, 2)
        grad_w = (plan.generators * stacked).sum(dim=(-2, -1)).real * 0.5
        grad_a = _to_rows(costate).real
    if plan.angle:
        grad_f = angle_backward(amplitudes, grad_a, plan)
    else:
        assert state.norm is not None and state.zero is not None
        along = (amplitudes * grad_a).sum(dim=-1, keepdim=True)
        grad_f = torch.where(state.zero, 0.0, (grad_a - amplitudes * along) / state.norm)
    return grad_f, grad_w


class _AdjointKernel(torch.autograd.Function):
    """:func:`kernel_forward` with :func:`kernel_backward` as its gradient."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, features: torch.Tensor, weights: torch.Tensor, plan: WeightPlan, dense: bool
    ) -> torch.Tensor:
        z, state = kernel_forward(plan, features, weights, dense)
        ctx.state = state
        ctx.weight_dtype = weights.dtype
        return z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_z: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        grad_f, grad_w = kernel_backward(ctx.state, grad_z)
        return grad_f, grad_w.to(ctx.weight_dtype), None, None


def run_plan_adjoint(
    plan: WeightPlan, features: torch.Tensor, weights: torch.Tensor, dense: bool
) -> torch.Tensor:
    """:func:`~faqnas_qiskit.engines.hqnn_kernel.run_plan` with the hand-written backward.

    Args and result as :func:`run_plan` (``dense`` already chosen). Without gradients to
    compute it is :func:`run_plan` itself, which keeps no layer's states (scoring large
    splits).
    """
    if not (torch.is_grad_enabled() and (features.requires_grad or weights.requires_grad)):
        return run_plan(plan, features, weights, dense=dense)
    out: torch.Tensor = _AdjointKernel.apply(features, weights, plan, dense)
    return out
