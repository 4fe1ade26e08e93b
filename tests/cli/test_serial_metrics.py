"""``faqnas search --serial-metrics``: metrics before each training, the same stored results."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from faqnas_qiskit.cli import main

TINY = [
    "search", "--dataset", "iris", "--qubits", "2-3", "--depth", "1", "--population", "4",
    "--generations", "2", "--epochs", "2", "--seed", "3", "--json",
]  # fmt: skip


def _rows(path: Path) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT e.key, m.metrics, e.record FROM evaluations e JOIN architecture_metrics m "
            "ON m.key = e.key AND m.settings = e.metrics_settings ORDER BY e.key"
        ).fetchall()
    finally:
        con.close()
    out = []
    for key, metrics, record in rows:
        r = {k: v for k, v in json.loads(record).items() if not k.endswith("time_s")}
        out.append((key, metrics, json.dumps(r, sort_keys=True)))
    return out


def test_serial_metrics_store_what_the_default_stores_and_may_change_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*TINY, "--store", str(tmp_path / "a.db")]) == 0
    assert main([*TINY, "--serial-metrics", "--store", str(tmp_path / "b.db")]) == 0
    runs = [json.loads(line)["run"] for line in capsys.readouterr().out.splitlines()]
    assert _rows(tmp_path / "a.db") == _rows(tmp_path / "b.db")
    # how metrics are computed is not part of the run: --resume accepts it either way
    argv = ["search", "--resume", runs[1], "--store", str(tmp_path / "b.db"), "--json"]
    assert main([*argv, "--serial-metrics"]) == 0
    assert json.loads(capsys.readouterr().out)["trained"] == 0
