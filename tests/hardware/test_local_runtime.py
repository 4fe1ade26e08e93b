"""The IBM adapter's real Qiskit Runtime code path, run offline in local testing mode.

No stand-in replaces our gateway here: ``IBMRuntimeGateway`` opens a real
``qiskit_ibm_runtime.Batch`` whose mode is a fake backend (qiskit-ibm-runtime's local testing
mode), runs the real estimator in it, reads real ``LocalRuntimeJob`` results and usage. Only the
service, which local mode does not have, is a thin object over ``QiskitRuntimeLocalService``
that also answers ``job(job_id)`` for the jobs local mode ran, so that a resume can fetch by id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from faqnas_qiskit.hardware import IBMCredentials, load_profile
from faqnas_qiskit.hardware.runtime import IBMRuntimeGateway
from faqnas_qiskit.store import ResultsStore
from tests.hardware.conftest import StoredRun, reevaluate_run

PROFILE = """
name = "local_manila"
adapter = "ibm_runtime"
backend = "fake_manila"
snapshot = "fake_manila"
shots = 256
optimization_level = 1
seed_transpiler = 0
resilience_level = 0

[limits]
max_qubits = 5
max_qpu_seconds = 1000.0
"""


class LocalService:
    """``backend(name)`` from qiskit-ibm-runtime's local service; ``job(id)`` from its jobs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from qiskit_ibm_runtime.fake_provider.local_runtime_job import LocalRuntimeJob
        from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

        self.local = QiskitRuntimeLocalService()
        self.jobs_run: dict[str, Any] = {}
        self.fetched: list[str] = []
        original = LocalRuntimeJob.__init__
        registry = self.jobs_run

        def remember(job: Any, *args: Any, **kwargs: Any) -> None:
            original(job, *args, **kwargs)
            registry[str(job.job_id())] = job

        monkeypatch.setattr(LocalRuntimeJob, "__init__", remember)

    def backend(self, name: str) -> Any:
        return self.local.backend(name)

    def job(self, job_id: str) -> Any:
        self.fetched.append(job_id)
        return self.jobs_run[job_id]

    def jobs(self, **_: Any) -> list[Any]:
        return []  # local mode keeps no tags: nothing to find by them


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Properties of fake_:UserWarning")
def test_ibm_runtime_path_in_local_testing_mode_records_and_resumes(
    store: ResultsStore, trained_run: StoredRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_path = tmp_path / "local_manila.toml"
    profile_path.write_text(PROFILE)
    profile = load_profile(profile_path)
    service = LocalService(monkeypatch)
    credentials = IBMCredentials(token="not-a-real-token", channel="ibm_quantum_platform")

    def connect(_: IBMCredentials) -> IBMRuntimeGateway:
        return IBMRuntimeGateway(service, resilience_level=profile.resilience_level)

    keys = trained_run.keys[:2]
    first = reevaluate_run(
        store,
        trained_run.run_id,
        profile,
        keys=keys,
        samples=8,
        credentials=credentials,
        connect=connect,
        poll_interval_s=0.01,
    )
    assert first.submitted == 2 and len(first.records) == 2 and not first.failures
    rows = store.hardware_jobs(trained_run.run_id)
    assert {r.job_id for r in rows} == set(service.jobs_run)  # ids stored as submitted
    for record in first.records:
        assert record.backend == "fake_manila" and record.shots == 256
        assert 0.0 <= record.accuracy <= 1.0 and 0.0 <= record.simulator_accuracy <= 1.0
        assert record.job_ids[0] in service.jobs_run
        assert record.measured_qpu_s is not None and record.measured_qpu_s >= 0
        assert record.predicted_qpu_s is not None and record.predicted_qpu_s > 0
        assert record.two_qubit_gates >= 1

    # an interruption after submission: the rows say submitted, the jobs exist
    with store._db:  # test-only: roll the rows back to "submitted"
        store._db.execute(
            "UPDATE hardware_jobs SET status = 'submitted', result = NULL WHERE run_id = ?",
            (trained_run.run_id,),
        )
    submitted_before = len(service.jobs_run)
    resumed = reevaluate_run(
        store,
        trained_run.run_id,
        profile,
        keys=keys,
        samples=8,
        resume=True,
        credentials=credentials,
        connect=connect,
        poll_interval_s=0.01,
    )
    assert resumed.submitted == 0 and resumed.fetched == 2
    assert len(service.jobs_run) == submitted_before  # fetched by id, not paid again
    assert sorted(service.fetched) == sorted(r.job_ids[0] for r in first.records)
    assert [r.accuracy for r in resumed.records] == [r.accuracy for r in first.records]
    assert all(r.status == "done" for r in store.hardware_jobs(trained_run.run_id))
