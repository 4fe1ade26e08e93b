"""The ``surrogate`` strategy: its expected improvement, initial design, and search promises."""

from __future__ import annotations

import hashlib
import json
import math
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymoo.indicators.hv import HV

from faqnas_qiskit.cli import main
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.search import (
    CandidateOutcome,
    CandidateTask,
    RepeatOutcome,
    SearchConfig,
    SearchRunner,
    hypervolume,
)
from faqnas_qiskit.search.surrogate import Screen, expected_improvement, initial_design
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import ResultsStore


def formula_flops(genome: Genome) -> dict[str, Any]:
    """A stand-in metrics provider: F_Q alone (the cost objective of these searches)."""
    from faqnas_qiskit.metrics import quantum_flops_formula

    return {"quantum_flops": quantum_flops_formula(genome)}


# ------------------------------------------------------------------ expected improvement
def test_expected_improvement_by_hand() -> None:
    # front {(0.5, 0.5)}, reference (1.1, 1.1); a sure point (0, 0.2) adds
    # 1.1 * 0.9 (its box) - 0.6 * 0.6 (the front's box inside it) = 0.63
    gain = expected_improvement(
        np.array([0.0]), np.array([0.2]), np.array([1e-9]), np.array([[0.5, 0.5]])
    )
    assert gain[0] == pytest.approx(0.63, abs=1e-9)
    # a point the front dominates surely adds nothing; right of the reference nothing either
    none = expected_improvement(
        np.array([0.6, 1.2]), np.array([0.7, 0.0]), np.array([1e-9, 1e-9]), np.array([[0.5, 0.5]])
    )
    assert none == pytest.approx([0.0, 0.0], abs=1e-12)


def test_expected_improvement_equals_monte_carlo_with_pymoo_hypervolume() -> None:
    rng = np.random.default_rng(7)
    front = np.column_stack([rng.uniform(0, 1, 6), rng.uniform(0.1, 0.9, 6)])
    hv = HV(ref_point=np.array([1.1, 1.1]))
    base = hv(front)
    for cost, mean, sd in [(0.05, 0.4, 0.1), (0.3, 0.6, 0.2), (0.7, 0.2, 0.05), (0.0, 1.0, 0.3)]:
        draws = rng.normal(mean, sd, 4000)
        gains = np.array([hv(np.vstack([front, [cost, e]])) - base for e in draws])
        exact = expected_improvement(np.array([cost]), np.array([mean]), np.array([sd]), front)[0]
        tolerance = 4 * gains.std() / math.sqrt(len(gains)) + 1e-9
        assert abs(exact - gains.mean()) < tolerance


# ------------------------------------------------------------------------ initial design
def test_initial_design_spans_the_cost_axis() -> None:
    from faqnas_qiskit.metrics import quantum_flops_formula

    space = SearchSpace()
    design = initial_design(space, 20, np.random.default_rng(0))
    assert len({g.key for g in design}) == 20
    logs = np.log10([quantum_flops_formula(g) for g in space.networks()])
    chosen = np.log10([quantum_flops_formula(g) for g in design])
    width = (logs.max() - logs.min()) / 20
    # the cheapest and the dearest twentieth of the log-cost axis are both drawn from
    assert chosen.min() <= logs.min() + width
    assert chosen.max() >= logs.max() - width
    # random draws of 20 rarely reach the cheapest twentieth: it holds few networks
    assert np.mean(logs <= logs.min() + width) < 0.02


def test_initial_design_keeps_only_admitted_networks() -> None:
    space = SearchSpace(qubits=(2, 3), depths=(1,))
    design = initial_design(
        space, 10, np.random.default_rng(1), admits=lambda g: g.embedding == "angle"
    )
    assert design and all(g.embedding == "angle" for g in design)
    assert len({g.key for g in design}) == len(design) == 10


