"""Errors that are both the package's and the Qiskit error a drop-in user already catches.

The project's :class:`~faqnas_qiskit.models.hqnn.QuantumLayer` stands in for
qiskit-machine-learning's ``TorchConnector``; for the same misuse it must raise what
``TorchConnector`` raises, and still be a :class:`~faqnas_qiskit.errors.FaqnasError` so that the
CLI prints it as one line.
"""

from __future__ import annotations

from qiskit_machine_learning.exceptions import QiskitMachineLearningError

from faqnas_qiskit.errors import ConfigError

__all__ = ["QuantumLayerInputError"]


class QuantumLayerInputError(ConfigError, QiskitMachineLearningError):  # type: ignore[misc]
    """The input of a quantum layer has the wrong shape (``TorchConnector``'s error for it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message  # QiskitError's attribute

    def __str__(self) -> str:
        return self.message
