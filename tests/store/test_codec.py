"""The store's codec: typed records in, the same JSON stored, typed fields out, any age."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.evaluation import EvaluationRecord, TrainingConfig
from faqnas_qiskit.store import (
    CostFields,
    EvaluationFields,
    ResultsStore,
    StoreError,
    canonical_json,
    present,
)

GENOME = "q2-angle-cx-linear-ry"


def _record(**changes: Any) -> EvaluationRecord:
    fields: dict[str, Any] = {
        "genome": GENOME,
        "dataset": "iris",
        "training": TrainingConfig(epochs=2),
        "seed": 7,
        "train_accuracy": 0.8,
        "val_accuracy": 0.75,
        "test_accuracy": 0.7,
        "loss_per_epoch": (1.1, 0.9),
        "params_classical": 50,
        "params_quantum": 4,
        "n_train": 90,
        "train_time_s": 1.5,
        "eval_time_s": 0.25,
        "params_quantum_effective": 2,
    }
    return EvaluationRecord(**{**fields, **changes})


FLOPS_ONLY = {
    "quantum_flops": 640,
    "classical_flops": 100,
    "training_flops": 9000,
    "params_quantum": 4,
    "params_classical": 50,
    "transpiled": None,
    "transpiled_aer": None,
}


def _put(store: ResultsStore, record: object, metrics: object = FLOPS_ONLY) -> Any:
    return store.put_evaluation(
        key=GENOME,
        dataset="iris",
        training="t",
        seed=7,
        record=record,  # type: ignore[arg-type]
        error=None,
        metrics=metrics,  # type: ignore[arg-type]
        weights=None,
        run_id=None,
    )


def test_a_typed_record_is_stored_as_its_json_and_read_back_typed(tmp_path: Path) -> None:
    record = _record()
    with ResultsStore(tmp_path / "s.db") as store:
        stored = _put(store, record)
        (raw,) = store._db.execute("SELECT record FROM evaluations").fetchone()
    assert raw == canonical_json(record.to_dict())  # the stored JSON is unchanged
    assert stored.record == json.loads(raw)  # and its dict form is still there
    fields = stored.fields
    assert isinstance(fields, EvaluationFields)
    assert (fields.genome, fields.val_accuracy, fields.test_accuracy) == (GENOME, 0.75, 0.7)
    assert (fields.params_classical, fields.params_quantum_effective) == (50, 2)
    assert fields.record() == record


def test_a_record_stored_before_params_quantum_effective_still_loads(tmp_path: Path) -> None:
    old = {k: v for k, v in _record().to_dict().items() if k != "params_quantum_effective"}
    with ResultsStore(tmp_path / "s.db") as store:
        stored = _put(store, old)
    assert stored.fields is not None and stored.fields.params_quantum_effective is None
    assert stored.fields.record() == _record(params_quantum_effective=None)


def test_metrics_of_a_search_that_did_not_transpile_read_as_none(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "s.db") as store:
        costs = _put(store, _record()).costs
    assert isinstance(costs, CostFields)
    assert (costs.quantum_flops, costs.total_flops, costs.training_flops) == (640, 740, 9000)
    assert costs.transpiled is None and costs.aer is None
    with pytest.raises(StoreError, match="'transpiled' field must be present"):
        costs.architecture_metrics()  # the FLOPs-only form is not a whole ArchitectureMetrics


def test_a_missing_field_is_named_when_it_is_needed() -> None:
    fields = EvaluationFields.read({"val_accuracy": 0.5})
    assert fields.test_accuracy is None and fields.repeat == 0
    with pytest.raises(StoreError, match="'test_accuracy' field must be present"):
        present(fields.test_accuracy, "test_accuracy")
    with pytest.raises(StoreError, match="does not read back"):
        fields.record()


@dataclass(frozen=True)
class _Upper:
    """A record of a layer above the store: the store knows it only by to_dict/from_dict."""

    name: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Upper:
        if not data["name"]:
            raise ConfigError("The 'name' field must be non-empty. Got '' instead.")
        return cls(data["name"])


def test_records_of_upper_layers_are_written_and_read_generically(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "s.db") as store:
        run_id = store.create_run(dataset="iris", seed=0, config=_Upper("a"), versions={})
        run = store.get_run(run_id)
        assert run.config == {"name": "a"} and run.config_as(_Upper) == _Upper("a")
        stored = _put(store, _record())
        job = store.plan_hardware_job(
            run_id=run_id, backend="b", profile={}, key=GENOME, evaluation_id=stored.id, shots=8
        )
        with pytest.raises(StoreError, match="must be done"):
            job.result_as(_Upper)
        store.finish_hardware_job(job.id, result=_Upper(""), error=None)
        (done,) = store.hardware_jobs(run_id)
    assert done.result == {"name": ""}
    with pytest.raises(ConfigError, match="non-empty"):  # the record's own check, unchanged
        done.result_as(_Upper)
    assert done.summary is not None and done.summary.accuracy is None
