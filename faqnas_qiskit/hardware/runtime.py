"""The network boundary to IBM Quantum: credentials, a gateway protocol, its Qiskit Runtime form.

Everything the hardware adapter asks of IBM Quantum goes through a :class:`RuntimeGateway`:

* ``backend(name)``: the device (its ``Target`` is the ISA of the transpiler);
* ``batch(backend)``: a context in batch execution mode (``qiskit_ibm_runtime.Batch``; Open Plan
  users cannot open sessions) that yields a :class:`Submitter`;
* ``job(job_id)``: a job submitted earlier, by its id (``QiskitRuntimeService.job``), to fetch its
  result instead of paying for it again.

A job answers ``job_id()``, ``status()``, ``result()`` and ``usage()`` (QPU seconds).
:class:`IBMRuntimeGateway` implements the protocol on a ``QiskitRuntimeService`` with the
estimator of qiskit-ibm-runtime: the client-side ``executor_estimator.Estimator`` where it exists
(0.50 and later, where the legacy ``EstimatorV2`` is deprecated), the legacy ``EstimatorV2``
before. Tests replace the whole gateway with a stand-in; nothing else touches the network.

The library never reads the environment: the caller (the CLI) passes an :class:`IBMCredentials`
built from what it read, or a ready service. The token is kept out of ``repr``, logs, the store
and error messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from qiskit.providers import BackendV2

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.hardware.errors import CredentialsError, HardwareError

__all__ = [
    "CHANNELS",
    "FINAL_STATES",
    "IBMCredentials",
    "IBMRuntimeGateway",
    "RuntimeGateway",
    "RuntimeJob",
    "SecretFilter",
    "Submitter",
    "connect_ibm",
    "job_state",
    "saved_account_exists",
    "scrub",
]

log = logging.getLogger(__name__)

#: Channels of ``QiskitRuntimeService`` (qiskit-ibm-runtime 0.51).
CHANNELS: tuple[str, ...] = ("ibm_quantum_platform", "ibm_cloud")

#: Job states after which nothing changes.
FINAL_STATES = frozenset({"DONE", "ERROR", "CANCELLED"})


@runtime_checkable
class RuntimeJob(Protocol):
    """A submitted primitive job (``RuntimeJobV2``, a local job, or a test stand-in)."""

    def job_id(self) -> str:
        """The provider's id of the job."""
        ...

    def status(self) -> Any:
        """``"QUEUED"``, ``"RUNNING"``, ``"DONE"``, ``"ERROR"``, ``"CANCELLED"`` (str or enum)."""
        ...

    def result(self) -> Any:
        """The ``PrimitiveResult`` (blocks until the job is final; raises if it failed)."""
        ...


class Submitter(Protocol):
    """Submits estimator PUBs as one job inside an open batch."""

    def __call__(self, pubs: Sequence[Any], *, shots: int, tags: Sequence[str]) -> RuntimeJob:
        """Submit ``pubs`` at ``shots`` per execution, with job ``tags``; return the job."""
        ...


@runtime_checkable
class RuntimeGateway(Protocol):
    """What the hardware adapter needs from IBM Quantum (the only network boundary)."""

    def backend(self, name: str) -> BackendV2:
        """The device ``name`` (its target is the ISA)."""
        ...

    def batch(self, backend: BackendV2) -> AbstractContextManager[Submitter]:
        """Open batch execution mode on ``backend``; yields a submitter."""
        ...

    def job(self, job_id: str) -> RuntimeJob:
        """A job submitted earlier, by id."""
        ...

    def find_job(self, tags: Sequence[str], backend: str) -> str | None:
        """The id of the newest job on ``backend`` that carries every one of ``tags``."""
        ...


def job_state(job: RuntimeJob) -> str:
    """The job's status as an upper-case name (``JobStatus.DONE`` and ``"DONE"`` both -> DONE)."""
    status = job.status()
    name = getattr(status, "name", status)
    return str(name).upper()


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***``."""
    if secret:
        return text.replace(secret, "***")
    return text


class SecretFilter(logging.Filter):
    """A logging filter that replaces a secret by ``***`` in every record it sees.

    The CLI adds one to its log handlers when it has read a token, so that no library, ours or a
    dependency logging at debug level, can write the token to a log.

    Args:
        secret: The text to hide (an empty secret hides nothing).
    """

    def __init__(self, secret: str | None) -> None:
        super().__init__()
        self._secret = secret or ""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` without the secret; never drops a record."""
        if self._secret:
            message = record.getMessage()
            if self._secret in message:
                record.msg = message.replace(self._secret, "***")
                record.args = ()
            if record.exc_info and record.exc_info[1] is not None:
                text = str(record.exc_info[1])
                if self._secret in text:
                    record.exc_info = None
                    record.exc_text = None
        return True


