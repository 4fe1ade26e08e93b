"""The store's states are str enums whose values are the stored strings, and a failure's kind
round-trips through the stored error (old rows, which have only the message, read the same)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faqnas_qiskit.store import (
    INFRASTRUCTURE_PREFIX,
    EvaluationStatus,
    FailureKind,
    HardwareJobStatus,
    RepeatRow,
    ResultsStore,
    RunStatus,
)


def test_states_read_and_write_as_their_stored_strings() -> None:
    assert [s.value for s in RunStatus] == ["running", "interrupted", "finished", "failed"]
    assert [s.value for s in HardwareJobStatus] == ["planned", "submitted", "done", "failed"]
    assert RunStatus.FINISHED == "finished" and RunStatus("finished") is RunStatus.FINISHED
    status = EvaluationStatus.FAILED
    assert f"{status}|{status:>8}|{status!r}" == "failed|  failed|'failed'"
    assert json.dumps({"status": RunStatus.RUNNING}) == '{"status": "running"}'


def test_failure_kind_round_trips_through_the_store(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "s.db") as store:
        common: dict[str, Any] = {
            "dataset": "d",
            "training": "t",
            "metrics": {},
            "weights": None,
            "run_id": None,
        }
        dead = store.put_evaluation(
            key="a",
            seed=0,
            record=None,
            error="worker lost",
            failure=FailureKind.INFRASTRUCTURE,
            repeats=[RepeatRow(1, None, "worker lost", None, FailureKind.INFRASTRUCTURE)],
            **common,
        )
        assert dead.error == INFRASTRUCTURE_PREFIX + "worker lost"
        assert dead.failure is FailureKind.INFRASTRUCTURE
        assert dead.repeats[0].failure is FailureKind.INFRASTRUCTURE
        old = store.put_evaluation(
            key="b", seed=0, record=None, error="KilledWorker: 2 workers died", **common
        )
        assert old.error == "KilledWorker: 2 workers died"  # a message is never prefixed twice
        assert old.failure is FailureKind.INFRASTRUCTURE
        bad = store.put_evaluation(
            key="c", seed=0, record=None, error="TrainingError: loss is nan", **common
        )
        assert bad.failure is FailureKind.TRAINING and bad.status is EvaluationStatus.FAILED
        ok = store.put_evaluation(key="d", seed=0, record={"x": 1}, error=None, **common)
        assert ok.failure is None and ok.status is EvaluationStatus.OK
