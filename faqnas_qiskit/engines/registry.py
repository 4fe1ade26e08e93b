"""Named engines: which estimator and gradient a model's quantum layer runs on."""

from __future__ import annotations

from dataclasses import dataclass

from qiskit.primitives import BaseEstimatorV2
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

from faqnas_qiskit.engines.estimator import TorchEstimator
from faqnas_qiskit.engines.gradients import BatchedParamShiftGradient
from faqnas_qiskit.limits import check, words

__all__ = ["ENGINES", "EngineSpec", "make_engine"]

ENGINES: tuple[str, ...] = words("engine")  # declared in limits.OPTION_CHOICES


@dataclass(frozen=True)
class EngineSpec:
    """An estimator with its gradient, ready for ``EstimatorQNN``.

    Attributes:
        name: Engine name.
        estimator: The Qiskit estimator.
        gradient: Parameter-shift gradient on that estimator (used when autograd is not).
        precision: The precision the QNN asks for (0 = exact).
    """

    name: str
    estimator: BaseEstimatorV2
    gradient: BatchedParamShiftGradient
    precision: float


def make_engine(name: str, *, seed: int = 0) -> EngineSpec:
    """Build a named engine.

    * ``"statevector"``: the torch statevector engine (:class:`TorchEstimator`); models take the
      autograd fast path.
    * ``"aer"``: Aer's ``EstimatorV2``, statevector method, exact (precision 0), seeded, with
      batched parameter-shift gradients.

    Raises:
        ConfigError: For an unknown engine name.
    """
    check("engine", name)
    estimator: BaseEstimatorV2
    if name == "aer":
        estimator = AerEstimatorV2(
            options={
                "default_precision": 0.0,
                "backend_options": {"method": "statevector"},
                "run_options": {"seed_simulator": seed},
            }
        )
    else:  # "statevector", the only other declared engine
        estimator = TorchEstimator(seed=seed)
    return EngineSpec(name, estimator, BatchedParamShiftGradient(estimator=estimator), 0.0)
