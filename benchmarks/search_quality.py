"""Search quality: hypervolume of NSGA-II with 50 evaluations against the exhaustive front and
against random search with the same budget, on Iris restricted to 2-4 qubits and depth 1-2.

    python benchmarks/search_quality.py [--seeds 0,1,2] [--budget 50] [--epochs 5] [--lr 0.003]

Each seed gets its own store-backed exhaustive run (288 networks); NSGA-II (population 10,
5 generations, no early stop) and random search (50 distinct networks) with the same seed read
every candidate from that run's evaluations (same key, dataset, training and seed), so the three
fronts are measured on identical values. Hypervolume is computed on (log10 F_Q scaled to [0, 1]
over the sub-space, 1 - validation accuracy) with reference point (1.1, 1.1).
"""

from __future__ import annotations

import argparse
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
from faqnas_qiskit.metrics import metrics_function, quantum_flops_formula
from faqnas_qiskit.search import (
    SearchConfig,
    SearchResult,
    SearchRunner,
    SerialEvaluator,
    StoreCachedMetrics,
    hypervolume,
)
from faqnas_qiskit.space import SearchSpace
from faqnas_qiskit.store import ResultsStore


def _normalised(result: SearchResult, low: float, high: float) -> np.ndarray:
    points = []
    for c in result.front:
        flops, error = c.objectives
        points.append(((math.log10(flops) - low) / (high - low), error))
    return np.array(points, dtype=float).reshape(-1, 2)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.003)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    space = SearchSpace(qubits=(2, 3, 4), depths=(1, 2))
    flops = [quantum_flops_formula(g) for g in space.networks()]
    low, high = math.log10(min(flops)), math.log10(max(flops))
    reference = (1.1, 1.1)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"space: {space.describe()} ({space.n_networks} networks); budget {args.budget}; epochs {args.epochs}"
    )
    print(
        f"{'seed':>4s} {'exhaustive HV':>13s} {'nsga2 HV':>9s} {'random HV':>9s} {'nsga2/exh':>9s} {'nsga2/rand':>10s} {'evals':>6s}"
    )
    ratios_exh, ratios_rand = [], []
    hv_n, hv_r = [], []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultsStore(Path(tmp) / "quality.db")
        for seed in seeds:
            data = load_dataset("iris", seed=seed)
            base = SearchConfig(
                dataset="iris",
                seed=seed,
                space=space,
                training=TrainingConfig(epochs=args.epochs, lr=args.lr),
            )
            settings = {
                "n_features": data.n_features,
                "n_classes": data.n_classes,
                "n_train": int(data.x_train.shape[0]),
                "epochs": args.epochs,
                "target": base.metrics_target,
                "shots": base.shots,
                "samples": int(data.x_test.shape[0]),
                "optimization_level": 1,
                "seed_transpiler": 0,
            }
            metrics = StoreCachedMetrics(
                store,
                metrics_function(**settings, transpile=False),
                {**settings, "transpile": False},
            )
            runner = SearchRunner(store, SerialEvaluator(data), metrics, data.name)
            exhaustive = runner.start(replace(base, strategy="exhaustive", population=32))
            nsga2 = runner.start(
                replace(base, population=10, generations=args.budget // 10, stagnation=args.budget)
            )
            random = runner.start(
                replace(base, strategy="random", population=10, budget=args.budget)
            )
            hv = [
                hypervolume(_normalised(r, low, high), reference)
                for r in (exhaustive, nsga2, random)
            ]
            ratios_exh.append(hv[1] / hv[0])
            ratios_rand.append(hv[1] / hv[2] if hv[2] > 0 else math.inf)
            hv_n.append(hv[1])
            hv_r.append(hv[2])
            print(
                f"{seed:4d} {hv[0]:13.4f} {hv[1]:9.4f} {hv[2]:9.4f} {hv[1] / hv[0]:9.3f} {ratios_rand[-1]:10.3f} {len(nsga2.candidates):6d}"
            )
        store.close()
    mean_exh = float(np.mean(ratios_exh))
    print(
        f"mean NSGA-II / exhaustive hypervolume: {mean_exh:.3f} -> {'PASS' if mean_exh >= 0.9 else 'FAIL'} (criterion >= 0.90)"
    )
    print(
        f"mean NSGA-II / random hypervolume: {np.mean(hv_n) / np.mean(hv_r):.3f} -> "
        f"{'PASS' if np.mean(hv_n) >= np.mean(hv_r) else 'FAIL'} (criterion >= 1.00, on the mean hypervolumes)"
    )
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
