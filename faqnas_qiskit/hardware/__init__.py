"""Hardware re-evaluation: backend profiles, adapters, and ``reevaluate`` (DESIGN §8).

Profiles are light (no Qiskit import), so ``faqnas backends`` stays fast; everything else loads on
first use.

Example::

    from faqnas_qiskit.hardware import ReevaluationRequest, reevaluate
    from faqnas_qiskit.store import ResultsStore

    with ResultsStore("faqnas.db", create=False) as store:
        plan = reevaluate(ReevaluationRequest("r1a2b3c4d", "ibm_fez", dry_run=True), store).plan
        result = reevaluate(ReevaluationRequest("r1a2b3c4d", "fake_fez", shots=1024), store)

Hardware needs a connected adapter: ``make_adapter(profile, service=...)`` or
``make_adapter(profile, credentials=...)``, passed as ``reevaluate``'s third argument.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.hardware.errors import (
    CredentialsError,
    HardwareError,
    PreflightError,
    ProfileError,
)
from faqnas_qiskit.hardware.profiles import (
    ADAPTERS,
    AdapterKind,
    BackendProfile,
    Limits,
    list_profiles,
    load_profile,
    profile_names,
)

if TYPE_CHECKING:
    from faqnas_qiskit.hardware.adapters import (
        AerAdapter,
        BackendAdapter,
        FakeBackendAdapter,
        IBMRuntimeAdapter,
        make_adapter,
    )
    from faqnas_qiskit.hardware.plan import (
        Action,
        Failure,
        JobOutcome,
        JobState,
        PlannedArchitecture,
        PlannedFailed,
        PlannedFetch,
        PlannedJob,
        PlannedStored,
        PlannedSubmit,
        ProgressEvent,
        ReevaluationPlan,
        ReevaluationResult,
        Stage,
    )
    from faqnas_qiskit.hardware.record import HardwareRecord
    from faqnas_qiskit.hardware.reevaluation import reevaluate
    from faqnas_qiskit.hardware.request import ReevaluationRequest
    from faqnas_qiskit.hardware.runtime import (
        IBMCredentials,
        IBMRuntimeGateway,
        RuntimeGateway,
        RuntimeJob,
        SecretFilter,
        connect_ibm,
    )

_LAZY = {
    "AerAdapter": "adapters",
    "BackendAdapter": "adapters",
    "FakeBackendAdapter": "adapters",
    "IBMRuntimeAdapter": "adapters",
    "make_adapter": "adapters",
    "Action": "plan",
    "Failure": "plan",
    "JobOutcome": "plan",
    "JobState": "plan",
    "Stage": "plan",
    "PlannedArchitecture": "plan",
    "PlannedFailed": "plan",
    "PlannedFetch": "plan",
    "PlannedJob": "plan",
    "PlannedStored": "plan",
    "PlannedSubmit": "plan",
    "ProgressEvent": "plan",
    "ReevaluationPlan": "plan",
    "ReevaluationResult": "plan",
    "HardwareRecord": "record",
    "reevaluate": "reevaluation",
    "ReevaluationRequest": "request",
    "IBMCredentials": "runtime",
    "IBMRuntimeGateway": "runtime",
    "RuntimeGateway": "runtime",
    "RuntimeJob": "runtime",
    "SecretFilter": "runtime",
    "connect_ibm": "runtime",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'faqnas_qiskit.hardware' has no attribute {name!r}")
    return getattr(import_module(f"faqnas_qiskit.hardware.{module}"), name)


__all__ = [
    "ADAPTERS",
    "Action",
    "AdapterKind",
    "AerAdapter",
    "BackendAdapter",
    "BackendProfile",
    "CredentialsError",
    "Failure",
    "FakeBackendAdapter",
    "HardwareError",
    "HardwareRecord",
    "IBMCredentials",
    "IBMRuntimeAdapter",
    "IBMRuntimeGateway",
    "JobOutcome",
    "JobState",
    "Limits",
    "PlannedArchitecture",
    "PlannedFailed",
    "PlannedFetch",
    "PlannedJob",
    "PlannedStored",
    "PlannedSubmit",
    "PreflightError",
    "ProfileError",
    "ProgressEvent",
    "ReevaluationPlan",
    "ReevaluationRequest",
    "ReevaluationResult",
    "RuntimeGateway",
    "RuntimeJob",
    "SecretFilter",
    "Stage",
    "connect_ibm",
    "list_profiles",
    "load_profile",
    "make_adapter",
    "profile_names",
    "reevaluate",
]
