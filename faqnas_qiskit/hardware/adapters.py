"""Backend adapters: one interface, three targets (DESIGN §8).

Every adapter goes through the same three steps:

1. :meth:`BackendAdapter.preflight`, before anything is submitted: the architectures fit the
   profile's qubit limit and the device, their circuits transpile to the target's ISA with the
   observables laid out, credentials are there for hardware, and the predicted QPU seconds of
   the jobs to submit are within the budget. It returns a :class:`ReevaluationPlan`; a dry run
   stops there.
2. :meth:`BackendAdapter.run`: one job per architecture, each a single estimator PUB (the ISA
   circuit, its n ⟨Z_i⟩ observables, and the parameter values of the N test samples broadcast
   against them), all submitted first (in one ``Batch`` on hardware) and then awaited. Jobs
   submitted by an earlier call are fetched by id instead. Every job id is handed to
   ``on_submitted`` the moment the provider returns it.
3. :meth:`BackendAdapter.record`: ⟨Z_i⟩ through the post-layer, accuracy, and the
   :class:`HardwareRecord` with ISA metrics, predicted and measured QPU seconds and wall time.

Adapters: :class:`AerAdapter` (ideal shot-based simulation), :class:`FakeBackendAdapter` (noisy
simulation from a fake IBM backend's calibration snapshot, noise built once per backend), both in
``simulators.py``, and :class:`IBMRuntimeAdapter` (IBM Quantum through a :class:`RuntimeGateway`,
``ibm.py``); the interface and the shared steps are ``backend_adapter.py``. The simulators run
Qiskit's ``BackendEstimatorV2`` on an ``AerSimulator`` (what qiskit-ibm-runtime's local testing
mode runs), with real shot sampling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faqnas_qiskit.hardware.backend_adapter import BackendAdapter
from faqnas_qiskit.hardware.ibm import IBMRuntimeAdapter
from faqnas_qiskit.hardware.profiles import AdapterKind, BackendProfile
from faqnas_qiskit.hardware.runtime import IBMCredentials, RuntimeGateway
from faqnas_qiskit.hardware.simulators import AerAdapter, FakeBackendAdapter, fake_backend
from faqnas_qiskit.hardware.simulators import _precision as _precision

__all__ = [
    "AerAdapter",
    "BackendAdapter",
    "FakeBackendAdapter",
    "IBMRuntimeAdapter",
    "fake_backend",
    "make_adapter",
]


def make_adapter(
    profile: BackendProfile,
    *,
    service: Any = None,
    credentials: IBMCredentials | None = None,
    connect: Callable[[IBMCredentials], RuntimeGateway] | None = None,
) -> BackendAdapter:
    """The adapter of a profile.

    Args:
        profile: The backend profile.
        service: For ``ibm_runtime``: a :class:`RuntimeGateway` or a ``QiskitRuntimeService``.
        credentials: For ``ibm_runtime``: how to connect when no service is given.
        connect: For ``ibm_runtime``: how to open a gateway from credentials.

    Raises:
        ProfileError: If the profile's backend does not exist (fake backends).
    """
    if profile.adapter == AdapterKind.AER:
        return AerAdapter(profile)
    if profile.adapter == AdapterKind.FAKE:
        return FakeBackendAdapter(profile)
    return IBMRuntimeAdapter(profile, service=service, credentials=credentials, connect=connect)
