"""Per-step overhead of the engine: the HQNN kernel against the previous path (issue 21).

Part 1, one training step (forward, NLL loss, backward, Adam step; 16 synthetic standardised
features, 3 classes, float32, one torch thread) of ``build_model(q{n}-angle-cz-circular-
ry.rx.ry.rz)`` for n = 2, 4, 6, 8, 10 and batch 64 and 1024, on three paths of the same model:

* ``previous``: the quantum layer through the compiled program's fast mode
  (``HQNNSimulator.program_expectations``), the engine before the HQNN kernel;
* ``kernel``: the module's path (``HQNNSimulator.expectations``, the HQNN kernel with its
  hand-written backward) under autograd and ``torch.optim.Adam``;
* ``trainer``: the step the library trains with (``fused_trainer``: forward, NLL, backward and
  Adam written out, NumPy on the CPU up to 5 qubits, torch above).

Before timing, each cell checks the three paths in float64 on the same weights and inputs:
log-probabilities and every parameter gradient of the loss (the printed ``check`` column, max
absolute difference from ``previous``). Timing alternates the paths in rounds (each round a
fixed number of steps of one path, then of the next) and reports the median round, in µs per
sample; the
background load (cores used by other processes while the cell ran) is printed beside it.

Part 2 (``--population``), two paper-budget Digits generations of 20 genomes drawn uniformly
(seeded) from the whole space and from its 2-4 qubit part (where later generations of a
FLOPs-aware search concentrate), each genome with the seed a search would give it, trained one
by one (``evaluate_repeats``, what ``SerialEvaluator`` runs) and population-batched
(``evaluate_population``), float32, one thread; it prints both wall times and how many of the
20 records are equal in the two modes (float32 results may differ in the last digits).

    python benchmarks/step_overhead.py [--quick] [--population]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from _common import CpuMeter, machine_info, markdown_table
from torch.nn import functional

from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.evaluation.fused import FusedHQNN, fused_trainer
from faqnas_qiskit.models import HQNN, InitialParameters, build_model
from faqnas_qiskit.space import Genome

N_FEATURES = 16
N_CLASSES = 3
QUBITS = (2, 4, 6, 8, 10)
BATCHES = (64, 1024)


class _ProgramSimulator(HQNNSimulator):
    """The previous engine path: the compiled program's fast mode for the training forward."""

    def expectations(
        self, features: torch.Tensor, weights: torch.Tensor, *, reference: bool = False
    ) -> torch.Tensor:
        if reference:
            return super().expectations(features, weights, reference=True)
        return self.program_expectations(features, weights)


def _model(n: int, path: str, dtype: torch.dtype) -> HQNN:
    genome = Genome.parse(f"q{n}-angle-cz-circular-ry.rx.ry.rz")
    model = build_model(genome, N_FEATURES, N_CLASSES, seed=0).to(dtype=dtype)
    if path == "previous":
        model.quantum.simulator = _ProgramSimulator(model.quantum.hqnn)
    return model


