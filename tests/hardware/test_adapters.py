"""Adapters: ISA circuits and costs, device noise, simulators, the Qiskit Runtime path offline."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit.providers import BackendV2

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.hardware import (
    BackendProfile,
    FakeBackendAdapter,
    Limits,
    load_profile,
    make_adapter,
)
from faqnas_qiskit.hardware.forward import prepare_architecture, restore_model
from faqnas_qiskit.hardware.isa import predicted_qpu_seconds, to_isa
from faqnas_qiskit.hardware.noise import DeviceNoise
from faqnas_qiskit.hardware.record import QPU_USAGE_SIMULATOR, QPU_USAGE_SOURCE
from faqnas_qiskit.metrics import DEFAULT_JOB_OVERHEAD_S, TargetInfo
from faqnas_qiskit.search import SearchRunner, SerialEvaluator, load_run
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import ResultsStore
from tests.hardware.conftest import CONFIG, StoredRun, flops_stand_in, reevaluate_run


@pytest.fixture(scope="module")
def fez_adapter(fake_fez: BackendV2) -> FakeBackendAdapter:
    """One noisy-simulation adapter for the module: its device noise is built once."""
    return FakeBackendAdapter(load_profile("fake_fez"), backend=fake_fez)


def test_isa_circuit_fits_the_target(fake_fez: BackendV2) -> None:
    hqnn = build_circuit(Genome.parse("q4-angle-cz-circular-ry.rx"))
    info = TargetInfo.from_backend(fake_fez)
    isa = to_isa(hqnn, info, optimization_level=2, seed_transpiler=7)
    target = fake_fez.target
    for instruction in isa.circuit.data:
        qargs = tuple(isa.circuit.find_bit(q).index for q in instruction.qubits)
        assert target.instruction_supported(instruction.operation.name, qargs)
    assert len(isa.observables) == 4
    assert all(o.num_qubits == fake_fez.num_qubits for o in isa.observables)
    assert len(set(isa.physical_qubits)) == 4
    metrics = isa.metrics
    # circular on 4 qubits: 8 CZ in the circuit, more after routing on heavy-hex
    assert metrics.two_qubit_gates >= 8 and metrics.ops.get("cz") == metrics.two_qubit_gates
    assert 0 < metrics.two_qubit_depth <= metrics.depth <= metrics.size
    assert metrics.duration_s is not None and 1e-7 < metrics.duration_s < 1e-3
    assert metrics.measure_s > 0
    # the same seed gives the same ISA circuit (the cost is reproducible)
    again = to_isa(hqnn, info, optimization_level=2, seed_transpiler=7)
    assert again.metrics == metrics and again.physical_qubits == isa.physical_qubits


def test_predicted_qpu_seconds_model(fake_fez: BackendV2) -> None:
    hqnn = build_circuit(Genome.parse("q2-angle-cz-linear-ry"))
    info = TargetInfo.from_backend(fake_fez)
    metrics = to_isa(hqnn, info, optimization_level=2, seed_transpiler=7).metrics
    assert metrics.duration_s is not None
    seconds = predicted_qpu_seconds(
        metrics, samples=30, shots=1024, rep_delay_s=250e-6, job_overhead_s=2.0
    )
    shot = 250e-6 + metrics.init_s + metrics.duration_s + metrics.measure_s
    assert seconds == pytest.approx(30 * 1024 * shot + 2.0)
    double = predicted_qpu_seconds(
        metrics, samples=60, shots=1024, rep_delay_s=250e-6, job_overhead_s=0.0
    )
    assert double == pytest.approx(2 * (seconds - 2.0))
    untimed = replace(metrics, duration_s=None)
    assert (
        predicted_qpu_seconds(untimed, samples=1, shots=1, rep_delay_s=0.0, job_overhead_s=0.0)
        is None
    )
    # the profiles' default overhead is the metrics package's (IBM's documented 2 s)
    assert BackendProfile(name="x", adapter="aer", backend="aer_simulator").job_overhead_s == (
        DEFAULT_JOB_OVERHEAD_S
    )


@pytest.mark.slow
def test_device_noise_is_restricted_and_cached(fez_adapter: FakeBackendAdapter) -> None:
    noise = fez_adapter.noise
    assert isinstance(noise, DeviceNoise) and noise is fez_adapter.noise  # built once
    model = noise.model_for([3, 4])
    assert set(model.noise_qubits) == {3, 4}
    assert "cz" in model.noise_instructions and "measure" in model.noise_instructions
    assert noise.model_for((4, 3)) is model


def _architectures(store: ResultsStore, run: StoredRun, n: int) -> list[Any]:
    _, config, candidates, _ = load_run(store, run.run_id)
    data = load_dataset(config.dataset, seed=config.seed)
    out = []
    for candidate in candidates:
        model = restore_model(store, candidate.evaluation, n_features=4, n_classes=3, double=False)
        out.append(
            prepare_architecture(
                candidate.key, candidate.evaluation.id, model, data.x_test[:n], data.y_test[:n]
            )
        )
    return out


def test_restored_model_reproduces_the_stored_test_accuracy(
    store: ResultsStore, trained_run: StoredRun
) -> None:
    _, _, candidates, _ = load_run(store, trained_run.run_id)
    for architecture, candidate in zip(
        _architectures(store, trained_run, 10_000), candidates, strict=True
    ):
        assert candidate.evaluation.record is not None
        assert architecture.simulator_accuracy == pytest.approx(
            candidate.evaluation.record["test_accuracy"]
        )


def test_aer_accuracy_is_within_shot_noise_of_the_simulator(
    store: ResultsStore, trained_run: StoredRun
) -> None:
    shots = 20_000
    result = reevaluate_run(store, trained_run.run_id, "aer", keys=trained_run.keys, shots=shots)
    assert not result.failures and len(result.records) == 3
    sigma = 1 / math.sqrt(shots)
    architectures = {a.key: a for a in _architectures(store, trained_run, 10_000)}
    for record in result.records:
        assert record.shots == shots and record.n_samples == 30
        assert record.measured_qpu_s == 0 and record.qpu_usage_source == QPU_USAGE_SIMULATOR
        assert record.predicted_qpu_s is None and record.duration_s is None
        # E|N(0, s)| = 0.8 s; ⟨Z⟩ variance is below 1/shots
        assert record.expectation_mae < 2 * sigma
        # the accuracy may only differ on samples whose class margin is within 6 sigma
        architecture = architectures[record.genome]
        w = architecture.model.post.weight.detach().double().numpy()
        logits = architecture.exact_expectations @ w.T
        top = np.sort(logits, axis=1)
        spread = np.abs(w[:, None, :] - w[None, :, :]).sum(axis=2).max()
        ambiguous = int(np.sum(top[:, -1] - top[:, -2] < 6 * sigma * spread))
        assert abs(record.accuracy - record.simulator_accuracy) <= ambiguous / record.n_samples
        assert record.simulator_accuracy == pytest.approx(architecture.simulator_accuracy)


@pytest.mark.slow
def test_noisy_fake_backend_runs_offline(
    store: ResultsStore, trained_run: StoredRun, fez_adapter: FakeBackendAdapter
) -> None:
    result = reevaluate_run(
        store,
        trained_run.run_id,
        "fake_fez",
        keys=trained_run.keys[:2],
        shots=256,
        samples=12,
        adapter=fez_adapter,
    )
    assert result.submitted == 2 and not result.failures
    for record in result.records:
        assert record.backend == "fake_fez" and record.adapter == "fake"
        assert record.n_samples == 12 and record.shots == 256
        assert record.measured_qpu_s == 0 and not record.on_qpu
        assert record.predicted_qpu_s is not None and record.predicted_qpu_s > 2.0
        assert record.two_qubit_gates >= 1 and record.ops.get("cz", 0) >= 1
        assert len(record.physical_qubits) == 2
        assert 0 <= record.accuracy <= 1
        assert 0 < record.expectation_mae < 0.5  # noisy, but not noise only
        assert record.wall_time_s < 10  # the device noise was built before timing
    rows = store.hardware_jobs(trained_run.run_id)
    assert [r.status for r in rows] == ["done", "done"]
    assert all(r.job_id for r in rows) and rows[0].backend == "fake_fez"


class _LocalService:
    """A QiskitRuntimeService stand-in with only ``backend`` and ``job``: the real gateway
    (Batch + the runtime's estimator) then runs in qiskit-ibm-runtime's local testing mode."""

    def __init__(self) -> None:
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        self.device = FakeManilaV2()
        self.asked: list[str] = []

    def backend(self, name: str) -> BackendV2:
        self.asked.append(name)
        return self.device

    def job(self, job_id: str) -> Any:
        raise KeyError(job_id)


def test_runtime_gateway_runs_batch_and_estimator_in_local_mode(
    store: ResultsStore, trained_run: StoredRun
) -> None:
    profile = BackendProfile(
        name="ibm_manila",
        adapter="ibm_runtime",
        backend="ibm_manila",
        shots=128,
        limits=Limits(max_qubits=5, max_qpu_seconds=600.0),
    )
    service = _LocalService()
    adapter = make_adapter(profile, service=service)
    result = reevaluate_run(
        store,
        trained_run.run_id,
        profile,
        keys=trained_run.keys[:1],
        samples=8,
        adapter=adapter,
        poll_interval_s=0.01,
    )
    assert service.asked == ["ibm_manila"]
    (record,) = result.records
    assert record.qpu_usage_source == QPU_USAGE_SOURCE and record.measured_qpu_s == 0.0
    assert record.backend == "fake_manila" and record.n_samples == 8
    assert record.predicted_qpu_s is not None and record.predicted_qpu_s > 0
    (row,) = store.hardware_jobs(trained_run.run_id)
    assert row.status == "done" and row.job_id == record.job_ids[0]


def test_config_of_the_fixture_is_what_the_tests_assume() -> None:
    assert CONFIG.training.double is False and CONFIG.dataset == "iris"


def test_simulated_jobs_run_exactly_the_shots_asked() -> None:
    from faqnas_qiskit.hardware.adapters import _precision

    # BackendEstimatorV2 runs ceil(1 / precision**2) shots; 1/sqrt(shots) is one too many for
    # about a third of the shot counts
    for shots in (*range(1, 3000), 4096, 20_000, 1_000_000):
        assert math.ceil(1.0 / _precision(shots) ** 2) == shots


def test_runtime_gateway_finds_jobs_by_tags_with_the_services_signature() -> None:
    import inspect

    from qiskit_ibm_runtime import QiskitRuntimeService

    from faqnas_qiskit.hardware.runtime import IBMRuntimeGateway

    accepted = set(inspect.signature(QiskitRuntimeService.jobs).parameters)
    assert {"job_tags", "backend_name", "limit"} <= accepted
    calls: list[dict[str, Any]] = []

    class Job:
        def job_id(self) -> str:
            return "job-9"

    class Service:
        def __init__(self, found: list[Job]) -> None:
            self.found = found

        def jobs(self, **options: Any) -> list[Job]:
            calls.append(options)
            return self.found

    tags = ("faqnas:r1", "genome:q2-angle-cx-linear-rx", "shots:64", "samples:6")
    assert IBMRuntimeGateway(Service([Job()])).find_job(tags, "ibm_fez") == "job-9"
    assert IBMRuntimeGateway(Service([])).find_job(tags, "ibm_fez") is None
    assert calls[0] == {"job_tags": list(tags), "backend_name": "ibm_fez", "limit": 1}


def test_noisy_reevaluation_of_a_rerun_search_draws_the_same_shots(
    store: ResultsStore,
    trained_run: StoredRun,
    fez_adapter: FakeBackendAdapter,
    tmp_path: Path,
) -> None:
    """The same search run again in a fresh store (another, random run id) trains the same
    weights; their noisy re-evaluation must then give the same expectation values, not a new
    draw of the shot noise per store."""
    data = load_dataset(CONFIG.dataset, seed=CONFIG.seed)
    with ResultsStore(tmp_path / "rerun.db") as other:
        rerun = SearchRunner(other, SerialEvaluator(data), flops_stand_in, data.name).start(CONFIG)
        assert rerun.run_id != trained_run.run_id
        options = {"keys": trained_run.keys[:1], "shots": 64, "samples": 6}
        first = reevaluate_run(store, trained_run.run_id, "fake_fez", adapter=fez_adapter,
                               **options)  # fmt: skip
        second = reevaluate_run(other, rerun.run_id, "fake_fez", adapter=fez_adapter, **options)
    (a,), (b,) = first.records, second.records
    assert a.simulator_accuracy == b.simulator_accuracy  # the same trained weights
    assert a.expectation_mae > 0  # shot noise and device noise are there
    assert (a.accuracy, a.expectation_mae) == (b.accuracy, b.expectation_mae)
