"""An architecture's cost metrics are stored once: evaluations refer to them (schema version 5),
and a store of version 4, which copied them into every row and record, migrates in one
transaction keeping every number."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from faqnas_qiskit.evaluation import EvaluationRecord, TrainingConfig
from faqnas_qiskit.store import SCHEMA_VERSION, RepeatRow, ResultsStore, canonical_json
from faqnas_qiskit.store import schema as store_schema

A = "q2-angle-cx-linear-rx"
B = "q3-angle-cx-linear-rx"
C = "q2-angle-cz-linear-ry"
SETTINGS = canonical_json({"target": "fake_fez", "shots": 1024, "n_train": 90})
M1 = {
    "quantum_flops": 640,
    "classical_flops": 100,
    "training_flops": 9000,
    "params_quantum": 4,
    "params_classical": 50,
    "transpiled": {"target": "fake_fez", "two_qubit_gates": 3, "predicted_qpu_s": 1.25},
    "transpiled_aer": None,
}
M2 = {**M1, "quantum_flops": 2048, "transpiled": None}
M3 = {**M1, "quantum_flops": 0.1 + 0.2}  # a float whose digits must survive


def _record(key: str, seed: int, repeat: int = 0, **changes: Any) -> EvaluationRecord:
    fields: dict[str, Any] = {
        "genome": key,
        "dataset": "iris",
        "training": TrainingConfig(epochs=2),
        "seed": seed,
        "train_accuracy": 0.8,
        "val_accuracy": 0.75 - 0.01 * repeat,
        "test_accuracy": 0.7,
        "loss_per_epoch": (1.1, 0.9),
        "params_classical": 50,
        "params_quantum": 4,
        "n_train": 90,
        "train_time_s": 1.5,
        "eval_time_s": 0.25,
        "repeat": repeat,
        "params_quantum_effective": 2,
    }
    return EvaluationRecord(**{**fields, **changes})


def _version_4_record(key: str, seed: int, metrics: Any, repeat: int = 0) -> str:
    """A record as version 4 stored it: its to_dict() with a copy of the row's metrics."""
    return canonical_json({**_record(key, seed, repeat).to_dict(), "metrics": metrics})


def _version_4_store(path: Path) -> None:
    """A store of schema version 4, written with that version's DDL and rows by hand."""
    con = sqlite3.connect(path)
    for version in (1, 2, 3, 4):
        step = store_schema._MIGRATIONS[version]
        assert isinstance(step, str)
        for statement in step.split(";"):
            if statement.strip():
                con.execute(statement)
    con.execute("INSERT INTO runs VALUES ('rold', 1.0, 1.0, 'finished', 'iris', 0, '{}', '{}')")
    # the search's metrics cache held A's metrics under its settings
    con.execute(
        "INSERT INTO architecture_metrics VALUES (?, ?, ?)", (A, SETTINGS, canonical_json(M1))
    )
    rows = [
        # id, key, dataset, seed, status, error, record, metrics
        (1, A, "iris", 7, "ok", None, _version_4_record(A, 7, M1), M1),
        (2, A, "iris", 8, "ok", None, _version_4_record(A, 8, M1), M1),  # another seed
        (3, B, "iris", 7, "failed", "TrainingError: nan", None, M2),
        (4, B, "wine", 7, "ok", None, _version_4_record(B, 7, M2), M2),  # another dataset
        # a record whose copy differs from its row's (written by hand): kept as it is
        (5, C, "iris", 7, "ok", None, _version_4_record(C, 7, {"quantum_flops": 1}), M3),
        (6, C, "iris", 9, "ok", None, canonical_json({"val_accuracy": 0.5}), {}),
    ]
    for eid, key, dataset, seed, status, error, record, metrics in rows:
        con.execute(
            "INSERT INTO evaluations VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, 'rold', 1.0)",
            (eid, key, dataset, seed, status, error, record, canonical_json(metrics), b"w"),
        )
    con.execute(
        "INSERT INTO repeats VALUES (1, 1, 'ok', NULL, ?, ?, 'rold', 2.0)",
        (_version_4_record(A, 7, M1, repeat=1), b"r"),
    )
    con.execute(
        "INSERT INTO hardware_jobs VALUES (5, 'rold', 'fake_fez', '{}', ?, 1, 1024, 30, "
        "'job-paid', 'submitted', NULL, NULL, 2.0, 2.0)",
        (A,),
    )
    con.execute("PRAGMA user_version = 4")
    con.execute(f"PRAGMA application_id = {store_schema.APPLICATION_ID}")
    con.commit()
    con.close()


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(tuple, con.execute(f"SELECT * FROM {t}"))) for t in sorted(tables)}
    finally:
        con.close()


