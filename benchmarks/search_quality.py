"""Search quality: hypervolume of NSGA-II with a budget of 50 evaluations against the exhaustive
front and against random search with the same budget, on Iris restricted to 2-4 qubits and
depth 1-2 (288 networks), over 3 seeds.

    python benchmarks/search_quality.py [--dataset iris] [--seeds 0,1,2] [--budget 50]
        [--population 20] [--epochs 5] [--lr 0.003]

Each seed is one run seed: it fixes the data split, every candidate's training seed (derived
from the run seed and the canonical key) and the algorithms' generators. Per seed, an exhaustive
run trains all networks of the sub-space into a store; NSGA-II (the search's defaults:
population 20, uniform crossover 0.8, gene resampling 0.2, stopping at the budget, early stop
off so that it spends the whole budget) and random search (the same number of distinct networks)
then read every candidate from that store (same key, dataset, training and seed), so the three
fronts are measured on identical values. Hypervolume is computed on (log10 F_Q scaled to [0, 1]
over the sub-space, 1 - validation accuracy) with reference point (1.1, 1.1).

The landscape line says how much the architecture decides the validation accuracy at this
training budget: the mean correlation, across pairs of seeds, of the 288 accuracies (1: the
architecture decides; 0: the accuracy is a draw of the split and the initial weights), and the
same for networks one gene apart against random pairs. No search strategy can beat random
search on a landscape without structure; the paired difference NSGA-II - random and its
standard error over the seeds show whether a difference is larger than the seed-to-seed noise.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("KINETO_LOG_LEVEL", "99")

import numpy as np

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.metrics import quantum_flops_formula
from faqnas_qiskit.search import (
    SearchConfig,
    SearchResult,
    SearchRunner,
    SerialEvaluator,
    StoreCachedMetrics,
    hypervolume,
    search_metrics,
)
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import ResultsStore

REFERENCE = (1.1, 1.1)


def _normalised(result: SearchResult, low: float, high: float) -> np.ndarray:
    points = []
    for c in result.front:
        flops, error = c.objectives
        points.append(((math.log10(flops) - low) / (high - low), error))
    return np.array(points, dtype=float).reshape(-1, 2)


def _accuracies(result: SearchResult) -> dict[str, float]:
    return {
        c.key: float(c.evaluation.record["val_accuracy"]) if c.ok else 0.0  # type: ignore[index]
        for c in result.candidates
    }


def _one_gene_apart(a: Genome, b: Genome) -> bool:
    genes = ("n_qubits", "embedding", "entangler", "topology", "depth", "rotations")
    return sum(getattr(a, g) != getattr(b, g) for g in genes) == 1


def _landscape(per_seed: list[dict[str, float]]) -> str:
    keys = sorted(per_seed[0])
    table = np.array([[acc[k] for k in keys] for acc in per_seed])
    mean_acc = float(table.mean())
    if len(per_seed) > 1:
        corr = np.corrcoef(table)
        across = f"{float(corr[~np.eye(len(corr), dtype=bool)].mean()):.2f}"
    else:
        across = "n/a (one seed)"
    genomes = [Genome.parse(k) for k in keys]
    near, far = [], []
    for i, j in itertools.combinations(range(len(keys)), 2):
        diff = np.abs(table[:, i] - table[:, j]).mean()
        (near if _one_gene_apart(genomes[i], genomes[j]) else far).append(diff)
    return (
        f"landscape: mean val accuracy {mean_acc:.3f}, best {float(table.max(axis=1).mean()):.3f}; "
        f"correlation of the {len(keys)} accuracies across seeds {across}; mean |accuracy "
        f"difference| one gene apart {np.mean(near):.3f} vs other pairs {np.mean(far):.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="iris")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.003)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    space = SearchSpace(qubits=(2, 3, 4), depths=(1, 2))
    flops = [quantum_flops_formula(g) for g in space.networks()]
    low, high = math.log10(min(flops)), math.log10(max(flops))
    training = TrainingConfig(epochs=args.epochs, lr=args.lr)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{args.dataset}, space: {space.describe()} ({space.n_networks} networks); budget "
        f"{args.budget}; NSGA-II population {args.population}; training: {args.epochs} epochs, "
        f"lr {args.lr}"
    )
    print(
        f"{'seed':>4s} {'exhaustive HV':>13s} {'nsga2 HV':>9s} {'random HV':>9s} "
        f"{'nsga2/exh':>9s} {'random/exh':>10s} {'evals':>6s}"
    )
    rows: list[tuple[float, float, float]] = []
    landscape: list[dict[str, float]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "quality.db") as store:
        for seed in seeds:
            data = load_dataset(args.dataset, seed=seed)
            base = SearchConfig(dataset=data.name, seed=seed, space=space, training=training)
            compute, settings = search_metrics(base, data, transpile=False)
            metrics = StoreCachedMetrics(store, compute, settings)
            runner = SearchRunner(store, SerialEvaluator(data), metrics, data.name)
            exhaustive = runner.start(replace(base, strategy="exhaustive", population=32))
            nsga2 = runner.start(
                replace(
                    base,
                    population=args.population,
                    generations=math.ceil(args.budget / args.population) + 1,
                    stagnation=args.budget,
                    budget=args.budget,
                )
            )
            random = runner.start(
                replace(base, strategy="random", population=args.population, budget=args.budget)
            )
            assert nsga2.trained == random.trained == 0, "every candidate comes from the store"
            hv = tuple(
                hypervolume(_normalised(r, low, high), REFERENCE)
                for r in (exhaustive, nsga2, random)
            )
            rows.append(hv)  # type: ignore[arg-type]
            landscape.append(_accuracies(exhaustive))
            print(
                f"{seed:4d} {hv[0]:13.4f} {hv[1]:9.4f} {hv[2]:9.4f} {hv[1] / hv[0]:9.3f} "
                f"{hv[2] / hv[0]:10.3f} {len(nsga2.candidates):6d}"
            )
    table = np.array(rows)
    to_exh = table[:, 1] / table[:, 0]
    random_to_exh = table[:, 2] / table[:, 0]
    diff = table[:, 1] - table[:, 2]
    stderr = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else math.nan
    print(_landscape(landscape))
    print(
        f"mean NSGA-II / exhaustive hypervolume: {to_exh.mean():.3f} -> "
        f"{'PASS' if to_exh.mean() >= 0.9 else 'FAIL'} (criterion >= 0.90); random search: "
        f"{random_to_exh.mean():.3f}"
    )
    ratio = table[:, 1].mean() / table[:, 2].mean()
    print(
        f"mean NSGA-II / random hypervolume: {ratio:.3f} -> "
        f"{'PASS' if ratio >= 1.0 else 'FAIL'} (criterion >= 1.00, on the mean hypervolumes); "
        f"paired difference {diff.mean():+.4f} +- {stderr:.4f} (standard error over seeds)"
    )
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
