"""Cost of repeats: K = 5 batched repeats against K = 1, and the Iris variance share.

    python benchmarks/repeats.py [--candidates 20] [--repeats 5] [--seed 0] [--rounds 5]
        [--wait-idle 30]

Part 1 (cost). The same ``--candidates`` random networks of 2-6 qubits (every embedding,
entangler, topology, depth and rotation; drawn from ``--seed``) are trained and scored on Iris
and on Digits at the paper's budget (5 epochs, lr 0.003, batch 64, float32, one torch thread),
with K = 1 (the paper's single evaluation) and with K = ``--repeats`` (the repeats as one
batched computation), interleaved per candidate so that a change of machine load hits both, in
``--rounds`` rounds; each candidate's time is its median over the rounds (one Iris evaluation
takes tens of milliseconds, so single timings are noisy).
The cost metrics are not included: they are computed once per architecture whatever K is. It
prints the total wall time of each and their ratio (the acceptance bound is 1.6x).

Part 2 (signal). On Iris, the share of validation-accuracy variance that the architecture
explains (one-way intraclass correlation over the candidates, K = ``--repeats``) at the paper's
budget and at ``--epochs 30 --lr 0.03``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KINETO_LOG_LEVEL", "99")

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CpuMeter, machine_info, markdown_table, wait_for_idle_cpu

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import (
    TrainingConfig,
    evaluate_repeats,
    variance_share,
    variance_verdict,
)
from faqnas_qiskit.space import Genome, SearchSpace


def _candidates(count: int, seed: int) -> list[Genome]:
    space = SearchSpace(qubits=(2, 3, 4, 5, 6))
    rng = np.random.default_rng(seed)
    seen: dict[str, Genome] = {}
    while len(seen) < count:
        genome = space.decode(space.sample_vectors(1, rng)[0])
        seen.setdefault(genome.key, genome.canonical())
    return list(seen.values())


def _timed(genome: Genome, dataset: object, config: TrainingConfig, k: int, seed: int) -> float:
    started = time.perf_counter()
    results = evaluate_repeats(
        genome,
        dataset,
        config,
        seed=seed,
        split_seed=0,
        repeats=range(k),  # type: ignore[arg-type]
    )
    elapsed = time.perf_counter() - started
    failed = [r.error for r in results if r.error is not None]
    if failed:
        print(f"  note: {genome} failed: {failed[0]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median per network)")
    parser.add_argument("--wait-idle", type=float, default=0.0, help="wait up to N s for idle")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    waited, load = wait_for_idle_cpu(args.wait_idle)
    print(f"# Repeats benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        "command: python benchmarks/repeats.py " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    for key, value in machine_info(("faqnas-qiskit", "torch", "numpy", "qiskit")).items():
        print(f"{key}: {value}")
    print(f"background load before start: {load:.2f} cores (waited {waited:.0f} s)")
    genomes = _candidates(args.candidates, args.seed)
    paper = TrainingConfig()
    k = args.repeats
    rows = []
    for name in ("iris", "digits"):
        dataset = load_dataset(name, seed=0)
        # warm-up: imports, first-call costs of both paths
        _timed(genomes[0], dataset, paper, 1, 0)
        _timed(genomes[0], dataset, paper, k, 0)
        meter = CpuMeter()
        times: dict[int, list[list[float]]] = {1: [], k: []}
        for _ in range(args.rounds):
            for K in (1, k):
                times[K].append([])
            for i, genome in enumerate(genomes):
                for K in (1, k):  # interleaved: a change of load hits both
                    times[K][-1].append(_timed(genome, dataset, paper, K, 1000 + i))
        # per candidate, the median over rounds; then the sum over candidates
        single = float(np.sum(np.median(np.array(times[1]), axis=0)))
        batched = float(np.sum(np.median(np.array(times[k]), axis=0)))
        rows.append(
            [
                name,
                str(len(genomes)),
                f"{single:.2f}",
                f"{batched:.2f}",
                f"{batched / single:.2f}x",
                f"{meter.background_cores():.2f}",
            ]
        )
    print()
    print(f"## Cost: K = {k} (batched) against K = 1, {len(genomes)} candidates of 2-6 qubits")
    print()
    print(
        markdown_table(
            ["dataset", "candidates", "K=1 s", f"K={k} s", "ratio", "background cores"], rows
        )
    )
    print()
    print(f"## Iris variance share at K = {k}")
    print()
    iris = load_dataset("iris", seed=0)
    share_rows = []
    for label, config in (
        ("paper: 5 epochs, lr 0.003", paper),
        ("30 epochs, lr 0.03", TrainingConfig(epochs=30, lr=0.03)),
    ):
        groups = []
        for i, genome in enumerate(genomes):
            results = evaluate_repeats(
                genome, iris, config, seed=1000 + i, split_seed=0, repeats=range(k)
            )
            groups.append([r.record.val_accuracy for r in results if r.record is not None])
        share = variance_share(groups)
        means = [float(np.mean(g)) for g in groups if g]
        share_rows.append(
            [
                label,
                "undefined" if share is None else f"{share:.2f}",
                f"{np.mean(means):.3f}",
            ]
        )
        print(f"- {label}: {variance_verdict(share, k, float(np.mean(means)))}")
    print()
    print(
        markdown_table(
            ["training budget", "variance share (ICC1)", "mean val accuracy"], share_rows
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
