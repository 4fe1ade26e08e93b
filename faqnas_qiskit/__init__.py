"""faqnas-qiskit: FLOPs-aware hybrid quantum neural architecture search on the Qiskit stack."""

from typing import TYPE_CHECKING

from faqnas_qiskit.errors import ConfigError, DataError, EngineError, FaqnasError, GenomeError

if TYPE_CHECKING:
    from faqnas_qiskit.space import Genome, SearchSpace

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Everything beyond the errors loads on first use: `faqnas --help` stays fast, and
    # `python -m faqnas_qiskit` reaches its own Ctrl-C handling before numpy loads.
    if name in ("Genome", "SearchSpace"):
        from faqnas_qiskit import space

        return getattr(space, name)
    if name == "TorchEstimator":
        from faqnas_qiskit.engines import TorchEstimator

        return TorchEstimator
    if name == "build_circuit":
        from faqnas_qiskit.circuits import build_circuit

        return build_circuit
    if name == "build_model":
        from faqnas_qiskit.models import build_model

        return build_model
    raise AttributeError(f"module 'faqnas_qiskit' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "DataError",
    "EngineError",
    "FaqnasError",
    "Genome",
    "GenomeError",
    "SearchSpace",
    "TorchEstimator",
    "__version__",
    "build_circuit",
    "build_model",
]
