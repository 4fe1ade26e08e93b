from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from faqnas_qiskit.store import SCHEMA_VERSION, ResultsStore, StoreError


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _put(
    store: ResultsStore, key: str, record: dict[str, object] | None, error: str | None = None
) -> None:
    store.put_evaluation(
        key=key,
        dataset="iris",
        training="{}",
        seed=7,
        record=record,
        error=error,
        metrics={"m": 1},
        weights=b"w" if record else None,
        run_id=None,
    )


def test_round_trip_and_first_write_wins(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with ResultsStore(path) as store:
        run = store.create_run(dataset="iris", seed=3, config={"a": 1}, versions={"x": "1"})
        _put(store, "q2-angle-cx-linear-rx", {"val_accuracy": 0.5})
        _put(store, "q2-angle-cx-linear-rx", {"val_accuracy": 0.9})  # ignored: same candidate
        _put(store, "q3-angle-cx-linear-rx", None, "TrainingError: nan")
        store.put_generation(run, 0, ["a", "b"], ["a"], {"evaluated": ["a", "b"]})
        store.set_run_status(run, "finished")
    with ResultsStore(path, create=False) as store:
        stored = store.lookup("q2-angle-cx-linear-rx", "iris", "{}", 7)
        assert stored is not None and stored.ok and stored.record == {"val_accuracy": 0.5}
        assert store.weights(stored.id) == b"w"
        failed = store.lookup("q3-angle-cx-linear-rx", "iris", "{}", 7)
        assert failed is not None and not failed.ok and failed.error == "TrainingError: nan"
        assert store.lookup("q3-angle-cx-linear-rx", "iris", "{}", 8) is None
        assert store.count_evaluations() == 2
        (row,) = store.list_runs()
        assert (row.id, row.status, row.seed, row.config) == (run, "finished", 3, {"a": 1})
        (gen,) = store.generations(run)
        assert gen.members == ("a", "b") and gen.front == ("a",)


def test_missing_store_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    with pytest.raises(StoreError, match="does not exist"):
        ResultsStore(path, create=False)
    assert not path.exists()


def test_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    before = _digest(path)
    with pytest.raises(StoreError, match="not a database"):
        ResultsStore(path)
    assert _digest(path) == before


def test_foreign_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="another application"):
        ResultsStore(path)
    assert _digest(path) == before


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with ResultsStore(path) as store:
        store.create_run(dataset="iris", seed=0, config={}, versions={})
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="newer faqnas"):
        ResultsStore(path)
    assert _digest(path) == before


def test_readers_see_committed_rows_while_a_writer_is_open(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    writer = ResultsStore(path)
    run = writer.create_run(dataset="iris", seed=0, config={}, versions={})
    _put(writer, "q2-angle-cx-linear-rx", {"val_accuracy": 0.5})
    reader = ResultsStore(path, create=False)
    assert reader.get_run(run).status == "running"
    assert reader.count_evaluations() == 1
    _put(writer, "q3-angle-cx-linear-rx", {"val_accuracy": 0.6})
    assert reader.count_evaluations() == 2
    reader.close()
    writer.close()


def test_unknown_run_lists_known_ones(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "s.db") as store:
        run = store.create_run(dataset="iris", seed=0, config={}, versions={})
        with pytest.raises(StoreError, match=run):
            store.get_run("rnope")


def test_version_1_store_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    from faqnas_qiskit.store.sqlite import _MIGRATIONS, APPLICATION_ID

    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    for statement in _MIGRATIONS[1].split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute("INSERT INTO runs VALUES ('rold', 1.0, 1.0, 'finished', 'iris', 0, '{}', '{}')")
    con.execute("PRAGMA user_version = 1")
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.commit()
    con.close()
    with ResultsStore(path) as store:
        assert store.get_run("rold").status == "finished"
        assert store.hardware_jobs() == []
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    con.close()


def test_version_2_hardware_jobs_keep_answering_after_migration(tmp_path: Path) -> None:
    from faqnas_qiskit.store.sqlite import _MIGRATIONS, APPLICATION_ID, LEGACY_SAMPLES

    path = tmp_path / "v2.db"
    con = sqlite3.connect(path)
    for version in (1, 2):
        for statement in _MIGRATIONS[version].split(";"):
            if statement.strip():
                con.execute(statement)
    con.execute("INSERT INTO runs VALUES ('rold', 1.0, 1.0, 'finished', 'iris', 0, '{}', '{}')")
    con.execute(
        "INSERT INTO evaluations VALUES (1, 'q2-angle-cx-linear-rx', 'iris', '{}', 7, 'ok', "
        "NULL, '{}', '{}', NULL, 'rold', 1.0)"
    )
    con.execute(
        "INSERT INTO hardware_jobs VALUES (5, 'rold', 'ibm_fez', '{}', 'q2-angle-cx-linear-rx', "
        "1, 1024, 'job-paid', 'submitted', NULL, NULL, 2.0, 2.0)"
    )
    con.execute("PRAGMA user_version = 2")
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.commit()
    con.close()
    with ResultsStore(path) as store:
        (row,) = store.hardware_jobs()
        assert (row.id, row.job_id, row.samples) == (5, "job-paid", LEGACY_SAMPLES)
        # a paid job of the old schema is found whatever the samples asked for now
        for samples in (0, 30):
            found = store.hardware_job("rold", "ibm_fez", "q2-angle-cx-linear-rx", 1024, samples)
            assert found is not None and found.id == 5
        again = store.plan_hardware_job(
            run_id="rold",
            backend="ibm_fez",
            profile={},
            key="q2-angle-cx-linear-rx",
            evaluation_id=1,
            shots=1024,
            samples=30,
        )
        assert again.id == 5 and len(store.hardware_jobs()) == 1


def test_hardware_job_lifecycle(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "s.db") as store:
        run = store.create_run(dataset="iris", seed=0, config={}, versions={})
        _put(store, "q2-angle-cx-linear-rx", {"val_accuracy": 0.5})
        evaluation = store.lookup("q2-angle-cx-linear-rx", "iris", "{}", 7)
        assert evaluation is not None
        row = store.plan_hardware_job(
            run_id=run,
            backend="fake_fez",
            profile={"shots": 64},
            key=evaluation.key,
            evaluation_id=evaluation.id,
            shots=64,
        )
        assert row.status == "planned" and row.job_id is None
        again = store.plan_hardware_job(
            run_id=run,
            backend="fake_fez",
            profile={"shots": 64},
            key=evaluation.key,
            evaluation_id=evaluation.id,
            shots=64,
        )
        assert again.id == row.id
        store.mark_hardware_submitted(row.id, "job-123")
        job = store.hardware_job(run, "fake_fez", evaluation.key, 64)
        assert job is not None and (job.status, job.job_id) == ("submitted", "job-123")
        store.finish_hardware_job(row.id, result={"accuracy": 0.4}, error=None)
        (done,) = store.hardware_jobs(run)
        assert done.status == "done" and done.result == {"accuracy": 0.4}
        # another number of test samples is another re-evaluation
        assert store.hardware_job(run, "fake_fez", evaluation.key, 64, 10) is None
        other = store.plan_hardware_job(
            run_id=run,
            backend="fake_fez",
            profile={"shots": 64},
            key=evaluation.key,
            evaluation_id=evaluation.id,
            shots=64,
            samples=10,
        )
        assert other.id != row.id and other.status == "planned" and other.samples == 10
        assert store.hardware_job(run, "fake_fez", evaluation.key, 64).id == row.id  # type: ignore[union-attr]
