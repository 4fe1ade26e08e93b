"""Device noise of a fake IBM backend, built once per backend and restricted per circuit.

``NoiseModel.from_backend`` on a 156-qubit device takes seconds to build, and Aer converts the
whole model again on every ``run`` call (about 4 s per call for FakeFez, whatever the circuit).
:class:`DeviceNoise` computes the device's gate and readout errors once (the same
``basic_device_gate_errors`` / ``basic_device_readout_errors`` that ``NoiseModel.from_backend``
uses) and hands out, per set of active physical qubits, a noise model holding only the errors on
those qubits. Aer truncates the idle qubits of an ISA circuit, so the simulation is the same as
with the full model, at a fraction of the cost per call.

Left out: thermal relaxation during ``delay`` instructions (``NoiseModel.from_backend`` adds it as
a custom pass); the preset pass manager does not schedule, so ISA circuits have no delays.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterable
from typing import Any

from qiskit.providers import BackendV2
from qiskit_aer.noise import NoiseModel
from qiskit_aer.noise.device import basic_device_gate_errors, basic_device_readout_errors

__all__ = ["DeviceNoise"]

log = logging.getLogger(__name__)


class DeviceNoise:
    """Gate and readout errors of a device, from its calibration snapshot (its ``Target``).

    Args:
        backend: A backend whose target carries error rates and durations (a fake IBM backend).

    Attributes:
        name: The backend's name.
        build_s: Seconds spent building the device's errors.
    """

    def __init__(self, backend: BackendV2) -> None:
        started = time.perf_counter()
        self.name = backend.name
        self._basis = list(backend.operation_names)
        target = backend.target
        self._readout: list[tuple[tuple[int, ...], Any]] = [
            (tuple(qubits), error)
            for qubits, error in basic_device_readout_errors(None, target=target)
        ]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            self._gates: list[tuple[str, tuple[int, ...], Any]] = [
                (name, tuple(qubits), error)
                for name, qubits, error in basic_device_gate_errors(None, target=target)
            ]
        self._models: dict[frozenset[int], NoiseModel] = {}
        self.build_s = time.perf_counter() - started
        log.info("noise of %s built in %.2f s", self.name, self.build_s)

    def model_for(self, qubits: Iterable[int]) -> NoiseModel:
        """The device's noise restricted to ``qubits`` (physical indices), cached per set.

        Args:
            qubits: The physical qubits the circuit acts on.

        Returns:
            A noise model with every gate and readout error whose qubits all lie in ``qubits``.
        """
        active = frozenset(int(q) for q in qubits)
        model = self._models.get(active)
        if model is None:
            model = NoiseModel(basis_gates=self._basis)
            for readout_qubits, error in self._readout:
                if active.issuperset(readout_qubits):
                    model.add_readout_error(error, readout_qubits)
            for name, gate_qubits, error in self._gates:
                if active.issuperset(gate_qubits):
                    model.add_quantum_error(error, name, gate_qubits)
            self._models[active] = model
        return model
