"""The simulator adapters: ideal (Aer) and noisy (a fake IBM backend's calibration snapshot).

Both run Qiskit's ``BackendEstimatorV2`` on an ``AerSimulator`` (what qiskit-ibm-runtime's local
testing mode runs), with real shot sampling; jobs are local and bill nothing.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from qiskit.primitives import BackendEstimatorV2
from qiskit.providers import BackendV2

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.hardware.backend_adapter import BackendAdapter
from faqnas_qiskit.hardware.errors import ProfileError
from faqnas_qiskit.hardware.noise import DeviceNoise
from faqnas_qiskit.hardware.profiles import AdapterKind, BackendProfile
from faqnas_qiskit.hardware.runtime import RuntimeJob, Submitter

__all__ = ["AerAdapter", "FakeBackendAdapter", "fake_backend"]


def fake_backend(name: str, *, field: str = "backend") -> BackendV2:
    """A fake IBM backend by snake-case name (``"fake_fez"`` -> ``FakeFez()``).

    Raises:
        ProfileError: If qiskit-ibm-runtime has no such fake backend (naming ``field``).
    """
    from qiskit_ibm_runtime import fake_provider

    stem = "".join(part.capitalize() for part in name.split("_"))
    for candidate in (stem, stem + "V2"):
        cls = getattr(fake_provider, candidate, None)
        if isinstance(cls, type):
            return cls()  # type: ignore[no-any-return]
    raise ProfileError(
        invalid(
            field,
            "a fake backend of qiskit_ibm_runtime.fake_provider in snake case",
            name,
            "E.g. fake_fez, fake_torino, fake_marrakesh or fake_kingston.",
            what="field of the profile",
        )
    )


def _precision(shots: int) -> float:
    """The precision for which ``BackendEstimatorV2`` runs exactly ``shots`` shots.

    It runs ``ceil(1 / precision**2)`` shots, and ``1/sqrt(shots)`` can round to one more.
    """
    precision = 1.0 / math.sqrt(shots)
    while math.ceil(1.0 / precision**2) > shots:
        precision = math.nextafter(precision, math.inf)
    return precision


def _active_qubits(circuit: Any) -> tuple[int, ...]:
    return tuple(
        sorted(
            {circuit.find_bit(q).index for instruction in circuit.data for q in instruction.qubits}
        )
    )


class _SimulatorAdapter(BackendAdapter):
    """Shared by the simulators: ``BackendEstimatorV2`` on an ``AerSimulator``, local jobs."""

    def __init__(self, profile: BackendProfile) -> None:
        super().__init__(profile)
        self._jobs: dict[str, RuntimeJob] = {}

    @abstractmethod
    def _simulator(self, circuit: Any) -> BackendV2:
        """The simulator for an ISA circuit."""

    @contextmanager
    def _session(self) -> Iterator[Submitter]:
        def submit(pubs: Sequence[Any], *, shots: int, tags: Sequence[str]) -> RuntimeJob:
            circuit = pubs[0][0]
            estimator = BackendEstimatorV2(
                backend=self._simulator(circuit),
                options={
                    "default_precision": _precision(shots),
                    "seed_simulator": self._seed(tags),
                },
            )
            job = estimator.run(list(pubs))
            self._jobs[job.job_id()] = job
            return job

        yield submit

    def _open(self) -> AbstractContextManager[Submitter]:
        return self._session()

    def _fetch(self, job_id: str) -> RuntimeJob | None:
        return self._jobs.get(job_id)

    def _usage(self, job: RuntimeJob) -> tuple[float, bool]:
        return 0.0, False


class AerAdapter(_SimulatorAdapter):
    """Ideal (noiseless) shot-based simulation with Qiskit Aer."""

    kind = AdapterKind.AER

    def __init__(self, profile: BackendProfile) -> None:
        super().__init__(profile)
        from qiskit_aer import AerSimulator

        self._aer = AerSimulator()

    def _load_target(self, *, dry_run: bool) -> tuple[BackendV2, str]:
        return self._aer, "simulator"

    def _simulator(self, circuit: Any) -> BackendV2:
        return self._aer


class FakeBackendAdapter(_SimulatorAdapter):
    """Noisy simulation of a fake IBM backend (its calibration snapshot).

    The device's noise is built once per adapter (:class:`DeviceNoise`), restricted per set of
    active qubits, and the simulator for each set is kept.

    Args:
        profile: A ``fake`` profile.
        backend: The fake backend instance to use (default: made from ``profile.backend``).
    """

    kind = AdapterKind.FAKE
    predicts_qpu = True

    def __init__(self, profile: BackendProfile, *, backend: BackendV2 | None = None) -> None:
        super().__init__(profile)
        self._backend = backend if backend is not None else fake_backend(profile.backend)
        self._noise: DeviceNoise | None = None
        self._simulators: dict[tuple[int, ...], BackendV2] = {}

    @property
    def noise(self) -> DeviceNoise:
        """The device noise (built on first use, once)."""
        if self._noise is None:
            self._noise = DeviceNoise(self._backend)
        return self._noise

    def _load_target(self, *, dry_run: bool) -> tuple[BackendV2, str]:
        return self._backend, "snapshot"

    def _open(self) -> AbstractContextManager[Submitter]:
        _ = self.noise  # built once, before any job's wall time starts
        return super()._open()

    def _simulator(self, circuit: Any) -> BackendV2:
        from qiskit_aer import AerSimulator

        qubits = _active_qubits(circuit)
        simulator = self._simulators.get(qubits)
        if simulator is None:
            simulator = AerSimulator(noise_model=self.noise.model_for(qubits))
            self._simulators[qubits] = simulator
        return simulator
