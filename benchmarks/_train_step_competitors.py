"""The competitors of the train-step benchmark: the workload, and the same network on each path.

The workload is one training step of the project's HQNN on a batch of ``BATCH`` samples of
``N_FEATURES`` synthetic standardised features, ``N_CLASSES`` classes. :func:`build_network`
gives the network of each engine of ``ENGINES`` with our model's weights, and
:func:`check_equivalence` compares it with our engine in float64 before it is timed. torch,
qiskit and pennylane are imported inside the functions, which run in the cell's subprocess only
(see ``_train_step_harness``), so that the parent stays light.
"""

from __future__ import annotations

import copy
from typing import Any

ENGINES: tuple[str, ...] = ("ours", "ours-f64", "aer", "pennylane", "qml-defaults")
N_FEATURES = 16
N_CLASSES = 3
BATCH = 64
SEED = 0  # initial weights (build_model's seed)
DATA_SEED = 1234
N_BATCHES = 8  # distinct training batches, cycled
LEARNING_RATE = 0.003
CHECK_SAMPLES = 8
CHECK_TOLERANCE = 1e-5


def _pennylane_network(genome: Any, reference: Any) -> Any:
    """PennyLane ``default.qubit`` (backprop) version of ``reference``, same weights.

    The circuit follows DESIGN §3 with wire i = Qiskit qubit i. Qiskit puts qubit 0 in the least
    significant bit of a basis index and PennyLane puts the first wire of an operation in the
    most significant one, so the amplitude embedding is applied on wires (n-1, ..., 0).

    Args:
        genome: The architecture (a ``faqnas_qiskit.space.Genome``).
        reference: Our model of the genome (a ``faqnas_qiskit.models.HQNN``), float32.

    Returns:
        A module with ``pre``, ``quantum`` (a ``TorchLayer``), ``post`` and ``circuit_weight``.
    """
    import pennylane as qml
    import torch

    from faqnas_qiskit.circuits import entangling_pairs

    n = genome.n_qubits
    pairs = entangling_pairs(n, genome.topology)
    rotation = {"rx": qml.RX, "ry": qml.RY, "rz": qml.RZ}
    entangler = qml.CNOT if genome.entangler == "cx" else qml.CZ
    device = qml.device("default.qubit", wires=n)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(inputs: torch.Tensor, weights: torch.Tensor) -> list[Any]:
        if genome.embedding == "angle":
            for i in range(n):
                qml.RX(inputs[..., i], wires=i)
        else:
            qml.AmplitudeEmbedding(inputs, wires=list(range(n - 1, -1, -1)), normalize=True)
        for layer, name in enumerate(genome.active_rotations):
            for i in range(n):
                rotation[name](weights[layer * n + i], wires=i)
            for control, target in pairs:
                entangler(wires=[control, target])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    class PennyLaneHQNN(torch.nn.Module):
        """Linear -> TorchLayer -> Linear -> log_softmax."""

        def __init__(self) -> None:
            super().__init__()
            self.pre = copy.deepcopy(reference.pre)
            self.quantum = qml.qnn.TorchLayer(circuit, {"weights": (genome.n_weights,)})
            with torch.no_grad():
                self.quantum.weights.copy_(reference.quantum.weight)
            self.post = copy.deepcopy(reference.post)

        @property
        def circuit_weight(self) -> torch.Tensor:
            return self.quantum.weights  # type: ignore[no-any-return]

        def expectations(self, x: torch.Tensor) -> torch.Tensor:
            return self.quantum(self.pre(x))  # type: ignore[no-any-return]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.log_softmax(self.post(self.expectations(x)), dim=1)

    return PennyLaneHQNN()


