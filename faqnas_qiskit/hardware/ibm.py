"""IBM Quantum hardware through Qiskit Runtime: credentials, the live target, batch jobs, usage."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from qiskit.providers import BackendV2

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.hardware.backend_adapter import BackendAdapter, one_line
from faqnas_qiskit.hardware.errors import CredentialsError, HardwareError
from faqnas_qiskit.hardware.profiles import AdapterKind, BackendProfile
from faqnas_qiskit.hardware.runtime import (
    IBMCredentials,
    IBMRuntimeGateway,
    RuntimeGateway,
    RuntimeJob,
    Submitter,
    connect_ibm,
    saved_account_exists,
    scrub,
)
from faqnas_qiskit.hardware.simulators import fake_backend

__all__ = ["IBMRuntimeAdapter"]

#: Reads of ``job.usage()`` while it still says 0 (IBM computes usage after the job is done).
_USAGE_ATTEMPTS = 3


class IBMRuntimeAdapter(BackendAdapter):
    """IBM Quantum hardware through Qiskit Runtime (one job per architecture, batch mode).

    Args:
        profile: An ``ibm_runtime`` profile.
        service: A :class:`RuntimeGateway`, or a ``QiskitRuntimeService`` (wrapped), or None.
        credentials: Used to connect when no ``service`` is given.
        connect: Opens a gateway from credentials (default: :func:`connect_ibm`).
    """

    kind = AdapterKind.IBM_RUNTIME
    predicts_qpu = True
    bills_qpu = True

    def __init__(
        self,
        profile: BackendProfile,
        *,
        service: Any = None,
        credentials: IBMCredentials | None = None,
        connect: Callable[[IBMCredentials], RuntimeGateway] | None = None,
    ) -> None:
        super().__init__(profile)
        self.poll_interval_s = 5.0
        if service is not None and not isinstance(service, RuntimeGateway):
            service = IBMRuntimeGateway(service, resilience_level=profile.resilience_level)
        self._gateway: RuntimeGateway | None = service
        self._credentials = credentials
        self._connect = connect or connect_ibm
        self._device: BackendV2 | None = None
        self._usable: bool | None = None

    def _has_credentials(self) -> bool:
        """A token, or a saved account that exists on disk (checked once, no network)."""
        if self._usable is None:
            given = self._credentials
            if given is None or not given.present:
                self._usable = False
            elif given.token is not None or self._connect is not connect_ibm:
                self._usable = True
            else:
                self._usable = saved_account_exists(given)
        return self._usable

    def credentials(self, *, dry_run: bool) -> str | None:
        """``"service"``, the credentials' description, or None in a dry run without any.

        Raises:
            CredentialsError: No service and no usable credentials, outside a dry run.
        """
        if self._gateway is not None:
            return "service"
        if self._credentials is not None and self._has_credentials():
            return self._credentials.describe()
        named = None if self._credentials is None else self._credentials.account
        if named is not None:  # a name the user typed must exist, dry run or not
            raise CredentialsError(
                invalid(
                    "account",
                    "the name of a saved Qiskit account",
                    named,
                    "Save it with QiskitRuntimeService.save_account(token=..., "
                    f"name={named!r}), pass another --account, or drop --account.",
                    what="option",
                )
            )
        if dry_run:
            return None
        raise CredentialsError(
            f"The IBM Quantum credentials must be given for the hardware profile "
            f"{self.profile.name!r}. Got none (no token, no saved account) instead. Set "
            "QISKIT_IBM_TOKEN (and QISKIT_IBM_INSTANCE), or save an account with "
            "QiskitRuntimeService.save_account; or use --dry-run to price the run offline."
        )

    def gateway(self) -> RuntimeGateway:
        """The gateway (connecting with the credentials on first use).

        Raises:
            CredentialsError: If there is neither a service nor credentials, or they fail.
        """
        if self._gateway is None:
            if self._credentials is None or not self._has_credentials():
                self.credentials(dry_run=False)
            assert self._credentials is not None
            token = self._credentials.token
            try:
                self._gateway = self._connect(self._credentials)
            except CredentialsError:
                raise
            except Exception as exc:
                raise CredentialsError(
                    f"The IBM Quantum credentials must open a service. Got "
                    f"{self._credentials.describe()}, which failed "
                    f"({scrub(one_line(exc), token)}). Check the network connection to IBM "
                    "Quantum first, then the token and instance; --dry-run without "
                    "credentials prices the run offline."
                ) from None
        return self._gateway

    def _load_target(self, *, dry_run: bool) -> tuple[BackendV2, str]:
        if self._gateway is None and dry_run and not self._has_credentials():
            if self.profile.snapshot is None:
                raise CredentialsError(
                    invalid(
                        "snapshot",
                        "set for a dry run without IBM Quantum credentials",
                        None,
                        f'Add snapshot = "fake_..." to the profile {self.profile.name!r}, or '
                        "give credentials.",
                        what="field of the profile",
                    )
                )
            return fake_backend(self.profile.snapshot, field="snapshot"), "snapshot"
        if self._device is None:
            self._device = self.gateway().backend(self.profile.backend)
        return self._device, "device"

    def _open(self) -> AbstractContextManager[Submitter]:
        backend, _ = self.target(dry_run=False)
        return self.gateway().batch(backend)

    def _find(self, tags: Sequence[str]) -> str | None:
        try:
            return self.gateway().find_job(tags, self.profile.backend)
        except CredentialsError:
            raise
        except Exception as exc:
            raise HardwareError(
                f"IBM Quantum must answer whether a job tagged {', '.join(tags)} exists (an "
                f"earlier call planned it and may have submitted it). Got {one_line(exc)} "
                "instead. Nothing was submitted; try again later."
            ) from None

    def _fetch(self, job_id: str) -> RuntimeJob | None:
        try:
            return self.gateway().job(job_id)
        except CredentialsError:
            raise
        except Exception as exc:
            raise HardwareError(
                f"The job {job_id} must be retrievable from IBM Quantum. Got {one_line(exc)} "
                "instead. Its id stays stored; resume again later."
            ) from None

    def _usage(self, job: RuntimeJob) -> tuple[float, bool]:
        # job.usage() reads 0 until IBM has finished computing it: ask a few times
        usage = getattr(job, "usage", None)
        seconds = 0.0
        for attempt in range(_USAGE_ATTEMPTS):
            value = usage() if callable(usage) else None
            if isinstance(value, (int, float)) and value > 0:
                seconds = float(value)
                break
            if attempt + 1 < _USAGE_ATTEMPTS:
                time.sleep(self.poll_interval_s)
        return seconds, True
