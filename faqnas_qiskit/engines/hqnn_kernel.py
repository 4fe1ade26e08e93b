"""The HQNN circuit's weight part as a few batched kernels: the training hot path.

An HQNN circuit (DESIGN §3) is an embedding followed by ``depth`` layers, each one rotation kind
on every qubit and one entangling layer. The general compiled program (``CircuitProgram``) pays
Python work per gate; this module applies the known structure with a fixed, small number of torch
operations whatever the qubit count, vectorised over a leading *model* dimension M (replicas of
one network, or several networks of one qubit count and embedding, DESIGN §4.1):

* every rotation of every layer is built at once as ``cos(θ/2) I + sin(θ/2) G`` with a constant
  generator table ``G = -i P`` (P = X, Y or Z per layer; ``G = 0`` for a padded layer, which
  makes it the identity whatever its angle);
* the entangling layer is a signed permutation of the basis, one gather;
* the embedding is prepared as *real* amplitudes (angle: a product of cos/sin with the phase
  ``(-i)^popcount`` moved into the weight part; amplitude: ``v/||v||``).

Two ways to apply the weight part, chosen by arithmetic cost (:func:`use_dense`):

* **dense**: the whole weight part as one ``2^n x 2^n`` unitary per model, built from the
  weights once per call, then one real GEMM against the batch (small n: few, larger kernels);
* **layered**: per layer, the rotations as two Kronecker blocks (low and high qubits) applied by
  two batched GEMMs to the states, then the permutation (large n, where ``2^n`` columns cost
  more than the batch).

Both are exact: they differ from the reference mode only in the order of floating-point
operations (tested against Qiskit and the reference mode to 1e-12 in float64).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from faqnas_qiskit.circuits import entangling_pairs
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.space import Genome

__all__ = [
    "WeightPlan",
    "embedding_amplitudes",
    "entangler_permutation",
    "kron_qubits",
    "plan_weights",
    "rotation_matrices",
    "run_plan",
    "use_dense",
]

# -i P for P = X, Y, Z: R_P(θ) = cos(θ/2) I + sin(θ/2) (-i P)
_GENERATORS: dict[str, npt.NDArray[np.complex128]] = {
    "rx": np.array([[0, -1j], [-1j, 0]]),
    "ry": np.array([[0, -1], [1, 0]], dtype=np.complex128),
    "rz": np.array([[-1j, 0], [0, 1j]]),
}


def entangler_permutation(
    n_qubits: int, entangler: str, topology: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """One entangling layer as ``new[..., i] = sign[i] * old[..., source[i]]``.

    Args:
        n_qubits: Number of qubits n.
        entangler: ``"cx"`` (control first) or ``"cz"``.
        topology: ``"linear"`` or ``"circular"`` (DESIGN §3).

    Returns:
        ``source`` (int64, shape (2**n,)) and ``sign`` (±1.0, shape (2**n,)).
    """
    index = np.arange(2**n_qubits, dtype=np.int64)
    # track where each basis state goes: gate by gate, forward
    position = index.copy()
    sign = np.ones(2**n_qubits)
    for control, target in entangling_pairs(n_qubits, topology):
        bit_c = (position >> control) & 1
        if entangler == "cx":
            position = position ^ (bit_c << target)
        else:
            sign = sign * np.where(bit_c & ((position >> target) & 1), -1.0, 1.0)
    source = np.empty(2**n_qubits, dtype=np.int64)
    source[position] = index
    phase = np.empty(2**n_qubits)
    phase[position] = sign
    return source, phase


@dataclass(frozen=True, eq=False)
class WeightPlan:
    """Constants of the weight part of M' networks of one qubit count and embedding.

    M' is 1 (one network, broadcast over every model) or the number of models M. Networks of
    different depths are padded to the deepest: a padded layer has a zero generator (identity
    rotation) and the identity permutation.

    Attributes:
        n_qubits: Number of qubits n.
        angle: Angle embedding (its phase ``(-i)^popcount`` is applied by the weight part).
        depth: Layers L after padding.
        generators: ``-i P`` of each layer's rotation, complex, shape (M', L, 1, 2, 2).
        source: Entangler permutation of each layer, int64, shape (M', L, 2**n).
        sign: Its signs, real, shape (M', L, 2**n), or None when all are +1.
        embed_phase: ``(-i)^popcount(b)``, complex, shape (2**n,), or None (amplitude).
        signs: Z-readout table, real, shape (2**n, n): ``signs[b, i] = (-1)^bit_i(b)``.
        uniform: The same permutation in every layer and model (``source`` broadcasts).
        eye: The 2 x 2 identity, complex.
        inverse: The entangler's inverse permutation, int64, shape (M', L, 2**n):
            ``old[..., j] = inverse_sign[j] * new[..., inverse[j]]``.
        inverse_sign: Its signs, real, shape (M', L, 2**n), or None when all are +1.
        identity: Every entangler permutation is the identity (CZ: signs only).
        phase_factor: ``(1, -i)``, complex, shape (2,): the angle embedding's phase
            ``diag(1, -i)`` on each qubit, applied to a 2 x 2 matrix's columns by broadcasting.
        flip: ``flip[q, k] = k XOR 2**q``, int64, shape (n * 2**n,) (q-major).
        bit_sign: ``2 bit_q(k) - 1``, real, shape (n, 2**n).
        trace_low: Where the 2 x 2 blocks of qubit q < h lie in a flattened
            ``2**h x 2**h`` matrix (h = ceil(n/2), the Kronecker split of the layered form):
            ``trace_low[q, b, b', r]`` is row ``j`` times ``2**h`` plus column ``j'``, where j
            and j' are r with bit q set to b and b'; int64, shape (h, 2, 2, 2**(h-1)).
        trace_high: The same for qubits h..n-1 in a ``2**(n-h)`` square matrix, shape
            (n - h, 2, 2, 2**(n-h-1)), or None when n = 1.
    """

    n_qubits: int
    angle: bool
    depth: int
    generators: torch.Tensor
    source: torch.Tensor
    sign: torch.Tensor | None
    embed_phase: torch.Tensor | None
    signs: torch.Tensor
    uniform: bool
    eye: torch.Tensor
    inverse: torch.Tensor
    inverse_sign: torch.Tensor | None
    identity: bool
    phase_factor: torch.Tensor
    flip: torch.Tensor
    bit_sign: torch.Tensor
    trace_low: torch.Tensor
    trace_high: torch.Tensor | None


def plan_weights(
    genomes: Sequence[Genome], real: torch.dtype, device: torch.device | str
) -> WeightPlan:
    """The weight part of ``genomes`` (one qubit count and embedding) as tensor constants.

    Args:
        genomes: One genome (broadcast over every model) or one per model.
        real: ``torch.float32`` or ``torch.float64``; complex constants take the matching
            complex dtype.
        device: Where the constants live.

    Raises:
        ConfigError: If the genomes differ in qubit count or embedding (a programming error:
            callers group networks by both).
    """
    first = genomes[0]
    if any(g.n_qubits != first.n_qubits or g.embedding != first.embedding for g in genomes):
        raise ConfigError(
            "Networks planned together must share the qubit count and the embedding. Got "
            f"{sorted({(g.n_qubits, g.embedding) for g in genomes})} instead. Group them first."
        )
    complex_dtype = torch.complex128 if real == torch.float64 else torch.complex64
    n = first.n_qubits
    dim = 2**n
    depth = max(g.depth for g in genomes)
    gens = np.zeros((len(genomes), depth, 1, 2, 2), dtype=np.complex128)
    source = np.tile(np.arange(dim, dtype=np.int64), (len(genomes), depth, 1))
    sign = np.ones((len(genomes), depth, dim))
    for m, genome in enumerate(genomes):
        src, sgn = entangler_permutation(n, genome.entangler, genome.topology)
        for layer, rotation in enumerate(genome.active_rotations):
            gens[m, layer, 0] = _GENERATORS[rotation]
            source[m, layer] = src
            sign[m, layer] = sgn
    uniform = bool(np.all(source == source[:1, :1]))
    index = np.arange(dim)
    bits = (index[:, None] >> np.arange(n)) & 1
    popcount = bits.sum(axis=1)
    angle = first.embedding == "angle"
    inverse = np.argsort(source, axis=-1)
    inverse_sign = np.take_along_axis(sign, inverse, axis=-1)
    half = (n + 1) // 2
    return WeightPlan(
        n_qubits=n,
        angle=angle,
        depth=depth,
        generators=torch.as_tensor(gens, dtype=complex_dtype, device=device),
        source=torch.as_tensor(source, device=device),
        sign=None if np.all(sign == 1.0) else torch.as_tensor(sign, dtype=real, device=device),
        embed_phase=torch.as_tensor((-1j) ** popcount, dtype=complex_dtype, device=device)
        if angle
        else None,
        signs=torch.as_tensor(1.0 - 2.0 * bits, dtype=real, device=device),
        uniform=uniform,
        eye=torch.eye(2, dtype=complex_dtype, device=device),
        inverse=torch.as_tensor(inverse, device=device),
        inverse_sign=None
        if np.all(inverse_sign == 1.0)
        else torch.as_tensor(inverse_sign, dtype=real, device=device),
        identity=bool(np.all(source == index)),
        phase_factor=torch.as_tensor(np.array([1.0, -1j]), dtype=complex_dtype, device=device),
        flip=torch.as_tensor(
            (index[None, :] ^ (1 << np.arange(n))[:, None]).reshape(-1), device=device
        ),
        bit_sign=torch.as_tensor(2.0 * bits.T - 1.0, dtype=real, device=device),
        trace_low=torch.as_tensor(_trace_index(half), device=device),
        trace_high=torch.as_tensor(_trace_index(n - half), device=device) if n > half else None,
    )


def _trace_index(qubits: int) -> npt.NDArray[np.int64]:
    """``[q, b, b', r]``: flat position of row ``j`` and column ``j'`` of a ``2**qubits`` square
    matrix, j and j' being r (a ``qubits - 1``-bit index) with bit q inserted as b and b'."""
    rest = np.arange(2 ** (qubits - 1), dtype=np.int64)
    out = np.empty((qubits, 2, 2, rest.size), dtype=np.int64)
    for q in range(qubits):
        low, high = rest & ((1 << q) - 1), (rest >> q) << (q + 1)
        for b in (0, 1):
            for b2 in (0, 1):
                out[q, b, b2] = (high | (b << q) | low) * 2**qubits + (high | (b2 << q) | low)
    return out


def embedding_amplitudes(features: torch.Tensor, angle: bool) -> torch.Tensor:
    """Real amplitudes of the embedded state, shape (M, B, 2**n), from features (M, B, m).

    Angle embedding: ``prod_i cos(x_i/2)`` or ``sin(x_i/2)`` by bit i of the basis index; the
    state ``RX(x)|0>`` is these amplitudes times ``(-i)^popcount`` (applied by the weight
    part). Amplitude embedding: ``v/||v||`` (|0...0> for a zero row), as the RY tree prepares.
    """
    if angle:
        half = torch.div(features, 2)
        pairs = torch.stack((torch.cos(half), torch.sin(half)), dim=-1)  # (M, B, n, 2)
        n = features.shape[-1]
        state = pairs[..., n - 1, :]
        for q in range(n - 2, -1, -1):  # qubit n-1 most significant
            state = (state.unsqueeze(-1) * pairs[..., q, :].unsqueeze(-2)).flatten(-2)
        return state
    squares = (features * features).sum(dim=-1, keepdim=True)
    zero = squares == 0
    norm = torch.sqrt(torch.where(zero, 1.0, squares))
    ground = torch.zeros_like(features)
    ground[..., 0] = 1.0
    return torch.where(zero, ground, features / norm)


#: Layers assumed by :func:`use_dense`: the search space's deepest network (DESIGN §2).
_COST_DEPTH = 4


def use_dense(n_qubits: int, batch: int) -> bool:
    """Whether the dense unitary costs less than the layered application for this call.

    Dense: ``L - 1`` complex ``D x D`` products to build U plus a real ``B x D x 2D`` GEMM;
    layered: per layer, two complex Kronecker-block GEMMs on the B states. Each torch call also
    costs a fixed overhead, worth about ``2**15`` multiply-adds here, which favours the
    (fewer-call) dense form on small circuits. The cost is taken at L = 4 whatever the
    network's depth, so that the form, hence the float32 result, of a network never depends
    on the depth it is padded to when trained beside deeper ones.
    """
    dim = 2**n_qubits
    h = (n_qubits + 1) // 2
    depth = _COST_DEPTH
    dense = 4 * (depth - 1) * dim**3 + 2 * batch * dim * dim
    layered = 4 * depth * batch * dim * (2**h + 2 ** (n_qubits - h))
    overhead = 2**15 * 3 * depth
    return dense <= layered + overhead


def rotation_matrices(theta: torch.Tensor, plan: WeightPlan) -> torch.Tensor:
    """``cos(θ/2) I + sin(θ/2) G``, complex, shape (M, L, n, 2, 2), from θ (M, L, n)."""
    half = torch.div(theta, 2)
    c = torch.cos(half)[..., None, None]
    s = torch.sin(half)[..., None, None]
    # a padded layer (G = 0) is cos(θ/2) I: θ is 0 there, so the identity exactly
    return c * plan.eye + s * plan.generators


def kron_qubits(mats: torch.Tensor, qubits: range) -> torch.Tensor:
    """Kronecker product over ``qubits`` (most significant first) of mats (..., n, 2, 2)."""
    block = mats[..., qubits[-1], :, :]
    for q in reversed(qubits[:-1]):
        factor = mats[..., q, :, :]
        p = block.shape[-1]
        lead = block.shape[:-2]
        block = (block[..., :, None, :, None] * factor[..., None, :, None, :]).reshape(
            *lead, 2 * p, 2 * p
        )
    return block


def _permute_rows(matrix: torch.Tensor, plan: WeightPlan) -> torch.Tensor:
    """The entangler after each layer: rows of (M, L, D, C) permuted and signed."""
    if plan.uniform:
        out = matrix[..., plan.source[0, 0], :]
    else:
        out = torch.gather(matrix, 2, plan.source.unsqueeze(-1).expand(matrix.shape))
    if plan.sign is not None:
        out = out * plan.sign.unsqueeze(-1)
    return out


def _dense_unitary(mats: torch.Tensor, plan: WeightPlan) -> torch.Tensor:
    """The weight part as one unitary per model, complex, shape (M, D, D)."""
    n = plan.n_qubits
    layers = _permute_rows(kron_qubits(mats, range(n)), plan)  # (M, L, D, D)
    unitary = layers[:, 0]
    for layer in range(1, plan.depth):
        unitary = torch.matmul(layers[:, layer], unitary)
    if plan.embed_phase is not None:
        unitary = unitary * plan.embed_phase  # columns: applied before the first layer
    return unitary


def _apply_dense(amplitudes: torch.Tensor, unitary: torch.Tensor) -> torch.Tensor:
    """Probabilities |U a|^2, real (M, B, D), of real amplitudes a (M, B, D): one real GEMM."""
    models, dim = unitary.shape[0], unitary.shape[-1]
    # (M, 2D, D): real rows, then imaginary rows, of U
    stacked = torch.view_as_real(unitary).permute(0, 3, 1, 2).reshape(models, 2 * dim, dim)
    out = torch.matmul(amplitudes, stacked.transpose(-1, -2))  # (M, B, 2D)
    parts = out.unflatten(-1, (2, dim))
    return parts.square().sum(dim=-2)


def _first_layer_product(features: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """Angle embedding and the first rotation layer as a product state, complex (M, B, D).

    Before the first entangler every qubit is on its own: ``R_q RX(x_q)|0>`` is a 2-vector per
    qubit, so the first layer costs a 2 x 2 product per qubit instead of a pass over 2**n
    amplitudes.
    """
    half = torch.div(features, 2)
    zero = torch.zeros_like(half)
    # RX(x)|0> = cos(x/2)|0> - i sin(x/2)|1>
    ket = torch.stack(
        (torch.complex(torch.cos(half), zero), torch.complex(zero, -torch.sin(half))), -1
    )
    local = torch.matmul(mats[:, 0].unsqueeze(1), ket.to(mats.dtype).unsqueeze(-1)).squeeze(-1)
    n = features.shape[-1]
    state = local[..., n - 1, :]
    for q in range(n - 2, -1, -1):  # qubit n-1 most significant
        state = (state.unsqueeze(-1) * local[..., q, :].unsqueeze(-2)).flatten(-2)
    return state


def _apply_layered(features: torch.Tensor, mats: torch.Tensor, plan: WeightPlan) -> torch.Tensor:
    """Probabilities, real (M, B, D): each layer as two Kronecker-block GEMMs and a gather.

    With angle embedding the first layer's rotations act on the product state
    (:func:`_first_layer_product`).
    """
    n = plan.n_qubits
    h = (n + 1) // 2
    low = kron_qubits(mats, range(0, h)).transpose(-1, -2)  # (M, L, 2**h, 2**h)
    high = kron_qubits(mats, range(h, n)) if n > h else None
    if plan.angle:
        state = _first_layer_product(features, mats)
    else:
        state = embedding_amplitudes(features, angle=False).to(mats.dtype)
    models, batch, dim = state.shape
    for layer in range(plan.depth):
        if layer or not plan.angle:
            view = state.reshape(models, batch * 2 ** (n - h), 2**h)
            view = torch.matmul(view, low[:, layer])
            if high is not None:
                view = torch.matmul(
                    high[:, layer].unsqueeze(1), view.reshape(models, batch, 2 ** (n - h), 2**h)
                )
            state = view.reshape(models, batch, dim)
        if plan.uniform:
            state = state[..., plan.source[0, 0]]
        else:
            index = plan.source[:, layer].unsqueeze(1).expand(models, batch, dim)
            state = torch.gather(state, 2, index)
        if plan.sign is not None:
            state = state * plan.sign[:, layer].unsqueeze(1)
    return torch.view_as_real(state).square().sum(dim=-1)


def run_plan(
    plan: WeightPlan, features: torch.Tensor, weights: torch.Tensor, *, dense: bool | None = None
) -> torch.Tensor:
    """⟨Z_i⟩ of M models, each with its own samples and weights, as one computation.

    Args:
        plan: The models' constants (:func:`plan_weights`, dtype of ``features``).
        features: Pre-layer outputs, shape (M, B, m), m = n (angle) or 2**n (amplitude).
        weights: Circuit weights, shape (M, L, n) with L = ``plan.depth`` (a shallower
            network's padded layers hold zeros), radians.
        dense: Force the dense (True) or layered (False) form; None picks by
            :func:`use_dense`.

    Returns:
        Shape (M, B, n), real, dtype of ``features``.
    """
    theta = weights.to(features.dtype)
    mats = rotation_matrices(theta, plan)
    if dense is None:
        dense = use_dense(plan.n_qubits, features.shape[1])
    if dense:
        amplitudes = embedding_amplitudes(features, plan.angle)
        probs = _apply_dense(amplitudes, _dense_unitary(mats, plan))
    else:
        probs = _apply_layered(features, mats, plan)
    return torch.matmul(probs, plan.signs)
