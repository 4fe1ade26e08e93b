"""``reevaluate`` on hardware through a stand-in for IBM Quantum: preflight refusals, never paying
twice, failed jobs, dry runs, and a planted token that must not leak anywhere."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from faqnas_qiskit.errors import ConfigError, FaqnasError
from faqnas_qiskit.hardware import (
    CredentialsError,
    HardwareRecord,
    IBMCredentials,
    PreflightError,
    ProgressEvent,
    load_profile,
)
from faqnas_qiskit.store import ResultsStore
from tests.hardware.conftest import StoredRun, reevaluate_run
from tests.hardware.stand_ins import FakeCloud

TOKEN = "tok-SECRET-123"
FAST = {"samples": 6, "shots": 64, "poll_interval_s": 0.0}


def _nothing_happened(cloud: FakeCloud, store: ResultsStore, run: StoredRun) -> None:
    assert cloud.submissions == [] and cloud.batches == 0 and cloud.fetches == []
    assert store.hardware_jobs(run.run_id) == []


def test_hardware_run_records_everything(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    events: list[ProgressEvent] = []
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        service=cloud.gateway(),
        progress=events.append,
        **FAST,
    )
    assert cloud.batches == 1 and len(cloud.submissions) == 3  # one batch, one job each
    assert all(shots == 64 for _, shots, _ in cloud.submissions)
    assert result.submitted == 3 and result.fetched == 0 and not result.failures
    assert [r.genome for r in result.records] == list(trained_run.keys)
    for record in result.records:
        assert record.backend == "fake_fez"  # the stand-in's device
        assert record.profile == "ibm_fez" and record.adapter == "ibm_runtime"
        assert record.on_qpu and record.measured_qpu_s == pytest.approx(cloud.usage_s)
        assert record.predicted_qpu_s is not None and record.predicted_qpu_s > 2.0
        assert record.job_ids[0] in cloud.jobs
        assert record.expectation_mae < 0.5
    rows = {r.key: r for r in store.hardware_jobs(trained_run.run_id)}
    for record in result.records:
        row = rows[record.genome]
        assert row.status == "done" and row.job_id == record.job_ids[0] and row.shots == 64
        assert HardwareRecord.from_dict(row.result or {}) == record
        assert row.profile == load_profile("ibm_fez").to_dict() | {"shots": 64}
    stages = [(e.stage, e.key) for e in events]
    for key in trained_run.keys:
        assert [s for s, k in stages if k == key] == ["planned", "submitted", "done"]


def test_dry_run_plans_without_credentials_and_submits_nothing(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    result = reevaluate_run(
        store, trained_run.run_id, "ibm_fez", keys=trained_run.keys, dry_run=True, **FAST
    )
    plan = result.plan
    assert result.dry_run and result.records == ()
    assert plan.target_source == "snapshot" and plan.target == "fake_fez"
    assert plan.credentials is None
    assert [i.action for i in plan.items] == ["submit"] * 3
    assert plan.predicted_qpu_s == pytest.approx(sum(i.predicted_qpu_s or 0 for i in plan.items))
    assert plan.predicted_qpu_s is not None and plan.predicted_qpu_s > 0
    json.dumps(plan.to_dict())  # JSON-ready
    _nothing_happened(cloud, store, trained_run)
    # with a service, the dry run plans on the live device, still submitting nothing
    live = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        dry_run=True,
        service=cloud.gateway(),
        **FAST,
    )
    assert live.plan.target_source == "device" and live.plan.credentials == "service"
    _nothing_happened(cloud, store, trained_run)


def test_missing_credentials_refused_before_anything(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    with pytest.raises(CredentialsError) as info:
        reevaluate_run(store, trained_run.run_id, "ibm_fez", **FAST)
    message = str(info.value)
    assert "\n" not in message and "QISKIT_IBM_TOKEN" in message
    assert isinstance(info.value, ConfigError)
    _nothing_happened(cloud, store, trained_run)


def test_too_many_qubits_refused_before_anything(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud, tmp_path: Path
) -> None:
    text = (Path(__file__).parents[2] / "backends" / "ibm_fez.toml").read_text()
    path = tmp_path / "tiny.toml"
    path.write_text(text.replace("max_qubits = 156", "max_qubits = 1").replace("ibm_fez", "tiny"))
    with pytest.raises(PreflightError) as info:
        reevaluate_run(
            store, trained_run.run_id, path, keys=trained_run.keys, service=cloud.gateway(), **FAST
        )
    message = str(info.value)
    assert "\n" not in message and "at most 1 qubits" in message and "2 qubits" in message
    _nothing_happened(cloud, store, trained_run)


def test_budget_too_small_refused_before_anything(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    plan = reevaluate_run(
        store, trained_run.run_id, "ibm_fez", keys=trained_run.keys, dry_run=True, **FAST
    ).plan
    assert plan.predicted_qpu_s is not None
    budget = plan.predicted_qpu_s * 0.9
    with pytest.raises(PreflightError) as info:
        reevaluate_run(
            store,
            trained_run.run_id,
            "ibm_fez",
            keys=trained_run.keys,
            max_qpu_seconds=budget,
            service=cloud.gateway(),
            **FAST,
        )
    message = str(info.value)
    assert "\n" not in message and "'max-qpu-seconds'" in message
    assert f"{plan.predicted_qpu_s:.1f}" in message
    _nothing_happened(cloud, store, trained_run)
    # the same budget with one architecture fewer fits
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys[:2],
        max_qpu_seconds=budget,
        service=cloud.gateway(),
        **FAST,
    )
    assert result.submitted == 2


def test_resume_after_interruption_resubmits_nothing(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    cloud.interrupt_on_status = True  # Ctrl-C while waiting for the jobs
    with pytest.raises(KeyboardInterrupt):
        reevaluate_run(
            store,
            trained_run.run_id,
            "ibm_fez",
            keys=trained_run.keys,
            service=cloud.gateway(),
            **FAST,
        )
    assert len(cloud.submissions) == 3
    rows = store.hardware_jobs(trained_run.run_id)
    assert [r.status for r in rows] == ["submitted"] * 3  # ids stored at submission
    assert {r.job_id for r in rows} == set(cloud.jobs)

    # without --resume, hardware refuses instead of paying again
    with pytest.raises(PreflightError, match="--resume"):
        reevaluate_run(
            store,
            trained_run.run_id,
            "ibm_fez",
            keys=trained_run.keys,
            service=cloud.gateway(),
            **FAST,
        )
    assert len(cloud.submissions) == 3

    # a new process resumes: fetched by id, nothing submitted
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        resume=True,
        service=cloud.gateway(),
        **FAST,
    )
    assert len(cloud.submissions) == 3 and cloud.batches == 1
    assert sorted(cloud.fetches) == sorted(cloud.jobs)
    assert result.submitted == 0 and result.fetched == 3 and len(result.records) == 3
    assert {r.job_ids[0] for r in result.records} == set(cloud.jobs)
    assert all(r.status == "done" for r in store.hardware_jobs(trained_run.run_id))

    # done rows are not run at all: no fetch, no status call, no submission
    fetches, status_calls = len(cloud.fetches), cloud.status_calls
    again = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        resume=True,
        service=cloud.gateway(),
        **FAST,
    )
    assert again.reused == 3 and again.submitted == 0 and again.fetched == 0
    assert len(cloud.fetches) == fetches and cloud.status_calls == status_calls
    assert again.records == result.records


def test_other_samples_is_another_reevaluation(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    key = trained_run.keys[:1]
    options = {"shots": 64, "poll_interval_s": 0.0, "service": cloud.gateway()}
    six = reevaluate_run(store, trained_run.run_id, "ibm_fez", keys=key, samples=6, **options)
    four = reevaluate_run(store, trained_run.run_id, "ibm_fez", keys=key, samples=4, **options)
    assert (six.submitted, four.submitted) == (1, 1) and len(cloud.submissions) == 2
    assert six.records[0].n_samples == 6 and four.records[0].n_samples == 4
    rows = sorted((r.samples, r.status) for r in store.hardware_jobs(trained_run.run_id))
    assert rows == [(4, "done"), (6, "done")]
    again = reevaluate_run(store, trained_run.run_id, "ibm_fez", keys=key, samples=6, **options)
    assert again.reused == 1 and len(cloud.submissions) == 2
    assert again.records == six.records


def test_interruption_between_submissions_submits_each_job_once(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    def stop_after_first(event: ProgressEvent) -> None:
        if event.stage == "submitted":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reevaluate_run(
            store,
            trained_run.run_id,
            "ibm_fez",
            keys=trained_run.keys,
            service=cloud.gateway(),
            progress=stop_after_first,
            **FAST,
        )
    assert len(cloud.submissions) == 1
    statuses = sorted(r.status for r in store.hardware_jobs(trained_run.run_id))
    assert statuses == ["planned", "planned", "submitted"]
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        resume=True,
        service=cloud.gateway(),
        **FAST,
    )
    assert result.fetched == 1 and result.submitted == 2 and len(result.records) == 3
    genomes = [t[1] for _, _, tags in cloud.submissions for t in [tags]]
    assert sorted(genomes) == sorted(f"genome:{k}" for k in trained_run.keys)  # each once


def test_job_accepted_but_not_stored_is_found_by_its_tags(
    store: ResultsStore,
    trained_run: StoredRun,
    cloud: FakeCloud,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # IBM accepts the first job, then the process dies before the id reaches the store
    def crash(self: ResultsStore, job_row_id: int, job_id: str) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ResultsStore, "mark_hardware_submitted", crash)
        with pytest.raises(KeyboardInterrupt):
            reevaluate_run(
                store,
                trained_run.run_id,
                "ibm_fez",
                keys=trained_run.keys,
                service=cloud.gateway(),
                **FAST,
            )
    assert len(cloud.submissions) == 1
    (paid, _, tags) = cloud.submissions[0]
    assert tags == (
        f"faqnas:{trained_run.run_id}",
        f"genome:{trained_run.keys[0]}",
        "shots:64",
        "samples:6",
    )
    assert all(r.status == "planned" and r.job_id is None for r in store.hardware_jobs())
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        service=cloud.gateway(),
        **FAST,
    )
    # the paid job is fetched, not paid again; the two never accepted are submitted
    assert len(cloud.submissions) == 3 and len(result.records) == 3
    assert (result.submitted, result.fetched) == (2, 1)
    assert paid in cloud.fetches and len(cloud.searches) == 3
    genomes = sorted(t[1] for _, _, t in cloud.submissions)
    assert genomes == sorted(f"genome:{k}" for k in trained_run.keys)
    rows = {r.key: r for r in store.hardware_jobs(trained_run.run_id)}
    assert rows[trained_run.keys[0]].job_id == paid and rows[trained_run.keys[0]].status == "done"


def test_failed_job_is_reported_and_the_others_kept(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    bad = trained_run.keys[1]
    cloud.fail = {bad}
    result = reevaluate_run(
        store, trained_run.run_id, "ibm_fez", keys=trained_run.keys, service=cloud.gateway(), **FAST
    )
    (failure,) = result.failures
    assert failure.key == bad and failure.job_id in cloud.jobs
    assert "ERROR" in failure.error and "1517" in failure.error
    assert [r.genome for r in result.records] == [trained_run.keys[0], trained_run.keys[2]]
    rows = {r.key: r for r in store.hardware_jobs(trained_run.run_id)}
    assert rows[bad].status == "failed" and rows[bad].error == failure.error
    assert all(rows[k].status == "done" for k in trained_run.keys if k != bad)

    # a later call reports it again without paying; retry_failed resubmits that one only
    again = reevaluate_run(
        store, trained_run.run_id, "ibm_fez", keys=trained_run.keys, service=cloud.gateway(), **FAST
    )
    assert again.submitted == 0 and [f.key for f in again.failures] == [bad]
    cloud.fail = set()
    retried = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        retry_failed=True,
        service=cloud.gateway(),
        **FAST,
    )
    assert retried.submitted == 1 and not retried.failures and len(retried.records) == 3
    assert cloud.submissions[-1][2][1] == f"genome:{bad}"


def test_timeout_leaves_jobs_pending_for_a_resume(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud
) -> None:
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys[:1],
        service=cloud.gateway(),
        timeout_s=0.0,
        **FAST,
    )
    assert result.pending == (trained_run.keys[0],) and result.records == ()
    (row,) = store.hardware_jobs(trained_run.run_id)
    assert row.status == "submitted"
    done = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys[:1],
        resume=True,
        service=cloud.gateway(),
        **FAST,
    )
    assert done.fetched == 1 and len(done.records) == 1 and len(cloud.submissions) == 1


def test_planted_token_never_leaks(
    store: ResultsStore,
    trained_run: StoredRun,
    cloud: FakeCloud,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = IBMCredentials(token=TOKEN, instance="crn:test")
    received: list[str | None] = []

    def connect(given: IBMCredentials):  # type: ignore[no-untyped-def]
        received.append(given.token)
        return cloud.gateway()

    events: list[ProgressEvent] = []
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys,
        credentials=credentials,
        connect=connect,
        progress=events.append,
        **FAST,
    )
    assert received == [TOKEN]  # the token reached the (stand-in) service, and only it
    assert len(result.records) == 3

    def broken(given: IBMCredentials):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"401 Unauthorized for token {given.token}")

    with pytest.raises(CredentialsError) as info:
        reevaluate_run(
            store,
            trained_run.run_id,
            "ibm_torino",
            keys=trained_run.keys,
            credentials=credentials,
            connect=broken,
            **FAST,
        )
    assert TOKEN not in str(info.value) and "***" in str(info.value)

    dumped = [
        repr(credentials),
        str(credentials),
        json.dumps(result.to_dict()),
        repr(result.plan),
        *(repr(e) for e in events),
        caplog.text,
        *(r.getMessage() for r in caplog.records),
    ]
    out = capsys.readouterr()
    dumped += [out.out, out.err]
    for text in dumped:
        assert TOKEN not in text
    store.close()
    for path in Path(store.path).parent.glob(Path(store.path).name + "*"):
        assert TOKEN.encode() not in path.read_bytes(), path


def test_unknown_genome_and_bad_options(store: ResultsStore, trained_run: StoredRun) -> None:
    with pytest.raises(ConfigError, match="'genome'"):
        reevaluate_run(store, trained_run.run_id, "aer", keys=["q5-angle-cx-linear-rx"])
    with pytest.raises(ConfigError, match="'shots'"):
        reevaluate_run(store, trained_run.run_id, "aer", shots=0)
    with pytest.raises(ConfigError, match="'max-qpu-seconds'"):
        reevaluate_run(store, trained_run.run_id, "aer", max_qpu_seconds=-1.0)
    with pytest.raises(FaqnasError):
        reevaluate_run(store, "rnothere", "aer")


def test_record_validates_itself() -> None:
    fields = {
        "run_id": "r1",
        "genome": "q2-angle-cz-linear-ry",
        "evaluation_id": 1,
        "profile": "aer",
        "adapter": "aer",
        "backend": "aer_simulator",
        "shots": 8,
        "n_samples": 3,
        "job_ids": ("j1",),
        "physical_qubits": (0, 1),
        "two_qubit_gates": 1,
        "two_qubit_depth": 1,
        "depth": 3,
        "size": 5,
        "accuracy": 0.5,
        "simulator_accuracy": 1.0,
    }
    record = HardwareRecord(**fields)  # type: ignore[arg-type]
    assert HardwareRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    for name, value in [
        ("accuracy", 1.5),
        ("shots", 0),
        ("job_ids", ()),
        ("measured_qpu_s", 3.0),
        ("genome", "q2-nope"),
    ]:
        with pytest.raises(FaqnasError, match=f"'{name}'|genome"):
            HardwareRecord(**{**fields, name: value})  # type: ignore[arg-type]


def test_saved_account_must_exist_on_disk(
    store: ResultsStore, trained_run: StoredRun, cloud: FakeCloud, tmp_path: Path
) -> None:
    from qiskit_ibm_runtime import QiskitRuntimeService

    from faqnas_qiskit.hardware.runtime import saved_account_exists

    empty = str(tmp_path / "none.json")
    missing = IBMCredentials(use_saved_account=True, account_file=empty)
    assert not saved_account_exists(missing)
    # no saved account: a dry run prices on the snapshot, a real run is refused untouched
    plan = reevaluate_run(
        store,
        trained_run.run_id,
        "ibm_fez",
        keys=trained_run.keys[:1],
        credentials=missing,
        dry_run=True,
        **FAST,
    ).plan
    assert plan.target_source == "snapshot" and plan.credentials is None
    with pytest.raises(CredentialsError):
        reevaluate_run(store, trained_run.run_id, "ibm_fez", credentials=missing, **FAST)
    _nothing_happened(cloud, store, trained_run)

    saved = str(tmp_path / "accounts.json")
    QiskitRuntimeService.save_account(
        channel="ibm_quantum_platform", token=TOKEN, filename=saved, name="mine"
    )
    named = IBMCredentials(account="mine", account_file=saved)
    assert saved_account_exists(named)
    assert not saved_account_exists(IBMCredentials(account="other", account_file=saved))
    assert saved_account_exists(IBMCredentials(use_saved_account=True, account_file=saved))
    assert TOKEN not in repr(named) and "mine" in str(named)


def test_secret_filter_scrubs_log_records(caplog: pytest.LogCaptureFixture) -> None:
    from faqnas_qiskit.hardware import SecretFilter

    logger = logging.getLogger("faqnas_qiskit.tests.secret")
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(SecretFilter(TOKEN))
    try:
        logger.info("token=%s header=%r", TOKEN, {"Authorization": f"apikey {TOKEN}"})
        try:
            raise RuntimeError(f"bad key {TOKEN}")
        except RuntimeError:
            logger.exception("connect failed")
    finally:
        caplog.handler.filters.clear()
    assert "token=***" in caplog.text and TOKEN not in caplog.text
