"""Parameter-shift gradients that send one batched PUB per backward pass.

qiskit-machine-learning's ``ParamShiftEstimatorGradient`` sends one PUB per (sample, observable,
shift). For a batch of B samples, O observables and K parameters that is ``2*B*O*K`` PUBs; this
class sends, per distinct circuit, one PUB whose parameter array holds the ``2*K`` shifted copies
of each distinct parameter row and whose observable array holds the distinct observables, so
the estimator broadcasts them: shape (rows, observables, 2K).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.providers import Options
from qiskit.quantum_info.operators.base_operator import BaseOperator
from qiskit_machine_learning.gradients import EstimatorGradientResult, ParamShiftEstimatorGradient

__all__ = ["BatchedParamShiftGradient"]


class BatchedParamShiftGradient(ParamShiftEstimatorGradient):  # type: ignore[misc]
    """Exact parameter-shift gradients (±π/2) for Pauli-rotation circuits, batched into few PUBs.

    Takes the same arguments as qiskit-machine-learning's ``ParamShiftEstimatorGradient``; the
    circuit preprocessing (unrolling, parameter expressions) is the library's.
    """

    def _run_unique(
        self,
        circuits: Sequence[QuantumCircuit],
        observables: Sequence[BaseOperator],
        parameter_values: Sequence[Sequence[float]],
        parameters: Sequence[Sequence[Parameter]],
        **options: Any,
    ) -> EstimatorGradientResult:
        groups: dict[tuple[int, tuple[Parameter, ...]], list[int]] = {}
        for i, (circuit, params) in enumerate(zip(circuits, parameters, strict=True)):
            groups.setdefault((id(circuit), tuple(params)), []).append(i)

        pubs = []
        plans = []
        for (_, params), entries in groups.items():
            circuit = circuits[entries[0]]
            values = np.asarray([parameter_values[i] for i in entries], dtype=float)  # (E, P)
            rows, row_of = np.unique(values, axis=0, return_inverse=True)
            distinct_obs: list[BaseOperator] = []
            obs_of = []
            for i in entries:
                for j, known in enumerate(distinct_obs):
                    if known is observables[i] or known == observables[i]:
                        obs_of.append(j)
                        break
                else:
                    obs_of.append(len(distinct_obs))
                    distinct_obs.append(observables[i])
            order = {p: i for i, p in enumerate(circuit.parameters)}
            positions = [order[p] for p in params]
            k = len(positions)
            shifted = np.repeat(rows[:, None, :], 2 * k, axis=1)  # (U, 2K, P)
            for j, pos in enumerate(positions):
                shifted[:, j, pos] += np.pi / 2
                shifted[:, k + j, pos] -= np.pi / 2
            run_circuit = circuit
            run_obs = distinct_obs
            if self._pass_manager is not None:
                run_circuit = self._pass_manager.run(circuit)
                run_obs = [op.apply_layout(run_circuit.layout) for op in distinct_obs]
            obs_array = np.empty((1, len(run_obs), 1), dtype=object)
            for j, op in enumerate(run_obs):
                obs_array[0, j, 0] = op
            pubs.append((run_circuit, obs_array, shifted[:, None, :, :]))
            plans.append((entries, np.asarray(row_of).ravel(), obs_of, k))

        results = self._estimator.run(pubs).result() if pubs else []
        gradients: list[np.ndarray] = [np.zeros(0)] * len(circuits)
        for result, (entries, row_of, obs_of, k) in zip(results, plans, strict=True):
            evs = np.asarray(result.data.evs)  # (U, O, 2K)
            for e, i in enumerate(entries):
                values = evs[row_of[e], obs_of[e]]
                gradients[i] = (values[:k] - values[k:]) / 2
        metadata = [{"parameters": p} for p in parameters]
        return EstimatorGradientResult(
            gradients=gradients, metadata=metadata, options=Options(**options)
        )
