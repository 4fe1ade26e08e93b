"""Ground truth for search quality: every network of a Digits sub-space, trained with repeats.

    python benchmarks/ground_truth.py [--store benchmarks/out/ground_truth.db] [--repeats 8]
        [--workers 2] [--qubits 2-6] [--depth 1-3] [--seed 0] [--epochs 5] [--lr 0.003]

The default sub-space is 2-6 qubits, depth 1-3, every embedding, entangler, topology and
rotation: 1,560 distinct networks. Each is trained ``--repeats`` times at the paper's budget
(Adam, lr 0.003, batch 64, 5 epochs) with the repeats of DESIGN §4.1 (own initial weights, own
stratified train/validation split of the non-test rows; the test split fixed), as an
exhaustive search run into the store. The store is the cache: rerun after an interruption (even
kill -9) and every finished network is read back, not retrained.

It prints the sub-space's size, the wall time of this call, how much of the validation accuracy
the architecture decides (the intraclass correlation of the repeats, DESIGN §4.1: 1 means the
architecture decides, 0 means the accuracy is a draw of split and weights), and the reference
front on (F_Q, 1 - mean validation accuracy). ``benchmarks/search_quality.py`` scores the
strategies against this store.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KINETO_LOG_LEVEL", "99")

from _common import machine_info

from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.metrics import CostCache, MetricsCache, default_cache_path
from faqnas_qiskit.search import (
    SearchConfig,
    SearchObserver,
    front_rows,
    run_search,
)
from faqnas_qiskit.search.distributed import DaskEvaluator
from faqnas_qiskit.space import SearchSpace
from faqnas_qiskit.store import ResultsStore

DEFAULT_STORE = Path(__file__).parent / "out" / "ground_truth.db"


def _span(text: str) -> tuple[int, ...]:
    """``"2-6"`` -> ``(2, 3, 4, 5, 6)``; ``"3"`` -> ``(3,)``."""
    low, _, high = text.partition("-")
    return tuple(range(int(low), int(high or low) + 1))


def ground_truth_config(
    *, qubits: str = "2-6", depth: str = "1-3", repeats: int = 8, seed: int = 0,
    epochs: int = 5, lr: float = 0.003, population: int = 40,
) -> SearchConfig:  # fmt: skip
    """The exhaustive run that defines the ground truth (also read by search_quality.py)."""
    space = SearchSpace(qubits=_span(qubits), depths=_span(depth))
    return SearchConfig(
        dataset="digits",
        seed=seed,
        strategy="exhaustive",
        space=space,
        population=population,
        repeats=repeats,
        training=TrainingConfig(epochs=epochs, lr=lr),
    )


class _Progress(SearchObserver):
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.trained = 0
        self.started = time.perf_counter()

    def candidate_finished(self, outcome: object, cached: bool) -> None:
        self.done += 1
        self.trained += not cached
        if self.done % 40 == 0 or self.done == self.total:
            elapsed = time.perf_counter() - self.started
            rate = self.trained / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            print(
                f"  {self.done:5d}/{self.total} networks ({self.trained} trained now), "
                f"{elapsed:6.0f} s, ETA {left:5.0f} s",
                file=sys.stderr,
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--qubits", default="2-6")
    parser.add_argument("--depth", default="1-3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.003)
    args = parser.parse_args(argv)

    config = ground_truth_config(
        qubits=args.qubits, depth=args.depth, repeats=args.repeats, seed=args.seed,
        epochs=args.epochs, lr=args.lr,
    )  # fmt: skip
    print("; ".join(f"{k} {v}" for k, v in machine_info().items()))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    dataset = config.load_data()
    cache = MetricsCache(persistent=CostCache(default_cache_path(os.environ)))
    args.store.parent.mkdir(parents=True, exist_ok=True)
    evaluator = DaskEvaluator.local(dataset, workers=args.workers, torch_threads=1)
    total = config.space.n_networks
    started = time.perf_counter()
    with ResultsStore(args.store, create=True) as store:
        try:
            result = run_search(
                config,
                store,
                dataset=dataset,
                evaluator=evaluator,
                observer=_Progress(total),
                metrics_cache=cache,
            )
        finally:
            evaluator.close()
    wall = time.perf_counter() - started
    print(
        f"\nground truth: Digits, {config.space.describe()}: {total:,} networks x "
        f"{config.repeats} repeats, {config.training.epochs} epochs, lr {config.training.lr}; "
        f"run {result.run_id} in {args.store}"
    )
    print(
        f"wall time of this call: {wall:.0f} s on {args.workers} workers ({result.trained} "
        f"networks trained now, the rest read from the store); load average after: "
        f"{os.getloadavg()[0]:.2f}"
    )
    v = result.variance
    print(f"variance share of the architecture: {v.share:.3f} ({v.verdict})")
    print("reference front (F_Q, mean validation accuracy ± sd):")
    for row in front_rows(result.front):
        print(
            f"  {row['genome']:40s} F_Q {row['quantum_flops']:>10,.0f}  "
            f"val {row['val_accuracy']:.3f} ± {row.get('val_sd') or 0:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
