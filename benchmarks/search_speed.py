"""Search speed: the paper's configuration on Iris over the full space (population 20, up to
8 generations, 5 epochs), with every cost metric, in three set-ups of the metrics:

* ``cold-serial``: an empty cost cache, every metric computed in the coordinator before its
  candidate trains, one by one (the search before issue 17's item 4);
* ``cold-overlapped``: an empty cost cache, metrics of candidates no cache holds computed in a
  side process while the generation trains (the default on more than one core);
* ``warm``: the cost cache holds every network the search meets (the cold-serial run filled it),
  as with a warm ``faqnas atlas``; overlap as by default (on with more than one core), which
  starts no side process when nothing is cold.

Each set-up runs in a fresh process (so targets, pass managers and the profiler start cold, as
in a new ``faqnas search``) on a fresh store; with ``--rounds R`` the three alternate R times
and medians are printed. Printed per set-up: search wall time, time the coordinator spent on
metrics (computing, looking up; what the side process computes alongside is not counted) and
its share of the wall time, training time, wall time against cold-serial, how many metrics
came from the side process and how many side processes were started.

    python benchmarks/search_speed.py [--seed 0] [--rounds 1]

Criteria of the cost-atlas issue: with a warm cache, metrics are at most 5 % of the search's
wall time; cold, the overlapped search is faster than the serial one (same run of this script).

``--batching`` compares instead, per dataset (Iris and Digits by default), the paper-budget
search over the full space trained one candidate at a time (``alone``) and with population
batching (``batched``: a generation's candidates of one qubit count and embedding trained as
one computation, ``SearchConfig.population_batching``), each in a fresh process pinned to one
core with one torch thread, on a fresh store, with the cost metrics from a cache filled by an
untimed first search (so both pay the same, near nothing). The two alternate ``--rounds``
times; medians are printed, with the networks each trained and whether the fronts agree (in
float32 a batched network's last digits differ from its training alone, which can change an
accuracy and so the search's path). Criterion of the engine issue: batched at least 2x faster
on Digits on one core.

    python benchmarks/search_speed.py --batching [--datasets iris,digits] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KINETO_LOG_LEVEL", "99")

VARIANTS = ("cold-serial", "cold-overlapped", "warm")
BATCHING = ("alone", "batched")


def run_batching(
    variant: str, dataset: str, seed: int, cache: str, qubits: str | None = None
) -> dict[str, object]:
    """One paper-budget search on ``dataset`` in this process, alone or batched (JSON-ready)."""
    from faqnas_qiskit.metrics import CostCache, MetricsCache
    from faqnas_qiskit.search import SearchConfig, run_search
    from faqnas_qiskit.store import ResultsStore

    if hasattr(os, "sched_setaffinity"):  # one core, as the criterion reads
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from faqnas_qiskit.space import SearchSpace

    space = SearchSpace()
    if qubits:
        low, _, high = qubits.partition("-")
        space = SearchSpace(qubits=tuple(range(int(low), int(high or low) + 1)))
    config = SearchConfig(
        dataset=dataset, seed=seed, space=space, population_batching=variant == "batched"
    )
    with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "speed.db") as store:
        result = run_search(
            config,
            store,
            metrics_cache=MetricsCache(persistent=CostCache(cache)),
            overlap_metrics=False,  # one core: nothing beside the training
        )
    return {
        "variant": variant,
        "dataset": dataset,
        "wall_s": result.wall_s,
        "task_s": result.task_s,
        "metrics_s": result.metrics_s,
        "trained": result.trained,
        "generations": len(result.generations),
        "front": sorted(c.key for c in result.front),
        "best": max((c.val.mean for c in result.candidates if c.val is not None), default=0.0),
        "load": os.getloadavg()[0],
    }


def _batching_child(
    variant: str, dataset: str, seed: int, cache: str, qubits: str | None
) -> dict[str, object]:
    extra = ["--qubits", qubits] if qubits else []
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--batching-variant",
            variant,
            "--datasets",
            dataset,
            "--seed",
            str(seed),
            "--cache",
            cache,
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def batching_main(datasets: list[str], seed: int, rounds: int, qubits: str | None) -> int:
    """Alone against batched per dataset; returns 0 when Digits is at least 2x faster."""
    space = f"qubits {qubits}" if qubits else "the full space"
    print(f"paper-budget searches (population 20, 8 generations, 5 epochs) over {space}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores (each search pinned to one), "
        f"Python {platform.python_version()}; load average before {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'dataset':8s} {'set-up':8s} {'wall s':>8s} {'train s':>8s} {'trained':>7s} "
        f"{'s/trained':>9s} {'speed-up':>8s} {'best val':>8s} {'load':>5s}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in datasets:
            cache = str(Path(tmp) / f"{dataset}-costs.db")
            _batching_child("alone", dataset, seed, cache, qubits)  # untimed: fills the cost cache
            runs: dict[str, list[dict[str, object]]] = {v: [] for v in BATCHING}
            for _ in range(rounds):
                for variant in BATCHING:
                    runs[variant].append(_batching_child(variant, dataset, seed, cache, qubits))

            def median(
                variant: str, key: str, runs: dict[str, list[dict[str, object]]] = runs
            ) -> float:
                return statistics.median(float(run[key]) for run in runs[variant])  # type: ignore[arg-type]

            base = median("alone", "wall_s")
            for variant in BATCHING:
                wall = median(variant, "wall_s")
                trained = median(variant, "trained")
                print(
                    f"{dataset:8s} {variant:8s} {wall:8.1f} {median(variant, 'task_s'):8.1f} "
                    f"{trained:7.0f} {wall / trained:9.3f} {base / wall:7.2f}x "
                    f"{median(variant, 'best'):8.3f} {median(variant, 'load'):5.2f}"
                )
            same = runs["alone"][0]["front"] == runs["batched"][0]["front"]
            print(f"{dataset}: same front alone and batched: {'yes' if same else 'no'}")
            if dataset == "digits":
                speedup = base / median("batched", "wall_s")
                ok = speedup >= 2.0
                print(
                    "criterion (engine): population batching at least 2x faster on a "
                    f"paper-budget Digits search over {space} on one core: "
                    f"{'PASS' if ok else 'FAIL'} "
                    f"({speedup:.2f}x)"
                )
    return 0 if ok else 1


def run_one(variant: str, seed: int, cache: str) -> dict[str, float | int | str]:
    """One search in this process; returns its time accounting (JSON-ready)."""
    from faqnas_qiskit.data import load_dataset
    from faqnas_qiskit.metrics import CostCache, MetricsCache
    from faqnas_qiskit.search import (
        SearchConfig,
        SearchRunner,
        SerialEvaluator,
        StoreCachedMetrics,
        search_metrics,
    )
    from faqnas_qiskit.store import ResultsStore

    config = SearchConfig(dataset="iris", seed=seed)
    t0 = time.perf_counter()
    data = load_dataset("iris", seed=seed)
    compute, settings = search_metrics(
        config, data, cache=MetricsCache(persistent=CostCache(cache))
    )
    setup = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "speed.db") as store:
        metrics = StoreCachedMetrics(store, compute, settings)
        runner = SearchRunner(
            store,
            SerialEvaluator(data),
            metrics,
            data.name,
            # cold-serial: off; cold-overlapped: on; warm: the default (on with > 1 core)
            overlap_metrics={"cold-serial": False, "cold-overlapped": True}.get(variant),
        )
        result = runner.start(config)
        received = runner.generation_metrics.received
        started = runner.generation_metrics.started
    return {
        "variant": variant,
        "setup_s": setup,
        "wall_s": result.wall_s,
        "metrics_s": result.metrics_s,
        "task_s": result.task_s,
        "trained": result.trained,
        "candidates": len(result.candidates),
        "generations": len(result.generations),
        "from_side": received,
        "side_processes": started,
        "load": os.getloadavg()[0],
    }


def _child(variant: str, seed: int, cache: str) -> dict[str, float | int | str]:
    out = subprocess.run(
        [sys.executable, __file__, "--variant", variant, "--seed", str(seed), "--cache", cache],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float | int | str] = json.loads(out.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the set-ups and print the comparison; returns 0 when both criteria pass."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (medians)")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument(
        "--batching", action="store_true", help="alone against population-batched searches"
    )
    parser.add_argument("--datasets", default="iris,digits", help="with --batching")
    parser.add_argument("--batching-variant", choices=BATCHING, help=argparse.SUPPRESS)
    parser.add_argument(
        "--qubits", help="with --batching: a qubit range such as 2-4 (default: the full space)"
    )
    args = parser.parse_args(argv)
    if args.variant is not None:  # a child: one search, one JSON line
        print(json.dumps(run_one(args.variant, args.seed, args.cache)))
        return 0
    if args.batching_variant is not None:
        result = run_batching(
            args.batching_variant, args.datasets, args.seed, args.cache, args.qubits
        )
        print(json.dumps(result))
        return 0
    if args.batching:
        return batching_main(args.datasets.split(","), args.seed, args.rounds, args.qubits)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f"; load average before {os.getloadavg()[0]:.2f}"
    )
    runs: dict[str, list[dict[str, float | int | str]]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            serial_cache = str(Path(tmp) / f"serial-{r}.db")  # empty: cold
            runs["cold-serial"].append(_child("cold-serial", args.seed, serial_cache))
            overlap_cache = str(Path(tmp) / f"overlap-{r}.db")
            runs["cold-overlapped"].append(_child("cold-overlapped", args.seed, overlap_cache))
            runs["warm"].append(_child("warm", args.seed, serial_cache))  # filled by the first

    def median(variant: str, key: str) -> float:
        return statistics.median(float(run[key]) for run in runs[variant])

    base = median("cold-serial", "wall_s")
    first = runs["cold-serial"][0]
    print(
        f"paper budget on Iris: {first['candidates']} networks, {first['trained']} trained, "
        f"{first['generations']} generations; median of {args.rounds} round(s), each set-up "
        "in a fresh process on a fresh store"
    )
    header = (
        f"{'set-up':16s} {'wall s':>7s} {'vs serial':>9s} {'metrics s':>9s} {'share':>7s} "
        f"{'train s':>7s} {'from side':>9s} {'sides':>5s} {'load':>5s}"
    )
    print(header)
    print("-" * len(header))
    for variant in VARIANTS:
        wall, metrics = median(variant, "wall_s"), median(variant, "metrics_s")
        print(
            f"{variant:16s} {wall:7.2f} {wall / base:9.2f} {metrics:9.2f} {metrics / wall:7.2%} "
            f"{median(variant, 'task_s'):7.2f} {median(variant, 'from_side'):9.0f} "
            f"{median(variant, 'side_processes'):5.0f} {median(variant, 'load'):5.2f}"
        )
    if args.rounds > 1:
        print("each run (round: wall s / metrics s / train s / load):")
        for variant in VARIANTS:
            cells = [
                f"{r}: {float(run['wall_s']):.2f} / {float(run['metrics_s']):.2f} / "
                f"{float(run['task_s']):.2f} / {float(run['load']):.2f}"
                for r, run in enumerate(runs[variant], start=1)
            ]
            print(f"  {variant:16s} " + "; ".join(cells))
    warm_share = median("warm", "metrics_s") / median("warm", "wall_s")
    faster = median("cold-overlapped", "wall_s") < base
    print(
        f"criterion (cost atlas): warm metrics <= 5% of the search's wall time: "
        f"{'PASS' if warm_share <= 0.05 else 'FAIL'} ({warm_share:.2%})"
    )
    print(
        f"criterion (cost atlas): cold, overlapped faster than serial: "
        f"{'PASS' if faster else 'FAIL'} ({median('cold-overlapped', 'wall_s') / base:.2f}x)"
    )
    return 0 if warm_share <= 0.05 and faster else 1


if __name__ == "__main__":
    sys.exit(main())
