"""The dead-weight analysis against autograd on every network of the space (DESIGN §5.1).

    python benchmarks/dead_weights.py [--qubits 2-10] [--seed 0] [--batch 3]

For each of the 8,640 networks (or those of ``--qubits``), the full Jacobian of ⟨Z_i⟩ with
respect to the circuit weights is computed by autograd on the exact statevector engine in
float64, at random inputs (``--batch`` samples: angles uniform in [-pi, pi], or normal
amplitude vectors) and random weights (uniform in [-pi, pi]). A weight counts as dead for
autograd when every entry of its Jacobian column is below 1e-12 in magnitude. The static
analysis (``faqnas_qiskit.circuits.genome_dead_weights``) must flag exactly those weights. It
prints how many networks and weights it checked, how many of them are dead, the smallest
live gradient seen and any disagreement (exit status 1 if there is one).
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time

import torch

from faqnas_qiskit.circuits import build_circuit, genome_dead_weights
from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.space import QUBITS, SearchSpace

THRESHOLD = 1e-12


def _qubits(text: str) -> tuple[int, ...]:
    low, _, high = text.partition("-")
    return tuple(range(int(low), int(high or low) + 1))


def _readout(
    simulator: HQNNSimulator, features: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    return simulator.expectations(features, weights)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qubits", type=_qubits, default=QUBITS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(args.seed)
    space = SearchSpace(qubits=args.qubits)
    started = time.perf_counter()
    networks = weights = dead = 0
    smallest_live = math.inf
    disagreements = []
    for genome in space.networks():
        simulator = HQNNSimulator(build_circuit(genome))
        n = genome.n_qubits
        width = n if genome.embedding == "angle" else 2**n
        if genome.embedding == "angle":
            features = (
                torch.rand(args.batch, width, generator=generator, dtype=torch.float64) * 2 - 1
            ) * math.pi
        else:
            features = torch.randn(args.batch, width, generator=generator, dtype=torch.float64)
        theta = (
            torch.rand(genome.n_weights, generator=generator, dtype=torch.float64) * 2 - 1
        ) * math.pi
        jacobian = torch.autograd.functional.jacobian(
            functools.partial(_readout, simulator, features), theta, vectorize=True
        )  # (batch, n, n_weights)
        column_max = jacobian.abs().reshape(-1, genome.n_weights).amax(dim=0)
        by_autograd = {int(i) for i in torch.nonzero(column_max < THRESHOLD).flatten()}
        by_analysis = set(genome_dead_weights(genome))
        live = column_max[column_max >= THRESHOLD]
        if live.numel():
            smallest_live = min(smallest_live, float(live.min()))
        if by_autograd != by_analysis:
            disagreements.append((genome.key, sorted(by_autograd), sorted(by_analysis)))
        networks += 1
        weights += genome.n_weights
        dead += len(by_analysis)
    seconds = time.perf_counter() - started
    no_live = sum(1 for g in space.networks() if len(genome_dead_weights(g)) == g.n_weights)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# Dead-weight analysis against autograd ({stamp})")
    given = sys.argv[1:] if argv is None else argv
    print("command: python benchmarks/dead_weights.py " + " ".join(given))
    span = f"qubits {args.qubits[0]}-{args.qubits[-1]}"
    print(f"networks checked: {networks} ({span}), {weights} weights")
    share = 100 * dead / max(weights, 1)
    print(f"dead weights: {dead} ({share:.1f}%); networks with no live weight: {no_live}")
    print(f"smallest live gradient (max over outputs and samples): {smallest_live:.3g}")
    print(f"disagreements: {len(disagreements)}; wall time {seconds:.0f} s")
    for key, autograd, analysis in disagreements[:20]:
        print(f"  {key}: autograd {autograd}, analysis {analysis}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