def _data(batch: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(batch)
    x = torch.randn(batch, N_FEATURES, generator=gen, dtype=torch.float64).to(dtype)
    return x, torch.randint(0, N_CLASSES, (batch,), generator=gen)


def _trainer(model: HQNN, dtype: torch.dtype) -> FusedHQNN:
    initial = InitialParameters.of(model)
    return fused_trainer([model.genome], [initial], dtype, "cpu", 0.003)


def check(n: int, batch: int) -> float:
    """Max |previous - kernel| and |previous - trainer| over log-probabilities and gradients,
    float64."""
    x, y = _data(min(batch, 256), torch.float64)
    worst = 0.0
    outputs = {}
    for path in ("previous", "kernel"):
        model = _model(n, path, torch.float64)
        logp = model(x)
        functional.nll_loss(logp, y).backward()
        grads = [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]
        outputs[path] = [logp.detach(), torch.cat([g.reshape(-1) for g in grads])]
    trainer = _trainer(_model(n, "kernel", torch.float64), torch.float64)
    logp = trainer.log_probs(x[None])[0]
    trainer.loss(x[None], y[None])
    outputs["trainer"] = [logp, trainer.gradient()[0]]
    for path in ("kernel", "trainer"):
        for a, b in zip(outputs["previous"], outputs[path], strict=True):
            worst = max(worst, float((a - b).abs().max()))
    return worst


def _count(step: Callable[[], None], seconds: float) -> int:
    """Steps of ``step`` (after two warm-up steps) that fill about ``seconds``, at least one."""
    for _ in range(2):
        step()
    started = time.perf_counter()
    step()
    return max(1, int(seconds / max(time.perf_counter() - started, 1e-6)))


def time_cell(n: int, batch: int, rounds: int, budget: float) -> dict[str, Any]:
    """Median µs per sample of each path, alternating rounds; background load in cores."""
    x, y = _data(batch, torch.float32)
    steps = {}
    for path in ("previous", "kernel"):
        model = _model(n, path, torch.float32)
        optimiser = torch.optim.Adam(model.parameters(), lr=0.003)

        def step(model: HQNN = model, optimiser: torch.optim.Optimizer = optimiser) -> None:
            optimiser.zero_grad()
            loss = functional.nll_loss(model(x), y)
            float(loss.detach())
            loss.backward()
            optimiser.step()

        steps[path] = (step, _count(step, budget / rounds / 3))
    trainer = _trainer(_model(n, "kernel", torch.float32), torch.float32)

    def fused_step(trainer: FusedHQNN = trainer) -> None:
        float(trainer.loss(x[None], y[None])[0])
        trainer.step()

    steps["trainer"] = (fused_step, _count(fused_step, budget / rounds / 3))
    times: dict[str, list[float]] = {"previous": [], "kernel": [], "trainer": []}
    meter = CpuMeter()
    for _ in range(rounds):
        for path, (step, count) in steps.items():
            started = time.perf_counter()
            for _ in range(count):
                step()
            times[path].append((time.perf_counter() - started) / count / batch * 1e6)
    previous = statistics.median(times["previous"])
    kernel = statistics.median(times["kernel"])
    fused = statistics.median(times["trainer"])
    return {
        "previous": previous,
        "kernel": kernel,
        "trainer": fused,
        "ratio": previous / kernel,
        "ratio_trainer": previous / fused,
        "load": meter.background_cores(),
    }


def part_one(args: argparse.Namespace) -> None:
    qubits = (2, 4, 8) if args.quick else QUBITS
    rows = []
    for n in qubits:
        for batch in BATCHES:
            error = check(n, batch)
            cell = time_cell(n, batch, args.rounds, args.budget)
            rows.append(
                [
                    f"q{n}",
                    str(batch),
                    f"{cell['previous']:.2f}",
                    f"{cell['kernel']:.2f}",
                    f"{cell['trainer']:.2f}",
                    f"{cell['ratio']:.2f}x",
                    f"{cell['ratio_trainer']:.2f}x",
                    f"{error:.1e}",
                    f"{cell['load']:.2f}",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
    print()
    headers = ["qubits", "batch", "previous µs/sample", "kernel µs/sample", "trainer µs/sample"]
    headers += ["kernel speed-up", "trainer speed-up"]
    headers += ["check (f64 max abs)", "background cores"]
    print(markdown_table(headers, rows))


def _generation(label: str, qubits: tuple[int, ...], seed: int) -> None:
    """Time one paper-budget Digits generation of 20 genomes one by one and batched."""
    import numpy as np

    from faqnas_qiskit.data import load_dataset
    from faqnas_qiskit.evaluation import (
        PopulationMember,
        TrainingConfig,
        derive_seed,
        evaluate_population,
        evaluate_repeats,
    )
    from faqnas_qiskit.space import SearchSpace

    data = load_dataset("digits", seed=0)
    space = SearchSpace(qubits=qubits)
    rng = np.random.default_rng(seed)
    genomes = [space.decode(v).canonical() for v in space.sample_vectors(20, rng)]
    members = [PopulationMember(g, derive_seed(seed, g.key)) for g in genomes]
    config = TrainingConfig()
    kinds = len({(g.n_qubits, g.embedding) for g in genomes})
    print(f"{label}: {kinds} groups (qubits, embedding):", " ".join(g.key for g in genomes))
    meter = CpuMeter()
    started = time.perf_counter()
    alone = [
        evaluate_repeats(m.genome, data, config, seed=m.seed, split_seed=0, repeats=m.repeats)
        for m in members
    ]
    one_by_one = time.perf_counter() - started
    load_alone = meter.background_cores()
    meter = CpuMeter()
    started = time.perf_counter()
    together = evaluate_population(members, data, config, split_seed=0)
    batched = time.perf_counter() - started
    load_batched = meter.background_cores()
    pairs = [
        (a[0].record, b[0].record)
        for a, b in zip(alone, together, strict=True)
        if a[0].record is not None and b[0].record is not None
    ]
    same = sum(
        a.loss_per_epoch == b.loss_per_epoch and a.val_accuracy == b.val_accuracy for a, b in pairs
    )
    equal_acc = sum(a.val_accuracy == b.val_accuracy for a, b in pairs)
    print(f"  one by one: {one_by_one:.1f} s (background cores {load_alone:.2f})")
    print(f"  population-batched: {batched:.1f} s (background cores {load_batched:.2f})")
    print(f"  speed-up: {one_by_one / batched:.2f}x")
    print(f"  equal val accuracy: {equal_acc}/{len(pairs)}")
    print(f"  bitwise-equal records: {same}/{len(pairs)}")


def part_two(args: argparse.Namespace) -> None:
    _generation("whole space", (2, 3, 4, 5, 6, 7, 8, 9, 10), args.seed)
    _generation("2-4 qubits", (2, 3, 4), args.seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="q2, q4, q8 only")
    parser.add_argument("--population", action="store_true", help="also time a Digits generation")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per cell")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per cell (both paths)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Digits generation")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"# Engine step overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print("command: python benchmarks/step_overhead.py " + " ".join(argv or sys.argv[1:]))
    for label, value in machine_info().items():
        print(f"{label}: {value}")
    print("load average at start: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("float32, one torch thread, 16 features, 3 classes, Adam lr 0.003")
    print()
    part_one(args)
    if args.population:
        print()
        part_two(args)
    print("load average at end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
