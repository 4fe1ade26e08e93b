"""The adapter interface: preflight, run and record, shared by every backend (DESIGN §8).

See :mod:`faqnas_qiskit.hardware.adapters` for the three steps and the adapters.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import ClassVar

import numpy as np
from qiskit.providers import BackendV2

from faqnas_qiskit.errors import invalid
from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.hardware.errors import HardwareError, PreflightError, ProfileError
from faqnas_qiskit.hardware.isa import predicted_qpu_seconds, to_isa
from faqnas_qiskit.hardware.plan import (
    JobOutcome,
    JobState,
    PlannedArchitecture,
    PlannedFetch,
    PlannedJob,
    PlannedSubmit,
    ReevaluationPlan,
)
from faqnas_qiskit.hardware.profiles import AdapterKind, BackendProfile
from faqnas_qiskit.hardware.record import QPU_USAGE_SIMULATOR, QPU_USAGE_SOURCE, HardwareRecord
from faqnas_qiskit.hardware.runtime import FINAL_STATES, RuntimeJob, Submitter, job_state
from faqnas_qiskit.metrics import DEFAULT_REP_DELAY_S, TargetInfo

__all__ = ["BackendAdapter", "one_line"]

log = logging.getLogger(__name__)

#: A job whose status cannot be read this many times in a row stops the wait.
_MAX_STATUS_ERRORS = 5


def one_line(exc: BaseException) -> str:
    """``"<Type>: <first line>"`` of an exception."""
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
            items: Architectures with their action decided (a ``submit``/``fetch`` item, a
                :class:`~faqnas_qiskit.hardware.plan.PlannedJob`, carries its restored
                :class:`~faqnas_qiskit.hardware.forward.Architecture`; preflight adds its ISA
                circuit and predicted QPU seconds).
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
            if isinstance(item, PlannedSubmit) and item.resubmits is not None and self.bills_qpu:
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
            if isinstance(item, PlannedJob) and item.n_qubits > limit:
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
        active = [i for i in items if isinstance(i, PlannedJob)]
        backend, source = self.target(dry_run=dry_run) if active else (None, "none")
        planned: list[PlannedArchitecture] = []
        for item in items:
            if not isinstance(item, PlannedJob):
                planned.append(item)
                continue
            assert backend is not None
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
            planned.append(replace(item, isa=isa, predicted_qpu_s=predicted))
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
        # the genome tag only (``tags[1]``): the same simulator seed whatever the shots, the
        # samples and the run id, which is random, so re-evaluating the same trained weights
        # in another store (a rerun of the same search) draws the same shots
        return derive_seed(self.profile.seed_transpiler, tags[1]) % (2**31)

    def _find(self, tags: Sequence[str]) -> str | None:
        """The id of a job submitted earlier with ``tags``, or None (simulators: never)."""
        return None

    def run(
        self,
        plan: ReevaluationPlan,
        *,
        on_submitted: Callable[[PlannedJob, str], None],
        on_fetching: Callable[[PlannedFetch], None] | None = None,
        on_recovered: Callable[[PlannedSubmit, str], None] | None = None,
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
        waiting: dict[str, tuple[PlannedJob, RuntimeJob, float]] = {}
        to_submit: list[PlannedJob] = list(plan.to_submit)
        for fetch in (i for i in plan.items if isinstance(i, PlannedFetch)):
            job = self._fetch(fetch.job_id)
            if job is None:
                log.info(
                    "job %s of %s cannot be fetched here; resubmitting", fetch.job_id, fetch.key
                )
                to_submit.append(fetch)
                continue
            if on_fetching is not None:
                on_fetching(fetch)
            waiting[fetch.key] = (fetch, job, time.perf_counter())
        if to_submit:
            with self._open() as submit:
                for item in to_submit:
                    assert item.isa is not None  # preflight's
                    tags = (
                        f"faqnas:{plan.run_id}",
                        f"genome:{item.key}",
                        f"shots:{plan.shots}",
                        f"samples:{item.architecture.n_samples}",
                    )
                    if isinstance(item, PlannedSubmit) and item.planned_before and self.bills_qpu:
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
                        log.warning("submitting %s failed: %s", item.key, one_line(exc))
                        yield JobOutcome(item.key, "", JobState.FAILED, error=one_line(exc))
                        continue
                    on_submitted(item, job_id)
                    waiting[item.key] = (item, job, started)
        yield from self._wait(waiting, timeout_s)

    def _recover(self, item: PlannedSubmit, tags: Sequence[str]) -> RuntimeJob | None:
        """A job an earlier call had accepted but not stored (a crash in between), or None."""
        job_id = self._find(tags)
        if job_id is None:
            return None
        log.info("%s was submitted earlier as job %s (found by its tags)", item.key, job_id)
        return self._fetch(job_id)

    def _wait(
        self,
        waiting: dict[str, tuple[PlannedJob, RuntimeJob, float]],
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
                    log.warning("status of job %s: %s", job.job_id(), one_line(exc))
                    if errors[key] >= _MAX_STATUS_ERRORS:
                        raise HardwareError(
                            f"The status of job {job.job_id()} ({key}) must be readable. Got "
                            f"{one_line(exc)} {errors[key]} times instead. Its id is stored: "
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

    def _outcome(self, item: PlannedJob, job: RuntimeJob, state: str, started: float) -> JobOutcome:
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
            return JobOutcome(item.key, job_id, JobState.FAILED, error=one_line(exc))
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
        self, plan: ReevaluationPlan, item: PlannedJob, outcome: JobOutcome
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

    def _repredict(self, plan: ReevaluationPlan, item: PlannedJob, n_samples: int) -> float | None:
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
