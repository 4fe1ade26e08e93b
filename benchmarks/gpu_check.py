"""CUDA against CPU: results to float tolerance, and the per-sample training-step time.

Two parts, a couple of minutes in all:

1. **Agreement.** For a few genomes (angle and amplitude embedding, 4 and 10 qubits), one
   ``evaluate_genome`` on Wine (3 epochs, float64, and float32) on ``cpu`` and on ``cuda``, same
   seed: the per-epoch losses must agree to 1e-9 (float64) / 1e-3 relative (float32), and the
   accuracies to one row. Prints the largest differences; exits 1 if a check fails.
2. **Speed.** One training step (forward, NLL loss, backward, Adam) of the HQNN on 784
   standardised synthetic features, 10 classes (MNIST's shape), float32, at batch 64 and 1024
   for 4 and 10 qubits (angle embedding), on the CPU (torch's default threads) and on the GPU
   (synchronised before and after), in milliseconds per sample, side by side.

Run on a machine with a CUDA build of torch and a GPU (without one, the script says so and
exits 2):

    python benchmarks/gpu_check.py
    python benchmarks/gpu_check.py --steps 50
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from torch.nn import functional

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import TrainingConfig, evaluate_genome
from faqnas_qiskit.models import build_model
from faqnas_qiskit.space import Genome

AGREEMENT_GENOMES = (
    "q4-angle-cz-circular-ry.rx",
    "q4-amplitude-cx-linear-ry.ry",
    "q10-angle-cx-circular-rx.ry.rz.ry",
)
SPEED_GENOMES = ("q4-angle-cx-linear-ry.ry", "q10-angle-cx-circular-rx.ry.rz.ry")
BATCHES = (64, 1024)


def agreement() -> bool:
    """Train every agreement genome on CPU and CUDA; print the differences; True if all pass."""
    data = load_dataset("wine", seed=1)
    ok = True
    print("agreement (Wine, 3 epochs, seed 4): max |loss diff|, |val acc diff|")
    for key in AGREEMENT_GENOMES:
        genome = Genome.parse(key)
        for double in (True, False):
            cpu, _ = evaluate_genome(genome, data, TrainingConfig(epochs=3, double=double), seed=4)
            gpu, _ = evaluate_genome(
                genome, data, TrainingConfig(epochs=3, double=double, device="cuda"), seed=4
            )
            loss = float(np.max(np.abs(np.subtract(cpu.loss_per_epoch, gpu.loss_per_epoch))))
            acc = abs(cpu.val_accuracy - gpu.val_accuracy)
            tol = 1e-9 if double else 1e-3 * max(cpu.loss_per_epoch)
            passed = loss <= tol and acc <= 1.0 / data.x_val.shape[0] + 1e-12
            ok &= passed
            print(
                f"  {key:38s} {'f64' if double else 'f32'}  {loss:.2e}  {acc:.4f}  "
                f"{'ok' if passed else 'FAIL'}"
            )
    return ok


def step_ms_per_sample(key: str, batch: int, device: str, steps: int) -> float:
    """Median over ``steps`` timed training steps (after 3 warm-ups), ms per sample."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn((batch, 784), generator=generator).to(device)
    y = torch.randint(0, 10, (batch,), generator=generator).to(device)
    model = build_model(Genome.parse(key), 784, 10, seed=0).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.003)
    times = []
    for step in range(steps + 3):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        optimiser.zero_grad()
        functional.nll_loss(model(x), y).backward()
        optimiser.step()
        if device == "cuda":
            torch.cuda.synchronize()
        if step >= 3:
            times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e3 / batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per cell (default 20)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_check: torch sees no CUDA GPU here; nothing to compare.", file=sys.stderr)
        return 2
    print(
        f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, CPU threads "
        f"{torch.get_num_threads()}"
    )
    ok = agreement()
    print("\ntraining step, float32, 784 features, 10 classes: ms per sample")
    print(f"  {'genome':38s} {'batch':>5s} {'cpu':>9s} {'cuda':>9s} {'speed-up':>8s}")
    for key in SPEED_GENOMES:
        for batch in BATCHES:
            cpu = step_ms_per_sample(key, batch, "cpu", args.steps)
            gpu = step_ms_per_sample(key, batch, "cuda", args.steps)
            print(f"  {key:38s} {batch:5d} {cpu:9.4f} {gpu:9.4f} {cpu / gpu:7.1f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