def test_a_version_4_store_migrates_and_reads_back_the_same_metrics(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    _version_4_store(path)
    before = _dump(path)
    old_metrics = {row[0]: json.loads(row[8]) for row in before["evaluations"]}
    old_records = {row[0]: row[7] for row in before["evaluations"]}
    with ResultsStore(path) as store:
        evaluations = {e.id: e for e in store.evaluations()}
        assert sorted(evaluations) == [1, 2, 3, 4, 5, 6]
        for eid, stored in evaluations.items():
            assert stored.metrics == old_metrics[eid]  # every number, as it was
            assert store.weights(eid) == b"w"
        first = evaluations[1]
        assert first.costs.quantum_flops == 640 and first.costs.total_flops == 740
        assert first.costs.transpiled is not None
        assert first.costs.transpiled.two_qubit_gates == 3
        assert first.costs.transpiled.predicted_qpu_s == 1.25
        assert evaluations[5].costs.quantum_flops == 0.1 + 0.2
        assert evaluations[3].costs.transpiled is None and not evaluations[3].ok
        # the records lost only their copy of the metrics, and read back whole
        assert first.fields is not None and first.fields.record() == _record(A, 7)
        assert first.record == {
            k: v for k, v in json.loads(old_records[1]).items() if k != "metrics"
        }
        (repeat,) = first.repeats
        assert repeat.record is not None and "metrics" not in repeat.record
        assert repeat.fields is not None and repeat.fields.record() == _record(A, 7, repeat=1)
        assert evaluations[5].record == json.loads(old_records[5])  # a differing copy is kept
        assert evaluations[6].record == {"val_accuracy": 0.5}
        # the rest of the store answers as before
        assert store.get_run("rold").status == "finished"
        (job,) = store.hardware_jobs()
        assert (job.id, job.evaluation_id, job.job_id) == (5, 1, "job-paid")
        by_id = store.evaluation_by_id(1)
        assert by_id is not None and by_id.metrics == M1 and len(by_id.repeats) == 1
        found = store.lookup(B, "wine", "{}", 7)
        assert found is not None and found.metrics == M2
        assert store.get_metrics(A, SETTINGS) == M1
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        columns = [r[1] for r in con.execute("PRAGMA table_info(evaluations)")]
        assert "metrics" not in columns and "metrics_settings" in columns
        # one row per architecture and metrics: A's cached row is the one its evaluations use
        per_key = dict(con.execute("SELECT key, count(*) FROM architecture_metrics GROUP BY key"))
        assert per_key == {A: 1, B: 1, C: 2}  # C: two distinct values (M3 and {})
        refs = dict(con.execute("SELECT id, metrics_settings FROM evaluations"))
        assert refs[1] == refs[2] == SETTINGS and refs[3] == refs[4] != SETTINGS
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


def test_an_interrupted_migration_leaves_version_4_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v4.db"
    _version_4_store(path)
    before = _dump(path)
    migrate = store_schema._MIGRATIONS[5]
    assert callable(migrate)

    def power_cut(db: sqlite3.Connection) -> None:
        migrate(db)  # every write of the step done, then the process stops
        raise KeyboardInterrupt

    monkeypatch.setitem(store_schema._MIGRATIONS, 5, power_cut)
    with pytest.raises(KeyboardInterrupt):
        ResultsStore(path)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 4
    finally:
        con.close()
    assert _dump(path) == before  # not half-migrated: nothing of the step was kept
    monkeypatch.setitem(store_schema._MIGRATIONS, 5, migrate)
    with ResultsStore(path) as store:
        assert {e.id: e.metrics for e in store.evaluations()}[1] == M1


def test_metrics_of_an_architecture_are_stored_once(tmp_path: Path) -> None:
    """However many evaluations, repeats, datasets and runs refer to them, and whether the
    writer knows their settings (the search's metrics cache) or not (a caller's provider)."""
    with ResultsStore(tmp_path / "s.db") as store:
        runs = [store.create_run(dataset="iris", seed=s, config={}, versions={}) for s in (0, 1)]
        for n, (run_id, seed) in enumerate((r, s) for r in runs for s in (7, 8, 9)):
            record = _record(A, seed)
            stored = store.put_evaluation(
                key=A,
                dataset="iris" if n % 2 else "wine",
                training=run_id,
                seed=seed,
                record=record,
                error=None,
                metrics=M1,
                weights=None,
                run_id=run_id,
                repeats=[RepeatRow(r, _record(A, seed, r), None, None) for r in (1, 2)],
                metrics_settings=SETTINGS if n % 3 else None,
            )
            assert stored.metrics == M1 and stored.costs.quantum_flops == 640
        store.put_metrics(A, SETTINGS, M1)  # the cache's own write: the same row
        failed = store.put_evaluation(
            key=A,
            dataset="iris",
            training="t",
            seed=1,
            record=None,
            error="TrainingError: nan",
            metrics=M1,
            weights=None,
            run_id=None,
        )
        assert failed.metrics == M1
        assert len(store.evaluations()) == 7
        db = store._db
        assert db.execute("SELECT count(*) FROM architecture_metrics").fetchone()[0] == 1
        refs = [tuple(r) for r in db.execute("SELECT DISTINCT metrics_settings FROM evaluations")]
        assert refs == [(SETTINGS,)]
        records = [r[0] for r in db.execute("SELECT record FROM evaluations")]
        records += [r[0] for r in db.execute("SELECT record FROM repeats")]
        assert len(records) == 7 + 12
        assert all(r is None or "metrics" not in json.loads(r) for r in records)
        # other metrics of the same architecture (other settings) are another row
        other = store.put_evaluation(
            key=A,
            dataset="iris",
            training="t",
            seed=2,
            record=None,
            error="x",
            metrics=M2,
            weights=None,
            run_id=None,
        )
        assert other.metrics == M2
        assert db.execute("SELECT count(*) FROM architecture_metrics").fetchone()[0] == 2


def test_a_row_whose_metrics_are_missing_is_named(tmp_path: Path) -> None:
    from faqnas_qiskit.store import StoreError

    with ResultsStore(tmp_path / "s.db") as store:
        store.put_evaluation(
            key=A,
            dataset="iris",
            training="t",
            seed=1,
            record=None,
            error="x",
            metrics=M1,
            weights=None,
            run_id=None,
        )
        store._db.execute("PRAGMA foreign_keys=OFF")
        store._db.execute("DELETE FROM architecture_metrics")
        with pytest.raises(StoreError, match="reference to stored metrics"):
            store.evaluations()


def test_a_version_4_row_that_is_not_json_stops_the_migration_untouched(tmp_path: Path) -> None:
    from faqnas_qiskit.store import StoreError

    path = tmp_path / "v4.db"
    _version_4_store(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE evaluations SET metrics = 'not json' WHERE id = 3")
    con.commit()
    con.close()
    before = _dump(path)
    with pytest.raises(StoreError, match="'metrics' stored value must be JSON"):
        ResultsStore(path)
    assert _dump(path) == before
