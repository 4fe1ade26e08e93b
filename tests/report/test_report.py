"""Report data from a small store built by hand, and the rendered page in a real browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.report import build_report, snapshot, write_report
from faqnas_qiskit.search import SearchConfig, training_key
from faqnas_qiskit.store import ResultsStore

# (key, val accuracy, F_Q, two-qubit gates, predicted QPU s, train time s), by generation
AWARE = [
    [
        ("q2-angle-cx-linear-rx", 0.5, 100, 1, 9.0, 0.1),
        ("q3-angle-cx-linear-rx", 0.7, 400, 2, 9.5, 0.2),
    ],
    [
        ("q4-angle-cx-linear-rx", 0.9, 1600, 3, 10.0, 0.4),
        ("q3-angle-cz-linear-rx", 0.6, 500, 4, 9.7, 0.3),
    ],
]
BASELINE = [
    [
        ("q5-angle-cx-linear-rx", 0.7, 3000, 4, 11.0, 0.5),
        ("q6-angle-cx-linear-rx", 0.9, 8000, 5, 12.0, 0.6),
    ],
]


def _add_run(
    store: ResultsStore, objectives: tuple[str, ...], generations: list[list[tuple]]
) -> str:  # type: ignore[type-arg]
    config = SearchConfig(dataset="iris", seed=0, objectives=objectives)
    run = store.create_run(dataset="iris", seed=0, config=config.to_dict(), versions={})
    for g, members in enumerate(generations):
        for key, acc, flops, twoq, qpu, seconds in members:
            record = {
                "val_accuracy": acc,
                "test_accuracy": acc - 0.05,
                "params_classical": 10,
                "params_quantum": 2,
                "train_time_s": seconds,
            }
            metrics = {
                "quantum_flops": flops,
                "classical_flops": 20,
                "transpiled": {"two_qubit_gates": twoq, "predicted_qpu_s": qpu},
            }
            store.put_evaluation(
                key=key,
                dataset="iris",
                training=training_key(config),
                seed=derive_seed(0, key),
                record=record,
                error=None,
                metrics=metrics,
                weights=None,
                run_id=run,
            )
        keys = [m[0] for m in members]
        store.put_generation(run, g, keys, [], {"evaluated": keys})
    return run


@pytest.fixture
def store_runs(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "s.db"
    with ResultsStore(path) as store:
        aware = _add_run(store, ("flops", "error"), AWARE)
        base = _add_run(store, ("error",), BASELINE)
    return path, aware, base


def test_report_numbers_by_hand(store_runs: tuple[Path, str, str]) -> None:
    path, aware, base = store_runs
    with ResultsStore(path, create=False) as store:
        data = build_report(snapshot(store, aware), [snapshot(store, base)])
    # front in (F_Q, error): 100/0.5, 400/0.7, 1600/0.9; 500/0.6 is dominated by 400/0.7
    assert [r.key for r in data.front] == [
        "q2-angle-cx-linear-rx",
        "q3-angle-cx-linear-rx",
        "q4-angle-cx-linear-rx",
    ]
    assert [r.generation for r in data.front] == [0, 0, 1]
    (comparison,) = data.comparisons
    # levels reached by both (the aware front against every baseline candidate): 0.5, 0.7, 0.9.
    # aware: 100, 400, 1600; baseline: 3000, 3000, 8000 -> savings 29/30, 13/15, 0.8
    assert [s.accuracy for s in comparison.savings] == [0.5, 0.7, 0.9]
    assert [s.aware_flops for s in comparison.savings] == [100, 400, 1600]
    assert [s.baseline_flops for s in comparison.savings] == [3000, 3000, 8000]
    assert comparison.mean_saving == pytest.approx((29 / 30 + 13 / 15 + 0.8) / 3)
    # smallest accuracy step seen is 0.1; the best (0.9) is q4 at 1600 FLOPs
    assert data.tolerance == pytest.approx(0.1)
    assert data.threshold is not None and data.threshold.key == "q4-angle-cx-linear-rx"
    # F_Q 100, 400, 1600, 500 against 2q 1, 2, 3, 4: ranks 1 2 4 3 vs 1 2 3 4 -> rho = 0.8
    assert data.correlations["flops_vs_two_qubit_gates"].rho == pytest.approx(0.8)
    # predicted QPU s 9.0, 9.5, 10.0, 9.7 rank exactly like F_Q -> rho = 1
    assert data.correlations["flops_vs_predicted_qpu_s"].rho == pytest.approx(1.0)
    assert data.correlations["flops_vs_measured_qpu_s"].rho is None  # no hardware yet
    assert any("faqnas hardware" in m for m in data.missing)
    assert not any("baseline" in m for m in data.missing)


def test_report_without_baseline_or_hardware_says_what_is_missing(
    store_runs: tuple[Path, str, str], tmp_path: Path
) -> None:
    path, aware, _ = store_runs
    with ResultsStore(path, create=False) as store:
        data = build_report(snapshot(store, aware))
    assert len(data.missing) == 2
    written = write_report(data, tmp_path / "out")
    page = written["html"].read_text()
    assert "faqnas hardware" in page and "--objectives error" in page
    assert page.count("<img") == sum(1 for k in written if k.endswith(".png")) >= 3
    assert "http" not in page.replace("http-equiv", "")  # self-contained, readable offline
    front = json.loads((tmp_path / "out" / "front.json").read_text())
    assert [r["key"] for r in front] == [r.key for r in data.front]
    assert (tmp_path / "out" / "front.csv").read_text().startswith("key,")
    assert (tmp_path / "out" / "report.md").read_text().startswith("# faqnas report")


def test_report_cli(
    store_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, aware, base = store_runs
    out = tmp_path / "rep"
    assert main(["report", aware, "--compare", base, "--store", str(path), "--out", str(out)]) == 0
    assert (out / f"compare_{base}.png").exists() and (out / "report.html").exists()
    capsys.readouterr()
    assert main(["report", "rnope", "--store", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rnope" in err and err.count("\n") == 1
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["report", aware, "--store", str(path), "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "writable" in err and err.count("\n") == 1


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_page_renders_in_headless_chromium(
    store_runs: tuple[Path, str, str], tmp_path: Path
) -> None:
    executable = _chromium()
    if executable is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    path, aware, base = store_runs
    with ResultsStore(path, create=False) as store:
        data = build_report(snapshot(store, aware), [snapshot(store, base)])
    written = write_report(data, tmp_path / "out")
    plots = sum(1 for k in written if k.endswith(".png"))
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(written["html"].as_uri())
        shown = page.evaluate(
            "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
        page.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
        browser.close()
    assert errors == []
    assert shown == plots >= 4
    assert (tmp_path / "screenshot.png").stat().st_size > 10_000


def test_accuracy_table_has_uniform_columns_when_some_were_not_reevaluated(
    store_runs: tuple[Path, str, str], tmp_path: Path
) -> None:
    path, aware, _ = store_runs
    with ResultsStore(path) as store:
        evaluation = store.lookup(
            "q2-angle-cx-linear-rx",
            "iris",
            training_key(SearchConfig()),
            derive_seed(0, "q2-angle-cx-linear-rx"),
        )
        assert evaluation is not None
        row = store.plan_hardware_job(
            run_id=aware,
            backend="fake_fez",
            profile={},
            key=evaluation.key,
            evaluation_id=evaluation.id,
            shots=64,
        )
        result = {
            "adapter": "fake",
            "shots": 64,
            "accuracy": 0.4,
            "simulator_accuracy": 0.45,
            "predicted_qpu_s": 9.8,
            "measured_qpu_s": 0.0,
            "two_qubit_gates": 1,
        }
        store.finish_hardware_job(row.id, result=result, error=None)
        # a later re-evaluation of the same architecture on fewer samples replaces it
        fewer = store.plan_hardware_job(
            run_id=aware,
            backend="fake_fez",
            profile={},
            key=evaluation.key,
            evaluation_id=evaluation.id,
            shots=64,
            samples=10,
        )
        store.finish_hardware_job(fewer.id, result={**result, "accuracy": 0.3}, error=None)
        taken = snapshot(store, aware)
        assert [(h.key, h.accuracy) for h in taken.hardware] == [(evaluation.key, 0.3)]
        store.finish_hardware_job(row.id, result=result, error=None)  # now the latest again
        data = build_report(snapshot(store, aware))
    assert [set(r) for r in data.accuracy_table] == [set(data.accuracy_table[0])] * 3
    assert data.accuracy_table[0]["fake_fez_accuracy"] == 0.4
    assert data.accuracy_table[1]["fake_fez_accuracy"] is None
    written = write_report(data, tmp_path / "out")
    assert "accuracy_by_backend.png" in written