def _qml_defaults_network(genome: Any, reference: Any) -> Any:
    """qiskit-machine-learning defaults version of ``reference``, same weights.

    ``TorchConnector(EstimatorQNN(...))`` without estimator or gradient (the library's default
    estimator and parameter-shift gradient), between the same Linear layers; the pre-layer output
    is mapped to circuit inputs by ``HQNNCircuit.input_values``.

    Args:
        genome: The architecture.
        reference: Our model of the genome, float32.

    Returns:
        A module with ``pre``, ``quantum`` (the ``TorchConnector``), ``post`` and
        ``circuit_weight``.
    """
    import torch
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    from faqnas_qiskit.circuits import build_circuit

    hqnn = build_circuit(genome)
    qnn = EstimatorQNN(
        circuit=hqnn.circuit,
        observables=list(hqnn.observables),
        input_params=list(hqnn.input_params),
        weight_params=list(hqnn.weight_params),
        input_gradients=True,
    )

    class QiskitDefaultsHQNN(torch.nn.Module):
        """Linear -> input_values -> TorchConnector -> Linear -> log_softmax."""

        def __init__(self) -> None:
            super().__init__()
            self.pre = copy.deepcopy(reference.pre)
            initial = reference.quantum.weight.detach().numpy()
            self.quantum = TorchConnector(qnn, initial_weights=initial)
            self.post = copy.deepcopy(reference.post)

        @property
        def circuit_weight(self) -> torch.Tensor:
            return self.quantum.weight  # type: ignore[no-any-return]

        def expectations(self, x: torch.Tensor) -> torch.Tensor:
            angles = hqnn.input_values(self.pre(x))
            # TorchConnector always returns float32; cast back for the float64 check
            return self.quantum(angles).to(angles.dtype)  # type: ignore[no-any-return]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.log_softmax(self.post(self.expectations(x)), dim=1)

    return QiskitDefaultsHQNN()


def _expectations(network: Any, x: Any) -> Any:
    """⟨Z_i⟩ of the quantum layer for features ``x``, shape (batch, n)."""
    if hasattr(network, "expectations"):
        return network.expectations(x)
    return network.quantum(network.pre(x))


def _gradients(network: Any, x: Any, y: Any) -> dict[str, Any]:
    """Gradients of the NLL loss on (x, y) for pre, circuit weights and post, by role."""
    import torch

    network.zero_grad(set_to_none=True)
    torch.nn.functional.nll_loss(network(x), y).backward()
    circuit_weight = (
        network.circuit_weight if hasattr(network, "circuit_weight") else network.quantum.weight
    )
    return {
        "pre.weight": network.pre.weight.grad,
        "pre.bias": network.pre.bias.grad,
        "circuit weights": circuit_weight.grad,
        "post.weight": network.post.weight.grad,
        "post.bias": network.post.bias.grad,
    }


def check_equivalence(network: Any, reference: Any, with_gradients: bool) -> dict[str, float]:
    """Largest absolute differences between ``network`` and our engine, both in float64.

    Args:
        network: The network to be timed.
        reference: Our model, float32; converted to float64 here.
        with_gradients: Also compare the gradients of the loss.

    Returns:
        ``{"expectations": ..., "log_probs": ..., "gradients": ...}`` (max abs error each).
    """
    import torch

    generator = torch.Generator().manual_seed(DATA_SEED + 1)
    x = torch.randn(CHECK_SAMPLES, N_FEATURES, generator=generator, dtype=torch.float64)
    y = torch.randint(0, N_CLASSES, (CHECK_SAMPLES,), generator=generator)
    ours = copy.deepcopy(reference).double()
    theirs = copy.deepcopy(network).double()
    errors: dict[str, float] = {}
    with torch.no_grad():
        errors["expectations"] = float(
            (_expectations(theirs, x) - _expectations(ours, x)).abs().max()
        )
        errors["log_probs"] = float((theirs(x) - ours(x)).abs().max())
    if with_gradients:
        expected = _gradients(ours, x, y)
        got = _gradients(theirs, x, y)
        errors["gradients"] = max(
            float((got[name].double() - expected[name]).abs().max()) for name in expected
        )
    return errors


def build_network(engine: str, genome: Any, reference: Any) -> tuple[Any, Any]:
    """The network of ``engine`` for ``genome`` and the dtype of its inputs.

    Args:
        engine: One of ``ENGINES``.
        genome: The architecture.
        reference: Our model of the genome (float32); ``"ours"`` times it in place.

    Returns:
        (network, torch dtype of the features it takes).
    """
    import torch

    from faqnas_qiskit.models import build_model

    if engine == "ours":
        return reference, torch.float32
    if engine == "ours-f64":
        return copy.deepcopy(reference).double(), torch.float64
    if engine == "aer":
        return build_model(genome, N_FEATURES, N_CLASSES, engine="aer", seed=SEED), torch.float32
    if engine == "pennylane":
        return _pennylane_network(genome, reference), torch.float32
    if engine == "qml-defaults":
        return _qml_defaults_network(genome, reference), torch.float32
    raise ValueError(f"The 'engine' option must be one of {ENGINES}. Got {engine!r} instead.")