# ------------------------------------------------------------------------ the strategy
class _Landscape:
    """A fake evaluator on a structured landscape: accuracy grows with qubits and effective
    rotations (ry, rx), plus a per-network draw; counts what it trains."""

    def __init__(self) -> None:
        self.trained: Counter[str] = Counter()

    @staticmethod
    def accuracy(key: str) -> float:
        genome = Genome.parse(key)
        live = sum(r != "rz" for r in genome.active_rotations)
        noise = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**32
        base = 0.1 * genome.n_qubits + 0.08 * live + 0.1 * (genome.embedding == "amplitude")
        return min(0.99, base + 0.05 * noise)

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        for task in tasks:
            self.trained[task.key] += 1
            record = {"val_accuracy": self.accuracy(task.key), "test_accuracy": 0.5}
            repeats = tuple(RepeatOutcome(r, record, None, None) for r in task.repeats)
            yield CandidateOutcome(task.key, task.seed, repeats, 0.0)

    def close(self) -> None:
        pass


SPACE = SearchSpace(qubits=(2, 3, 4, 5), depths=(1, 2, 3))
CONFIG = SearchConfig(
    dataset="iris",
    seed=11,
    strategy="surrogate",
    space=SPACE,
    population=8,
    generations=6,
    stagnation=99,
    training=TrainingConfig(epochs=1),
)


def _search(path: Path, config: SearchConfig, evaluator: Any = None) -> Any:
    with ResultsStore(path) as store:
        runner = SearchRunner(store, evaluator or _Landscape(), formula_flops, "iris")
        return runner.start(config)


def _rows(path: Path) -> list[tuple[Any, ...]]:
    with ResultsStore(path, create=False) as store:
        return sorted(
            (e.key, e.seed, json.dumps(e.record, sort_keys=True)) for e in store.evaluations()
        )


def test_same_seed_same_run(tmp_path: Path) -> None:
    a = _search(tmp_path / "a.db", CONFIG)
    b = _search(tmp_path / "b.db", CONFIG)
    assert [c.key for c in a.candidates] == [c.key for c in b.candidates]
    assert _rows(tmp_path / "a.db") == _rows(tmp_path / "b.db")
    c = _search(tmp_path / "c.db", replace(CONFIG, seed=12))
    assert [x.key for x in c.candidates] != [x.key for x in a.candidates]


def test_proposals_never_repeat_a_network_and_resume_trains_nothing(tmp_path: Path) -> None:
    landscape = _Landscape()
    path = tmp_path / "s.db"
    first = _search(path, CONFIG, landscape)
    assert len(first.candidates) == CONFIG.population * CONFIG.generations
    assert set(landscape.trained.values()) == {1}  # every network trained once
    assert first.screening_s > 0
    # every generation after the first is population networks, none evaluated before it
    with ResultsStore(path, create=False) as store:
        seen: set[str] = set()
        for generation in store.generations(first.run_id):
            evaluated = generation.stats["evaluated"]
            assert len(evaluated) == CONFIG.population
            assert not seen & set(evaluated)
            seen.update(evaluated)
    again = _Landscape()
    with ResultsStore(path) as store:
        resumed = SearchRunner(store, again, formula_flops, "iris").resume(first.run_id)
    assert not again.trained and resumed.trained == 0
    assert [c.key for c in resumed.front] == [c.key for c in first.front]


def test_budget_is_kept(tmp_path: Path) -> None:
    landscape = _Landscape()
    result = _search(tmp_path / "s.db", replace(CONFIG, budget=21), landscape)
    assert len(result.candidates) == sum(landscape.trained.values()) == 21


