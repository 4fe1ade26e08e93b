"""Re-evaluate a run's trained architectures on a backend profile, never paying twice.

:func:`reevaluate` is the library entry point of ``faqnas hardware``. For each architecture (the
run's Pareto front by default) it reads the store's hardware job for (run, profile, key, shots):

* ``done``: the stored record is returned; the backend is not touched;
* ``submitted`` (a job id is stored): with ``resume`` the job is fetched by id and awaited; without
  it, hardware refuses (pass ``resume``) and a simulator simply runs again;
* ``failed``: reported as it is, or submitted again with ``retry_failed``;
* none yet, or ``planned`` (never submitted): submitted.

Nothing is submitted before preflight has passed; every planned row is written before its job is
submitted and gets its job id the moment the provider returns it, so an interruption at any
point loses no paid work: ``resume`` fetches what was submitted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from faqnas_qiskit.errors import ConfigError, FaqnasError, GenomeError, invalid
from faqnas_qiskit.hardware.adapters import BackendAdapter, make_adapter
from faqnas_qiskit.hardware.errors import HardwareError, PreflightError
from faqnas_qiskit.hardware.forward import prepare_architecture, restore_model
from faqnas_qiskit.hardware.plan import (
    Failure,
    JobOutcome,
    PlannedArchitecture,
    ProgressEvent,
    ReevaluationPlan,
    ReevaluationResult,
)
from faqnas_qiskit.hardware.profiles import MAX_SHOTS, BackendProfile, load_profile
from faqnas_qiskit.hardware.record import HardwareRecord
from faqnas_qiskit.hardware.runtime import IBMCredentials, RuntimeGateway
from faqnas_qiskit.search import Candidate, load_run
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import ResultsStore

__all__ = ["ProgressCallback", "reevaluate"]

log = logging.getLogger(__name__)

#: Receives one :class:`ProgressEvent` per step of each architecture.
ProgressCallback = Callable[[ProgressEvent], None]


def _check_options(shots: int | None, samples: int | None, max_qpu_seconds: float | None) -> None:
    if shots is not None and (
        isinstance(shots, bool) or not isinstance(shots, int) or not 1 <= shots <= MAX_SHOTS
    ):
        raise ConfigError(
            invalid(
                "shots",
                f"an integer from 1 to {MAX_SHOTS}",
                shots,
                "Pass e.g. --shots 1024.",
                what="option",
            )
        )
    if samples is not None and (
        isinstance(samples, bool) or not isinstance(samples, int) or samples < 1
    ):
        raise ConfigError(
            invalid(
                "samples",
                "an integer of at least 1",
                samples,
                "Pass e.g. --samples 30, or leave it out for the whole test split.",
                what="option",
            )
        )
    if max_qpu_seconds is not None and (
        isinstance(max_qpu_seconds, bool)
        or not isinstance(max_qpu_seconds, (int, float))
        or not math.isfinite(max_qpu_seconds)
        or max_qpu_seconds <= 0
    ):
        raise ConfigError(
            invalid(
                "max-qpu-seconds",
                "a finite number of seconds > 0",
                max_qpu_seconds,
                "Pass e.g. --max-qpu-seconds 60.",
                what="option",
            )
        )


def _select(
    run_id: str, candidates: list[Candidate], front: list[Candidate], keys: Sequence[str] | None
) -> list[Candidate]:
    if keys is None:
        if not front:
            raise HardwareError(
                f"The run {run_id} must have a Pareto front to re-evaluate. Got none (no "
                "successful candidate yet). Finish or resume the search first."
            )
        return list(front)
    by_key = {c.key: c for c in candidates if c.ok}
    chosen: dict[str, Candidate] = {}
    for text in keys:
        try:
            key = Genome.parse(text).key
        except GenomeError as exc:
            raise ConfigError(str(exc)) from None
        if key not in by_key:
            known = ", ".join(c.key for c in front[:5]) or "none"
            raise ConfigError(
                invalid(
                    "genome",
                    f"an architecture trained successfully by run {run_id}",
                    text,
                    f"Its front: {known} (see 'faqnas front {run_id}').",
                    what="option",
                )
            )
        chosen.setdefault(key, by_key[key])
    if not chosen:
        raise ConfigError(invalid("genome", "at least one architecture", [], what="option"))
    return list(chosen.values())


def _emit(progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if progress is not None:
        progress(event)


def reevaluate(
    store: ResultsStore,
    run_id: str,
    profile: BackendProfile | str,
    *,
    keys: Sequence[str] | None = None,
    shots: int | None = None,
    samples: int | None = None,
    max_qpu_seconds: float | None = None,
    dry_run: bool = False,
    resume: bool = False,
    retry_failed: bool = False,
    service: Any = None,
    credentials: IBMCredentials | None = None,
    connect: Callable[[IBMCredentials], RuntimeGateway] | None = None,
    adapter: BackendAdapter | None = None,
    timeout_s: float | None = None,
    poll_interval_s: float | None = None,
    progress: ProgressCallback | None = None,
) -> ReevaluationResult:
    """Re-evaluate trained architectures of a run on a backend, forward-only, on the test split.

    Args:
        store: The results store (the run, its trained weights, the hardware jobs).
        run_id: The search run.
        profile: A :class:`BackendProfile`, a shipped profile name or a profile file path.
        keys: Genomes to re-evaluate (canonical strings); default: the run's Pareto front.
        shots: Shots per circuit execution; default: the profile's.
        samples: Evaluate the first ``samples`` test samples only; default: the whole test split.
        max_qpu_seconds: Budget of predicted QPU seconds for the jobs this call submits;
            default: the profile's ``limits.max_qpu_seconds``.
        dry_run: Preflight only: return the plan and its predicted cost, submit and store
            nothing. Hardware without credentials is planned on the profile's snapshot.
        resume: Fetch jobs submitted by an earlier call (by their stored ids) instead of
            refusing; wait for the running ones.
        retry_failed: Submit again the architectures whose stored job failed.
        service: For hardware: a :class:`RuntimeGateway` or a ``QiskitRuntimeService``.
        credentials: For hardware: how to connect when no ``service`` is given (the caller reads
            the environment; this function does not).
        connect: For hardware: opens a gateway from ``credentials`` (default: Qiskit Runtime).
        adapter: A ready adapter for ``profile`` (reuses its target and noise across calls).
        timeout_s: Stop waiting after this many seconds; unfinished jobs stay stored as
            submitted and come back in ``pending``. None waits until every job is final.
        poll_interval_s: Seconds between status checks (default: 5 on hardware, 0.01 locally).
        progress: Called with a :class:`ProgressEvent` per step of each architecture.

    Returns:
        The plan and, unless ``dry_run``, the records (new and stored, in plan order), the
        failures and the pending jobs.

    Raises:
        ProfileError: Unknown or invalid profile.
        CredentialsError: Hardware without a service or credentials (not in a dry run).
        PreflightError: Too many qubits, no ISA, predicted QPU seconds over budget, or jobs
            already submitted without ``resume`` (hardware) — all before anything is submitted.
        ConfigError: Bad options or genomes that the run did not train.
        HardwareError: The run has no front or no weights, or a stored job cannot be fetched.
    """
    started = time.perf_counter()
    if not isinstance(profile, BackendProfile):
        profile = load_profile(profile)
    _check_options(shots, samples, max_qpu_seconds)
    shots = profile.shots if shots is None else shots
    if adapter is None:
        adapter = make_adapter(profile, service=service, credentials=credentials, connect=connect)
    elif adapter.profile.name != profile.name:
        raise ConfigError(
            invalid(
                "adapter",
                f"an adapter of the profile {profile.name!r}",
                adapter.profile.name,
                what="parameter",
            )
        )
    if poll_interval_s is not None:
        adapter.poll_interval_s = max(0.0, float(poll_interval_s))
    adapter.credentials(dry_run=dry_run)  # missing credentials: refuse before loading anything

    _, config, candidates, front = load_run(store, run_id)
    chosen = _select(run_id, candidates, front, keys)
    items: list[PlannedArchitecture] = []
    for candidate in chosen:
        genome = Genome.parse(candidate.key)
        row = store.hardware_job(run_id, profile.name, candidate.key, shots, samples or 0)
        base: dict[str, Any] = {
            "key": candidate.key,
            "evaluation_id": candidate.evaluation.id,
            "n_qubits": genome.n_qubits,
        }
        if row is None or row.status == "planned":
            items.append(
                PlannedArchitecture(action="submit", planned_before=row is not None, **base)
            )
        elif row.status == "done":
            assert row.result is not None
            items.append(
                PlannedArchitecture(
                    action="stored",
                    job_id=row.job_id,
                    stored_record=HardwareRecord.from_dict(row.result),
                    **base,
                )
            )
        elif row.status == "failed" and not retry_failed:
            items.append(
                PlannedArchitecture(
                    action="failed", job_id=row.job_id, stored_error=row.error, **base
                )
            )
        elif row.status == "failed":
            items.append(PlannedArchitecture(action="submit", **base))
        elif resume:
            items.append(PlannedArchitecture(action="fetch", job_id=row.job_id, **base))
        elif adapter.bills_qpu:
            raise PreflightError(
                invalid(
                    "resume",
                    f"set: {candidate.key} was already submitted to {profile.name} as job "
                    f"{row.job_id}",
                    False,
                    "Pass --resume to fetch its result instead of paying for it again.",
                    what="option",
                )
            )
        else:  # a simulator's job from an earlier process: nothing was paid, run it again
            items.append(PlannedArchitecture(action="submit", **base))

    if any(item.action in ("submit", "fetch") for item in items):
        dataset = config.load_data()
        x_test, y_test = dataset.x_test, dataset.y_test
        if samples is not None:
            x_test, y_test = x_test[:samples], y_test[:samples]
        n_samples = int(y_test.shape[0])
        prepared = []
        for item in items:
            if item.action in ("submit", "fetch"):
                evaluation = store.evaluation_by_id(item.evaluation_id)
                assert evaluation is not None
                model = restore_model(
                    store,
                    evaluation,
                    n_features=dataset.n_features,
                    n_classes=dataset.n_classes,
                    double=config.training.double,
                )
                architecture = prepare_architecture(
                    item.key, item.evaluation_id, model, x_test, y_test
                )
                item = PlannedArchitecture(
                    key=item.key,
                    evaluation_id=item.evaluation_id,
                    n_qubits=item.n_qubits,
                    action=item.action,
                    job_id=item.job_id,
                    architecture=architecture,
                    planned_before=item.planned_before,
                )
            prepared.append(item)
        items = prepared
    else:
        n_samples = max((i.stored_record.n_samples for i in items if i.stored_record), default=0)

    plan = adapter.preflight(
        run_id,
        items,
        shots=shots,
        n_samples=n_samples,
        max_qpu_seconds=max_qpu_seconds,
        dry_run=dry_run,
    )
    total = len(plan.items)
    index = {item.key: n for n, item in enumerate(plan.items, start=1)}
    for item in plan.items:
        _emit(progress, ProgressEvent("planned", item.key, index[item.key], total, item.job_id))
    if dry_run:
        log.info(
            "dry run on %s: %d to submit, predicted %s QPU s",
            profile.name,
            len(plan.to_submit),
            plan.predicted_qpu_s,
        )
        return ReevaluationResult(plan, wall_time_s=time.perf_counter() - started)

    return _execute(store, adapter, plan, samples or 0, index, progress, timeout_s, started)


def _execute(
    store: ResultsStore,
    adapter: BackendAdapter,
    plan: ReevaluationPlan,
    samples_key: int,
    index: dict[str, int],
    progress: ProgressCallback | None,
    timeout_s: float | None,
    started: float,
) -> ReevaluationResult:
    total = len(plan.items)
    profile_json = plan.profile.to_dict()
    row_ids: dict[str, int] = {}
    records: dict[str, HardwareRecord] = {}
    failures: list[Failure] = []
    pending: list[str] = []
    by_key = {item.key: item for item in plan.items}
    reused = 0
    for item in plan.items:
        if item.action == "stored":
            assert item.stored_record is not None
            records[item.key] = item.stored_record
            reused += 1
            _emit(
                progress,
                ProgressEvent(
                    "stored",
                    item.key,
                    index[item.key],
                    total,
                    item.job_id,
                    record=item.stored_record,
                ),
            )
        elif item.action == "failed":
            error = item.stored_error or "failed"
            failures.append(Failure(item.key, item.job_id, error))
            _emit(
                progress,
                ProgressEvent("failed", item.key, index[item.key], total, item.job_id, error=error),
            )
        else:
            # the row exists before anything is submitted (never pay twice)
            row = store.plan_hardware_job(
                run_id=plan.run_id,
                backend=plan.profile.name,
                profile=profile_json,
                key=item.key,
                evaluation_id=item.evaluation_id,
                shots=plan.shots,
                samples=samples_key,
            )
            row_ids[item.key] = row.id

    counts = {"submitted": 0, "fetched": 0}

    def submitted(item: PlannedArchitecture, job_id: str) -> None:
        store.mark_hardware_submitted(row_ids[item.key], job_id)
        counts["submitted"] += 1
        log.info("%s submitted to %s as job %s", item.key, plan.target, job_id)
        _emit(progress, ProgressEvent("submitted", item.key, index[item.key], total, job_id))

    def fetching(item: PlannedArchitecture) -> None:
        counts["fetched"] += 1
        _emit(progress, ProgressEvent("fetching", item.key, index[item.key], total, item.job_id))

    def recovered(item: PlannedArchitecture, job_id: str) -> None:
        store.mark_hardware_submitted(row_ids[item.key], job_id)
        counts["fetched"] += 1
        log.info("%s: found job %s submitted by an earlier call, fetching it", item.key, job_id)
        _emit(progress, ProgressEvent("fetching", item.key, index[item.key], total, job_id))

    outcome: JobOutcome
    for outcome in adapter.run(
        plan,
        on_submitted=submitted,
        on_fetching=fetching,
        on_recovered=recovered,
        timeout_s=timeout_s,
    ):
        item = by_key[outcome.key]
        job_id = outcome.job_id or None
        if outcome.state == "pending":
            pending.append(outcome.key)
            _emit(progress, ProgressEvent("pending", item.key, index[item.key], total, job_id))
            continue
        if outcome.state == "done":
            try:
                record = adapter.record(plan, item, outcome)
            except FaqnasError as exc:
                outcome = JobOutcome(outcome.key, outcome.job_id, "failed", error=str(exc))
            else:
                store.finish_hardware_job(row_ids[item.key], result=record.to_dict(), error=None)
                records[item.key] = record
                _emit(
                    progress,
                    ProgressEvent("done", item.key, index[item.key], total, job_id, record=record),
                )
                continue
        error = outcome.error or "failed"
        store.finish_hardware_job(row_ids[item.key], result=None, error=error)
        failures.append(Failure(item.key, job_id, error))
        log.warning("%s failed on %s: %s", item.key, plan.target, error)
        _emit(
            progress, ProgressEvent("failed", item.key, index[item.key], total, job_id, error=error)
        )

    return ReevaluationResult(
        plan=plan,
        records=tuple(records[i.key] for i in plan.items if i.key in records),
        failures=tuple(sorted(failures, key=lambda f: index[f.key])),
        pending=tuple(sorted(pending, key=lambda k: index[k])),
        submitted=counts["submitted"],
        fetched=counts["fetched"],
        reused=reused,
        wall_time_s=time.perf_counter() - started,
    )
