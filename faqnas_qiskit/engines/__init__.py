"""Simulation engines: the fast torch statevector engine, its Qiskit estimator, and Aer."""

from faqnas_qiskit.engines.estimator import TorchEstimator
from faqnas_qiskit.engines.gradients import BatchedParamShiftGradient
from faqnas_qiskit.engines.program import CircuitProgram, pauli_expectations, z_expectations
from faqnas_qiskit.engines.registry import ENGINES, EngineSpec, make_engine
from faqnas_qiskit.engines.statevector import HQNNSimulator

__all__ = [
    "ENGINES",
    "BatchedParamShiftGradient",
    "CircuitProgram",
    "EngineSpec",
    "HQNNSimulator",
    "TorchEstimator",
    "make_engine",
    "pauli_expectations",
    "z_expectations",
]
