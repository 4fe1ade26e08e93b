"""Time to collect an architecture's cost metrics against a default Iris evaluation.

Criterion: collecting all metrics of a genome for the first time (uncached) costs at most 10 % of
a default Iris evaluation of it (``evaluate_genome(genome, load_dataset("iris", seed=0),
TrainingConfig(), seed=0)``: 5 epochs, Adam lr 0.003, batch 64). The one-time costs of a process
(importing qiskit-ibm-runtime's fake provider, building the fake backend's Target and the pass
managers, the profiler's start-up for the FLOPs formula check) are paid once per search, not per
genome, and are printed separately. Evaluations and metrics are timed alternately, so that load
from other processes hits both alike; medians of ``--repeats`` runs are reported.

Columns: ``eval s`` the evaluation; ``metrics ms`` all metrics, uncached (what a cache miss
computes); ``ratio`` and the verdict; then where the metrics' time goes: ``build`` the circuit
(``build_circuit``), ``ibm`` and ``aer`` the two preset pass managers, ``count`` the counts and
durations of both; ``flops us`` the FLOPs and parameters alone (``flops_and_params``); ``cached
us`` a hit in the process's in-memory cache; ``warm us`` all metrics from the machine's
persistent cost cache (the atlas: a new ``MetricsCache`` over the SQLite file, as a new search or
``faqnas evaluate`` process sees it) and ``warm %`` that against the evaluation (criterion of
the cost-atlas issue: at most 2 %). The warm setup line is what such a process pays once with a
warm cache (no fake backend, no profiler).

Usage::

    python benchmarks/metrics_overhead.py
    python benchmarks/metrics_overhead.py --optimization-level 2 --repeats 5
    python benchmarks/metrics_overhead.py --dataset digits
    python benchmarks/metrics_overhead.py --cache /tmp/metrics.db   # default: the machine's
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

DEFAULT_GENOMES = (
    "q2-angle-cx-linear-rx",
    "q4-angle-cz-circular-ry.rx",
    "q10-angle-cx-circular-rx.ry.rz.ry",
    "q6-amplitude-cx-linear-ry",
    "q10-amplitude-cz-circular-ry.rx.ry.rz",
)


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genomes", nargs="+", default=list(DEFAULT_GENOMES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target", default="fake_fez")
    parser.add_argument("--optimization-level", type=int, default=None)
    parser.add_argument("--threshold", type=float, default=0.10)
    parser.add_argument("--warm-threshold", type=float, default=0.02)
    parser.add_argument(
        "--cache", help="persistent cost cache (default: the machine's, see faqnas atlas)"
    )
    parser.add_argument(
        "--dataset", default="iris", help="dataset of the evaluations (the criterion's is iris)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from faqnas_qiskit.circuits import build_circuit
    from faqnas_qiskit.data import load_dataset
    from faqnas_qiskit.evaluation import TrainingConfig, evaluate_genome
    from faqnas_qiskit.metrics import (
        DEFAULT_AER_OPTIMIZATION_LEVEL,
        DEFAULT_OPTIMIZATION_LEVEL,
        CostCache,
        MetricsCache,
        architecture_metrics,
        count_transpiled,
        default_cache_path,
        flops_and_params,
    )
    from faqnas_qiskit.space import Genome

    import_s = time.perf_counter() - started
    level = args.optimization_level
    level = DEFAULT_OPTIMIZATION_LEVEL if level is None else level
    aer_level = DEFAULT_AER_OPTIMIZATION_LEVEL
    dataset = load_dataset(args.dataset, seed=0)
    config = TrainingConfig()
    n_train, samples = int(dataset.x_train.shape[0]), int(dataset.x_test.shape[0])
    widths = (dataset.n_features, dataset.n_classes)
    budget = {"n_train": n_train, "epochs": config.epochs}
    settings = {**budget, "samples": samples, "optimization_level": level}

    cache = MetricsCache()
    target_s = _timed(lambda: (cache.target(args.target), cache.target("aer")))
    ibm, aer = cache.target(args.target), cache.target("aer")
    warm = Genome.parse("q3-angle-cz-linear-ry")
    # the first genome through the cache also builds pass managers and checks the formulas
    setup_s = _timed(lambda: cache.metrics(warm, *widths, target=args.target, **settings))
    evaluate_genome(warm, dataset, config, seed=0)  # warms torch up for the evaluations

    persistent = CostCache(args.cache or default_cache_path(os.environ))
    # fill the persistent cache (a no-op when the atlas is warm), the set-up genome included
    for text in (*args.genomes, warm.key):
        MetricsCache(persistent=persistent).metrics(
            Genome.parse(text), *widths, target=args.target, **settings
        )
    warm_setup_s = _timed(
        lambda: MetricsCache(persistent=CostCache(persistent.path)).metrics(
            warm, *widths, target=args.target, **settings
        )
    )

    def warm_metrics(genome: Genome) -> object:
        # a new process's view: nothing in memory, everything in the SQLite file
        return MetricsCache(persistent=persistent).metrics(
            genome, *widths, target=args.target, **settings
        )

    print(
        f"one-time setup: imports {import_s:.2f} s, targets {args.target} + aer {target_s:.2f} s, "
        f"pass managers + FLOPs formula check {setup_s:.2f} s; with a warm persistent cache "
        f"({persistent.path}) {warm_setup_s * 1e3:.1f} ms"
    )
    print(
        f"settings: {args.target} at optimization level {level}, aer at {aer_level}, seed 0; "
        f"{samples} samples x 1024 shots; median of {args.repeats} runs; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n"
    )
    header = (
        f"{'genome':38s} {'eval s':>7s} {'metrics ms':>10s} {'ratio':>6s} {'verdict':7s}"
        f" | {'build':>6s} {'ibm':>6s} {'aer':>6s} {'count':>6s} {'flops us':>8s}"
        f" {'cached us':>9s} {'warm us':>8s} {'warm %':>7s} {'2q':>5s}"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    warm_failures = 0
    for text in args.genomes:
        genome = Genome.parse(text)
        evaluate = partial(evaluate_genome, genome, dataset, config, seed=0)
        # uncached: a cache miss computes exactly this, with the cache's prepared targets
        first = partial(
            architecture_metrics, genome, *widths, target=ibm, aer_target=aer, **settings
        )
        evals, firsts = [], []
        for _ in range(args.repeats):
            evals.append(_timed(evaluate))
            ibm.clear_counts()  # targets keep each genome's counts: forget them to time a miss
            aer.clear_counts()
            firsts.append(_timed(first))
        # where the time goes, phase by phase
        phases: dict[str, list[float]] = {"build": [], "ibm": [], "aer": [], "count": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            circuit = build_circuit(genome).circuit
            t1 = time.perf_counter()
            on_ibm = ibm.transpile(circuit, optimization_level=level)
            t2 = time.perf_counter()
            on_aer = aer.transpile(circuit, optimization_level=aer_level)
            t3 = time.perf_counter()
            for transpiled, info, lvl in ((on_ibm, ibm, level), (on_aer, aer, aer_level)):
                count_transpiled(
                    transpiled,
                    info,
                    optimization_level=lvl,
                    seed_transpiler=0,
                    shots=1024,
                    samples=samples,
                )
            t4 = time.perf_counter()
            for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                phases[name].append(seconds)
        flops = [
            _timed(partial(flops_and_params, genome, *widths, **budget))
            for _ in range(args.repeats)
        ]
        again = partial(cache.metrics, genome, *widths, target=args.target, **settings)
        metrics = again()
        cached = [_timed(again) for _ in range(args.repeats)]
        warm_metrics(genome)
        warms = [_timed(partial(warm_metrics, genome)) for _ in range(args.repeats)]
        warm_ratio = statistics.median(warms) / statistics.median(evals)
        warm_failures += warm_ratio > args.warm_threshold
        eval_s, first_s = statistics.median(evals), statistics.median(firsts)
        ratio = first_s / eval_s
        ok = ratio <= args.threshold
        failures += not ok
        ms = {name: statistics.median(values) * 1e3 for name, values in phases.items()}
        print(
            f"{text:38s} {eval_s:7.3f} {first_s * 1e3:10.1f} {ratio:6.1%} "
            f"{'PASS' if ok else 'FAIL':7s} | {ms['build']:6.1f} {ms['ibm']:6.1f} "
            f"{ms['aer']:6.1f} {ms['count']:6.1f} {statistics.median(flops) * 1e6:8.0f} "
            f"{statistics.median(cached) * 1e6:9.0f} {statistics.median(warms) * 1e6:8.0f} "
            f"{warm_ratio:7.3%} {metrics.transpiled.two_qubit_gates:5d}"
        )
    print(
        f"\ncriterion: all metrics, first computation <= {args.threshold:.0%} of a default "
        f"{args.dataset} evaluation"
    )
    print(
        f"criterion (cost atlas): all metrics from a warm persistent cache <= "
        f"{args.warm_threshold:.0%} of a default {args.dataset} evaluation: "
        f"{'PASS' if not warm_failures else 'FAIL'} "
        f"({len(args.genomes) - warm_failures}/{len(args.genomes)} genomes); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    return 1 if failures or warm_failures else 0


if __name__ == "__main__":
    sys.exit(main())