@dataclass(frozen=True)
class IBMCredentials:
    """How to reach IBM Quantum; built by the caller (the CLI reads the environment).

    Exactly one way is used: a ``token`` (with ``channel`` and ``instance``), or a saved account
    (``QiskitRuntimeService.save_account``), by ``account`` name or the default one when
    ``use_saved_account`` is set.

    Attributes:
        token: API key; never shown by ``repr``/``str`` and never stored or logged.
        instance: Instance CRN or name, or None (the service picks one).
        channel: ``"ibm_quantum_platform"`` (default) or ``"ibm_cloud"``.
        account: Name of a saved account, or None.
        use_saved_account: Use the default saved account when there is no token or name.
        account_file: File of the saved accounts (default: qiskit-ibm-runtime's,
            ``~/.qiskit/qiskit-ibm.json``).
    """

    token: str | None = field(default=None, repr=False)
    instance: str | None = None
    channel: str = "ibm_quantum_platform"
    account: str | None = None
    use_saved_account: bool = False
    account_file: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise CredentialsError(
                invalid("channel", f"one of {', '.join(CHANNELS)}", self.channel, what="option")
            )
        if self.token is not None and (not isinstance(self.token, str) or not self.token.strip()):
            raise CredentialsError(
                "The IBM Quantum token must be a non-empty string. Got an empty one instead. "
                "Set QISKIT_IBM_TOKEN or save an account."
            )

    @property
    def present(self) -> bool:
        """Whether these credentials name a way in (a token, a named or a default account)."""
        return self.token is not None or self.account is not None or self.use_saved_account

    def describe(self) -> str:
        """Where the credentials come from, without the secret."""
        if self.token is not None:
            return f"token ({self.channel})"
        if self.account is not None:
            return f"saved account {self.account!r}"
        return "default saved account"

    def __str__(self) -> str:
        return f"IBMCredentials({self.describe()})"


def saved_account_exists(credentials: IBMCredentials) -> bool:
    """Whether the saved account these credentials name exists on disk (no network).

    Only the presence is returned: the saved entries hold tokens and are not kept.
    """
    from qiskit_ibm_runtime import QiskitRuntimeService

    try:
        if credentials.account is not None:
            found = QiskitRuntimeService.saved_accounts(
                filename=credentials.account_file, name=credentials.account
            )
        else:
            found = QiskitRuntimeService.saved_accounts(
                filename=credentials.account_file,
                channel=credentials.channel,  # type: ignore[arg-type]
            )
    except Exception:  # no file, unreadable file, unknown name
        return False
    return bool(found)


def connect_ibm(credentials: IBMCredentials) -> IBMRuntimeGateway:
    """Open a ``QiskitRuntimeService`` with ``credentials`` and wrap it in a gateway.

    Raises:
        CredentialsError: If the service refuses the credentials or no saved account exists
            (the message never holds the token).
    """
    from qiskit_ibm_runtime import QiskitRuntimeService

    try:
        if credentials.token is not None:
            service = QiskitRuntimeService(
                channel=credentials.channel,  # type: ignore[arg-type]
                token=credentials.token,
                instance=credentials.instance,
            )
        elif credentials.account is not None:
            service = QiskitRuntimeService(
                name=credentials.account,
                instance=credentials.instance,
                filename=credentials.account_file,
            )
        else:
            service = QiskitRuntimeService(
                channel=credentials.channel,  # type: ignore[arg-type]
                instance=credentials.instance,
                filename=credentials.account_file,
            )
    except Exception as exc:
        reason = scrub(f"{type(exc).__name__}: {exc}", credentials.token).replace("\n", " ")
        raise CredentialsError(
            f"The IBM Quantum credentials must open a service. Got {credentials.describe()}, "
            f"which failed ({reason}). Check the network connection to IBM Quantum first (the "
            "service answers a bad token and no connection alike), then QISKIT_IBM_TOKEN / "
            "QISKIT_IBM_INSTANCE or your saved account; --dry-run without credentials prices "
            "the run offline."
        ) from None
    return IBMRuntimeGateway(service)


def _estimator_class() -> Callable[..., Any]:
    try:  # qiskit-ibm-runtime >= 0.50: the client-side Estimator, not deprecated
        from qiskit_ibm_runtime.executor_estimator import Estimator

        return Estimator  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - older qiskit-ibm-runtime
        from qiskit_ibm_runtime import EstimatorV2

        return EstimatorV2  # type: ignore[no-any-return]


class IBMRuntimeGateway:
    """:class:`RuntimeGateway` over a ``QiskitRuntimeService`` (or anything with its
    ``backend(name)`` and ``job(job_id)``).

    Args:
        service: The service.
        resilience_level: Estimator resilience level of every job.
    """

    def __init__(self, service: Any, *, resilience_level: int = 0) -> None:
        self.service = service
        self.resilience_level = resilience_level

    def backend(self, name: str) -> BackendV2:
        """``service.backend(name)``.

        Raises:
            HardwareError: If the service does not know the backend or cannot be reached.
        """
        try:
            return self.service.backend(name)  # type: ignore[no-any-return]
        except Exception as exc:
            raise HardwareError(
                f"The backend {name!r} must be available to your IBM Quantum account. Got "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} instead. "
                "Check the name in the profile and your instance."
            ) from None

    @contextmanager
    def _batch(self, backend: BackendV2) -> Iterator[Submitter]:
        from qiskit_ibm_runtime import Batch

        estimator_class = _estimator_class()
        with Batch(backend=backend) as batch:

            def submit(pubs: Sequence[Any], *, shots: int, tags: Sequence[str]) -> RuntimeJob:
                estimator = estimator_class(mode=batch)
                estimator.options.default_shots = shots
                estimator.options.resilience_level = self.resilience_level
                estimator.options.environment.job_tags = list(tags)
                return estimator.run(list(pubs))  # type: ignore[no-any-return]

            yield submit

    def batch(self, backend: BackendV2) -> AbstractContextManager[Submitter]:
        """Open ``Batch(backend=backend)``; the yielded submitter runs the estimator in it."""
        return self._batch(backend)

    def job(self, job_id: str) -> RuntimeJob:
        """``service.job(job_id)``."""
        return self.service.job(job_id)  # type: ignore[no-any-return]

    def find_job(self, tags: Sequence[str], backend: str) -> str | None:
        """``service.jobs(job_tags=tags, backend_name=backend, limit=1)``: the newest match."""
        jobs = self.service.jobs(job_tags=list(tags), backend_name=backend, limit=1)
        return str(jobs[0].job_id()) if jobs else None
