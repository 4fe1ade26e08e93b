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
simulation from a fake IBM backend's calibration snapshot, noise built once per backend) and
:class:`IBMRuntimeAdapter` (IBM Quantum through a :class:`RuntimeGateway`). The simulators run
Qiskit's ``BackendEstimatorV2`` on an ``AerSimulator`` (what qiskit-ibm-runtime's local testing
mode runs), with real shot sampling.
"""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from qiskit.primitives import BackendEstimatorV2
from qiskit.providers import BackendV2

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.hardware.errors import (
    CredentialsError,
    HardwareError,
    PreflightError,
    ProfileError,
)
from faqnas_qiskit.hardware.isa import predicted_qpu_seconds, to_isa
from faqnas_qiskit.hardware.noise import DeviceNoise
from faqnas_qiskit.hardware.plan import (
    Action,
    JobOutcome,
    JobState,
    PlannedArchitecture,
    ReevaluationPlan,
)
from faqnas_qiskit.hardware.profiles import AdapterKind, BackendProfile
from faqnas_qiskit.hardware.record import QPU_USAGE_SIMULATOR, QPU_USAGE_SOURCE, HardwareRecord
from faqnas_qiskit.hardware.runtime import (
    FINAL_STATES,
    IBMCredentials,
    IBMRuntimeGateway,
    RuntimeGateway,
    RuntimeJob,
    Submitter,
    connect_ibm,
    job_state,
    saved_account_exists,
    scrub,
)
from faqnas_qiskit.metrics import DEFAULT_REP_DELAY_S, TargetInfo

__all__ = [
    "AerAdapter",
    "BackendAdapter",
    "FakeBackendAdapter",
    "IBMRuntimeAdapter",
    "fake_backend",
    "make_adapter",
]

log = logging.getLogger(__name__)

#: Actions whose architectures run a job (restored model, ISA circuit).
_ACTIVE = (Action.SUBMIT, Action.FETCH)
#: A job whose status cannot be read this many times in a row stops the wait.
_MAX_STATUS_ERRORS = 5
#: Reads of ``job.usage()`` while it still says 0 (IBM computes usage after the job is done).
_USAGE_ATTEMPTS = 3


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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class BackendAdapter(ABC):
    """Preflight, run and record forward-only re-evaluations on one backend profile.

    Subclasses say where the target comes from, how jobs are submitted and fetched, and how QPU
    usage is read; the three steps are shared.

    Args:
        profile: The backend profile.

    Attributes:
        profile: The backend profile.
        poll_interval_s: Seconds between status checks while waiting for jobs.
    """

    kind: ClassVar[AdapterKind]
    #: Whether the profile's target is a device whose QPU time can be predicted.
    predicts_qpu: ClassVar[bool] = False
    #: Whether jobs run on (and bill) a QPU.
    bills_qpu: ClassVar[bool] = False

    def __init__(self, profile: BackendProfile) -> None:
        if profile.adapter != self.kind:
            raise ProfileError(
                invalid("adapter", repr(self.kind), profile.adapter, what="field of the profile")
            )
        self.profile = profile
        self.poll_interval_s = 0.01
        self._targets: dict[bool, tuple[BackendV2, str]] = {}
        self._infos: dict[int, TargetInfo] = {}

    # -------------------------------------------------------------------------------- target
    @abstractmethod
    def _load_target(self, *, dry_run: bool) -> tuple[BackendV2, str]:
        """The backend whose ISA to transpile to, and its source (simulator/device/snapshot)."""

    def target(self, *, dry_run: bool = False) -> tuple[BackendV2, str]:
        """The transpilation target and where it comes from (cached per adapter)."""
        if dry_run not in self._targets:
            self._targets[dry_run] = self._load_target(dry_run=dry_run)
        return self._targets[dry_run]

    def credentials(self, *, dry_run: bool) -> str | None:
        """A description of the credentials in use (hardware), or None.

        Raises:
            CredentialsError: For hardware without credentials, unless ``dry_run``.
        """
        return None

    def target_info(self, backend: BackendV2) -> TargetInfo:
        """The metrics package's view of ``backend`` (pass managers, counts), built once."""
        info = self._infos.get(id(backend))
        if info is None:
            info = TargetInfo.from_backend(backend)
            self._infos[id(backend)] = info
        return info

    def rep_delay_s(self, backend: BackendV2) -> float:
        """Delay after every shot, seconds: the profile's, else the backend's default."""
        if self.profile.rep_delay_s is not None:
            return self.profile.rep_delay_s
        value = self.target_info(backend).rep_delay_s
        return DEFAULT_REP_DELAY_S if value is None else value

    # ----------------------------------------------------------------------------- preflight
    def preflight(
        self,
        run_id: str,
        items: Sequence[PlannedArchitecture],
        *,
        shots: int,
        n_samples: int,
        max_qpu_seconds: float | None = None,
        dry_run: bool = False,
    ) -> ReevaluationPlan:
        """Check everything before anything is submitted; return the plan.

        Args:
            run_id: The search run.
            items: Architectures with their action decided (``submit``/``fetch`` items carry a
                restored :class:`~faqnas_qiskit.hardware.forward.Architecture`).
            shots: Shots per circuit execution.
            n_samples: Test samples per architecture.
            max_qpu_seconds: Budget of predicted QPU seconds for the jobs to submit; None takes
                the profile's ``limits.max_qpu_seconds``.
            dry_run: Plan only: hardware without credentials uses the calibration snapshot, and
                a budget overrun is reported in the plan instead of raised.

        Raises:
            CredentialsError: Hardware without credentials (not in a dry run).
            PreflightError: A job already submitted to a billing backend that is not resumed
                (even in a dry run), too many qubits, no ISA, or predicted QPU seconds over
                budget.
        """
        profile = replace(self.profile, shots=shots)
        credentials = self.credentials(dry_run=dry_run)
        for item in items:
            if item.resubmits is not None and self.bills_qpu:
                raise PreflightError(
                    invalid(
                        "resume",
                        f"set: {item.key} was already submitted to {profile.name} as job "
                        f"{item.resubmits}",
                        False,
                        "Pass --resume to fetch its result instead of paying for it again.",
                        what="option",
                    )
                )
        limit = profile.limits.max_qubits
        for item in items:
            if item.action in _ACTIVE and item.n_qubits > limit:
                raise PreflightError(
                    invalid(
                        "genome",
                        f"at most {limit} qubits on {profile.name} (its limits.max_qubits)",
                        f"{item.key} with {item.n_qubits} qubits",
                        "Leave it out (pick architectures with --genome) or use a profile "
                        "with a larger limit.",
                        what="option",
                    )
                )
        active = [i for i in items if i.action in _ACTIVE]
        backend, source = self.target(dry_run=dry_run) if active else (None, "none")
        planned = []
        for item in items:
            if item.action not in _ACTIVE:
                planned.append(item)
                continue
            assert backend is not None and item.architecture is not None
            if item.n_qubits > backend.num_qubits:
                raise PreflightError(
                    invalid(
                        "genome",
                        f"at most the {backend.num_qubits} qubits of {backend.name}",
                        f"{item.key} with {item.n_qubits} qubits",
                        "Leave it out or use a larger backend.",
                        what="option",
                    )
                )
            isa = to_isa(
                item.architecture.hqnn,
                self.target_info(backend),
                optimization_level=profile.optimization_level,
                seed_transpiler=profile.seed_transpiler,
            )
            predicted = None
            if self.predicts_qpu:
                predicted = predicted_qpu_seconds(
                    isa.metrics,
                    samples=item.architecture.n_samples,
                    shots=shots,
                    rep_delay_s=self.rep_delay_s(backend),
                    job_overhead_s=profile.job_overhead_s,
                )
            planned.append(
                replace(
                    item,
                    n_samples=item.architecture.n_samples,
                    metrics=isa.metrics,
                    physical_qubits=isa.physical_qubits,
                    predicted_qpu_s=predicted,
                    isa=isa,
                )
            )
        budget = max_qpu_seconds if max_qpu_seconds is not None else profile.limits.max_qpu_seconds
        plan = ReevaluationPlan(
            run_id=run_id,
            profile=profile,
            target=backend.name if backend is not None else profile.backend,
            target_source=source,
            shots=shots,
            n_samples=n_samples,
            items=tuple(planned),
            max_qpu_seconds=budget if self.predicts_qpu else None,
            credentials=credentials,
            dry_run=dry_run,
        )
        total = plan.predicted_qpu_s
        if plan.max_qpu_seconds is not None and total is not None and total > plan.max_qpu_seconds:
            message = invalid(
                "max-qpu-seconds",
                f"at least the {total:.1f} QPU seconds predicted for {len(plan.to_submit)} "
                f"job(s) of {n_samples} samples x {shots} shots on {plan.target}",
                plan.max_qpu_seconds,
                "Raise --max-qpu-seconds, lower --shots or --samples, or pick fewer "
                "architectures with --genome.",
                what="option",
            )
            if not dry_run:
                raise PreflightError(message)
            log.warning("%s", message)
        return plan

    # ----------------------------------------------------------------------------------- run
    @abstractmethod
    def _open(self) -> AbstractContextManager[Submitter]:
        """Open the execution context (a Batch on hardware); yields a submitter."""

    @abstractmethod
    def _fetch(self, job_id: str) -> RuntimeJob | None:
        """A job submitted earlier, or None if it cannot be fetched (a simulator's)."""

    @abstractmethod
    def _usage(self, job: RuntimeJob) -> tuple[float, bool]:
        """QPU seconds billed for a finished job, and whether it ran on a QPU."""

    def _seed(self, tags: Sequence[str]) -> int:
        # the run and genome tags only: the same simulator seed whatever the shots and samples
        return derive_seed(self.profile.seed_transpiler, *tags[:2]) % (2**31)

    def _find(self, tags: Sequence[str]) -> str | None:
        """The id of a job submitted earlier with ``tags``, or None (simulators: never)."""
        return None

    def run(
        self,
        plan: ReevaluationPlan,
        *,
        on_submitted: Callable[[PlannedArchitecture, str], None],
        on_fetching: Callable[[PlannedArchitecture], None] | None = None,
        on_recovered: Callable[[PlannedArchitecture, str], None] | None = None,
        timeout_s: float | None = None,
    ) -> Iterator[JobOutcome]:
        """Submit the plan's ``submit`` jobs, fetch its ``fetch`` jobs, and yield outcomes.

        Outcomes come as jobs finish (any order). A failed job is an outcome, not an exception,
        so the other architectures go on.

        Args:
            plan: A plan from :meth:`preflight` (not a dry run).
            on_submitted: Called with the item and job id the moment a job is accepted.
            on_fetching: Called when a job submitted earlier was found by its id.
            on_recovered: Called with the item and job id when a job an earlier call had
                submitted without storing its id was found by its tags (billing adapters,
                items planned before); ``on_submitted`` is called instead when None.
            timeout_s: Stop waiting after this many seconds; unfinished jobs come back as
                ``pending`` (their ids are stored; resume later). None waits until done.

        Raises:
            HardwareError: If a job's status cannot be read repeatedly (the jobs stay stored).
        """
        if plan.dry_run:
            raise HardwareError("A dry-run plan must not be run. Make a plan with dry_run=False.")
        waiting: dict[str, tuple[PlannedArchitecture, RuntimeJob, float]] = {}
        to_submit = list(plan.to_submit)
        for item in plan.items:
            if item.action != Action.FETCH:
                continue
            assert item.job_id is not None
            job = self._fetch(item.job_id)
            if job is None:
                log.info("job %s of %s cannot be fetched here; resubmitting", item.job_id, item.key)
                to_submit.append(item)
                continue
            if on_fetching is not None:
                on_fetching(item)
            waiting[item.key] = (item, job, time.perf_counter())
        if to_submit:
            with self._open() as submit:
                for item in to_submit:
                    assert item.isa is not None and item.architecture is not None
                    tags = (
                        f"faqnas:{plan.run_id}",
                        f"genome:{item.key}",
                        f"shots:{plan.shots}",
                        f"samples:{item.architecture.n_samples}",
                    )
                    if item.planned_before and self.bills_qpu:
                        earlier = self._recover(item, tags)
                        if earlier is not None:
                            (on_recovered or on_submitted)(item, str(earlier.job_id()))
                            waiting[item.key] = (item, earlier, time.perf_counter())
                            continue
                    pub = (
                        item.isa.circuit,
                        [[o] for o in item.isa.observables],
                        item.architecture.parameter_values(item.isa.circuit.parameters),
                    )
                    started = time.perf_counter()
                    try:
                        job = submit([pub], shots=plan.shots, tags=tags)
                        job_id = str(job.job_id())
                    except Exception as exc:  # nothing was accepted: report, go on
                        log.warning("submitting %s failed: %s", item.key, _one_line(exc))
                        yield JobOutcome(item.key, "", JobState.FAILED, error=_one_line(exc))
                        continue
                    on_submitted(item, job_id)
                    waiting[item.key] = (item, job, started)
        yield from self._wait(waiting, timeout_s)

    def _recover(self, item: PlannedArchitecture, tags: Sequence[str]) -> RuntimeJob | None:
        """A job an earlier call had accepted but not stored (a crash in between), or None."""
        job_id = self._find(tags)
        if job_id is None:
            return None
        log.info("%s was submitted earlier as job %s (found by its tags)", item.key, job_id)
        return self._fetch(job_id)

    def _wait(
        self,
        waiting: dict[str, tuple[PlannedArchitecture, RuntimeJob, float]],
        timeout_s: float | None,
    ) -> Iterator[JobOutcome]:
        deadline = None if timeout_s is None else time.perf_counter() + timeout_s
        errors: dict[str, int] = {}
        while waiting:
            finished = False
            for key, (item, job, started) in list(waiting.items()):
                try:
                    state = job_state(job)
                    errors.pop(key, None)
                except Exception as exc:
                    errors[key] = errors.get(key, 0) + 1
                    log.warning("status of job %s: %s", job.job_id(), _one_line(exc))
                    if errors[key] >= _MAX_STATUS_ERRORS:
                        raise HardwareError(
                            f"The status of job {job.job_id()} ({key}) must be readable. Got "
                            f"{_one_line(exc)} {errors[key]} times instead. Its id is stored: "
                            "resume later."
                        ) from None
                    continue
                if state not in FINAL_STATES:
                    continue
                del waiting[key]
                finished = True
                yield self._outcome(item, job, state, started)
            if waiting and deadline is not None and time.perf_counter() >= deadline:
                for key, (_, job, _) in waiting.items():
                    yield JobOutcome(key, str(job.job_id()), JobState.PENDING)
                return
            if waiting and not finished:
                time.sleep(self.poll_interval_s)

    def _outcome(
        self, item: PlannedArchitecture, job: RuntimeJob, state: str, started: float
    ) -> JobOutcome:
        job_id = str(job.job_id())
        if state != "DONE":
            reason = ""
            message = getattr(job, "error_message", None)
            if callable(message):
                try:
                    reason = str(message() or "")
                except Exception:  # the reason is a courtesy
                    reason = ""
            error = f"job {job_id} ended {state}" + (f": {reason}" if reason else "")
            return JobOutcome(item.key, job_id, JobState.FAILED, error=error.replace("\n", " "))
        try:
            result = job.result()
            evs = np.asarray(result[0].data.evs, dtype=np.float64)
            seconds, on_qpu = self._usage(job)
        except Exception as exc:
            return JobOutcome(item.key, job_id, JobState.FAILED, error=_one_line(exc))
        n = item.n_qubits
        if evs.ndim != 2 or evs.shape[0] != n:
            return JobOutcome(
                item.key,
                job_id,
                JobState.FAILED,
                error=f"job {job_id} returned expectation values of shape {evs.shape}; "
                f"expected ({n}, samples)",
            )
        return JobOutcome(
            item.key,
            job_id,
            JobState.DONE,
            expectations=evs.T.copy(),
            measured_qpu_s=seconds,
            on_qpu=on_qpu,
            wall_time_s=time.perf_counter() - started,
        )

    # -------------------------------------------------------------------------------- record
    def record(
        self, plan: ReevaluationPlan, item: PlannedArchitecture, outcome: JobOutcome
    ) -> HardwareRecord:
        """Score a finished job: post-layer, accuracy, and the record.

        Raises:
            HardwareError: If the outcome has no expectation values.
        """
        if outcome.state != JobState.DONE or outcome.expectations is None:
            raise HardwareError(
                f"The job of {item.key} must be done to be recorded. Got {outcome.state} instead."
            )
        started = time.perf_counter()
        architecture = item.architecture
        metrics = item.metrics
        assert architecture is not None and metrics is not None
        evs = outcome.expectations
        if evs.shape[0] != architecture.n_samples:
            # a job submitted earlier with fewer samples: score the same first samples
            architecture = architecture.subset(evs.shape[0])
        accuracy = architecture.accuracy(evs)
        mae = float(np.mean(np.abs(evs - architecture.exact_expectations)))
        return HardwareRecord(
            run_id=plan.run_id,
            genome=item.key,
            evaluation_id=item.evaluation_id,
            profile=plan.profile.name,
            adapter=plan.profile.adapter,
            backend=plan.target,
            shots=plan.shots,
            n_samples=architecture.n_samples,
            job_ids=(outcome.job_id,),
            physical_qubits=item.physical_qubits,
            two_qubit_gates=metrics.two_qubit_gates,
            two_qubit_depth=metrics.two_qubit_depth,
            depth=metrics.depth,
            size=metrics.size,
            ops=metrics.ops,
            duration_s=metrics.duration_s,
            predicted_qpu_s=item.predicted_qpu_s
            if evs.shape[0] == item.n_samples
            else self._repredict(plan, item, architecture.n_samples),
            measured_qpu_s=outcome.measured_qpu_s if outcome.on_qpu else 0.0,
            qpu_usage_source=QPU_USAGE_SOURCE if outcome.on_qpu else QPU_USAGE_SIMULATOR,
            wall_time_s=outcome.wall_time_s + (time.perf_counter() - started),
            accuracy=accuracy,
            simulator_accuracy=architecture.simulator_accuracy,
            expectation_mae=min(mae, 2.0),
            finished_at=time.time(),
        )

    def _repredict(
        self, plan: ReevaluationPlan, item: PlannedArchitecture, n_samples: int
    ) -> float | None:
        if not self.predicts_qpu or item.metrics is None:
            return None
        backend, _ = self.target(dry_run=plan.dry_run)
        return predicted_qpu_seconds(
            item.metrics,
            samples=n_samples,
            shots=plan.shots,
            rep_delay_s=self.rep_delay_s(backend),
            job_overhead_s=plan.profile.job_overhead_s,
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
                    f"({scrub(_one_line(exc), token)}). Check the network connection to IBM "
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
                f"earlier call planned it and may have submitted it). Got {_one_line(exc)} "
                "instead. Nothing was submitted; try again later."
            ) from None

    def _fetch(self, job_id: str) -> RuntimeJob | None:
        try:
            return self.gateway().job(job_id)
        except CredentialsError:
            raise
        except Exception as exc:
            raise HardwareError(
                f"The job {job_id} must be retrievable from IBM Quantum. Got {_one_line(exc)} "
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
