"""The dense form of the HQNN kernel in NumPy: the least overhead per operation on the CPU.

A training step of a network of up to 5 qubits is a few dozen operations on arrays of a few
hundred numbers, so its time is the cost of dispatching operations, not arithmetic: measured
here, NumPy's elementwise operations and views cost a half to a third of torch's, which makes a
whole step about 2x faster (issue 21). This module is
:mod:`~faqnas_qiskit.engines.hqnn_dense` (same algorithm, same tables, same shapes; see there
for the mathematics) written with NumPy arrays, for the CPU trainer
(:class:`~faqnas_qiskit.evaluation.fused.NumpyHQNN`). Tested against the torch form and
autograd in float64 to 1e-12.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from faqnas_qiskit.engines.hqnn_dense import dense_tables, kron_tree
from faqnas_qiskit.engines.hqnn_kernel import WeightPlan

__all__ = ["NumpyDense", "NumpyDenseState", "numpy_dense"]

#: The largest circuit the NumPy form serves: always dense (``use_dense``) whatever the batch.
MAX_QUBITS = 5

Array = npt.NDArray[Any]


@dataclass(frozen=True, eq=False)
class NumpyDense:
    """The dense form's constants of M' networks as NumPy arrays (see ``DenseTables``).

    Attributes:
        n_qubits: n.
        depth: L.
        angle: Angle embedding.
        factor_table: (M', L, 1, 2, 8) real.
        source: Column permutation, int64 (M', L, D), or None (identity).
        sign: (M', L, 1, D) real, or None.
        trace: (M', L, n*2*2*D/2) int64 into each layer's flattened overlap.
        trace_sign: Same shape, real, or None.
        generators: ``G`` of each layer, complex (M', L, 1, 2, 2).
        signs: Z-readout (D, n) real; ``signs_2t``: ``2 signs^T`` (n, D).
        amplitude_index: (D * n,) int64; ``flip``: (n * D,) int64; ``bit_sign``: (n, D) real.
        ground: |0...0> as a row, (D,) real.
    """

    n_qubits: int
    depth: int
    angle: bool
    factor_table: Array
    source: Array | None
    sign: Array | None
    trace: Array
    trace_sign: Array | None
    generators: Array
    signs: Array
    signs_2t: Array
    amplitude_index: Array
    flip: Array
    bit_sign: Array
    ground: Array


_CACHE: weakref.WeakKeyDictionary[WeightPlan, NumpyDense] = weakref.WeakKeyDictionary()


def numpy_dense(plan: WeightPlan) -> NumpyDense:
    """The NumPy constants of ``plan`` (a CPU plan), built once per plan."""
    cached = _CACHE.get(plan)
    if cached is not None:
        return cached
    tables = dense_tables(plan)

    def arr(tensor: object) -> Array:
        return np.ascontiguousarray(tensor.detach().cpu().numpy())  # type: ignore[attr-defined]

    dim = 2**plan.n_qubits
    real = arr(plan.signs).dtype
    ground = np.zeros(dim, dtype=real)
    ground[0] = 1.0
    out = NumpyDense(
        n_qubits=plan.n_qubits,
        depth=plan.depth,
        angle=plan.angle,
        factor_table=arr(tables.factor_table),
        source=None if tables.source is None else arr(tables.source[:, :, 0, :]),
        sign=None if tables.sign is None else arr(tables.sign),
        trace=arr(tables.trace),
        trace_sign=None if tables.trace_sign is None else arr(tables.trace_sign),
        generators=arr(plan.generators),
        signs=arr(plan.signs),
        signs_2t=arr(tables.signs_2t),
        amplitude_index=arr(tables.amplitude_index),
        flip=arr(plan.flip),
        bit_sign=arr(plan.bit_sign),
        ground=ground,
    )
    _CACHE[plan] = out
    return out


@dataclass(frozen=True, eq=False)
class NumpyDenseState:
    """What the backward pass needs (see ``DenseState``); arrays, same shapes."""

    amplitudes: Array
    norm: Array | None
    zero: Array | None
    layers: Array
    states: list[Array]
    out: Array
    psi: Array


def forward(k: NumpyDense, features: Array, weights: Array) -> tuple[Array, NumpyDenseState]:
    """⟨Z_i⟩ (M, B, n) of features (M, B, m) and weights (M, L, n), and the saved state."""
    models, batch, _ = features.shape
    n, depth, dim = k.n_qubits, k.depth, 2**k.n_qubits
    half = weights * 0.5
    trig = np.stack((np.cos(half), np.sin(half)), axis=-1)[..., None, :]  # (M, L, n, 1, 2)
    products = trig @ k.factor_table  # (M, L, n, 1, 8)
    factors = products.reshape(models * depth, n, 2, 2, 2)
    complex_factors = factors.view(np.result_type(factors.dtype, np.complex64))[..., 0]
    layers = kron_tree(complex_factors).reshape(models, depth, dim, dim)
    if k.source is not None:
        layers = np.take_along_axis(
            layers, np.broadcast_to(k.source[:, :, None, :], layers.shape), axis=-1
        )
    if k.sign is not None:
        layers = layers * k.sign
    states = [layers[:, 0]]
    for layer in range(1, depth):
        states.append(states[-1] @ layers[:, layer])
    last = states[-1]
    out = np.concatenate((last.real, last.imag), axis=-1)  # (M, D, 2D)
    norm = zero = None
    if k.angle:
        halves = features * 0.5
        pairs = np.stack((np.cos(halves), np.sin(halves)), axis=-1).reshape(models, batch, 2 * n)
        amplitudes = pairs[:, :, k.amplitude_index].reshape(models, batch, dim, n).prod(axis=-1)
    else:
        squares = (features * features).sum(axis=-1, keepdims=True)
        zero = squares == 0
        norm = np.sqrt(np.where(zero, 1.0, squares)).astype(features.dtype)
        amplitudes = np.where(zero, k.ground, features / norm)
    psi = amplitudes @ out  # (M, B, 2D)
    split = psi.reshape(models, batch, 2, dim)
    probs = (split * split).sum(axis=-2)
    z = probs @ k.signs
    return z, NumpyDenseState(amplitudes, norm, zero, layers, states, out, psi)


def backward(k: NumpyDense, state: NumpyDenseState, grad_z: Array) -> tuple[Array, Array]:
    """dL/dfeatures (M, B, m) and dL/dweights (M, L, n) from dL/d⟨Z⟩ (M, B, n)."""
    amplitudes = state.amplitudes
    models, batch, dim = amplitudes.shape
    n, depth = k.n_qubits, k.depth
    grad_p2 = grad_z @ k.signs_2t  # (M, B, D)
    grad_psi = (state.psi.reshape(models, batch, 2, dim) * grad_p2[:, :, None, :]).reshape(
        models, batch, 2 * dim
    )
    grad_a = grad_psi @ state.out.transpose(0, 2, 1)  # (M, B, D)
    grad_out = amplitudes.transpose(0, 2, 1) @ grad_psi  # (M, D, 2D)
    costate = grad_out[..., :dim] + 1j * grad_out[..., dim:]
    adjoints = np.conj(state.layers).transpose(0, 1, 3, 2)
    overlaps = []
    for layer in range(depth - 1, -1, -1):
        overlaps.append(np.conj(costate).transpose(0, 2, 1) @ state.states[layer])
        if layer:
            costate = costate @ adjoints[:, layer]
    stacked = np.stack(overlaps[::-1], axis=1).reshape(models, depth, dim * dim)
    traced = np.take_along_axis(stacked, np.broadcast_to(k.trace, (models, *k.trace.shape[1:])), -1)
    if k.trace_sign is not None:
        traced = traced * k.trace_sign
    blocks = traced.reshape(models, depth, n, 2, 2, dim // 2).sum(axis=-1)
    grad_w = (k.generators * blocks).sum(axis=(-2, -1)).real * 0.5
    if k.angle:
        partner = amplitudes[:, :, k.flip].reshape(models, batch, n, dim)
        grad_f = (partner * (grad_a[:, :, None, :] * k.bit_sign)).sum(axis=-1) * 0.5
    else:
        assert state.norm is not None and state.zero is not None
        along = (amplitudes * grad_a).sum(axis=-1, keepdims=True)
        grad_f = np.where(state.zero, 0.0, (grad_a - amplitudes * along) / state.norm)
    return grad_f.astype(amplitudes.dtype, copy=False), grad_w.astype(amplitudes.dtype, copy=False)
