"""Re-evaluate a run's trained architectures on a backend profile, never paying twice.

:func:`reevaluate` is the library entry point of ``faqnas hardware``. For each architecture (the
run's Pareto front by default) it reads the store's hardware job for (run, profile, key, shots):

* ``done``: the stored record is returned; the backend is not touched;
* ``submitted`` (a job id is stored): with ``resume`` the job is fetched by id and awaited; without
  it, hardware's preflight refuses (pass ``resume``) and a simulator simply runs again;
* ``failed``: reported as it is, or submitted again with ``retry_failed``;
* none yet, or ``planned`` (never submitted): submitted.

Nothing is submitted before preflight has passed; every planned row is written before its job is
submitted and gets its job id the moment the provider returns it, so an interruption at any
point loses no paid work: ``resume`` fetches what was submitted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from faqnas_qiskit.errors import ConfigError, FaqnasError, GenomeError, invalid
from faqnas_qiskit.hardware.adapters import BackendAdapter, make_adapter
from faqnas_qiskit.hardware.errors import HardwareError
from faqnas_qiskit.hardware.forward import Architecture, prepare_architecture, restore_model
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
from faqnas_qiskit.hardware.request import ReevaluationRequest
from faqnas_qiskit.search import Candidate, load_run
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import HardwareJobRow, HardwareJobStatus, ResultsStore

__all__ = ["ProgressCallback", "ReevaluationRequest", "reevaluate"]

log = logging.getLogger(__name__)

#: Actions whose architectures run a job (restored model, ISA circuit: a PlannedJob).
_ACTIVE = (Action.SUBMIT, Action.FETCH)
#: Receives one :class:`ProgressEvent` per step of each architecture.
ProgressCallback = Callable[[ProgressEvent], None]


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
    request: ReevaluationRequest,
    store: ResultsStore,
    adapter: BackendAdapter | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> ReevaluationResult:
    """Re-evaluate trained architectures of a run on a backend, forward-only, on the test split.

    Args:
        request: What to re-evaluate, where, and how (:class:`ReevaluationRequest`).
        store: The results store (the run, its trained weights, the hardware jobs).
        adapter: The adapter of ``request.profile``, connected as the caller chose (a service,
            credentials: :func:`~faqnas_qiskit.hardware.make_adapter`; this function reads no
            environment); reusing one reuses its target and noise across calls. None makes
            one without a connection (simulators; hardware in a dry run on its snapshot).
        progress: Called with a :class:`ProgressEvent` per step of each architecture.

    Returns:
        The plan and, unless ``request.dry_run``, the records (new and stored, in plan order),
        the failures and the pending jobs.

    Raises:
        CredentialsError: Hardware without a service or credentials (not in a dry run).
        PreflightError: Too many qubits, no ISA, predicted QPU seconds over budget, or jobs
            already submitted without ``resume`` (hardware) — all before anything is submitted.
        ConfigError: An adapter of another profile, or genomes that the run did not train.
        HardwareError: The run has no front or no weights, or a stored job cannot be fetched.
    """
    started = time.perf_counter()
    profile = request.profile
    run_id, samples = request.run_id, request.samples
    shots = request.shots_or_default
    if adapter is None:
        adapter = make_adapter(profile)
    elif adapter.profile.name != profile.name:
        raise ConfigError(
            invalid(
                "adapter",
                f"an adapter of the profile {profile.name!r}",
                adapter.profile.name,
                what="parameter",
            )
        )
    if request.poll_interval_s is not None:
        adapter.poll_interval_s = max(0.0, float(request.poll_interval_s))
    adapter.credentials(dry_run=request.dry_run)  # missing credentials: refuse before loading

    _, config, candidates, front = load_run(store, run_id)
    chosen = _select(run_id, candidates, front, request.keys)
    rows = [
        (candidate, store.hardware_job(run_id, profile.name, candidate.key, shots, samples or 0))
        for candidate in chosen
    ]
    actions = [_action(row, request) for _, row in rows]
    if any(action in _ACTIVE for action in actions):
        dataset = config.load_data()
        x_test, y_test = dataset.x_test, dataset.y_test
        if samples is not None:
            x_test, y_test = x_test[:samples], y_test[:samples]
        n_samples = int(y_test.shape[0])

        def restored(candidate: Candidate) -> Architecture:
            evaluation = store.evaluation_by_id(candidate.evaluation.id)
            assert evaluation is not None
            model = restore_model(
                store,
                evaluation,
                n_features=dataset.n_features,
                n_classes=dataset.n_classes,
                double=config.training.double,
            )
            return prepare_architecture(
                candidate.key, candidate.evaluation.id, model, x_test, y_test
            )

        items = [
            _planned(candidate, row, action, restored)
            for (candidate, row), action in zip(rows, actions, strict=True)
        ]
    else:
        items = [
            _planned(c, row, action, None) for (c, row), action in zip(rows, actions, strict=True)
        ]
        stored = [i.record.n_samples for i in items if isinstance(i, PlannedStored)]
        n_samples = max(stored, default=0)

    plan = adapter.preflight(
        run_id,
        items,
        shots=shots,
        n_samples=n_samples,
        max_qpu_seconds=request.max_qpu_seconds,
        dry_run=request.dry_run,
    )
    total = len(plan.items)
    index = {item.key: n for n, item in enumerate(plan.items, start=1)}
    for item in plan.items:
        _emit(progress, ProgressEvent(Stage.PLANNED, item.key, index[item.key], total, item.job_id))
    if request.dry_run:
        log.info(
            "dry run on %s: %d to submit, predicted %s QPU s",
            profile.name,
            len(plan.to_submit),
            plan.predicted_qpu_s,
        )
        return ReevaluationResult(plan, wall_time_s=time.perf_counter() - started)

    return _execute(store, adapter, plan, samples or 0, index, progress, request.timeout_s, started)


def _action(row: HardwareJobRow | None, request: ReevaluationRequest) -> Action:
    """What to do for one architecture, from its stored hardware job (if any)."""
    if row is None or row.status == HardwareJobStatus.PLANNED:
        return Action.SUBMIT
    if row.status == HardwareJobStatus.DONE:
        return Action.STORED
    if row.status == HardwareJobStatus.FAILED:
        return Action.SUBMIT if request.retry_failed else Action.FAILED
    # submitted by an earlier call: fetched when resumed; otherwise a simulator runs it again
    # (nothing was paid) and a billing adapter's preflight refuses it
    return Action.FETCH if request.resume else Action.SUBMIT


def _planned(
    candidate: Candidate,
    row: HardwareJobRow | None,
    action: Action,
    restored: Callable[[Candidate], Architecture] | None,
) -> PlannedArchitecture:
    """The plan item of ``action`` (from :func:`_action`) for one architecture; ``restored``
    restores its model and samples (needed by ``submit`` and ``fetch``)."""
    base: dict[str, Any] = {
        "key": candidate.key,
        "evaluation_id": candidate.evaluation.id,
        "n_qubits": Genome.parse(candidate.key).n_qubits,
    }
    if action == Action.STORED:
        assert row is not None
        return PlannedStored(job_id=row.job_id, record=row.result_as(HardwareRecord), **base)
    if action == Action.FAILED:
        assert row is not None
        return PlannedFailed(job_id=row.job_id, error=row.error or "failed", **base)
    assert restored is not None
    architecture = restored(candidate)
    if action == Action.FETCH:
        assert row is not None and row.job_id is not None
        return PlannedFetch(job_id=row.job_id, architecture=architecture, **base)
    if row is None or row.status in (HardwareJobStatus.PLANNED, HardwareJobStatus.FAILED):
        # planned before: an earlier call may have had its job accepted without the id
        planned_before = row is not None and row.status == HardwareJobStatus.PLANNED
        return PlannedSubmit(architecture=architecture, planned_before=planned_before, **base)
    # submitted by an earlier call and not resumed
    return PlannedSubmit(architecture=architecture, resubmits=row.job_id, **base)


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
    by_key = {item.key: item for item in plan.items if isinstance(item, PlannedJob)}
    reused = 0
    for item in plan.items:
        if isinstance(item, PlannedStored):
            records[item.key] = item.record
            reused += 1
            _emit(
                progress,
                ProgressEvent(
                    Stage.STORED,
                    item.key,
                    index[item.key],
                    total,
                    item.job_id,
                    record=item.record,
                ),
            )
        elif isinstance(item, PlannedFailed):
            error = item.error
            failures.append(Failure(item.key, item.job_id, error))
            _emit(
                progress,
                ProgressEvent(
                    Stage.FAILED, item.key, index[item.key], total, item.job_id, error=error
                ),
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

    def submitted(item: PlannedJob, job_id: str) -> None:
        store.mark_hardware_submitted(row_ids[item.key], job_id)
        counts["submitted"] += 1
        log.info("%s submitted to %s as job %s", item.key, plan.target, job_id)
        _emit(progress, ProgressEvent(Stage.SUBMITTED, item.key, index[item.key], total, job_id))

    def fetching(item: PlannedFetch) -> None:
        counts["fetched"] += 1
        _emit(
            progress, ProgressEvent(Stage.FETCHING, item.key, index[item.key], total, item.job_id)
        )

    def recovered(item: PlannedSubmit, job_id: str) -> None:
        store.mark_hardware_submitted(row_ids[item.key], job_id)
        counts["fetched"] += 1
        log.info("%s: found job %s submitted by an earlier call, fetching it", item.key, job_id)
        _emit(progress, ProgressEvent(Stage.FETCHING, item.key, index[item.key], total, job_id))

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
        if outcome.state == JobState.PENDING:
            pending.append(outcome.key)
            _emit(progress, ProgressEvent(Stage.PENDING, item.key, index[item.key], total, job_id))
            continue
        if outcome.state == JobState.DONE:
            try:
                record = adapter.record(plan, item, outcome)
            except FaqnasError as exc:
                outcome = JobOutcome(outcome.key, outcome.job_id, JobState.FAILED, error=str(exc))
            else:
                store.finish_hardware_job(row_ids[item.key], result=record.to_dict(), error=None)
                records[item.key] = record
                _emit(
                    progress,
                    ProgressEvent(
                        Stage.DONE, item.key, index[item.key], total, job_id, record=record
                    ),
                )
                continue
        error = outcome.error or "failed"
        store.finish_hardware_job(row_ids[item.key], result=None, error=error)
        failures.append(Failure(item.key, job_id, error))
        log.warning("%s failed on %s: %s", item.key, plan.target, error)
        _emit(
            progress,
            ProgressEvent(Stage.FAILED, item.key, index[item.key], total, job_id, error=error),
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
