"""End-to-end: the search through the CLI, in-process and as a real process killed with SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from faqnas_qiskit.cli import main
from tests.stores import count_evaluations

SMALL = [
    "--dataset", "iris", "--qubits", "2-4", "--depth", "1-2", "--population", "6",
    "--generations", "4", "--epochs", "3", "--lr", "0.03", "--seed", "11",
]  # fmt: skip


def _search(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["search", *args, "--json"]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def _front_keys(out: dict[str, object]) -> list[tuple[str, float]]:
    return [(row["genome"], row["val_accuracy"]) for row in out["front"]]  # type: ignore[union-attr,index]


def test_search_runs_front_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "s.db")
    out = _search(capsys, *SMALL, "--store", store)
    assert out["front"] and out["trained"] == out["candidates"]
    for row in out["front"]:  # type: ignore[attr-defined]
        assert row["quantum_flops"] > 0 and row["two_qubit_gates"] is not None
        assert row["predicted_qpu_s"] > 0
    assert main(["runs", "--store", store, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert run["id"] == out["run"] and run["status"] == "finished"
    assert main(["front", str(out["run"]), "--store", store, "--json"]) == 0
    front = json.loads(capsys.readouterr().out)
    assert _front_keys(front) == _front_keys(out)
    assert main(["front", str(out["run"]), "--store", store, "--csv"]) == 0
    csv_text = capsys.readouterr().out
    assert (
        csv_text.splitlines()[0].startswith("genome,")
        and len(csv_text.splitlines()) == len(front["front"]) + 1
    )
    assert main(["front", str(out["run"]), "--store", store]) == 0
    assert "F_Q" in capsys.readouterr().out
    # the same search again: every candidate comes from the store
    again = _search(capsys, *SMALL, "--store", store)
    assert again["trained"] == 0 and _front_keys(again) == _front_keys(out)


def _start(store: Path, extra: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "faqnas_qiskit", "search", *SMALL, *extra, "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for(store: Path, proc: subprocess.Popen[str], evaluations: int) -> None:
    deadline = time.monotonic() + 180
    while count_evaluations(store) < evaluations:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "search made no progress"
        time.sleep(0.01)


@pytest.mark.slow
def test_sigkill_mid_generation_then_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = _search(capsys, *SMALL, "--store", str(tmp_path / "reference.db"))
    store = tmp_path / "killed.db"
    proc = _start(store, [])
    _wait_for(store, proc, 8)  # inside the second generation (population 6)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    con = sqlite3.connect(store)
    run_id, status = con.execute("SELECT id, status FROM runs").fetchone()
    before = {r[0]: r[1:] for r in con.execute("SELECT key, id, created_at FROM evaluations")}
    con.close()
    assert status == "running" and 8 <= len(before) < int(reference["candidates"])  # type: ignore[call-overload]
    resumed = _search(capsys, "--resume", run_id, "--store", str(store))
    assert _front_keys(resumed) == _front_keys(reference)
    assert resumed["candidates"] == reference["candidates"]
    # nothing that had finished was trained again
    assert resumed["trained"] == int(reference["candidates"]) - len(before)  # type: ignore[call-overload]
    con = sqlite3.connect(store)
    after = {r[0]: r[1:] for r in con.execute("SELECT key, id, created_at FROM evaluations")}
    (final,) = con.execute("SELECT status FROM runs").fetchone()
    con.close()
    assert all(after[k] == v for k, v in before.items())
    assert final == "finished"


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    proc = _start(store, [])
    _wait_for(store, proc, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "--resume r" in err and "Traceback" not in err
    con = sqlite3.connect(store)
    (status,) = con.execute("SELECT status FROM runs").fetchone()
    con.close()
    assert status == "interrupted"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--objectives", "speed,error"], "'objectives'"),
        (["--strategy", "anneal"], "'strategy'"),
        (["--qubits", "11-12"], "'qubits'"),
        (["--qubits", "x"], "'qubits'"),
        (["--population", "0"], "'population'"),
        (["--threads", "0"], "'threads'"),
        (["--workers", "0"], "'workers'"),
        (["--ibm-target", "fake_nowhere"], "fake_nowhere"),
        (["--resume", "rmissing"], "rmissing"),
    ],
)
def test_search_bad_input(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.db"
    if "--resume" in args:
        main(
            [
                "search",
                *SMALL,
                "--generations",
                "1",
                "--population",
                "2",
                "--store",
                str(store),
                "--json",
            ]
        )
        capsys.readouterr()
    before = _digest(store) if store.exists() else None
    code = main(["search", "--dataset", "iris", *args, "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and err.count("\n") == 1
    assert (_digest(store) if store.exists() else None) == before


def test_resume_of_another_dataset_and_foreign_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.db"
    out = _search(capsys, *SMALL, "--generations", "1", "--population", "2", "--store", str(store))
    code = main(["search", "--resume", str(out["run"]), "--dataset", "wine", "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2 and "dataset given" in err
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    before = _digest(notes)
    for command in (["search", *SMALL], ["runs"], ["front", "r123"]):
        assert main([*command, "--store", str(notes)]) == 2
        assert "not a database" in capsys.readouterr().err
    assert _digest(notes) == before
    assert main(["runs", "--store", str(tmp_path / "missing.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.slow
def test_serial_and_one_and_two_workers_store_the_same_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.search.test_distributed import _stored

    small = [
        "--dataset", "digits", "--qubits", "2-6", "--depth", "1-2", "--population", "6",
        "--generations", "2", "--max-train", "120", "--seed", "3",
    ]  # fmt: skip
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the CLI's default of one thread must apply in-process too
    try:
        serial = _search(capsys, *small, "--store", str(tmp_path / "serial.db"))
    finally:
        torch.set_num_threads(torch_threads)
    one = _search(capsys, *small, "--workers", "1", "--store", str(tmp_path / "one.db"))
    two = _search(capsys, *small, "--workers", "2", "--store", str(tmp_path / "two.db"))
    assert _front_keys(one) == _front_keys(serial) == _front_keys(two)
    assert serial["candidates"] == one["candidates"] == two["candidates"]
    stored = _stored(tmp_path / "serial.db")
    assert len(stored) == serial["trained"]
    assert _stored(tmp_path / "one.db") == stored
    assert _stored(tmp_path / "two.db") == stored


@pytest.mark.slow
def test_lost_scheduler_prints_one_line_with_the_resume_command(tmp_path: Path) -> None:
    import distributed

    store = tmp_path / "lost.db"
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=50
    )
    try:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "faqnas_qiskit", "search", "--dataset", "digits",
                "--max-train", "200", "--population", "6", "--generations", "4",
                "--scheduler", cluster.scheduler_address, "--store", str(store),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.lstrip().startswith("gen 1:"):
                break
        cluster.close()  # the scheduler goes away during the second generation
        out, err = proc.communicate(timeout=120)
    finally:
        cluster.close()
    assert proc.returncode == 2, (out, err)
    assert err.count("\n") == 1, err
    assert err.startswith("faqnas: error: Lost the Dask scheduler")
    con = sqlite3.connect(store)
    ((run_id, status),) = con.execute("SELECT id, status FROM runs").fetchall()
    (stored,) = con.execute("SELECT count(*) FROM evaluations").fetchone()
    con.close()
    assert f"faqnas search --resume {run_id} --store {store} --scheduler" in err
    assert status == "interrupted" and stored >= 6


def test_unreachable_scheduler_fails_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    store = tmp_path / "s.db"
    code = main(
        ["search", "--dataset", "iris", "--scheduler", "tcp://127.0.0.1:9", "--store", str(store)]
    )
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - started < 30
    assert "tcp://127.0.0.1:9" in err and err.count("\n") == 1
    assert not store.exists()
