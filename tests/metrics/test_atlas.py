"""The cost atlas: filling (resumable, parallel), the report's statistics against independent
references, and the ``faqnas atlas`` command."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.metrics import (
    AER_TARGET,
    AtlasRow,
    CostCache,
    atlas_networks,
    build_atlas_report,
    fill_atlas,
    rank_correlations,
    write_atlas_report,
)
from faqnas_qiskit.metrics.atlas import COSTS, PROXIES, disagreements
from faqnas_qiskit.space import SearchSpace


def _average_ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank (by hand, no scipy)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _spearman(x: list[float], y: list[float]) -> float:
    rx, ry = _average_ranks(x), _average_ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return float(cov / (vx * vy) ** 0.5)


def _kendall_tau_b(x: list[float], y: list[float]) -> float:
    concordant = discordant = ties_x = ties_y = 0
    for i, j in combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx * dy > 0:
            concordant += 1
        else:
            discordant += 1
    return float(
        (concordant - discordant)
        / ((concordant + discordant + ties_x) * (concordant + discordant + ties_y)) ** 0.5
    )


def _rows(n: int, seed: int) -> list[AtlasRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        qubits = int(rng.integers(2, 5))
        flops = int(rng.integers(1, 6)) * 100  # many ties, as in the real space
        rows.append(
            AtlasRow(
                genome=f"net{i:03d}",
                n_qubits=qubits,
                embedding="angle" if i % 2 else "amplitude",
                quantum_flops=flops,
                classical_flops=int(rng.integers(10, 50)),
                params=int(rng.integers(5, 40)),
                effective_params=int(rng.integers(5, 40)),
                two_qubit_gates=int(flops / 100 + rng.integers(0, 3)),
                two_qubit_depth=int(rng.integers(1, 6)),
                duration_s=float(rng.uniform(1e-7, 1e-5)),
                qpu_s=float(rng.uniform(2.0, 10.0)),
            )
        )
    return rows


def test_correlations_match_hand_computed_spearman_and_kendall() -> None:
    rows = _rows(40, seed=3)
    result = rank_correlations(rows, "t")
    assert {c.group for c in result} == {"all", "angle", "amplitude", "q2", "q3", "q4"}
    assert len(result) == 6 * len(PROXIES) * len(COSTS)
    for c in result:
        members = [
            r
            for r in rows
            if c.group == "all"
            or r.embedding == c.group
            or (c.group.startswith("q") and r.n_qubits == int(c.group[1:]))
        ]
        x = [r.proxy(c.proxy) for r in members]
        y = [r.cost(c.cost) for r in members]
        assert c.n == len(members)
        assert c.spearman == pytest.approx(_spearman(x, y), abs=1e-12)
        assert c.kendall == pytest.approx(_kendall_tau_b(x, y), abs=1e-12)


def test_a_constant_side_has_no_correlation() -> None:
    rows = [r for r in _rows(30, seed=4)]
    flat = [AtlasRow(**{**r.__dict__, "two_qubit_depth": 3}) for r in rows]
    for c in rank_correlations(flat, "t", costs=("2q depth",)):
        assert c.spearman is None and c.kendall is None


def test_disagreements_find_the_network_ranked_upside_down() -> None:
    rows = []
    for i in range(20):
        rows.append(
            AtlasRow(
                f"net{i:02d}", 2, "angle", 100 * (i + 1), 0, 1, 1, i, i, 1e-6 * (i + 1), i + 2.0
            )
        )
    # the cheapest network by F_Q is the dearest on the hardware
    rows[0] = AtlasRow("odd", 2, "angle", 1, 0, 1, 1, 999, 999, 1.0, 999.0)
    found = disagreements(rows, "t", proxy="F_Q", cost="2q gates", top=3)
    under = [d for d in found if d.gap < 0]
    assert under[0].genome == "odd" and under[0].proxy_rank == 0 and under[0].cost_rank == 1
    assert all(d.gap > 0 for d in found[: len(found) - len(under)])


def test_report_files_with_and_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    atlases = {"fake_a": _rows(30, seed=5), "fake_b": _rows(30, seed=6)}
    report = build_atlas_report(atlases, settings={"shots": 1024})
    written = write_atlas_report(report, atlases, tmp_path / "with")
    assert {"md", "json", "correlations", "plot_fake_a", "plot_fake_b"} <= set(written)
    markdown = written["md"].read_text()
    assert "| F_Q | 2q gates |" in markdown and "fake_a" in markdown and "fake_b" in markdown
    data = json.loads(written["json"].read_text())
    assert data["targets"] == ["fake_a", "fake_b"] and data["networks"]["fake_a"] == 30
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # importing it now fails
    written = write_atlas_report(report, atlases, tmp_path / "without")
    assert "md" in written and not any(k.startswith("plot_") for k in written)


def test_fill_is_resumable_and_skips_what_is_cached(tmp_path: Path) -> None:
    space = SearchSpace(qubits=(2,), depths=(1,))
    genomes = atlas_networks(space)
    assert len(genomes) == space.n_networks == 24
    with CostCache(tmp_path / "m.db") as cache:
        first = fill_atlas(genomes[:10], cache, target="FakeFez")
        assert (first.target, first.computed, first.cached) == ("fake_fez", 10, 0)
        calls: list[tuple[int, int]] = []
        second = fill_atlas(
            genomes, cache, target="fake_fez", progress=lambda d, t: calls.append((d, t))
        )
        assert (second.computed, second.cached, second.total) == (14, 10, 24)
        assert calls[0] == (0, 14) and calls[-1] == (14, 14)
        assert len(cache.keys("fake_fez", 1, 0)) == 24
        assert len(cache.keys(AER_TARGET, 1, 0)) == 24
        small = fill_atlas(
            atlas_networks(SearchSpace(qubits=(6,), depths=(1,), rotations=("ry",))),
            cache,
            target="fake_manila",
        )
        assert small.too_large == 8 and small.computed == 0


def test_fill_on_worker_processes_equals_fill_in_process(tmp_path: Path) -> None:
    genomes = atlas_networks(SearchSpace(qubits=(3,), depths=(1,), rotations=("rx", "ry")))
    with CostCache(tmp_path / "serial.db") as serial, CostCache(tmp_path / "pool.db") as pool:
        fill_atlas(genomes, serial, target="fake_fez")
        summary = fill_atlas(genomes, pool, target="fake_fez", workers=2, chunk=2)
        assert summary.computed == len(genomes)
        strip = lambda e: {**e.to_dict(), "compute_s": 0}  # noqa: E731
        assert [strip(e) for e in serial.entries("fake_fez", 1, 0)] == [
            strip(e) for e in pool.entries("fake_fez", 1, 0)
        ]


def test_atlas_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = str(tmp_path / "m.db")
    base = ["atlas", "--cache", cache, "--qubits", "2", "--depth", "1", "--rotations", "ry,rz"]
    assert main([*base, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["computed"] == 16 and len(out["networks"]) == 16
    assert main([*base, "--ibm-target", "fake_torino"]) == 0
    assert "16 computed" in capsys.readouterr().out
    assert main([*base, "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("genome,target") and len(lines) == 17
    out_dir = tmp_path / "report"
    assert main(["atlas", "--report", "--cache", cache, "--out", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    assert "fake_fez" in printed and "fake_torino" in printed
    assert (out_dir / "atlas.md").exists() and (out_dir / "networks_fake_torino.csv").exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["atlas", "--report", "--ibm-target", "fake_nowhere"], "'ibm-target' option"),
        (["atlas", "--report"], "'ibm-target' option"),
        (["atlas", "--no-cache"], "'cache' option"),
        (["atlas", "--qubits", "11"], "'qubits' option"),
        (["atlas", "--workers", "0", "--qubits", "2", "--depth", "1"], "'workers' option"),
        (["atlas", "--ibm-target", "fake_nowhere", "--qubits", "2"], "'ibm-target'"),
    ],
)
def test_atlas_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    given = argv if "--no-cache" in argv else [*argv, "--cache", str(tmp_path / "m.db")]
    assert main(given) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_evaluate_and_inspect_read_and_fill_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "m.db"
    argv = ["inspect", "--genome", "q3-angle-cz-linear-ry", "--json", "--cache", str(cache)]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    with CostCache(cache) as opened:
        assert opened.keys("fake_fez", 1, 0) == {"q3-angle-cz-linear-ry"}
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert main([*argv[:-2], "--no-cache"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    evaluate = ["evaluate", "--genome", "q2-angle-cx-linear-rx", "--epochs", "1", "--json"]
    assert main([*evaluate, "--cache", str(cache)]) == 0
    capsys.readouterr()
    with CostCache(cache) as opened:
        assert "q2-angle-cx-linear-rx" in opened.keys("fake_fez", 1, 0)


def test_a_corrupt_cache_is_one_warning_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "m.db"
    cache.write_bytes(b"\x00garbage" * 500)
    assert main(["inspect", "--genome", "q2-angle-cx-linear-ry", "--cache", str(cache)]) == 0
    assert "q2-angle-cx-linear-ry" in capsys.readouterr().out
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "metrics cache" in warnings[0].getMessage()


@pytest.mark.slow
def test_kill_9_during_atlas_then_rerun_continues(tmp_path: Path) -> None:
    cache = tmp_path / "m.db"
    argv = [
        sys.executable,
        "-m",
        "faqnas_qiskit",
        "atlas",
        "--cache",
        str(cache),
        "--qubits",
        "2-5",
        "--depth",
        "1-2",
        "--workers",
        "2",
    ]
    total = SearchSpace(qubits=(2, 3, 4, 5), depths=(1, 2)).n_networks
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            if cache.exists():
                try:
                    with sqlite3.connect(cache, timeout=5) as db:
                        stored = db.execute(
                            "SELECT COUNT(*) FROM costs WHERE target = 'fake_fez'"
                        ).fetchone()[0]
                except sqlite3.Error:
                    continue
            if stored >= 40:
                break
        assert process.poll() is None, "the atlas finished before it could be killed"
        assert 0 < stored < total
        os.kill(process.pid, signal.SIGKILL)  # the coordinator only, as a user's kill -9
        process.wait(timeout=10)
        # its workers notice and leave on their own
        time.sleep(3)
        leftover = subprocess.run(
            ["pgrep", "-s", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        assert leftover == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    with CostCache(cache) as opened:
        assert opened.integrity_check() == "ok"
        before = len(opened.keys("fake_fez", 1, 0))
    assert before >= stored
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    found = re.search(
        r"([\d,]+) networks, ([\d,]+) already cached, ([\d,]+) computed", rerun.stdout
    )
    assert found is not None, rerun.stdout
    networks, cached, computed = (int(g.replace(",", "")) for g in found.groups())
    assert networks == total and cached + computed == total
    assert cached >= before  # nothing stored before the kill is computed again
    with CostCache(cache) as opened:
        assert opened.integrity_check() == "ok"
        assert len(opened.keys("fake_fez", 1, 0)) == total
        assert len(opened.keys(AER_TARGET, 1, 0)) == total
