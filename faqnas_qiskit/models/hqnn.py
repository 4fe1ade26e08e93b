"""The HQNN model: Linear -> quantum layer (TorchConnector) -> Linear -> LogSoftmax (DESIGN §4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.neural_networks import EstimatorQNN
from torch import nn

from faqnas_qiskit.circuits import HQNNCircuit, build_circuit
from faqnas_qiskit.engines import EngineSpec, HQNNSimulator, TorchEstimator, make_engine
from faqnas_qiskit.engines.qiskit_errors import QuantumLayerInputError
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.space import Genome

__all__ = ["HQNN", "InitialParameters", "QuantumLayer", "build_model", "initial_parameters"]


class _EstimatorFunction(torch.autograd.Function):
    """TorchConnector's estimator path, keeping the caller's dtype (float64 stays float64)."""

    @staticmethod
    def forward(
        ctx: Any, inputs: torch.Tensor, weights: torch.Tensor, qnn: EstimatorQNN
    ) -> torch.Tensor:
        ctx.qnn = qnn
        ctx.save_for_backward(inputs, weights)
        out = qnn.forward(inputs.detach().cpu().numpy(), weights.detach().cpu().numpy())
        return torch.as_tensor(np.asarray(out), dtype=inputs.dtype, device=inputs.device)

    @staticmethod
    def backward(
        ctx: Any, grad_output: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        inputs, weights = ctx.saved_tensors
        input_grad, weight_grad = ctx.qnn.backward(
            inputs.detach().cpu().numpy(), weights.detach().cpu().numpy()
        )
        g = grad_output.detach()
        grad_in = grad_w = None
        if input_grad is not None:  # (B, O, I)
            jac = torch.as_tensor(np.asarray(input_grad), dtype=g.dtype, device=g.device)
            grad_in = torch.einsum("bo,boi->bi", g, jac)
        if weight_grad is not None:  # (B, O, W)
            jac = torch.as_tensor(np.asarray(weight_grad), dtype=g.dtype, device=g.device)
            grad_w = torch.einsum("bo,bow->w", g, jac).to(weights.dtype)
        return grad_in, grad_w, None


class QuantumLayer(TorchConnector):  # type: ignore[misc]
    """A ``TorchConnector`` around an ``EstimatorQNN`` of the genome's circuit.

    Its input is the pre-layer output (the classical features, shape (batch, m)); it maps them to
    circuit input values with ``hqnn.input_values`` and returns ⟨Z_i⟩, shape (batch, n).

    When the QNN's estimator is the project's :class:`TorchEstimator` at precision 0, the forward
    pass is computed with torch operations by :class:`HQNNSimulator` and autograd does the
    backward pass (exact gradients, no parameter shift, no per-sample Jacobians). On any other
    estimator (Aer, IBM Runtime) it takes the estimator path: ``EstimatorQNN.forward`` and
    parameter-shift ``EstimatorQNN.backward``.

    Args:
        hqnn: The genome's circuit.
        engine: Estimator, gradient and precision for the QNN.
        initial_weights: Circuit weights, shape (depth * n,), order of ``hqnn.weight_params``.
    """

    def __init__(self, hqnn: HQNNCircuit, engine: EngineSpec, initial_weights: np.ndarray) -> None:
        qnn = EstimatorQNN(
            circuit=hqnn.circuit,
            estimator=engine.estimator,
            observables=list(hqnn.observables),
            input_params=list(hqnn.input_params),
            weight_params=list(hqnn.weight_params),
            gradient=engine.gradient,
            input_gradients=True,
            default_precision=engine.precision,
        )
        super().__init__(qnn, initial_weights=initial_weights)
        self.hqnn = hqnn
        self.engine_name = engine.name
        fast = isinstance(engine.estimator, TorchEstimator) and engine.precision == 0
        self.simulator: HQNNSimulator | None = HQNNSimulator(hqnn) if fast else None

    def forward(self, input_data: torch.Tensor | None = None) -> torch.Tensor:
        """⟨Z_i⟩ of each sample.

        Shapes follow ``TorchConnector``: one sample (m,) gives (n,), and leading dimensions
        are kept, (..., m) -> (..., n).

        Args:
            input_data: Pre-layer output, shape (batch, m), m = n (angle) or 2**n (amplitude).
                None stands for an empty input, as in ``TorchConnector``.

        Returns:
            Shape (batch, n), dtype of ``input_data``.

        Raises:
            QuantumLayerInputError: When the last dimension is not m (a
                ``QiskitMachineLearningError``, as ``TorchConnector`` raises).
        """
        width = self.hqnn.genome.n_inputs
        data = torch.zeros(0) if input_data is None else input_data
        if data.dim() == 0 or data.shape[-1] != width:
            raise QuantumLayerInputError(
                invalid(
                    "input_data",
                    f"a tensor whose last dimension is the pre-layer width {width}",
                    f"shape {tuple(data.shape)}",
                    f"Pass the pre-layer output, shape (batch, {width}).",
                    what="argument",
                )
            )
        lead = data.shape[:-1]
        flat = data.reshape(-1, width)
        weights = self.weight
        if self.simulator is not None:
            out = self.simulator.expectations(flat, weights).to(flat.dtype)
        else:
            angles = self.hqnn.input_values(flat)
            out = _EstimatorFunction.apply(angles, weights, self.neural_network)
        return out.reshape(*lead, out.shape[-1])  # type: ignore[no-any-return]


class HQNN(nn.Module):
    """``pre`` (Linear n_features -> m), ``quantum``, ``post`` (Linear n -> n_classes), LogSoftmax.

    Attributes:
        genome: The architecture.
        pre: Classical input layer, m = n (angle) or 2**n (amplitude).
        quantum: The quantum layer (a ``TorchConnector``).
        post: Classical output layer.
    """

    def __init__(
        self, genome: Genome, pre: nn.Linear, quantum: QuantumLayer, post: nn.Linear
    ) -> None:
        super().__init__()
        self.genome = genome
        self.pre = pre
        self.quantum = quantum
        self.post = post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities, shape (batch, n_classes), from features, shape (batch, n_features)."""
        return torch.log_softmax(self.post(self.quantum(self.pre(x))), dim=1)

    @property
    def n_params_classical(self) -> int:
        """Trainable parameters of ``pre`` and ``post``."""
        return sum(p.numel() for p in (*self.pre.parameters(), *self.post.parameters()))

    @property
    def n_params_quantum(self) -> int:
        """Trainable circuit weights."""
        return int(self.quantum.weight.numel())


