"""Searches with population batching (issue 21): groups fixed by the run, results as alone.

The reference for the numbers is training each candidate alone (the search without
``population_batching``): equal in float64 to 1e-8. Determinism is checked against the
uninterrupted in-process run on an empty store: the same stored evaluations with two Dask
workers, after an interruption in the middle of a group, and for the candidates a run trains
on a store that another run filled first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.search import (
    CandidateOutcome,
    CandidateTask,
    SearchConfig,
    SearchRunner,
    SerialEvaluator,
)
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import ResultsStore

TIMES = ("train_time_s", "eval_time_s", "wall_time_s")


def _formula_flops(genome: Genome) -> dict[str, float]:
    from faqnas_qiskit.metrics import quantum_flops_formula

    return {"quantum_flops": quantum_flops_formula(genome), "classical_flops": 10.0}


def _config(**changes: object) -> SearchConfig:
    base: dict[str, object] = dict(
        dataset="digits",
        seed=5,
        space=SearchSpace(qubits=(2, 3, 4), depths=(1, 2)),
        population=6,
        generations=3,
        training=TrainingConfig(epochs=2, lr=0.03),
        max_train=150,
        repeats=2,
        population_batching=True,
    )
    base.update(changes)
    return SearchConfig(**base)  # type: ignore[arg-type]


class Recording:
    """An evaluator that records every task it is given, then trains it in-process."""

    def __init__(self, inner: SerialEvaluator, stop_after: int | None = None) -> None:
        self.inner = inner
        self.calls: list[list[CandidateTask]] = []
        self.stop_after = stop_after
        self.yielded = 0

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        self.calls.append(list(tasks))
        for outcome in self.inner.map(tasks):
            if self.stop_after is not None and self.yielded == self.stop_after:
                raise KeyboardInterrupt
            self.yielded += 1
            yield outcome

    def close(self) -> None:
        self.inner.close()


def _search(path: Path, config: SearchConfig, evaluator=None):  # type: ignore[no-untyped-def]
    data = config.load_data()
    evaluator = evaluator or SerialEvaluator(data)
    with ResultsStore(path) as store:
        runner = SearchRunner(store, evaluator, _formula_flops, data.name)
        return runner.start(config)


def _resume(path: Path, run_id: str, config: SearchConfig):  # type: ignore[no-untyped-def]
    data = config.load_data()
    with ResultsStore(path) as store:
        return SearchRunner(store, SerialEvaluator(data), _formula_flops, data.name).resume(run_id)


def _records(path: Path, run_id: str | None = None) -> dict[tuple[str, int], dict[str, object]]:
    """Every stored repeat's record without its times, by (key, repeat); one run's only."""
    con = sqlite3.connect(path)
    rows = list(con.execute("SELECT key, 0, record, run_id FROM evaluations"))
    rows += list(
        con.execute(
            "SELECT e.key, r.repeat, r.record, r.run_id FROM repeats r "
            "JOIN evaluations e ON e.id = r.evaluation_id"
        )
    )
    con.close()
    return {
        (key, repeat): {f: v for f, v in json.loads(record).items() if f not in TIMES}
        for key, repeat, record, owner in rows
        if run_id is None or owner == run_id
    }


def test_groups_share_qubits_and_embedding_and_hold_only_new_networks(tmp_path: Path) -> None:
    config = _config()
    data = config.load_data()
    recording = Recording(SerialEvaluator(data))
    result = _search(tmp_path / "g.db", config, recording)
    seen: set[str] = set()
    grouped = 0
    for tasks in recording.calls:
        groups: dict[int | None, list[CandidateTask]] = {}
        for task in tasks:
            assert task.group is not None and task.repeats == (0, 1)
            groups.setdefault(task.group, []).append(task)
        for members in groups.values():
            kinds = {(Genome.parse(t.key).n_qubits, Genome.parse(t.key).embedding) for t in members}
            assert len(kinds) == 1
            grouped += len(members) > 1
        keys = [t.key for t in tasks]
        assert len(keys) == len(set(keys)) and not seen & set(keys)  # nothing trained twice
        seen |= set(keys)
    assert grouped > 0  # some groups really hold several candidates
    assert seen == {c.key for c in result.candidates}


def test_batched_search_stores_what_training_one_by_one_stores_in_float64(
    tmp_path: Path,
) -> None:
    training = TrainingConfig(epochs=2, lr=0.03, double=True)
    batched = _search(tmp_path / "b.db", _config(training=training))
    alone = _search(tmp_path / "a.db", _config(training=training, population_batching=False))
    assert [c.key for c in batched.candidates] == [c.key for c in alone.candidates]
    got, want = _records(tmp_path / "b.db"), _records(tmp_path / "a.db")
    assert got.keys() == want.keys() and len(got) == 2 * len(batched.candidates)
    for k, record in want.items():
        for field in ("train_accuracy", "val_accuracy", "test_accuracy"):
            assert got[k][field] == record[field], (k, field)
        assert got[k]["loss_per_epoch"] == pytest.approx(record["loss_per_epoch"], abs=1e-8)


def test_batching_is_part_of_the_cache_key(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    _search(path, _config(generations=1))
    again = _search(path, _config(generations=1, population_batching=False))
    assert again.trained == len(again.candidates)  # nothing served from the batched run


@pytest.mark.slow
def test_same_stored_evaluations_with_two_workers_after_an_interruption_and_on_a_used_store(
    tmp_path: Path,
) -> None:
    from faqnas_qiskit.search.distributed import DaskEvaluator

    config = _config()
    data = config.load_data()
    reference = _search(tmp_path / "ref.db", config)
    expected = _records(tmp_path / "ref.db")
    _search(tmp_path / "ref2.db", config)
    assert _records(tmp_path / "ref2.db") == expected  # same seed, same store contents

    with DaskEvaluator.local(data, workers=2) as evaluator:
        _search(tmp_path / "w.db", config, evaluator)
    assert _records(tmp_path / "w.db") == expected

    # interrupted between two outcomes of one group: the group is retrained whole on resume
    stopping = Recording(SerialEvaluator(data), stop_after=3)
    with pytest.raises(KeyboardInterrupt):
        _search(tmp_path / "i.db", config, stopping)
    first = stopping.calls[0]
    assert len({t.group for t in first[:4]}) < 4  # the fourth outcome shares a started group
    partial = _records(tmp_path / "i.db")
    assert 0 < len(partial) < len(expected)
    con = sqlite3.connect(tmp_path / "i.db")
    (run_id,) = con.execute("SELECT id FROM runs").fetchone()
    con.close()
    resumed = _resume(tmp_path / "i.db", run_id, config)
    assert _records(tmp_path / "i.db") == expected
    assert resumed.trained == len(reference.candidates) - len(partial) // 2

    # a store another run filled first: what this run trains is what it trains alone
    other = _search(tmp_path / "u.db", _config(population=4, generations=2))
    assert other.candidates
    mine = _search(tmp_path / "u.db", config)
    trained_here = _records(tmp_path / "u.db", mine.run_id)
    assert trained_here and all(expected[k] == v for k, v in trained_here.items())


def test_cli_flag_is_stored_with_the_run_and_resume_cannot_add_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from faqnas_qiskit.cli import main

    store = str(tmp_path / "c.db")
    tiny = [
        "search", "--dataset", "iris", "--qubits", "2-3", "--depth", "1", "--population", "4",
        "--generations", "1", "--epochs", "1", "--seed", "3", "--store", store, "--json",
    ]  # fmt: skip
    assert main([*tiny, "--population-batching"]) == 0
    assert main([*tiny, "--seed", "4"]) == 0
    runs = [json.loads(line)["run"] for line in capsys.readouterr().out.splitlines()]
    con = sqlite3.connect(store)
    stored = dict(con.execute("SELECT id, config FROM runs").fetchall())
    con.close()
    assert [json.loads(stored[r])["population_batching"] for r in runs] == [True, False]
    assert main(["search", "--resume", runs[0], "--store", store, "--population-batching"]) == 0
    capsys.readouterr()
    before = (tmp_path / "c.db").read_bytes()
    # resuming with a different setting would mix results: refused, one line, store untouched
    assert main(["search", "--resume", runs[1], "--store", store, "--population-batching"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--population-batching" in err[0]
    assert (tmp_path / "c.db").read_bytes() == before


def _kill_group(tasks: Sequence[CandidateTask], dataset: object, *, victim: str) -> object:
    """On a worker: die when the group holds ``victim``, else train the group."""
    import os

    from faqnas_qiskit.search.candidate import run_group

    if any(task.key == victim for task in tasks):
        os._exit(1)
    return run_group(tasks, dataset)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_group_whose_worker_dies_fails_whole_and_the_others_train(tmp_path: Path) -> None:
    import functools

    from faqnas_qiskit.search.distributed import DaskEvaluator

    data = _config().load_data()
    training = TrainingConfig(epochs=1)
    keys = [
        "q2-angle-cz-linear-ry", "q2-angle-cx-linear-rx", "q3-angle-cz-linear-ry",
        "q3-angle-cx-linear-ry.rx",
    ]  # fmt: skip
    tasks = [
        CandidateTask(key, i, training, group=Genome.parse(key).n_qubits)
        for i, key in enumerate(keys)
    ]
    kill = functools.partial(_kill_group, victim=keys[2])
    with DaskEvaluator.local(data, workers=2, retries=0, evaluate_group=kill) as evaluator:
        outcomes = {o.key: o for o in evaluator.map(tasks)}
    assert set(outcomes) == set(keys)
    assert [outcomes[k].error is None for k in keys] == [True, True, False, False]
    assert all(str(outcomes[k].error).startswith("KilledWorker") for k in keys[2:])
