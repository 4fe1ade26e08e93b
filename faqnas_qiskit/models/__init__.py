"""The HQNN model around qiskit-machine-learning's TorchConnector."""

from faqnas_qiskit.models.hqnn import (
    HQNN,
    InitialParameters,
    QuantumLayer,
    build_model,
    initial_parameters,
)

__all__ = ["HQNN", "InitialParameters", "QuantumLayer", "build_model", "initial_parameters"]
