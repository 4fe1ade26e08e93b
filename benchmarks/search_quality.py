"""Search quality on a ground truth: surrogate-assisted NSGA-II, paper NSGA-II, random search.

    python benchmarks/search_quality.py [--store benchmarks/out/ground_truth.db]
        [--seeds 10] [--first-seed 0] [--budgets 50,100,200] [--max-budget 600] [--population 20]
        [--overhead | --no-overhead]

Needs the ground truth of ``benchmarks/ground_truth.py`` (every network of the 1,560-network
Digits sub-space, 2-6 qubits, depth 1-3, trained with 8 repeats at the paper's budget). Its
reference front is on (F_Q, 1 - mean validation accuracy over the repeats).

Each search seed s runs the three strategies at each budget (networks trained: 50, 100, 200) on
objectives (F_Q, error), population 20, with the search's defaults (uniform crossover 0.8, gene
resampling 0.2) and early stopping off, so each spends its whole budget. Training is replayed
from the ground truth: a search at seed s observes, for every network it trains, that network's
stored repeat s mod 8 (one evaluation at the paper's budget, noise included, exactly what a
search with ``--repeats 1`` sees). The three strategies at one seed share a store, so a network
that two of them train gives both the same observation (common random numbers). Each found
front (non-dominated on what the search observed) is then scored on the ground-truth mean
accuracies of the networks it contains: hypervolume in the plane (log10 F_Q scaled to [0, 1]
over the sub-space, 1 - accuracy), reference point (1.1, 1.1), as a fraction of the reference
front's. Printed: the mean fraction per strategy and budget, the paired differences against
random search with their standard errors over the seeds, and how many trainings each strategy
needs to reach 95% of the reference hypervolume (median over seeds; from one run per seed and
strategy up to ``--max-budget``, read at every generation).

``--overhead`` (default on) also runs one real surrogate search on Digits at the paper's budget
(training, metrics and all, one process) and prints the share of its wall time spent fitting
the surrogate and screening offspring.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("KINETO_LOG_LEVEL", "99")

import numpy as np
from _common import machine_info
from ground_truth import DEFAULT_STORE, ground_truth_config

from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.metrics import CostCache, MetricsCache, default_cache_path
from faqnas_qiskit.search import (
    SearchConfig,
    hypervolume,
    run_search,
)
from faqnas_qiskit.search.candidate import CandidateOutcome, CandidateTask, RepeatOutcome
from faqnas_qiskit.search.pareto import non_dominated
from faqnas_qiskit.search.runs import training_key
from faqnas_qiskit.store import EvaluationFields, ResultsStore, present

REFERENCE = (1.1, 1.1)
STRATEGIES = ("surrogate", "nsga2", "random")
STEP = 10  # trainings between two readings of the anytime front


def _val_accuracy(record: dict[str, Any]) -> float:
    """The validation accuracy of a stored record, read through the store's codec."""
    return float(present(EvaluationFields.read(record).val_accuracy, "val_accuracy"))


class GroundTruth:
    """Every network's stored repeats and metrics, read once from the ground-truth store."""

    def __init__(self, path: Path, config: SearchConfig) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.metrics: dict[str, dict[str, Any]] = {}
        self.flops: dict[str, float] = {}
        training = training_key(config)
        with ResultsStore(path, create=False) as store:
            for genome in config.space.networks():
                key = genome.key
                stored = store.lookup(key, "digits", training, derive_seed(config.seed, key))
                if stored is None or len(stored.repeats) + 1 < config.repeats:
                    raise SystemExit(
                        f"the ground truth in {path} lacks {key}: run benchmarks/ground_truth.py"
                    )
                rows = [stored.repeat(r) for r in range(config.repeats)]
                records = [row.record for row in rows if row is not None]
                if len(records) != config.repeats or any(r is None for r in records):
                    raise SystemExit(f"{key} failed in the ground truth; rerun ground_truth.py")
                self.records[key] = records  # type: ignore[assignment]
                self.metrics[key] = stored.costs.to_dict()
                self.flops[key] = float(present(stored.costs.quantum_flops, "quantum_flops"))
        self.repeats = config.repeats
        self.dataset = config.load_data()  # its name keys the replayed searches' stores
        self.mean_error = {
            k: 1.0 - float(np.mean([_val_accuracy(r) for r in recs]))
            for k, recs in self.records.items()
        }
        logs = np.log10(list(self.flops.values()))
        self.low, self.high = float(logs.min()), float(logs.max())

    def point(self, key: str) -> tuple[float, float]:
        """(normalised log F_Q, ground-truth mean error) of a network."""
        return (math.log10(self.flops[key]) - self.low) / (self.high - self.low), self.mean_error[
            key
        ]

    def hypervolume(self, keys: list[str]) -> float:
        """Hypervolume of the networks ``keys`` on their ground-truth means."""
        if not keys:
            return 0.0
        return hypervolume(np.array([self.point(k) for k in keys], dtype=float), REFERENCE)

    def reference(self) -> tuple[float, list[str]]:
        """The reference front's hypervolume and networks."""
        keys = list(self.records)
        points = [self.point(k) for k in keys]
        front = [keys[i] for i in non_dominated(points)]
        return self.hypervolume(front), front


