"""A Qiskit ``BaseEstimatorV2`` backed by the torch statevector engine.

It evaluates any circuit made of RX/RY/RZ with affine angles and fixed (parameter-free) gates,
with Qiskit's broadcasting of parameter values against observables. At precision 0 (the
default) results are exact; a positive precision adds Gaussian noise of that standard deviation,
as Aer's and Qiskit's reference estimators do.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2
from qiskit.primitives.containers import DataBin, EstimatorPubLike, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.primitive_job import PrimitiveJob

from faqnas_qiskit.engines.program import CircuitProgram, pauli_expectations
from faqnas_qiskit.errors import ConfigError, invalid

__all__ = ["TorchEstimator"]


class TorchEstimator(BaseEstimatorV2):
    """Exact statevector estimator on torch (complex128 by default).

    Args:
        default_precision: Standard deviation of the Gaussian noise added to expectation values
            when a PUB does not set one; 0 for exact values.
        seed: Seed of the noise generator (only used when precision > 0), as in Qiskit's
            ``StatevectorEstimator``: an integer restarts the generator at every ``run`` (the
            same call gives the same noise), a ``numpy.random.Generator`` continues across
            calls (independent noise per call), None draws fresh entropy per call.
        dtype: ``torch.complex128`` (default) or ``torch.complex64``.
        chunk_size: Parameter sets simulated at once (bounds memory: chunk * 2**n amplitudes).
    """

    def __init__(
        self,
        *,
        default_precision: float = 0.0,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        chunk_size: int = 1024,
    ) -> None:
        if default_precision < 0:
            raise ConfigError(invalid("default_precision", "at least 0", default_precision))
        if dtype not in (torch.complex64, torch.complex128):
            raise ConfigError(invalid("dtype", "torch.complex64 or torch.complex128", dtype))
        self._default_precision = float(default_precision)
        self._seed = seed
        self._dtype = dtype
        self._chunk_size = chunk_size
        self._programs: dict[int, tuple[QuantumCircuit, CircuitProgram]] = {}

    @property
    def default_precision(self) -> float:
        """Precision used when neither the PUB nor ``run`` sets one."""
        return self._default_precision

    @property
    def dtype(self) -> torch.dtype:
        """Complex dtype of the simulation."""
        return self._dtype

    def program(self, circuit: QuantumCircuit) -> CircuitProgram:
        """The compiled program of ``circuit`` (cached per circuit object), parameters batched."""
        entry = self._programs.get(id(circuit))
        if entry is None or entry[0] is not circuit:
            entry = (circuit, CircuitProgram(circuit, tuple(circuit.parameters), ()))
            self._programs[id(circuit)] = entry
        return entry[1]

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> PrimitiveJob[PrimitiveResult[PubResult]]:
        """Estimate expectation values of each PUB (see ``BaseEstimatorV2.run``)."""
        if precision is None:
            precision = self._default_precision
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        job: PrimitiveJob[PrimitiveResult[PubResult]] = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult[PubResult]:
        rng = np.random.default_rng(self._seed)
        return PrimitiveResult([self._run_pub(pub, rng) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub, rng: np.random.Generator) -> PubResult:
        circuit = pub.circuit
        program = self.program(circuit)
        values = pub.parameter_values.as_array(circuit.parameters)  # (*shape, P)
        param_shape = pub.parameter_values.shape
        flat = values.reshape(-1, len(circuit.parameters))
        observables = pub.observables
        obs_flat = [observables[idx] for idx in np.ndindex(*observables.shape)]
        paulis = sorted({label for obs in obs_flat for label in obs})
        pauli_index = {label: i for i, label in enumerate(paulis)}
        coeffs = np.zeros((len(obs_flat), len(paulis)), dtype=np.complex128)
        for o, obs in enumerate(obs_flat):
            for label, coeff in obs.items():
                coeffs[o, pauli_index[label]] += coeff
        real = torch.float64 if self._dtype == torch.complex128 else torch.float32
        pauli_evs = np.empty((len(paulis), flat.shape[0]))
        with torch.no_grad():
            for start in range(0, max(flat.shape[0], 1), self._chunk_size):
                chunk = torch.as_tensor(flat[start : start + self._chunk_size], dtype=real)
                states = program.states(chunk, None, dtype=self._dtype)
                pauli_evs[:, start : start + chunk.shape[0]] = pauli_expectations(
                    states, paulis
                ).numpy()
        # evs[obs_idx, param_idx] for every pair, then broadcast the two index grids
        table = np.real(coeffs @ pauli_evs)  # (n_obs, n_params)
        param_index = np.arange(flat.shape[0]).reshape(param_shape)
        obs_index = np.arange(len(obs_flat)).reshape(observables.shape)
        bc_param, bc_obs = np.broadcast_arrays(param_index, obs_index)
        evs = table[bc_obs, bc_param]
        precision = pub.precision
        if precision > 0:
            evs = rng.normal(evs, precision)
        stds = np.full(evs.shape, precision)
        return PubResult(
            DataBin(evs=evs, stds=stds, shape=evs.shape),
            metadata={"target_precision": precision, "circuit_metadata": circuit.metadata},
        )