@dataclass(frozen=True, eq=False)
class InitialParameters:
    """The seeded initial parameters of an HQNN, in float32.

    Attributes:
        pre_weight: Shape (m, n_features); ``pre_bias``: shape (m,).
        quantum: Circuit weights, shape (depth * n,), uniform in [-1, 1] rad.
        post_weight: Shape (n_classes, n); ``post_bias``: shape (n_classes,).
    """

    pre_weight: torch.Tensor
    pre_bias: torch.Tensor
    quantum: torch.Tensor
    post_weight: torch.Tensor
    post_bias: torch.Tensor

    @classmethod
    def of(cls, model: HQNN) -> InitialParameters:
        """``model``'s current parameters (detached, in its dtype): where a trainer starts."""
        return cls(
            pre_weight=model.pre.weight.detach(),
            pre_bias=model.pre.bias.detach(),
            quantum=model.quantum.weight.detach(),
            post_weight=model.post.weight.detach(),
            post_bias=model.post.bias.detach(),
        )


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    # explicit dtype: the draws must not depend on torch's global default dtype
    return torch.empty(shape, dtype=torch.float32).uniform_(-bound, bound, generator=generator)


def initial_parameters(
    genome: Genome, n_features: int, n_classes: int, seed: int
) -> InitialParameters:
    """Draw an HQNN's initial parameters from a generator seeded with ``seed``.

    Classical layers take PyTorch's default ``nn.Linear`` initialisation (weight and bias
    uniform in ±1/sqrt(fan_in)); circuit weights are uniform in [-1, 1] rad (TorchConnector's
    default). Draw order: pre weight, pre bias, circuit weights, post weight, post bias.
    """
    generator = torch.Generator().manual_seed(seed)
    m, n = genome.n_inputs, genome.n_qubits
    pre_bound = 1.0 / math.sqrt(n_features)
    pre_weight = _uniform((m, n_features), pre_bound, generator)
    pre_bias = _uniform((m,), pre_bound, generator)
    quantum = _uniform((genome.n_weights,), 1.0, generator)
    post_bound = 1.0 / math.sqrt(n)
    post_weight = _uniform((n_classes, n), post_bound, generator)
    post_bias = _uniform((n_classes,), post_bound, generator)
    return InitialParameters(pre_weight, pre_bias, quantum, post_weight, post_bias)


def _linear(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    """``nn.Linear`` holding ``weight`` (out, in) and ``bias`` (out,)."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float32)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def build_model(
    genome: Genome,
    n_features: int,
    n_classes: int,
    *,
    engine: str | EngineSpec = "statevector",
    seed: int = 0,
) -> HQNN:
    """Build the HQNN of ``genome`` with seeded initial weights.

    Classical layers take PyTorch's default initialisation; circuit weights are uniform in
    [-1, 1] rad (TorchConnector's default), all drawn from a generator seeded with ``seed``.

    Args:
        genome: The architecture.
        n_features: Width of the input features.
        n_classes: Number of classes (output width).
        engine: Engine name (``"statevector"``, ``"aer"``) or a prepared :class:`EngineSpec`.
        seed: Seed of the initial weights (and of the engine).

    Raises:
        ConfigError: For a bad width or an unknown engine.
    """
    if n_features < 1:
        raise ConfigError(invalid("n_features", "at least 1", n_features))
    if n_classes < 2:
        raise ConfigError(invalid("n_classes", "at least 2", n_classes))
    spec = engine if isinstance(engine, EngineSpec) else make_engine(engine, seed=seed)
    drawn = initial_parameters(genome, n_features, n_classes, seed)
    hqnn = build_circuit(genome)
    pre = _linear(drawn.pre_weight, drawn.pre_bias)
    quantum = QuantumLayer(hqnn, spec, drawn.quantum.numpy())
    post = _linear(drawn.post_weight, drawn.post_bias)
    return HQNN(genome, pre, quantum, post)
