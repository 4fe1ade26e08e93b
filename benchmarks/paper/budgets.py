"""Does a training budget train a dataset? Compare budgets on the same sampled networks.

The paper's claims are tested at two budgets (``benchmarks/paper/claims.py``): the paper's
(5 epochs, lr 0.003) and one that trains. Which budget "trains" depends on the data: 5 epochs
are about 10 optimiser steps on Iris's 90 training samples but 235 on mnist5k's 3,000, and a
learning rate that trains a 4-feature table can throw a 784-pixel one into a flat loss. This
script measures it instead of guessing: it samples networks from the search space (seeded),
trains each with ``--repeats`` repeats at every budget on the same data split and seeds, and
prints, per budget, the mean validation accuracy and its gap to the best budget, per network
and over the sample.

A budget is called *trained* here when, over the sample, its mean validation accuracy is
within ``--tolerance`` of the best budget's and no more than a quarter of the networks fall
more than twice that below their own best budget; at chance a network learnt nothing.

    python benchmarks/paper/budgets.py --dataset mnist5k --networks 16 --repeats 2 \
        --budgets 5:0.003,15:0.003,30:0.003,30:0.03
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

os.environ.setdefault("KINETO_LOG_LEVEL", "99")

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.errors import FaqnasError
from faqnas_qiskit.evaluation import TrainingConfig, evaluate_repeats
from faqnas_qiskit.space import SearchSpace


@dataclass(frozen=True)
class BudgetSummary:
    """One budget over the sample.

    Attributes:
        mean: Mean validation accuracy over the networks (fraction).
        gap: The best budget's mean minus this one's (>= 0).
        lagging: Networks more than twice the tolerance below their own best budget.
        at_chance: Networks below chance + 0.05.
        trained: ``gap <= tolerance`` and ``lagging`` at most a quarter of the networks.
    """

    mean: float
    gap: float
    lagging: int
    at_chance: int
    trained: bool


def summarise(
    table: npt.NDArray[np.float64], chance: float, tolerance: float
) -> list[BudgetSummary]:
    """Per budget (column of ``table``, shape (networks, budgets), mean validation accuracy;
    NaN where every repeat failed), whether it trains the sample (see the module docstring)."""
    with warnings.catch_warnings():  # a network without any result: a NaN row, left out
        warnings.simplefilter("ignore", RuntimeWarning)
        best_each = np.nanmax(table, axis=1)
        means = np.nanmean(table, axis=0)
    best = float(np.max(means))
    out = []
    for j in range(table.shape[1]):
        lagging = int(np.sum(best_each - table[:, j] > 2 * tolerance))
        gap = best - float(means[j])
        out.append(
            BudgetSummary(
                mean=float(means[j]),
                gap=gap,
                lagging=lagging,
                at_chance=int(np.sum(table[:, j] < chance + 0.05)),
                trained=gap <= tolerance and lagging <= table.shape[0] / 4,
            )
        )
    return out


def _budgets(text: str, parser: argparse.ArgumentParser) -> list[TrainingConfig]:
    """``"5:0.003,30:0.03"`` -> training configs (epochs:lr)."""
    out = []
    for item in text.split(","):
        try:
            epochs, lr = item.split(":")
            out.append(TrainingConfig(epochs=int(epochs), lr=float(lr)))
        except (ValueError, FaqnasError) as exc:
            parser.error(f"--budgets items must be EPOCHS:LR, e.g. 5:0.003; got {item!r} ({exc})")
    return out


def main(argv: list[str] | None = None) -> int:
    """Train the sample at every budget and print the comparison; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--networks", type=int, default=16, help="networks sampled (seeded)")
    parser.add_argument("--repeats", type=int, default=2, help="repeats per network and budget")
    parser.add_argument("--budgets", default="5:0.003,15:0.003,30:0.003,30:0.03")
    parser.add_argument("--seed", type=int, default=0, help="sample, split and weight seed")
    parser.add_argument("--tolerance", type=float, default=0.02, help="accuracy (fraction)")
    args = parser.parse_args(argv)
    if args.networks < 1 or args.repeats < 1:
        parser.error(f"--networks and --repeats must be >= 1; got {args.networks}, {args.repeats}")
    budgets = _budgets(args.budgets, parser)
    try:
        dataset = load_dataset(args.dataset, seed=args.seed)
    except FaqnasError as exc:
        parser.error(f"--dataset {args.dataset!r}: {exc}")
    genomes = SearchSpace().sample(args.networks, np.random.default_rng(args.seed))
    chance = 1.0 / len(dataset.class_names)
    names = [f"{b.epochs}ep lr {b.lr:g}" for b in budgets]
    print(
        f"{args.dataset}: {args.networks} networks sampled with seed {args.seed}, "
        f"{args.repeats} repeats each; mean validation accuracy (chance {chance:.3f})",
        flush=True,
    )
    print("| network | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(budgets))
    table = np.full((len(genomes), len(budgets)), math.nan)
    seconds = [0.0] * len(budgets)
    for i, genome in enumerate(genomes):
        for j, budget in enumerate(budgets):
            started = time.perf_counter()
            results = evaluate_repeats(
                genome, dataset, budget, seed=args.seed, repeats=range(args.repeats)
            )
            seconds[j] += time.perf_counter() - started
            accs = [r.record.val_accuracy for r in results if r.record is not None]
            if accs:
                table[i, j] = float(np.mean(accs))
        cells = " | ".join(f"{v:.3f}" for v in table[i])
        print(f"| {genome} | {cells} |", flush=True)
    print()
    print(
        "| budget | mean val accuracy | gap to best budget | networks > 2 x tolerance below "
        "their best | at chance (< chance + 0.05) | training seconds | verdict |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, row, spent in zip(
        names, summarise(table, chance, args.tolerance), seconds, strict=True
    ):
        print(
            f"| {name} | {row.mean:.3f} | {row.gap:+.3f} | {row.lagging} of {len(genomes)} "
            f"| {row.at_chance} | {spent:.0f} | {'trained' if row.trained else 'not trained'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
