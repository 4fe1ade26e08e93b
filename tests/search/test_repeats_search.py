"""Searches with repeats: stored repeats, top-up, determinism, resume after SIGKILL, the CLI."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.search import WORST, SearchConfig, SearchRunner, SerialEvaluator
from faqnas_qiskit.space import SearchSpace
from faqnas_qiskit.store import ResultsStore
from tests.stores import count_evaluations

TINY = [
    "--dataset", "iris", "--qubits", "2-3", "--depth", "1-2", "--population", "5",
    "--generations", "3", "--epochs", "3", "--lr", "0.03", "--seed", "4",
]  # fmt: skip


def _formula_flops(genome):  # type: ignore[no-untyped-def]
    from faqnas_qiskit.metrics import quantum_flops_formula

    return {"quantum_flops": quantum_flops_formula(genome), "classical_flops": 10.0}


def _run(path: Path, config: SearchConfig):  # type: ignore[no-untyped-def]
    data = config.load_data()
    with ResultsStore(path) as store:
        runner = SearchRunner(store, SerialEvaluator(data), _formula_flops, data.name)
        return runner.start(config)


def _repeat_rows(path: Path) -> dict[tuple[str, int], tuple[object, ...]]:
    con = sqlite3.connect(path)
    rows = {
        (key, 0): (record, run_id, created)
        for key, record, run_id, created in con.execute(
            "SELECT key, record, run_id, created_at FROM evaluations"
        )
    }
    for key, repeat, record, run_id, created in con.execute(
        "SELECT e.key, r.repeat, r.record, r.run_id, r.created_at FROM repeats r "
        "JOIN evaluations e ON e.id = r.evaluation_id"
    ):
        rows[(key, repeat)] = (record, run_id, created)
    con.close()
    return rows


def _without_times(path: Path) -> dict[tuple[str, int], dict[str, object]]:
    times = ("train_time_s", "eval_time_s", "wall_time_s")
    return {
        k: {f: v for f, v in json.loads(str(row[0])).items() if f not in times}
        for k, row in _repeat_rows(path).items()
    }


def _config(**changes: object) -> SearchConfig:
    base: dict[str, object] = dict(
        dataset="iris",
        seed=3,
        space=SearchSpace(qubits=(2, 3), depths=(1, 2)),
        population=5,
        generations=2,
        training=TrainingConfig(epochs=2, lr=0.03),
        repeats=3,
    )
    base.update(changes)
    return SearchConfig(**base)  # type: ignore[arg-type]


def test_every_repeat_is_stored_and_the_search_optimises_the_mean(tmp_path: Path) -> None:
    result = _run(tmp_path / "s.db", _config())
    rows = _repeat_rows(tmp_path / "s.db")
    for c in result.candidates:
        assert c.val is not None and c.val.n == 3 and c.test is not None
        stored = [json.loads(rows[(c.key, r)][0]) for r in range(3)]  # type: ignore[arg-type]
        assert [s["repeat"] for s in stored] == [0, 1, 2]
        values = [s["val_accuracy"] for s in stored]
        assert list(c.val.values) == values
        assert c.objectives[-1] == pytest.approx(1 - sum(values) / 3)
    assert result.variance.repeats == 3 and result.variance.candidates == len(result.candidates)
    with ResultsStore(tmp_path / "s.db") as store:
        summary = store.run_summary(result.run_id)
    assert summary is not None and summary["verdict"] == result.variance.verdict


def test_same_seed_same_stored_repeats_and_top_up_trains_only_the_new_ones(
    tmp_path: Path,
) -> None:
    a = _run(tmp_path / "a.db", _config())
    b = _run(tmp_path / "b.db", _config())
    assert [(c.key, c.objectives) for c in a.candidates] == [
        (c.key, c.objectives) for c in b.candidates
    ]
    assert _without_times(tmp_path / "a.db") == _without_times(tmp_path / "b.db")
    before = _repeat_rows(tmp_path / "a.db")
    # the same space and seed with 4 repeats: repeats 0-2 come from the store, 3 is trained
    more = _run(tmp_path / "a.db", _config(repeats=4))
    after = _repeat_rows(tmp_path / "a.db")
    assert all(after[k] == v for k, v in before.items())  # nothing stored was retrained
    for c in more.candidates:
        if (c.key, 0) in before:
            assert (c.key, 3) in after and after[(c.key, 3)][1] == more.run_id
            assert c.val is not None and c.val.n == 4


def test_exclude_dead_keeps_dead_networks_out(tmp_path: Path) -> None:
    config = _config(
        strategy="exhaustive",
        space=SearchSpace(qubits=(2,), depths=(1, 2), rotations=("ry", "rz")),
        exclude_dead=True,
        repeats=1,
    )
    result = _run(tmp_path / "s.db", config)
    keys = {c.key for c in result.candidates}
    # 2 embeddings x 2 entanglers x 2 topologies x (2 + 4) rotation strings, less the all-rz
    # ones (rz and rz.rz)
    assert len(keys) == 2 * 2 * 2 * (6 - 2)
    assert not any(k.endswith("-rz") or k.endswith("-rz.rz") for k in keys)


def test_failed_repeat_scores_worst(tmp_path: Path) -> None:
    result = _run(tmp_path / "s.db", _config(training=TrainingConfig(epochs=2, lr=1e30)))
    failed = [c for c in result.candidates if not c.ok]
    assert failed and all(set(c.objectives) == {WORST} and c.error for c in failed)
    assert all(c.val is None and c.test is None for c in failed)


# ------------------------------------------------------------------------------------------ CLI
def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.mark.parametrize(
    ("command", "args", "needle"),
    [
        ("search", ["--repeats", "0"], "'repeats'"),
        ("search", ["--repeats", "33"], "'repeats'"),
        ("evaluate", ["--genome", "q2-angle-cx-linear-ry", "--repeats", "0"], "'repeats'"),
        ("evaluate", ["--genome", "q2-angle-cx-linear-ry", "--repeats", "100"], "'repeats'"),
        ("search", ["--exclude-dead", "--rotations", "rz"], "'exclude-dead'"),
        ("search", ["--objectives", "total,error"], "'objectives'"),
    ],
)
def test_bad_repeat_options(
    command: str,
    args: list[str],
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = tmp_path / "s.db"
    assert main(["search", *TINY, "--generations", "1", "--store", str(store), "--json"]) == 0
    capsys.readouterr()
    before = _digest(store)
    extra = ["--store", str(store)] if command == "search" else ["--no-metrics"]
    code = main([command, "--dataset", "iris", *args, *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and "Got" in err and err.count("\n") == 1
    assert _digest(store) == before


def test_front_shows_uncertainty_and_says_when_none_is_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.db")
    assert main(["search", *TINY, "--store", store, "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert main(["front", single["run"], "--store", store]) == 0
    text = capsys.readouterr().out
    assert "no uncertainty is known" in text and "±" not in text
    assert main(["search", *TINY, "--repeats", "3", "--store", store, "--json"]) == 0
    repeated = json.loads(capsys.readouterr().out)
    assert repeated["variance"]["repeats"] == 3
    assert main(["front", repeated["run"], "--store", store]) == 0
    text = capsys.readouterr().out
    assert "±" in text and "variance" in text
    assert main(["front", repeated["run"], "--store", store, "--json"]) == 0
    front = json.loads(capsys.readouterr().out)["front"]
    for row in front:
        values = row["val_repeats"]
        assert len(values) == 3 == row["repeats"]
        assert row["val_accuracy"] == pytest.approx(sum(values) / 3)
        low, high = row["val_ci95"]
        assert low <= row["val_accuracy"] <= high
        assert row["total_flops"] == row["quantum_flops"] + row["classical_flops"]
    assert main(["front", repeated["run"], "--store", store, "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    assert len(cells[header.index("val_repeats")].split(";")) == 3


@pytest.mark.slow
def test_sigkill_while_repeats_train_then_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*TINY, "--repeats", "4"]
    reference = json.loads(
        _cli_json(capsys, ["search", *args, "--store", str(tmp_path / "reference.db")])
    )
    store = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "faqnas_qiskit", "search", *args, "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while count_evaluations(store) < 6:  # inside the second generation (population 5)
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = _repeat_rows(store)
    keys = {k for k, _ in before}
    # a candidate's repeats are stored together or not at all
    assert all(all((k, r) in before for r in range(4)) for k in keys)
    con = sqlite3.connect(store)
    (run_id,) = con.execute("SELECT id FROM runs").fetchone()
    con.close()
    resumed = json.loads(_cli_json(capsys, ["search", "--resume", run_id, "--store", str(store)]))
    assert [(r["genome"], r["val_repeats"]) for r in resumed["front"]] == [
        (r["genome"], r["val_repeats"]) for r in reference["front"]
    ]
    assert resumed["trained"] == reference["candidates"] - len(keys)
    after = _repeat_rows(store)
    assert all(after[k] == v for k, v in before.items())


def _cli_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main([*argv, "--json"]) == 0
    return capsys.readouterr().out


def test_load_dataset_is_what_the_runs_use() -> None:
    # the repeat splits derive from the run's split seed: the same for every candidate
    config = _config()
    assert config.load_data().x_val.shape == load_dataset("iris", seed=3).x_val.shape


@pytest.mark.slow
def test_repeats_on_two_workers_store_what_the_serial_search_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = [
        "--dataset", "digits", "--qubits", "2-5", "--depth", "1-2", "--population", "5",
        "--generations", "2", "--max-train", "120", "--seed", "5", "--repeats", "3",
    ]  # fmt: skip
    serial = json.loads(_cli_json(capsys, ["search", *small, "--store", str(tmp_path / "s.db")]))
    two = json.loads(
        _cli_json(capsys, ["search", *small, "--workers", "2", "--store", str(tmp_path / "w.db")])
    )
    assert [(r["genome"], r["val_repeats"]) for r in serial["front"]] == [
        (r["genome"], r["val_repeats"]) for r in two["front"]
    ]
    assert _without_times(tmp_path / "s.db") == _without_times(tmp_path / "w.db")