class ReplayEvaluator:
    """Answers a search's candidate tasks from the ground truth: repeat ``offset + r`` (mod K)."""

    def __init__(self, truth: GroundTruth, offset: int) -> None:
        self.truth = truth
        self.offset = offset

    def map(self, tasks: list[CandidateTask]) -> Iterator[CandidateOutcome]:
        """One outcome per task, in order."""
        for task in tasks:
            records = self.truth.records[task.key]
            repeats = tuple(
                RepeatOutcome(r, records[(self.offset + r) % len(records)], None, None)
                for r in task.repeats
            )
            yield CandidateOutcome(task.key, task.seed, repeats, 0.0)

    def close(self) -> None:
        """Nothing to release."""


def _observed_front(keys: list[str], observed: dict[str, float], truth: GroundTruth) -> list[str]:
    """Networks non-dominated on (F_Q, observed error)."""
    points = [(truth.flops[k], observed[k]) for k in keys]
    return [keys[i] for i in non_dominated(points)]


def _config(
    strategy: str, seed: int, budget: int, population: int, base: SearchConfig
) -> SearchConfig:
    return replace(
        base,
        seed=seed,
        strategy=strategy,
        repeats=1,
        population=population,
        generations=math.ceil(budget / population) + 1,
        stagnation=budget + 1,
        budget=budget,
    )


def _run(
    truth: GroundTruth, store: ResultsStore, config: SearchConfig, offset: int
) -> tuple[list[str], dict[str, float], float]:
    """Evaluation order, observed errors and screening seconds of one replayed search."""
    result = run_search(
        config,
        store,
        dataset=truth.dataset,
        evaluator=ReplayEvaluator(truth, offset),
        metrics=lambda g: truth.metrics[g.key],
    )
    order = [c.key for c in result.candidates]
    observed = {c.key: c.objectives[1] for c in result.candidates}
    return order, observed, result.screening_s


def _trainings_to(
    order: list[str], observed: dict[str, float], truth: GroundTruth, target: float, step: int
) -> int | None:
    """Fewest trainings (read every ``step``) whose observed front reaches ``target`` HV."""
    for n in range(step, len(order) + step, step):
        prefix = order[:n]
        if truth.hypervolume(_observed_front(prefix, observed, truth)) >= target:
            return min(n, len(order))
    return None


