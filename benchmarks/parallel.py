"""Speed-up of one search generation on 2 local Dask workers over 1 (DESIGN §7).

One generation: 20 distinct random genomes of the full search space (``SearchSpace().sample``,
seed 0), trained on Digits (``load_dataset("digits", seed=0)``) with the paper's training
defaults (5 epochs, Adam lr 0.003, batch 64), each candidate with its run-derived seed, exactly
as ``faqnas search`` would. Each mode runs through :class:`DaskEvaluator.local` with one torch
thread per worker, so the two modes differ only in the number of worker processes.

Measured: the wall time of ``evaluator.map(tasks)`` until the last outcome has arrived. Cluster
start-up (spawning workers, importing torch and Qiskit, sending the dataset, warming up) is paid
once per run, not per generation, and is reported separately. Both clusters are started first
and the modes alternate over ``--repeat`` rounds, so that load from other processes on the
machine hits both alike; the best round of each mode is compared (the usual estimate of the
undisturbed time), and every round is printed. The load average is printed before and after:
a value above the core count means other processes competed for the CPU.

Also checked: both modes give the same outcome for every candidate (minus wall times).

Usage::

    python benchmarks/parallel.py             # 3 rounds
    python benchmarks/parallel.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import Any

import numpy as np

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import TrainingConfig, derive_seed
from faqnas_qiskit.search import CandidateOutcome, CandidateTask
from faqnas_qiskit.search.distributed import DaskEvaluator, estimated_cost
from faqnas_qiskit.space import Genome, SearchSpace

TARGET = 1.7
POPULATION = 20
SEED = 0


def _tasks() -> list[CandidateTask]:
    rng = np.random.default_rng(SEED)
    space = SearchSpace()
    genomes: dict[str, Genome] = {}
    while len(genomes) < POPULATION:
        genome = space.sample(1, rng)[0]
        genomes.setdefault(genome.key, genome)
    training = TrainingConfig()
    return [CandidateTask(key, derive_seed(SEED, key), training) for key in genomes]


def _comparable(outcomes: list[CandidateOutcome]) -> dict[str, Any]:
    out = {}
    for o in outcomes:
        record = {k: v for k, v in (o.record or {}).items() if not k.endswith("time_s")}
        out[o.key] = (o.error, sorted(record.items()), o.weights)
    return out


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds per mode (default: 3)")
    args = parser.parse_args(argv)

    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    python = sys.version.split()[0]
    print(f"machine: {platform.machine()}, {cores} cores ({usable} usable), Python {python}")
    print(f"load average (1, 5, 15 min) before: {_load()}")
    dataset = load_dataset("digits", seed=SEED)
    tasks = _tasks()
    costs = sorted((estimated_cost(Genome.parse(t.key)) for t in tasks), reverse=True)
    print(
        f"generation: {len(tasks)} candidates on {dataset.name} "
        f"({dataset.x_train.shape[0]} training rows), {TrainingConfig()}"
    )
    print(
        f"cost estimates: largest {costs[0]:.0f}, median {statistics.median(costs):.0f}, "
        f"smallest {costs[-1]:.0f} (relative units)"
    )

    evaluators = {}
    for workers in (1, 2):
        evaluators[workers] = DaskEvaluator.local(dataset, workers=workers)
        startup = evaluators[workers].startup_s
        print(f"start-up, {workers} worker(s): {startup:.2f} s (not in the times below)")
    walls: dict[int, list[float]] = {1: [], 2: []}
    results: dict[int, dict[str, Any]] = {}
    shares: dict[int, list[float]] = {1: [], 2: []}
    busiest: dict[int, list[float]] = {1: [], 2: []}
    try:
        for round_ in range(args.repeat):
            for workers in (1, 2):
                client = evaluators[workers].client
                cpu_before = client.run(time.process_time)
                started = time.perf_counter()
                outcomes = list(evaluators[workers].map(tasks))
                wall = time.perf_counter() - started
                cpu_after = client.run(time.process_time)
                per_worker = [cpu_after[w] - cpu_before.get(w, 0.0) for w in cpu_after]
                cpu = sum(per_worker)
                # CPU the workers got over what they could have used: well below 1 means other
                # processes took cores from them (or a worker sat idle at the end)
                share = cpu / (wall * workers)
                walls[workers].append(wall)
                shares[workers].append(share)
                busiest[workers].append(max(per_worker))
                results[workers] = _comparable(outcomes)
                task_s = sum(o.seconds for o in outcomes)
                print(
                    f"round {round_ + 1}, {workers} worker(s): {wall:6.2f} s wall, "
                    f"{task_s:6.2f} s in tasks, {cpu:6.2f} s worker CPU "
                    f"({share:.0%} of {workers} core(s))"
                )
    finally:
        for evaluator in reversed(evaluators.values()):  # LIFO: each restores log levels
            evaluator.close()
    print(f"load average (1, 5, 15 min) after:  {_load()}")

    failed = sum(error is not None for error, _, _ in results[1].values())
    same = results[1] == results[2]
    best = {w: min(range(args.repeat), key=walls[w].__getitem__) for w in (1, 2)}
    one, two = walls[1][best[1]], walls[2][best[2]]
    speedup = one / two
    for w, wall in ((1, one), (2, two)):
        share = shares[w][best[w]]
        print(
            f"wall time, {w} worker(s): {wall:.2f} s (best of {args.repeat}; workers got "
            f"{share:.0%} of {w} core(s))"
        )
    print(
        f"speed-up: {speedup:.2f}x; median of rounds "
        f"{statistics.median(walls[1]) / statistics.median(walls[2]):.2f}x"
    )
    print(f"same outcomes in both modes: {'yes' if same else 'NO'} ({failed} failed candidates)")
    verdict = "PASS" if speedup >= TARGET and same else "FAIL"
    print(f"{verdict}: speed-up of at least {TARGET}x with 2 workers on {cores} cores")
    # what an idle machine would show: the generation ends when the busiest worker is done
    projected = statistics.median(busiest[1]) / statistics.median(busiest[2])
    print(
        f"projection from CPU time (not a measurement): 1 worker needs "
        f"{statistics.median(busiest[1]):.2f} s of CPU, the busiest of 2 workers "
        f"{statistics.median(busiest[2]):.2f} s: {projected:.2f}x on an idle machine"
    )
    if shares[2][best[2]] < 0.9:
        print(
            "note: in the best 2-worker round the workers got less than 90% of two cores; "
            "other processes competed for the CPU, so this understates the speed-up. Re-run "
            "on an idle machine."
        )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":  # required: worker processes are spawned and re-import this file
    sys.exit(main())
