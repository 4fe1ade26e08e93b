"""Plan items: one frozen type per action, each with only the fields its action has."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any, cast

import pytest
from qiskit import QuantumCircuit

from faqnas_qiskit.hardware import (
    Action,
    HardwareRecord,
    PlannedFailed,
    PlannedFetch,
    PlannedJob,
    PlannedStored,
    PlannedSubmit,
    ReevaluationPlan,
    load_profile,
)
from faqnas_qiskit.hardware.forward import Architecture
from faqnas_qiskit.hardware.isa import IsaCircuit, IsaMetrics
from faqnas_qiskit.store import ResultsStore
from tests.hardware.conftest import StoredRun, reevaluate_run

KEY = "q2-angle-cz-linear-ry"
BASE: dict[str, Any] = {"key": KEY, "evaluation_id": 7, "n_qubits": 2}
METRICS = IsaMetrics(
    two_qubit_gates=1,
    two_qubit_depth=1,
    depth=8,
    size=15,
    ops={"cz": 1, "rz": 10, "sx": 4},
    duration_s=1.5e-7,
    init_s=1e-6,
    measure_s=2e-6,
)
ISA_DICT = {
    "two_qubit_gates": 1,
    "two_qubit_depth": 1,
    "depth": 8,
    "size": 15,
    "ops": {"cz": 1, "rz": 10, "sx": 4},
    "duration_s": 1.5e-7,
    "init_s": 1e-6,
    "measure_s": 2e-6,
}
#: Only ``n_samples`` of the restored architecture is read by the plan's JSON.
ARCHITECTURE = cast(Architecture, SimpleNamespace(n_samples=10))
ISA = IsaCircuit(QuantumCircuit(2), (), (3, 5), METRICS)
RECORD = HardwareRecord(
    run_id="r1",
    genome=KEY,
    evaluation_id=7,
    profile="aer",
    adapter="aer",
    backend="aer_simulator",
    shots=8,
    n_samples=3,
    job_ids=("j0",),
    physical_qubits=(0, 1),
    two_qubit_gates=1,
    two_qubit_depth=1,
    depth=3,
    size=5,
    accuracy=0.5,
    simulator_accuracy=1.0,
)

#: The JSON of an item that runs no job: nothing priced.
UNPRICED = {"n_samples": None, "isa": None, "physical_qubits": [], "predicted_qpu_s": None}
#: The JSON of a priced job: preflight's ISA cost on the target.
PRICED = {"n_samples": 10, "isa": ISA_DICT, "physical_qubits": [3, 5], "predicted_qpu_s": 4.5}
IDENTITY = {"genome": KEY, "evaluation_id": 7, "n_qubits": 2}


def _fields(kind: type) -> set[str]:
    return {f.name for f in dataclasses.fields(kind)}


def test_each_action_has_its_own_fields_only() -> None:
    identity = {"key", "evaluation_id", "n_qubits"}
    job = identity | {"architecture", "isa", "predicted_qpu_s"}
    assert _fields(PlannedSubmit) == job | {"planned_before", "resubmits"}
    assert _fields(PlannedFetch) == job | {"job_id"}
    assert _fields(PlannedStored) == identity | {"job_id", "record"}
    assert _fields(PlannedFailed) == identity | {"job_id", "error"}
    # a reused record was never submitted: nothing of a submission or of a job exists on it
    stored = PlannedStored(job_id="j0", record=RECORD, **BASE)
    for name in ("isa", "architecture", "metrics", "predicted_qpu_s", "resubmits", "error"):
        assert not hasattr(stored, name), name
    assert not isinstance(stored, PlannedJob)
    failed = PlannedFailed(job_id=None, error="boom", **BASE)
    assert not hasattr(failed, "record") and not hasattr(failed, "planned_before")
    submit = PlannedSubmit(architecture=ARCHITECTURE, **BASE)
    assert submit.job_id is None and not hasattr(submit, "record")
    kinds = (PlannedSubmit, PlannedFetch, PlannedStored, PlannedFailed)
    assert [k.action for k in kinds] == list(Action)


def test_items_are_frozen_and_keyword_only() -> None:
    item = PlannedFailed(job_id="j1", error="boom", **BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.error = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        PlannedFailed(KEY, 7, 2, "j1", "boom")  # type: ignore[misc]
    with pytest.raises(TypeError):  # a fetch without its job id is no fetch
        PlannedFetch(architecture=ARCHITECTURE, **BASE)  # type: ignore[call-arg]


def test_a_job_is_priced_by_its_isa_circuit() -> None:
    before = PlannedSubmit(architecture=ARCHITECTURE, **BASE)
    assert before.n_samples == 10 and before.metrics is None and before.physical_qubits == ()
    after = dataclasses.replace(before, isa=ISA, predicted_qpu_s=4.5)
    assert after.metrics is METRICS and after.physical_qubits == (3, 5)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            PlannedSubmit(architecture=ARCHITECTURE, isa=ISA, predicted_qpu_s=4.5, **BASE),
            {**IDENTITY, "action": "submit", "job_id": None, **PRICED},
        ),
        (  # a resubmission and a row planned before write the same JSON as a first submission
            PlannedSubmit(
                architecture=ARCHITECTURE,
                isa=ISA,
                predicted_qpu_s=4.5,
                planned_before=True,
                resubmits="j9",
                **BASE,
            ),
            {**IDENTITY, "action": "submit", "job_id": None, **PRICED},
        ),
        (
            PlannedFetch(
                job_id="j2", architecture=ARCHITECTURE, isa=ISA, predicted_qpu_s=4.5, **BASE
            ),
            {**IDENTITY, "action": "fetch", "job_id": "j2", **PRICED},
        ),
        (
            PlannedStored(job_id="j0", record=RECORD, **BASE),
            {**IDENTITY, "action": "stored", "job_id": "j0", **UNPRICED},
        ),
        (
            PlannedFailed(job_id=None, error="boom", **BASE),
            {**IDENTITY, "action": "failed", "job_id": None, **UNPRICED},
        ),
    ],
    ids=["submit", "resubmit", "fetch", "stored", "failed"],
)
def test_to_dict_of_each_kind(item: Any, expected: dict[str, Any]) -> None:
    out = item.to_dict()
    assert out == expected
    keys = ["genome", "evaluation_id", "n_qubits", "action", "job_id", "n_samples", "isa"]
    assert list(out) == [*keys, "physical_qubits", "predicted_qpu_s"]  # the order --json had
    assert json.loads(json.dumps(out)) == expected


def test_the_plan_prices_only_what_it_submits() -> None:
    submit = PlannedSubmit(architecture=ARCHITECTURE, isa=ISA, predicted_qpu_s=4.5, **BASE)
    fetch = PlannedFetch(
        job_id="j2", architecture=ARCHITECTURE, isa=ISA, predicted_qpu_s=2.0, **BASE
    )
    plan = ReevaluationPlan(
        run_id="r1",
        profile=load_profile("fake_fez"),
        target="fake_fez",
        target_source="snapshot",
        shots=8,
        n_samples=10,
        items=(
            submit,
            fetch,
            PlannedStored(job_id="j0", record=RECORD, **BASE),
            PlannedFailed(job_id="j1", error="boom", **BASE),
        ),
        max_qpu_seconds=None,
        credentials=None,
        dry_run=True,
    )
    assert plan.to_submit == (submit,)
    assert plan.predicted_qpu_s == 4.5  # a fetched job was paid for by the call that sent it
    assert [a["action"] for a in plan.to_dict()["architectures"]] == [
        "submit",
        "fetch",
        "stored",
        "failed",
    ]


def test_a_second_call_plans_stored_items_with_their_records(
    store: ResultsStore, trained_run: StoredRun
) -> None:
    first = reevaluate_run(store, trained_run.run_id, "aer", keys=trained_run.keys, samples=5)
    again = reevaluate_run(
        store, trained_run.run_id, "aer", keys=trained_run.keys, samples=5, dry_run=True
    )
    items = again.plan.items
    assert all(isinstance(i, PlannedStored) for i in items)
    stored = [i.record for i in items if isinstance(i, PlannedStored)]
    assert stored == list(first.records)
    assert [i.job_id for i in items] == [r.job_ids[0] for r in first.records]
