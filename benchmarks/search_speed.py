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
        runner = SearchRunner(
            store,
            SerialEvaluator(data),
            StoreCachedMetrics(store, compute, settings),
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
    args = parser.parse_args(argv)
    if args.variant is not None:  # a child: one search, one JSON line
        print(json.dumps(run_one(args.variant, args.seed, args.cache)))
        return 0
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
