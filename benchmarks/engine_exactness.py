"""Exactness of the fast engine against Aer on 200 random genomes (2-10 qubits, both
embeddings, every gate and topology): expectation values in complex128 against Aer's
EstimatorV2 (statevector, precision 0) to 1e-6, and input and weight gradients against
parameter-shift gradients computed with Aer to 1e-5.

    python benchmarks/engine_exactness.py [--genomes 200] [--seed 2024]

The test suite runs a sample of this (amplitude gradients up to 7 qubits, where parameter shift
over 2**n - 1 input angles stays fast); this script covers the whole range.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.engines import make_engine
from faqnas_qiskit.models.hqnn import QuantumLayer
from faqnas_qiskit.space import SearchSpace


def main(argv: list[str] | None = None) -> int:
    """Compare and print the worst deviations; exit 1 if a tolerance is exceeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    genomes = SearchSpace().sample(args.genomes, rng)
    worst_value = worst_grad = 0.0
    started = time.perf_counter()
    by_kind: dict[tuple[str, int], int] = {}
    for i, genome in enumerate(genomes):
        hqnn = build_circuit(genome)
        weights = rng.uniform(-np.pi, np.pi, genome.n_weights)
        fast = QuantumLayer(hqnn, make_engine("statevector"), weights).double()
        aer = QuantumLayer(hqnn, make_engine("aer"), weights).double()
        shape = (2, genome.n_qubits) if genome.embedding == "angle" else (2, 2**genome.n_qubits)
        x = torch.tensor(rng.normal(size=shape))
        probe = torch.tensor(rng.normal(size=(2, genome.n_qubits)))
        out = []
        for layer in (fast, aer):
            xi = x.clone().requires_grad_(True)
            values = layer(xi)
            (values * probe).sum().backward()
            out.append((values.detach(), xi.grad, layer.weight.grad))
        (v1, gx1, gw1), (v2, gx2, gw2) = out
        value_err = float((v1 - v2).abs().max())
        grad_err = max(float((gx1 - gx2).abs().max()), float((gw1 - gw2).abs().max()))  # type: ignore[operator]
        worst_value, worst_grad = max(worst_value, value_err), max(worst_grad, grad_err)
        key = (genome.embedding, genome.n_qubits)
        by_kind[key] = by_kind.get(key, 0) + 1
        if value_err >= 1e-6 or grad_err >= 1e-5:
            print(f"MISMATCH {genome}: values {value_err:.2e}, gradients {grad_err:.2e}")
        if (i + 1) % 25 == 0:
            print(
                f"{i + 1}/{len(genomes)} genomes, {time.perf_counter() - started:.0f} s", flush=True
            )
    cover = ", ".join(f"{e[:3]} q{n}: {c}" for (e, n), c in sorted(by_kind.items()))
    print(f"coverage: {cover}")
    ok = worst_value < 1e-6 and worst_grad < 1e-5
    print(f"worst |values - Aer| = {worst_value:.2e} (tolerance 1e-6)")
    print(f"worst |gradients - Aer parameter shift| = {worst_grad:.2e} (tolerance 1e-5)")
    elapsed = time.perf_counter() - started
    print(f"{'PASS' if ok else 'FAIL'} on {len(genomes)} genomes in {elapsed:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
