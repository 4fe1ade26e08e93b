"""HQNN training steps written out: forward, NLL, backward and Adam without autograd.

A training step of a small HQNN is a few dozen tiny tensor operations; run through autograd and
``torch.optim.Adam`` it pays autograd's graph and the optimiser's per-parameter bookkeeping for
each, which on 2-8 qubits costs more than the arithmetic (issue 21). :class:`FusedHQNN` holds
the parameters of M HQNNs of one qubit count and embedding (one network, its repeats, or a
population, DESIGN §4.1) in one flat buffer (M, P) and runs a step as:

* forward: ``h = x W1^T + b1``, the quantum layer by
  :func:`~faqnas_qiskit.engines.hqnn_adjoint.kernel_forward`, ``o = z W2^T + b2``,
  ``log_softmax``, each model's mean NLL;
* backward by hand: ``dL/do = (softmax(o) - onehot(y)) / B`` (zero for a model left out),
  the linear layers' GEMMs and the kernel's adjoint backward
  (:func:`~faqnas_qiskit.engines.hqnn_adjoint.kernel_backward`);
* Adam on the flat buffer with ``torch.optim.Adam``'s arithmetic, element by element
  (``lerp``, ``addcmul``, bias corrections as Python floats, ``addcdiv``), so each model's
  update is the one ``torch.optim.Adam`` makes on its own parameters.

On the CPU, networks of up to 5 qubits train in NumPy (:class:`NumpyHQNN`, the same step with
:mod:`~faqnas_qiskit.engines.numpy_dense`): there every operation costs a half to a third of
torch's dispatch, and the step is nothing but such operations. :func:`fused_trainer` picks.

Results equal autograd with ``torch.optim.Adam`` up to the order of floating-point operations
(tested in float64 to 1e-8 over whole trainings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from faqnas_qiskit.engines.hqnn_adjoint import KernelState, kernel_backward, kernel_forward
from faqnas_qiskit.engines.hqnn_dense import DenseState
from faqnas_qiskit.engines.hqnn_kernel import plan_weights, run_plan, use_dense
from faqnas_qiskit.engines.numpy_dense import MAX_QUBITS, NumpyDenseState, numpy_dense
from faqnas_qiskit.engines.numpy_dense import backward as numpy_backward
from faqnas_qiskit.engines.numpy_dense import forward as numpy_forward
from faqnas_qiskit.models import HQNN, InitialParameters
from faqnas_qiskit.space import Genome

__all__ = ["FusedHQNN", "NumpyHQNN", "fused_trainer", "load_trained"]

_BETAS = (0.9, 0.999)
_EPS = 1e-8


def _block_gradients(grad_logits: Any, z: Any, w2: Any, x: Any, kernel: Any) -> tuple[Any, ...]:
    """The gradients of the five parameter blocks (pre weight, pre bias, circuit weights, post
    weight, post bias; each (M, ...)) from dL/dlogits (M, B, C): the linear layers' products
    around the quantum layer's backward ``kernel`` (dL/d⟨Z⟩ -> dL/dh, dL/dθ). Written with
    ``@``, ``swapaxes`` and ``sum`` only, so it takes torch tensors and NumPy arrays alike."""
    grad_w2 = grad_logits.swapaxes(-1, -2) @ z
    grad_h, grad_theta = kernel(grad_logits @ w2)
    return (grad_h.swapaxes(-1, -2) @ x, grad_h.sum(1), grad_theta, grad_w2, grad_logits.sum(1))


class FusedHQNN:
    """M HQNNs of one qubit count and embedding, trained by a hand-written Adam step.

    Args:
        genomes: Each model's architecture (same qubit count and embedding; depths may differ,
            shallower ones padded with identity layers whose weights stay 0).
        initial: Each model's initial parameters (same widths).
        dtype: ``torch.float32`` or ``torch.float64``.
        device: Where the parameters live.
        lr: Adam's learning rate (betas 0.9, 0.999, eps 1e-8: ``torch.optim.Adam``'s defaults).

    Attributes:
        flat: Every parameter, shape (M, P): per model the pre-layer weight (m x f) and bias
            (m), the circuit weights (L x n, order of ``hqnn.weight_params``, zeros past a
            model's own depth), the post-layer weight (C x n) and bias (C).
        steps: Adam steps taken.
    """

    def __init__(
        self,
        genomes: Sequence[Genome],
        initial: Sequence[InitialParameters],
        dtype: torch.dtype,
        device: torch.device | str,
        lr: float,
    ) -> None:
        self.genomes = tuple(genomes)
        self.n_qubits = genomes[0].n_qubits
        self.depth = max(g.depth for g in genomes)
        self.lr = lr
        models = len(initial)
        first = initial[0]
        m, f = first.pre_weight.shape
        c = first.post_weight.shape[0]
        n, depth = self.n_qubits, self.depth
        shapes: tuple[tuple[int, ...], ...] = ((m, f), (m,), (depth, n), (c, n), (c,))
        sizes = [m * f, m, depth * n, c * n, c]
        self._bounds = [sum(sizes[:k]) for k in range(len(sizes) + 1)]
        flat = torch.zeros(models, self._bounds[-1], dtype=dtype)
        for k, params in enumerate(initial):
            quantum = torch.zeros(depth * n)
            quantum[: params.quantum.shape[0]] = params.quantum
            parts = (
                params.pre_weight,
                params.pre_bias,
                quantum,
                params.post_weight,
                params.post_bias,
            )
            flat[k] = torch.cat([p.reshape(-1).to(dtype) for p in parts])
        self.flat = flat.to(device)
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.steps = 0
        self.plan = plan_weights(self.genomes, dtype, device)
        # views into flat, which Adam updates in place
        w1, b1, theta, w2, b2 = (
            self.flat[:, lo:hi].view(models, *shape)
            for lo, hi, shape in zip(self._bounds[:-1], self._bounds[1:], shapes, strict=True)
        )
        self._views = (w1, b1, theta, w2, b2)
        self._minus_one: dict[tuple[int, ...], torch.Tensor] = {}
        self._saved: tuple[torch.Tensor, ...] | None = None
        self._kernel: KernelState | DenseState | None = None

    @property
    def models(self) -> int:
        """M."""
        return int(self.flat.shape[0])

    def parameters(
        self,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Views into :attr:`flat`: pre weight (M, m, f), pre bias (M, m), circuit weights
        (M, L, n), post weight (M, C, n), post bias (M, C)."""
        return self._views

    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (M, B, C) of features (M, B, f), without keeping anything for a
        backward pass (the kernel's reference forward, :func:`run_plan`)."""
        w1, b1, theta, w2, b2 = self.parameters()
        hidden = torch.baddbmm(b1.unsqueeze(1), x, w1.transpose(1, 2))
        z = run_plan(self.plan, hidden, theta)
        logits = torch.baddbmm(b2.unsqueeze(1), z, w2.transpose(1, 2))
        return torch.log_softmax(logits, dim=-1)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each model's mean NLL on its batch, shape (M,), kept for :meth:`step`.

        Args:
            x: Features, shape (M, B, f).
            y: Class indices, shape (M, B).
        """
        w1, b1, theta, w2, b2 = self.parameters()
        hidden = torch.baddbmm(b1.unsqueeze(1), x, w1.transpose(1, 2))
        dense = use_dense(self.n_qubits, x.shape[1])
        z, kernel = kernel_forward(self.plan, hidden, theta, dense)
        logits = torch.baddbmm(b2.unsqueeze(1), z, w2.transpose(1, 2))
        logp = torch.log_softmax(logits, dim=-1)
        target = y.unsqueeze(-1)
        self._saved = (x, target, z, logp)
        self._kernel = kernel
        return -torch.gather(logp, 2, target).squeeze(-1).mean(dim=1)

    def step(self, alive: torch.Tensor | None = None) -> None:
        """Backward of the last :meth:`loss` and one Adam step.

        Args:
            alive: Models whose loss counts, bool (M,); a model left out gets a zero gradient
                (Adam still decays its moments, as ``torch.optim.Adam`` does on a stacked
                parameter). None: every model.
        """
        self._adam(self.gradient(alive))

    def gradient(self, alive: torch.Tensor | None = None) -> torch.Tensor:
        """The gradient (M, P) of the summed losses of the last :meth:`loss` (of the models
        ``alive``), laid out as :attr:`flat`; the parameters do not change."""
        if self._saved is None or self._kernel is None:
            raise RuntimeError("FusedHQNN.step needs a loss() first")  # programming error
        x, target, z, logp = self._saved
        w2 = self.parameters()[3]
        batch = x.shape[1]
        # d(mean NLL)/d logits = (softmax - onehot) / B
        shape = tuple(target.shape)
        if shape not in self._minus_one:
            self._minus_one[shape] = torch.full_like(logp[..., :1], -1.0)
        grad_o = torch.exp(logp).scatter_add_(2, target, self._minus_one[shape])
        if alive is None:
            grad_o = grad_o / batch
        else:
            grad_o = grad_o * (alive.to(logp.dtype) / batch).reshape(-1, 1, 1)
        kernel = self._kernel
        parts = _block_gradients(grad_o, z, w2, x, lambda g: kernel_backward(kernel, g))
        models = self.models
        grad = torch.cat([p.reshape(models, -1).to(self.flat.dtype) for p in parts], dim=1)
        self._saved = self._kernel = None
        return grad

    def _adam(self, grad: torch.Tensor) -> None:
        """``torch.optim.Adam``'s update (single-tensor form), element by element."""
        beta1, beta2 = _BETAS
        self.steps += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = float(self.steps)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = self.lr / bias_correction1
        denom = (self.exp_avg_sq.sqrt() / bias_correction2**0.5).add_(_EPS)
        self.flat.addcdiv_(self.exp_avg, denom, value=-step_size)


class NumpyHQNN(FusedHQNN):
    """:class:`FusedHQNN` on the CPU in NumPy, for networks of up to 5 qubits.

    Same arguments, attributes and results (up to the order of floating-point operations);
    :attr:`flat` is a tensor sharing the memory of the NumPy buffer the step updates, so
    :meth:`parameters` are live torch views.
    """

    def __init__(
        self,
        genomes: Sequence[Genome],
        initial: Sequence[InitialParameters],
        dtype: torch.dtype,
        device: torch.device | str,
        lr: float,
    ) -> None:
        if str(device) != "cpu" or genomes[0].n_qubits > MAX_QUBITS:
            raise ValueError("NumpyHQNN trains networks of up to 5 qubits on the CPU")
        super().__init__(genomes, initial, dtype, "cpu", lr)
        self._flat = self.flat.numpy()
        self._exp_avg = self.exp_avg.numpy()  # the parent's moments, as arrays
        self._exp_avg_sq = self.exp_avg_sq.numpy()
        self._tables = numpy_dense(self.plan)
        self._arrays = tuple(v.numpy() for v in self._views)
        self._rows = np.arange(0)
        self._state: NumpyDenseState | None = None
        self._inputs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (M, B, C) of features (M, B, f)."""
        with np.errstate(all="ignore"):
            logp, _, _ = self._forward(x.numpy())
        return torch.from_numpy(logp)

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, NumpyDenseState]:
        w1, b1, theta, w2, b2 = self._arrays
        hidden = x @ w1.transpose(0, 2, 1) + b1[:, None, :]
        z, state = numpy_forward(self._tables, hidden, theta)
        logits = z @ w2.transpose(0, 2, 1) + b2[:, None, :]
        top = logits.max(axis=-1, keepdims=True)
        shifted = logits - top
        logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return logp, z, state

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each model's mean NLL on its batch, shape (M,), kept for :meth:`step`."""
        xs, ys = x.numpy(), y.numpy()
        with np.errstate(all="ignore"):  # overflow gives inf and nan, as in torch, silently
            logp, z, state = self._forward(xs)
        batch = ys.shape[1]
        if self._rows.shape[0] != batch:
            self._rows = np.arange(batch)
        picked = np.take_along_axis(logp, ys[..., None], axis=-1)[..., 0]
        self._state = state
        self._inputs = (xs, ys, z, logp)
        return torch.from_numpy(-picked.mean(axis=1))

    def step(self, alive: torch.Tensor | None = None) -> None:
        """Backward of the last :meth:`loss` and one Adam step (see :meth:`FusedHQNN.step`)."""
        with np.errstate(all="ignore"):  # overflow gives inf and nan, as in torch, silently
            self._numpy_adam(self._numpy_gradient(alive))

    def gradient(self, alive: torch.Tensor | None = None) -> torch.Tensor:
        """See :meth:`FusedHQNN.gradient`."""
        with np.errstate(all="ignore"):
            return torch.from_numpy(self._numpy_gradient(alive))

    def _numpy_gradient(self, alive: torch.Tensor | None) -> np.ndarray:
        if self._state is None or self._inputs is None:
            raise RuntimeError("NumpyHQNN.step needs a loss() first")  # programming error
        xs, ys, z, logp = self._inputs
        w2 = self._arrays[3]
        models, batch = ys.shape
        grad_o = np.exp(logp)
        for m in range(models):
            grad_o[m, self._rows, ys[m]] -= 1.0
        if alive is None:
            grad_o /= batch
        else:
            grad_o *= (alive.numpy().astype(grad_o.dtype) / batch).reshape(-1, 1, 1)
        tables, state = self._tables, self._state
        parts = _block_gradients(grad_o, z, w2, xs, lambda g: numpy_backward(tables, state, g))
        grad = np.concatenate([p.reshape(models, -1) for p in parts], axis=1)
        self._state = self._inputs = None
        return grad

    def _numpy_adam(self, grad: np.ndarray) -> None:
        beta1, beta2 = _BETAS
        self.steps += 1
        # torch.optim.Adam's arithmetic in torch's evaluation order (lerp: a + w (b - a);
        # addcmul: a + (v b) c; addcdiv: a + (v b) / c), so that it overflows where torch does
        self._exp_avg += (1 - beta1) * (grad - self._exp_avg)
        self._exp_avg_sq *= beta2
        self._exp_avg_sq += ((1 - beta2) * grad) * grad
        step = float(self.steps)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = self.lr / bias_correction1
        denom = np.sqrt(self._exp_avg_sq) / bias_correction2**0.5 + _EPS
        self._flat += (-step_size * self._exp_avg) / denom


def fused_trainer(
    genomes: Sequence[Genome],
    initial: Sequence[InitialParameters],
    dtype: torch.dtype,
    device: torch.device | str,
    lr: float,
) -> FusedHQNN:
    """The fastest hand-written trainer of these networks: NumPy on the CPU up to 5 qubits,
    torch otherwise (any device, any size)."""
    if str(device) == "cpu" and genomes[0].n_qubits <= MAX_QUBITS:
        return NumpyHQNN(genomes, initial, dtype, device, lr)
    return FusedHQNN(genomes, initial, dtype, device, lr)


def load_trained(trainer: FusedHQNN, model: HQNN, index: int) -> HQNN:
    """Copy model ``index``'s trained parameters into ``model`` (its genome and widths)."""
    pre_weight, pre_bias, theta, post_weight, post_bias = trainer.parameters()
    with torch.no_grad():
        model.pre.weight.copy_(pre_weight[index])
        model.pre.bias.copy_(pre_bias[index])
        width = model.quantum.weight.shape[0]
        model.quantum.weight.copy_(theta[index].reshape(-1)[:width])
        model.post.weight.copy_(post_weight[index])
        model.post.bias.copy_(post_bias[index])
    return model
