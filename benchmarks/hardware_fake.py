"""Hardware re-evaluation on ``fake_fez`` against the by-hand local-testing-mode loop.

Criterion: re-evaluating a 5-architecture Iris front on ``fake_fez`` at 1024 shots with
``faqnas_qiskit.hardware.reevaluate`` is at least 5x faster (wall time) than doing it by hand
with qiskit-ibm-runtime's local testing mode, once per architecture, as a user following IBM's
tutorials would.

The front: five fixed genomes (2 to 6 qubits, angle embedding, CZ, one RY layer) trained on Iris
by ``SearchRunner`` (strategy "exhaustive" over exactly those five networks; 5 epochs, Adam
lr 0.03) into a temporary store.

``reevaluate`` (timed end to end, one-time costs included: the fake backend, its noise built
once, the dataset, the restored models): per architecture one ISA circuit and one PUB whose
parameter values broadcast over the 30 test samples, run by ``BackendEstimatorV2`` on an
``AerSimulator`` whose noise model is FakeFez's restricted to the circuit's qubits.

By hand (the baseline): what IBM's "local testing mode" guide and the Estimator tutorials show::

    from qiskit_ibm_runtime import EstimatorV2 as Estimator
    from qiskit_ibm_runtime.fake_provider import FakeFez

    backend = FakeFez()
    estimator = Estimator(mode=backend)          # local testing mode
    estimator.options.default_shots = 1024
    for each architecture:
        isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
        isa_observables = [o.apply_layout(isa.layout) for o in observables]
        for each test sample:                    # the model's forward pass, sample by sample
            values = [*inputs(pre(x)), *weights]
            evs = estimator.run([(isa, isa_observables, values)]).result()[0].data.evs
            prediction = argmax(post(evs))

That is one job per sample. Each local job deep-copies the fake backend (with its simulator and
noise model) and simulates the 156-qubit ISA circuit against the full device noise model, about
20-30 s per job here, so the full loop (150 jobs) takes about an hour. By default the baseline
times ``--baseline-samples`` jobs per architecture (1) and extrapolates each architecture to its
30 samples as ``transpile + 30 x mean job time``; the per-job time grows over a run, so the
extrapolation favours the baseline. ``--full-baseline`` runs every job. (The client-side
``executor_estimator.Estimator`` of qiskit-ibm-runtime 0.50+, which replaces the deprecated
``EstimatorV2``, cannot be the baseline: in local mode it measures all 156 qubits, which Aer
refuses, "a circuit requires more memory than max_memory_mb".)

Usage::

    python benchmarks/hardware_fake.py
    python benchmarks/hardware_fake.py --baseline-samples 3
    python benchmarks/hardware_fake.py --full-baseline      # about an hour
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import CpuMeter, machine_info, markdown_table

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.hardware import ReevaluationRequest, reevaluate
from faqnas_qiskit.hardware.forward import prepare_architecture, restore_model
from faqnas_qiskit.search import SearchConfig, load_run, run_search
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import ResultsStore

GENOMES = tuple(f"q{n}-angle-cz-linear-ry" for n in (2, 3, 4, 5, 6))
SPACE = SearchSpace(
    qubits=(2, 3, 4, 5, 6),
    embeddings=("angle",),
    entanglers=("cz",),
    topologies=("linear",),
    depths=(1,),
    rotations=("ry",),
)
SPEEDUP = 5.0


def _flops(genome: Genome) -> dict[str, object]:
    """F_Q by the analytic formula (the search only ranks by it)."""
    n, dim = genome.n_qubits, 2**genome.n_qubits
    return {"quantum_flops": 2 * n * 4 * dim + (n - 1) * 8 * dim + dim + 2 * n * dim}


def build_front(store: ResultsStore, seed: int, epochs: int) -> tuple[str, float]:
    """Train the five genomes on Iris into ``store``; return (run id, seconds)."""
    config = SearchConfig(
        dataset="iris",
        seed=seed,
        strategy="exhaustive",
        space=SPACE,
        population=5,
        training=TrainingConfig(epochs=epochs, lr=0.03),
    )
    started = time.perf_counter()
    result = run_search(config, store, metrics=_flops)
    assert sorted(c.key for c in result.candidates) == sorted(GENOMES)
    return result.run_id, time.perf_counter() - started


def by_hand(
    store: ResultsStore, run_id: str, shots: int, samples_per_arch: int | None
) -> list[dict[str, float | int | str]]:
    """The baseline loop; returns per-architecture timings (see the module docstring)."""
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import EstimatorV2 as Estimator
    from qiskit_ibm_runtime.fake_provider import FakeFez

    _, config, candidates, _ = load_run(store, run_id)
    data = load_dataset(config.dataset, seed=config.seed)
    backend = FakeFez()
    estimator = Estimator(mode=backend)
    estimator.options.default_shots = shots
    rows: list[dict[str, float | int | str]] = []
    for candidate in sorted(candidates, key=lambda c: GENOMES.index(c.key)):
        model = restore_model(
            store,
            candidate.evaluation,
            n_features=data.n_features,
            n_classes=data.n_classes,
            double=config.training.double,
        )
        arch = prepare_architecture(
            candidate.key, candidate.evaluation.id, model, data.x_test, data.y_test
        )
        started = time.perf_counter()
        isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(
            arch.hqnn.circuit
        )
        observables = [o.apply_layout(isa.layout) for o in arch.hqnn.observables]
        transpile_s = time.perf_counter() - started
        values = arch.parameter_values(isa.parameters)
        n = arch.n_samples if samples_per_arch is None else min(samples_per_arch, arch.n_samples)
        job_s, deviations, correct = [], [], 0
        for i in range(n):
            started = time.perf_counter()
            evs = np.asarray(
                estimator.run([(isa, observables, values[i])]).result()[0].data.evs, dtype=float
            )
            with torch.no_grad():
                z = torch.as_tensor(evs[None, :], dtype=model.post.weight.dtype)
                predicted = int(model.post(z).argmax(dim=1)[0])
            job_s.append(time.perf_counter() - started)
            correct += int(predicted == arch.labels[i])
            deviations.append(float(np.max(np.abs(evs - arch.exact_expectations[i]))))
        mean_job = statistics.fmean(job_s)
        rows.append(
            {
                "genome": arch.key,
                "transpile_s": transpile_s,
                "jobs": n,
                "job_s": mean_job,
                "measured_s": transpile_s + sum(job_s),
                "extrapolated_s": transpile_s + arch.n_samples * mean_job,
                "samples": arch.n_samples,
                "max_dev": max(deviations),
            }
        )
        print(
            f"  by hand {arch.key}: {n} job(s), {mean_job:.1f} s/job, transpile "
            f"{transpile_s:.2f} s",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--baseline-samples", type=int, default=1, help="jobs timed per architecture by hand"
    )
    parser.add_argument("--full-baseline", action="store_true", help="run every by-hand job")
    parser.add_argument("--store", type=Path, default=None, help="keep the store here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the tutorial's EstimatorV2

    print("# hardware re-evaluation on fake_fez: reevaluate vs by hand (local testing mode)\n")
    print(markdown_table(["", "value"], list(machine_info().items())))
    with tempfile.TemporaryDirectory() as tmp:
        path = args.store or Path(tmp) / "faqnas.db"
        with ResultsStore(path) as store:
            run_id, train_s = build_front(store, args.seed, args.epochs)
            print(
                f"\nfront: {len(GENOMES)} genomes trained on Iris in {train_s:.1f} s "
                f"(run {run_id})\n",
                flush=True,
            )

            meter = CpuMeter()
            started = time.perf_counter()
            request = ReevaluationRequest(run_id, "fake_fez", keys=GENOMES, shots=args.shots)
            result = reevaluate(request, store)
            ours_s = time.perf_counter() - started
            ours_load = meter.background_cores()
            assert not result.failures, result.failures
            print("## reevaluate (one PUB per architecture, 30 samples broadcast)\n")
            print(
                markdown_table(
                    [
                        "genome",
                        "2q gates",
                        "depth",
                        "pred. QPU s",
                        "acc fake_fez",
                        "acc statevector",
                        "mean |dZ|",
                        "job wall s",
                    ],
                    [
                        [
                            r.genome,
                            str(r.two_qubit_gates),
                            str(r.depth),
                            f"{r.predicted_qpu_s:.2f}" if r.predicted_qpu_s else "-",
                            f"{r.accuracy:.3f}",
                            f"{r.simulator_accuracy:.3f}",
                            f"{r.expectation_mae:.3f}",
                            f"{r.wall_time_s:.2f}",
                        ]
                        for r in result.records
                    ],
                )
            )
            print(
                f"\nreevaluate total: {ours_s:.1f} s (background load {ours_load:.2f} cores)\n",
                flush=True,
            )

            meter = CpuMeter()
            samples = None if args.full_baseline else args.baseline_samples
            rows = by_hand(store, run_id, args.shots, samples)
            hand_load = meter.background_cores()
    measured = sum(float(r["measured_s"]) for r in rows)
    hand_s = sum(float(r["extrapolated_s"]) for r in rows)
    print("\n## by hand (EstimatorV2(mode=FakeFez()), one job per sample)\n")
    print(
        markdown_table(
            ["genome", "transpile s", "jobs timed", "s / job", "samples", "all jobs s", "max |dZ|"],
            [
                [
                    str(r["genome"]),
                    f"{float(r['transpile_s']):.2f}",
                    str(r["jobs"]),
                    f"{float(r['job_s']):.2f}",
                    str(r["samples"]),
                    f"{float(r['extrapolated_s']):.1f}",
                    f"{float(r['max_dev']):.3f}",
                ]
                for r in rows
            ],
        )
    )
    kind = "measured" if args.full_baseline else "extrapolated"
    ratio = hand_s / ours_s
    verdict = "PASS" if ratio >= SPEEDUP else "FAIL"
    print(
        f"\nby hand: {hand_s:.1f} s ({kind}; {measured:.1f} s actually run, background load "
        f"{hand_load:.2f} cores)"
    )
    print(f"reevaluate: {ours_s:.1f} s")
    print(f"ratio: {ratio:.1f}x -> {verdict} (criterion: at least {SPEEDUP:.0f}x faster)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
