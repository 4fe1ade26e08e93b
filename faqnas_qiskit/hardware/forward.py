"""Forward-only evaluation of a trained architecture around a backend's estimator.

The classical parts stay in torch: ``pre`` maps the test features to the circuit's input values
(``hqnn.input_values``), the backend estimates ⟨Z_i⟩ for every sample in one PUB (parameter
broadcasting over the samples), and ``post`` + arg-max give the predicted classes. The same trained
weights also run on the exact statevector engine, whose accuracy is the simulator's reference.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from qiskit.circuit import Parameter

from faqnas_qiskit.circuits import HQNNCircuit
from faqnas_qiskit.errors import invalid
from faqnas_qiskit.hardware.errors import HardwareError
from faqnas_qiskit.models import HQNN, build_model
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import ResultsStore, StoredEvaluation

__all__ = ["Architecture", "prepare_architecture", "restore_model"]

FloatArray = npt.NDArray[np.float64]


def restore_model(
    store: ResultsStore,
    evaluation: StoredEvaluation,
    *,
    n_features: int,
    n_classes: int,
    double: bool,
) -> HQNN:
    """The trained model of a stored evaluation, on the exact statevector engine.

    Args:
        store: The results store (holds the weights).
        evaluation: A successful evaluation.
        n_features: Width of the dataset's features.
        n_classes: Number of classes.
        double: Whether the model was trained in float64.

    Raises:
        HardwareError: If the evaluation has no weights or they do not fit the architecture.
    """
    weights = store.weights(evaluation.id)
    if not evaluation.ok or weights is None:
        raise HardwareError(
            invalid(
                "genome",
                "a successfully trained architecture with stored weights",
                evaluation.key,
                f"Its evaluation is {evaluation.status!r}"
                + (f" ({evaluation.error})" if evaluation.error else "")
                + "; pick another one.",
                what="architecture",
            )
        )
    genome = Genome.parse(evaluation.key)
    model = build_model(genome, n_features, n_classes, engine="statevector", seed=0)
    model = model.to(torch.float64 if double else torch.float32)
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        raise HardwareError(
            f"The stored weights of {evaluation.key} must load into its model. Got "
            f"{type(exc).__name__}: {str(exc).splitlines()[0]} instead. The store may come from "
            "another faqnas version."
        ) from None
    model.eval()
    return model


@dataclass(frozen=True, eq=False)
class Architecture:
    """One trained architecture, ready for forward-only evaluation on some samples.

    Attributes:
        key: Canonical genome key.
        evaluation_id: Row id of its evaluation in the store.
        model: The trained HQNN (statevector engine).
        inputs: Circuit input values, shape (N, len(input_params)), radians.
        weights: Circuit weights θ, shape (len(weight_params),), radians.
        labels: True classes, shape (N,).
        exact_expectations: ⟨Z_i⟩ from the exact statevector engine, shape (N, n).
        simulator_accuracy: The exact engine's accuracy on these samples, in [0, 1].
    """

    key: str
    evaluation_id: int
    model: HQNN
    inputs: FloatArray
    weights: FloatArray
    labels: npt.NDArray[np.int64]
    exact_expectations: FloatArray
    simulator_accuracy: float

    @property
    def hqnn(self) -> HQNNCircuit:
        """The architecture's circuit."""
        return self.model.quantum.hqnn  # type: ignore[no-any-return]

    @property
    def n_samples(self) -> int:
        """Number of samples N."""
        return int(self.labels.shape[0])

    def parameter_values(self, parameters: Sequence[Parameter]) -> FloatArray:
        """Values of ``parameters`` (an ISA circuit's, in its order) for every sample.

        Returns:
            Shape (N, len(parameters)): inputs per sample, weights repeated.

        Raises:
            HardwareError: If a parameter is neither an input nor a weight of the circuit.
        """
        columns: dict[str, FloatArray] = {}
        for i, p in enumerate(self.hqnn.input_params):
            columns[p.name] = self.inputs[:, i]
        for i, p in enumerate(self.hqnn.weight_params):
            columns[p.name] = np.full(self.n_samples, self.weights[i])
        out = np.empty((self.n_samples, len(parameters)), dtype=np.float64)
        for j, parameter in enumerate(parameters):
            if parameter.name not in columns:
                raise HardwareError(
                    f"The ISA circuit of {self.key} must keep the circuit's parameters. Got an "
                    f"unknown parameter {parameter.name!r} instead."
                )
            out[:, j] = columns[parameter.name]
        return out

    def predictions(self, expectations: FloatArray) -> npt.NDArray[np.int64]:
        """Classes predicted from ⟨Z_i⟩ through ``post`` (arg-max of the log-probabilities).

        Args:
            expectations: Shape (N, n), values in [-1, 1].
        """
        dtype = self.model.post.weight.dtype
        with torch.no_grad():
            z = torch.as_tensor(np.asarray(expectations, dtype=np.float64), dtype=dtype)
            logits = torch.log_softmax(self.model.post(z), dim=1)
        return logits.argmax(dim=1).numpy().astype(np.int64)

    def accuracy(self, expectations: FloatArray) -> float:
        """Accuracy of the predictions from ⟨Z_i⟩ (shape (N, n)), in [0, 1]."""
        if self.n_samples == 0:
            return 0.0
        return float(np.mean(self.predictions(expectations) == self.labels))

    def subset(self, n: int) -> Architecture:
        """The same architecture on the first ``n`` samples."""
        return Architecture(
            self.key,
            self.evaluation_id,
            self.model,
            self.inputs[:n],
            self.weights,
            self.labels[:n],
            self.exact_expectations[:n],
            float(np.mean(self.predictions(self.exact_expectations[:n]) == self.labels[:n]))
            if n
            else 0.0,
        )


def prepare_architecture(
    key: str, evaluation_id: int, model: HQNN, x: FloatArray, y: npt.NDArray[np.int64]
) -> Architecture:
    """Run ``pre`` and the exact engine once; keep what a backend run needs.

    Args:
        key: Canonical key.
        evaluation_id: Its evaluation's row id.
        model: The trained model.
        x: Test features, shape (N, n_features).
        y: Test classes, shape (N,).
    """
    dtype = model.pre.weight.dtype
    with torch.no_grad():
        features = torch.tensor(np.array(x, dtype=np.float64), dtype=dtype)  # a copy
        pre = model.pre(features)
        inputs = model.quantum.hqnn.input_values(pre)
        exact = model.quantum(pre)
        weights = model.quantum.weight.detach()
    exact_np = exact.to(torch.float64).numpy()
    architecture = Architecture(
        key=key,
        evaluation_id=evaluation_id,
        model=model,
        inputs=inputs.to(torch.float64).numpy(),
        weights=weights.to(torch.float64).numpy(),
        labels=np.asarray(y, dtype=np.int64),
        exact_expectations=exact_np,
        simulator_accuracy=0.0,
    )
    accuracy = architecture.accuracy(exact_np)
    return Architecture(
        key,
        evaluation_id,
        model,
        architecture.inputs,
        architecture.weights,
        architecture.labels,
        exact_np,
        accuracy,
    )
