"""A Qiskit ``BaseEstimatorV2`` backed by the torch statevector engine.

A drop-in for Qiskit's ``StatevectorEstimator``: the same PUBs (any broadcast of parameter
values against observables, parameter-free circuits, empty parameter arrays), the same result
fields (``evs``, ``stds`` (zeros), ``shape``; metadata ``target_precision`` and
``circuit_metadata``) and the same noise: at precision > 0 each value gets Gaussian noise of
that standard deviation, drawn from a generator made per PUB from ``seed``, in the same order,
so that an integer seed gives the reference's numbers. Observables may be any
``SparseObservable``, projector terms (``0 1 + - r l``) included, computed exactly.

Circuits are compiled by :class:`~faqnas_qiskit.engines.program.CircuitProgram` (composite
instructions unrolled, parametric standard gates rewritten) and the programs kept in a
bounded least-recently-used cache keyed by each circuit's content, so that a circuit changed
after a run is compiled again. Every PUB is compiled in ``run``, before any simulation: an
unsupported circuit (measurement, reset, classical control) raises
:class:`~faqnas_qiskit.errors.EngineError` there.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable

import numpy as np
import torch
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2
from qiskit.primitives.containers import DataBin, EstimatorPubLike, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.primitive_job import PrimitiveJob

from faqnas_qiskit.engines.lowering import circuit_key
from faqnas_qiskit.engines.observables import term_expectations
from faqnas_qiskit.engines.program import CircuitProgram
from faqnas_qiskit.errors import ConfigError, invalid

__all__ = ["TorchEstimator"]


class TorchEstimator(BaseEstimatorV2):
    """Exact statevector estimator on torch (complex128 by default).

    Args:
        default_precision: Standard deviation of the Gaussian noise added to expectation values
            when a PUB does not set one; 0 for exact values.
        seed: Seed of the noise generator (only used when precision > 0), as in Qiskit's
            ``StatevectorEstimator``: an integer restarts the generator at every PUB (two equal
            PUBs get the same noise, in one call or in two), a ``numpy.random.Generator``
            continues across PUBs and calls, None draws fresh entropy per PUB.
        dtype: ``torch.complex128`` (default) or ``torch.complex64``.
        chunk_size: Parameter sets simulated at once (bounds memory: chunk * 2**n amplitudes).
        cache_size: Compiled programs kept (least recently used dropped first).

    Raises:
        ConfigError: For a negative precision, another dtype, or a size below 1.
    """

    def __init__(
        self,
        *,
        default_precision: float = 0.0,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        chunk_size: int = 1024,
        cache_size: int = 64,
    ) -> None:
        if not default_precision >= 0:
            raise ConfigError(invalid("default_precision", "at least 0", default_precision))
        if dtype not in (torch.complex64, torch.complex128):
            raise ConfigError(invalid("dtype", "torch.complex64 or torch.complex128", dtype))
        if chunk_size < 1:
            raise ConfigError(invalid("chunk_size", "at least 1", chunk_size))
        if cache_size < 1:
            raise ConfigError(invalid("cache_size", "at least 1", cache_size))
        self._default_precision = float(default_precision)
        self._seed = seed
        self._dtype = dtype
        self._chunk_size = chunk_size
        self._cache_size = cache_size
        self._programs: OrderedDict[Hashable, CircuitProgram] = OrderedDict()

    @property
    def default_precision(self) -> float:
        """Precision used when neither the PUB nor ``run`` sets one."""
        return self._default_precision

    @property
    def seed(self) -> int | np.random.Generator | None:
        """Seed or generator of the noise (see the class docstring)."""
        return self._seed

    @property
    def dtype(self) -> torch.dtype:
        """Complex dtype of the simulation."""
        return self._dtype

    @property
    def cached_programs(self) -> int:
        """Number of compiled programs held (at most ``cache_size``)."""
        return len(self._programs)

    def program(self, circuit: QuantumCircuit) -> CircuitProgram:
        """The compiled program of ``circuit``, all parameters batched (``circuit.parameters``).

        Cached by the circuit's content (:func:`~faqnas_qiskit.engines.lowering.circuit_key`):
        an equal circuit reuses it, a circuit changed in place is compiled again.

        Raises:
            EngineError: For a circuit the engine cannot simulate.
        """
        key = circuit_key(circuit)
        program = self._programs.get(key)
        if program is None:
            program = CircuitProgram(circuit, tuple(circuit.parameters), ())
            self._programs[key] = program
            while len(self._programs) > self._cache_size:
                self._programs.popitem(last=False)
        else:
            self._programs.move_to_end(key)
        return program

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> PrimitiveJob[PrimitiveResult[PubResult]]:
        """Estimate expectation values of each PUB (see ``BaseEstimatorV2.run``).

        Raises:
            ValueError: For an invalid PUB (Qiskit's own validation).
            EngineError: For a circuit the engine cannot simulate (before any simulation).
        """
        if precision is None:
            precision = self._default_precision
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        programs = [self.program(pub.circuit) for pub in coerced]
        job: PrimitiveJob[PrimitiveResult[PubResult]] = PrimitiveJob(self._run, coerced, programs)
        job._submit()
        return job

    def _run(
        self, pubs: list[EstimatorPub], programs: list[CircuitProgram]
    ) -> PrimitiveResult[PubResult]:
        results = [self._run_pub(pub, program) for pub, program in zip(pubs, programs, strict=True)]
        return PrimitiveResult(results, metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub, program: CircuitProgram) -> PubResult:
        circuit = pub.circuit
        n_params = len(circuit.parameters)
        param_shape = pub.parameter_values.shape
        values = pub.parameter_values.as_array(circuit.parameters)  # (*param_shape, P)
        flat = np.asarray(values, dtype=np.float64).reshape(int(np.prod(param_shape)), n_params)
        observables = pub.observables
        obs_flat = [observables[idx] for idx in np.ndindex(*observables.shape)]
        labels = sorted({label for obs in obs_flat for label in obs})
        label_index = {label: i for i, label in enumerate(labels)}
        coeffs = np.zeros((len(obs_flat), len(labels)))
        for o, obs in enumerate(obs_flat):
            for label, coeff in obs.items():
                coeffs[o, label_index[label]] += np.real(coeff)
        term_evs = self._term_table(program, flat, labels)  # (n_labels, n_params)
        table = coeffs @ term_evs  # (n_obs, n_param_sets)
        # evs[obs_idx, param_idx] for every pair, then broadcast the two index grids
        param_index = np.arange(flat.shape[0]).reshape(param_shape)
        obs_index = np.arange(len(obs_flat)).reshape(observables.shape)
        bc_param, bc_obs = np.broadcast_arrays(param_index, obs_index)
        evs = np.asarray(table[bc_obs, bc_param], dtype=np.float64)
        precision = pub.precision
        if precision != 0:
            # as StatevectorEstimator: a generator per PUB, one draw per value in C order
            rng = np.random.default_rng(self._seed)
            evs = np.asarray(rng.normal(evs, precision), dtype=np.float64).reshape(evs.shape)
        stds = np.zeros(evs.shape)
        return PubResult(
            DataBin(evs=evs, stds=stds, shape=evs.shape),
            metadata={"target_precision": precision, "circuit_metadata": circuit.metadata},
        )

    def _term_table(
        self, program: CircuitProgram, flat: np.ndarray, labels: list[str]
    ) -> np.ndarray:
        """Expectation of each term label at each parameter set, shape (n_labels, n_sets)."""
        out = np.zeros((len(labels), flat.shape[0]))
        if not labels or flat.shape[0] == 0:
            return out
        real = torch.float64 if self._dtype == torch.complex128 else torch.float32
        with torch.no_grad():
            for start in range(0, flat.shape[0], self._chunk_size):
                chunk = torch.as_tensor(flat[start : start + self._chunk_size], dtype=real)
                states = program.states(chunk, None, dtype=self._dtype)
                block = term_expectations(states, labels).numpy()
                out[:, start : start + chunk.shape[0]] = block
        return out