def test_screening_beats_random_search_on_a_structured_landscape(tmp_path: Path) -> None:
    # the true front of the landscape over the whole sub-space, then both strategies' fronts
    every = [g.key for g in SPACE.networks()]

    logs = {k: math.log10(formula_flops(Genome.parse(k))["quantum_flops"]) for k in every}
    low, high = min(logs.values()), max(logs.values())

    def hv(keys: Sequence[str]) -> float:  # (log F_Q scaled to [0, 1], error), as benchmarked
        points = [((logs[k] - low) / (high - low), 1 - _Landscape.accuracy(k)) for k in keys]
        return hypervolume(np.array(points), (1.1, 1.1))

    best = hv(every)
    fractions: dict[str, list[float]] = {"surrogate": [], "random": []}
    for seed in range(8):  # 24 trainings: the design and two screened generations of 8
        for strategy in fractions:
            config = replace(CONFIG, seed=seed, strategy=strategy, budget=24)
            result = _search(tmp_path / f"{strategy}{seed}.db", config)
            fractions[strategy].append(hv([c.key for c in result.front]) / best)
    gain = np.array(fractions["surrogate"]) - np.array(fractions["random"])
    # a sign test: a screen no better than random wins 6 or more of 8 with probability 0.14
    assert gain.mean() > 0 and (gain > 0).sum() >= 6


def test_screen_without_a_cost_objective_picks_the_best_predicted() -> None:
    screen = Screen(seed=0, cost=None)
    networks = list(SearchSpace(qubits=(2, 3, 4, 5), depths=(1,)).networks())
    evaluated = [(g, 0.0, 1 - _Landscape.accuracy(g.key)) for g in networks[::3]]
    pool = [g for g in networks if g not in networks[::3]]
    picked = screen.select(pool, evaluated, 3, generation=1)
    assert len(set(picked)) == 3
    # the picks are 5-qubit networks: the learned structure says they are the most accurate
    assert all(pool[i].n_qubits >= 4 for i in picked)


def test_more_than_one_cost_objective_is_refused() -> None:
    with pytest.raises(ConfigError, match="at most one cost objective"):
        replace(CONFIG, objectives=("flops", "2q", "error"))


def test_cli_refuses_three_objectives_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.db"
    argv = ["search", "--strategy", "surrogate", "--objectives", "flops,2q,error"]
    assert main([*argv, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "surrogate" in err and err.count("\n") == 1
    assert not store.exists()


TINY = [
    "--dataset", "iris", "--qubits", "2-4", "--depth", "1-2", "--population", "5",
    "--generations", "4", "--epochs", "3", "--lr", "0.03", "--seed", "4", "--strategy",
    "surrogate",
]  # fmt: skip


@pytest.mark.slow
def test_sigkill_then_resume_reaches_the_same_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", *TINY, "--store", str(tmp_path / "reference.db"), "--json"]) == 0
    reference = json.loads(capsys.readouterr().out)
    store = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "faqnas_qiskit", "search", *TINY, "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while _count(store) < 8:  # inside the second generation: after a screening
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = _count(store)
    con = sqlite3.connect(store)
    (run_id,) = con.execute("SELECT id FROM runs").fetchone()
    con.close()
    assert main(["search", "--resume", run_id, "--store", str(store), "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert [(r["genome"], r["val_accuracy"]) for r in resumed["front"]] == [
        (r["genome"], r["val_accuracy"]) for r in reference["front"]
    ]
    assert resumed["trained"] == reference["candidates"] - done


def _count(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_two_workers_store_what_the_serial_search_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(store: Path, *extra: str) -> dict[str, Any]:
        assert main(["search", *TINY, "--store", str(store), "--json", *extra]) == 0
        return dict(json.loads(capsys.readouterr().out))

    serial = run(tmp_path / "s.db")
    two = run(tmp_path / "w.db", "--workers", "2")
    assert [(r["genome"], r["val_accuracy"]) for r in serial["front"]] == [
        (r["genome"], r["val_accuracy"]) for r in two["front"]
    ]
    assert _keys(tmp_path / "s.db") == _keys(tmp_path / "w.db")


def _keys(path: Path) -> list[tuple[str, float]]:
    with ResultsStore(path, create=False) as store:
        return sorted((e.key, float((e.record or {})["val_accuracy"])) for e in store.evaluations())