def _overhead(population: int) -> str:
    config = replace(ground_truth_config(repeats=1), strategy="surrogate", population=population)
    data = config.load_data()
    cache = MetricsCache(persistent=CostCache(default_cache_path(os.environ)))
    with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "o.db") as store:
        result = run_search(config, store, dataset=data, metrics_cache=cache)
    return (
        f"overhead: one real surrogate search on Digits (population {population}, 8 generations, "
        f"5 epochs, 1 process): {len(result.candidates)} networks trained in {result.wall_s:.1f} s"
        f", surrogate fitting and screening {result.screening_s:.2f} s = "
        f"{100 * result.screening_s / result.wall_s:.1f}% of the wall time (criterion <= 5%)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", default="50,100,200")
    parser.add_argument("--max-budget", type=int, default=600)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--overhead", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]
    base = ground_truth_config()
    started = time.perf_counter()
    print("; ".join(f"{k} {v}" for k, v in machine_info().items()))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    truth = GroundTruth(args.store, base)
    reference, ref_front = truth.reference()
    print(
        f"ground truth: Digits, {base.space.describe()}, {len(truth.records):,} networks x "
        f"{truth.repeats} repeats; reference front {len(ref_front)} networks, hypervolume "
        f"{reference:.4f}"
    )
    # what one observation per network gives at best: every network observed once
    every = list(truth.records)
    full = []
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for s in seeds:
        observed = {k: 1.0 - _val_accuracy(truth.records[k][s % truth.repeats]) for k in every}
        full.append(truth.hypervolume(_observed_front(every, observed, truth)) / reference)
    print(
        f"every network observed once (exhaustive search, --repeats 1): "
        f"{np.mean(full):.3f} of the reference hypervolume (mean over seeds)"
    )
    fractions: dict[tuple[str, int], list[float]] = {}
    coverage: dict[tuple[str, int], list[float]] = {}
    needed: dict[str, list[int | None]] = {s: [] for s in STRATEGIES}
    screening = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "q.db") as store:
            for strategy in STRATEGIES:
                for budget in budgets:
                    config = _config(strategy, seed, budget, args.population, base)
                    order, observed, screen_s = _run(truth, store, config, seed)
                    hv = truth.hypervolume(_observed_front(order, observed, truth))
                    fractions.setdefault((strategy, budget), []).append(hv / reference)
                    coverage.setdefault((strategy, budget), []).append(
                        truth.hypervolume(order) / reference
                    )
                config = _config(strategy, seed, args.max_budget, args.population, base)
                order, observed, screen_s = _run(truth, store, config, seed)
                if strategy == "surrogate":
                    screening.append(screen_s)
                needed[strategy].append(
                    _trainings_to(order, observed, truth, 0.95 * reference, STEP)
                )
        print(f"  seed {seed} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    print(
        f"\nfraction of the reference hypervolume, mean ± standard error over {args.seeds} seeds "
        f"(population {args.population}; budget = networks trained):"
    )
    header = f"{'budget':>6s} " + " ".join(f"{s:>15s}" for s in STRATEGIES)
    print(header + f" {'surrogate-random':>18s} {'nsga2-random':>16s}")
    for budget in budgets:
        cells = []
        for s in STRATEGIES:
            v = np.array(fractions[(s, budget)])
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1) / math.sqrt(len(v)):.3f}")
        diffs = []
        for s in ("surrogate", "nsga2"):
            d = np.array(fractions[(s, budget)]) - np.array(fractions[("random", budget)])
            se = d.std(ddof=1) / math.sqrt(len(d))
            verdict = "beats" if d.mean() > 2 * se else "does not beat"
            diffs.append(f"{d.mean():+.3f} ± {se:.3f} ({verdict})")
        print(f"{budget:6d} " + " ".join(f"{c:>15s}" for c in cells) + "  " + "  ".join(diffs))
    print(
        "\ncoverage: the best front the trained networks hold, on their ground-truth means "
        "(what the search would report without observation noise), fraction of the reference:"
    )
    print(f"{'budget':>6s} " + " ".join(f"{s:>15s}" for s in STRATEGIES))
    for budget in budgets:
        cells = []
        for s in STRATEGIES:
            v = np.array(coverage[(s, budget)])
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1) / math.sqrt(len(v)):.3f}")
        print(f"{budget:6d} " + " ".join(f"{c:>15s}" for c in cells))
    print(
        f"\ntrainings to reach 95% of the reference hypervolume (median over seeds; read every "
        f"{STEP}; '>' = not within {args.max_budget}):"
    )
    medians = {}
    for s in STRATEGIES:
        values = [v if v is not None else math.inf for v in needed[s]]
        median = float(np.median(values))
        medians[s] = median
        reached = sum(v is not None for v in needed[s])
        shown = f"{median:.0f}" if math.isfinite(median) else f">{args.max_budget}"
        print(f"  {s:10s} {shown:>6s}   reached by {reached}/{args.seeds} seeds: {needed[s]}")
    if math.isfinite(medians["surrogate"]):
        ratio = medians["random"] / medians["surrogate"]
        print(f"  random / surrogate: {ratio:.2f}x the trainings (criterion >= 2x)")
    print(
        f"\nsurrogate screening in the replayed {args.max_budget}-network runs: "
        f"{np.mean(screening):.2f} s per run (mean)"
    )
    if args.overhead:
        print(_overhead(args.population))
    print(
        f"wall time {time.perf_counter() - started:.0f} s; load average after: "
        f"{os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
