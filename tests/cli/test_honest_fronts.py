"""Honest fronts through the CLI (issue 14): repeats, effective parameters, total FLOPs.

Every expectation is computed here from the stored repeat rows, the layer widths or scipy, never
by the package's own aggregation.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sqlite3
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from faqnas_qiskit.cli import main
from faqnas_qiskit.metrics import quantum_flops_formula
from faqnas_qiskit.search import objective_values
from faqnas_qiskit.space import Genome

# Iris: 4 features, 3 classes. Every 2-qubit depth-1 network with RY or RZ: 16 networks, the 8
# with RZ have no trainable quantum weight (RZ before CX/CZ and a Z readout).
SPACE = [
    "--dataset", "iris", "--strategy", "exhaustive", "--qubits", "2", "--depth", "1",
    "--rotations", "ry,rz", "--repeats", "2", "--epochs", "2", "--lr", "0.05", "--seed", "1",
]  # fmt: skip


def _cli(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def _json(argv: list[str]) -> Any:
    code, out = _cli([*argv, "--json"])
    assert code == 0
    return json.loads(out)


def _widths(genome: Genome) -> tuple[int, int]:
    """(pre-layer width m, quantum outputs n) of an Iris network (DESIGN §4)."""
    n = genome.n_qubits
    return (n if genome.embedding == "angle" else 2**n), n


def _classical_params(genome: Genome) -> int:
    m, n = _widths(genome)
    return 4 * m + m + n * 3 + 3  # Linear(4 -> m) and Linear(n -> 3), with biases


def _classical_flops(genome: Genome) -> int:
    m, n = _widths(genome)
    return 2 * (4 * m + n * 3)  # one multiply and one add per weight (profiler convention)


def _effective(genome: Genome) -> int:
    # depth 1: an RZ layer before CX/CZ and a Z readout cannot change the output
    return 0 if genome.active_rotations[-1] == "rz" else genome.n_weights


def _val_repeats(store: Path) -> dict[str, list[float]]:
    """Each network's validation accuracy per repeat, read from the store's rows."""
    con = sqlite3.connect(store)
    out = {
        key: [json.loads(record)["val_accuracy"]]
        for key, record in con.execute("SELECT key, record FROM evaluations")
    }
    for key, record in con.execute(
        "SELECT e.key, r.record FROM repeats r JOIN evaluations e ON e.id = r.evaluation_id "
        "ORDER BY r.repeat"
    ):
        out[key].append(json.loads(record)["val_accuracy"])
    con.close()
    return out


def _front_vectors(points: dict[str, tuple[float, float]]) -> set[tuple[float, float]]:
    """Distinct objective vectors that no other point dominates (both minimised)."""
    values = list(points.values())
    return {p for p in values if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in values)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    store = tmp_path_factory.mktemp("honest") / "s.db"
    params = _json(["search", *SPACE, "--objectives", "params,error", "--store", str(store)])
    total = _json(["search", *SPACE, "--objectives", "total_flops,error", "--store", str(store)])
    only_rz = ["rz" if a == "ry,rz" else a for a in SPACE]
    dead = _json(["search", *only_rz, "--store", str(store)])
    return {
        "store": store,
        "params": params,
        "total": total,
        "dead": dead,
        "val": _val_repeats(store),
    }


def test_the_space_was_trained_once_with_every_repeat_stored(runs: dict[str, Any]) -> None:
    assert runs["params"]["candidates"] == runs["params"]["trained"] == 16
    # the later runs found every repeat in the store
    assert runs["total"]["trained"] == runs["dead"]["trained"] == 0
    assert runs["dead"]["candidates"] == 8
    assert len(runs["val"]) == 16 and all(len(v) == 2 for v in runs["val"].values())


def test_params_objective_counts_effective_parameters(runs: dict[str, Any]) -> None:
    expected = {
        key: (
            float(_classical_params(Genome.parse(key)) + _effective(Genome.parse(key))),
            1 - statistics.fmean(values),
        )
        for key, values in runs["val"].items()
    }
    front = runs["params"]["front"]
    got = {(float(r["params"]), 1 - r["val_accuracy"]) for r in front}
    assert {(p, round(e, 12)) for p, e in got} == {
        (p, round(e, 12)) for p, e in _front_vectors(expected)
    }
    for row in front:
        genome = Genome.parse(row["genome"])
        assert row["params_quantum_effective"] == _effective(genome)
        assert row["dead_quantum_layer"] is (_effective(genome) == 0)
        assert row["val_repeats"] == runs["val"][row["genome"]]
    # the cheapest network has no trainable quantum weight, so the front holds one
    assert any(r["dead_quantum_layer"] for r in front)


def test_total_flops_objective_is_quantum_plus_classical(runs: dict[str, Any]) -> None:
    expected = {}
    for key, values in runs["val"].items():
        genome = Genome.parse(key)
        flops = quantum_flops_formula(genome) + _classical_flops(genome)
        expected[key] = (float(flops), 1 - statistics.fmean(values))
    front = runs["total"]["front"]
    for row in front:
        assert row["classical_flops"] == _classical_flops(Genome.parse(row["genome"]))
        assert row["total_flops"] == expected[row["genome"]][0]
    got = {(float(r["total_flops"]), round(1 - r["val_accuracy"], 12)) for r in front}
    assert got == {(f, round(e, 12)) for f, e in _front_vectors(expected)}


def test_front_table_marks_networks_without_a_trainable_quantum_weight(
    runs: dict[str, Any],
) -> None:
    code, text = _cli(["front", runs["params"]["run"], "--store", str(runs["store"])])
    assert code == 0
    lines = text.splitlines()
    for row in runs["params"]["front"]:
        (line,) = [
            ln for ln in lines if ln.split()[:1] and ln.split()[0].rstrip("*") == row["genome"]
        ]
        assert line.split()[0].endswith("*") is row["dead_quantum_layer"]
        assert "±" in line  # two repeats: mean ± sd
    assert any(ln.startswith("* no trainable quantum weight") for ln in lines)
    assert "F_Q+F_C" in lines[1] and "F_C" in lines[1]


def test_report_states_the_variance_share_and_marks_dead_networks(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    code, _ = _cli(
        ["report", runs["params"]["run"], "--store", str(runs["store"]), "--out", str(out)]
    )
    assert code == 0
    # one-way ICC(1) over the 16 networks, 2 repeats each, from the stored accuracies
    groups = np.array(list(runs["val"].values()))
    a, k = groups.shape
    msb = k * np.sum((groups.mean(axis=1) - groups.mean()) ** 2) / (a - 1)
    msw = np.sum((groups - groups.mean(axis=1, keepdims=True)) ** 2) / (a * (k - 1))
    share = min(1.0, max(0.0, (msb - msw) / (msb + (k - 1) * msw)))
    markdown = (out / "report.md").read_text()
    assert f"explains {100 * share:.0f}% of the validation-accuracy variance" in markdown
    rows = json.loads((out / "front.json").read_text())
    dead = [r["key"] for r in rows if _effective(Genome.parse(r["key"])) == 0]
    assert ("no trainable quantum weight" in markdown) is bool(dead)
    for row in rows:
        values = runs["val"][row["key"]]
        assert row["val_sd"] == pytest.approx(statistics.stdev(values))
        assert row["repeats"] == 2
        assert row["params_quantum_effective"] == _effective(Genome.parse(row["key"]))
        assert row["total_flops"] == row["quantum_flops"] + row["classical_flops"]
    # a run of networks that all lack a trainable quantum weight: its report names them
    out = tmp_path / "dead"
    assert (
        _cli(["report", runs["dead"]["run"], "--store", str(runs["store"]), "--out", str(out)])[0]
        == 0
    )
    markdown = (out / "report.md").read_text()
    (line,) = [ln for ln in markdown.splitlines() if "no trainable quantum weight" in ln]
    rows = json.loads((out / "front.json").read_text())
    assert rows and all(r["key"] in line and r["params_quantum_effective"] == 0 for r in rows)


def test_evaluate_repeats_reports_mean_sd_and_t_interval(tmp_path: Path) -> None:
    base = ["evaluate", "--genome", "q3-angle-cx-linear-ry.rz", "--epochs", "2", "--no-metrics"]
    single = _json(base)
    out = _json([*base, "--repeats", "3"])
    assert [r["repeat"] for r in out["repeats"]] == [0, 1, 2]
    # repeat 0 is the single evaluation of before (trained beside the others: float32 rounding)
    assert out["repeats"][0]["val_accuracy"] == single["val_accuracy"]
    assert out["repeats"][0]["loss_per_epoch"] == pytest.approx(single["loss_per_epoch"], rel=1e-5)
    for split in ("val", "test"):
        values = [r[f"{split}_accuracy"] for r in out["repeats"]]
        summary = out[split]
        assert summary["values"] == values and summary["n"] == 3
        assert summary["mean"] == pytest.approx(statistics.fmean(values))
        assert summary["sd"] == pytest.approx(statistics.stdev(values))
        low, high = stats.t.interval(0.95, 2, loc=statistics.fmean(values), scale=stats.sem(values))
        if math.isnan(low):  # all repeats equal: a zero-width interval
            low = high = statistics.fmean(values)
        assert summary["ci95"] == pytest.approx([low, high])
    # 6 weights, the trailing RZ layer's 3 dead
    assert out["params_quantum"] == 6 and out["params_quantum_effective"] == 3
    code, text = _cli(base)
    assert code == 0 and "no uncertainty known" in text


def test_inspect_carries_effective_parameters_and_total_flops() -> None:
    genome = Genome.parse("q3-angle-cx-linear-ry.rz")
    out = _json(["inspect", "--genome", genome.key, "--no-cache"])
    assert out["params_quantum_effective"] == 3 and out["dead_weights"] == [3, 4, 5]
    assert out["quantum_flops"] == quantum_flops_formula(genome)
    assert out["classical_flops"] == _classical_flops(genome)
    assert out["total_flops"] == quantum_flops_formula(genome) + _classical_flops(genome)
    code, text = _cli(["inspect", "--genome", "q2-angle-cz-linear-rz", "--no-cache"])
    assert code == 0
    assert "0 effective; no trainable quantum weight" in text
    flops = quantum_flops_formula(Genome.parse("q2-angle-cz-linear-rz")) + 28
    assert f"total {flops:,} per sample" in text


def test_objective_values_by_hand() -> None:
    record = {
        "genome": "q3-angle-cx-linear-ry.rz",
        "val_accuracy": 0.5,
        "params_classical": 27,
        "params_quantum": 6,
        "params_quantum_effective": 3,
    }
    metrics = {
        "quantum_flops": 600,
        "classical_flops": 42,
        "transpiled": {"two_qubit_gates": 4, "predicted_qpu_s": 9.5},
    }
    names = ("flops", "total_flops", "params", "2q", "qpu", "error")
    assert objective_values(names, record, metrics, val_accuracy=0.7) == pytest.approx(
        (600, 642, 30, 4, 9.5, 0.3)
    )
    assert objective_values(("error",), record, metrics) == (0.5,)  # repeat 0's without a mean
    # a record stored before the dead-weight analysis: the effective count comes from the genome
    legacy = {k: v for k, v in record.items() if k != "params_quantum_effective"}
    assert objective_values(("params",), legacy, metrics) == (30.0,)
