"""The HQNN model around qiskit-machine-learning's TorchConnector."""

from faqnas_qiskit.models.hqnn import HQNN, QuantumLayer, build_model

__all__ = ["HQNN", "QuantumLayer", "build_model"]
