"""Search speed: the paper's configuration on Iris over the full space (population 20, up to
8 generations, 5 epochs), with every cost metric: wall time, evaluations, cache hits, and the
share of the wall time spent outside training and metrics (store, pymoo, bookkeeping).

    python benchmarks/search_speed.py [--seed 0] [--cache PATH | --no-cache]

By default the metrics come from the machine's persistent cost cache (``faqnas atlas`` fills it;
``--cache PATH`` picks another file); ``--no-cache`` computes every metric in the process, as
before the cache existed. Criterion of the cost-atlas issue: with a warm cache, metrics are at
most 5 % of the search's wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KINETO_LOG_LEVEL", "99")

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.metrics import CostCache, MetricsCache, default_cache_path
from faqnas_qiskit.search import (
    SearchConfig,
    SearchRunner,
    SerialEvaluator,
    StoreCachedMetrics,
    search_metrics,
)
from faqnas_qiskit.store import ResultsStore


def main(argv: list[str] | None = None) -> int:
    """Run one search and print its time accounting; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cache", help="persistent cost cache (default: the machine's)")
    where.add_argument("--no-cache", action="store_true", help="compute every metric afresh")
    args = parser.parse_args(argv)
    config = SearchConfig(dataset="iris", seed=args.seed)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    t0 = time.perf_counter()
    data = load_dataset("iris", seed=args.seed)
    if args.no_cache:
        cache, where = MetricsCache(), "none (computed in the process)"
    else:
        persistent = CostCache(args.cache or default_cache_path(os.environ))
        cache, where = MetricsCache(persistent=persistent), str(persistent.path)
    compute, settings = search_metrics(config, data, cache=cache)
    setup = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "speed.db") as store:
        runner = SearchRunner(
            store, SerialEvaluator(data), StoreCachedMetrics(store, compute, settings), data.name
        )
        result = runner.start(config)
    outside = result.wall_s - result.task_s - result.metrics_s
    hits = sum(g.cache_hits for g in result.generations)
    print(f"metrics cache: {where}; load average {os.getloadavg()[0]:.2f}")
    print(f"setup (data, fake backend target): {setup:.1f} s (once per process, not in the search)")
    print(
        f"search wall time: {result.wall_s:.1f} s over {len(result.generations)} generations"
        f"{' (stopped early)' if result.stopped_early else ''}"
    )
    print(
        f"evaluations: {len(result.candidates)} distinct, {result.trained} trained, {hits} cache hits"
    )
    print(
        f"training and scoring: {result.task_s:.1f} s ({100 * result.task_s / result.wall_s:.1f}%)"
    )
    metrics_share = result.metrics_s / result.wall_s
    print(
        f"metrics (FLOPs, transpiled counts): {result.metrics_s:.2f} s "
        f"({100 * metrics_share:.2f}%) -> {'PASS' if metrics_share <= 0.05 else 'FAIL'} "
        "(cost atlas criterion <= 5% with a warm cache)"
    )
    share = outside / result.wall_s
    print(
        f"outside training and metrics: {outside:.2f} s ({100 * share:.2f}%) -> {'PASS' if share <= 0.05 else 'FAIL'} (criterion <= 5%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
