"""Per-sample time of one HQNN training step on five simulation paths (issue: fast engine).

A training step is forward, NLL loss, backward and one Adam step (lr 0.003) on a batch of 64
samples of 16 synthetic standardised features, 3 classes. The network is the project's HQNN
(DESIGN §4): Linear(16 -> m) -> quantum layer -> Linear(n -> 3) -> log_softmax, m = n (angle
embedding) or 2**n (amplitude embedding). The same network (same weights) is timed on:

* ``ours``: ``build_model(genome, 16, 3, engine="statevector", seed=0)``, float32 (the default);
* ``ours-f64``: the same model converted to float64 (for reference: PennyLane computes in
  complex128);
* ``aer``: ``build_model(..., engine="aer", seed=0)`` (Aer EstimatorV2, batched parameter shift);
* ``pennylane``: ``qml.qnn.TorchLayer`` on ``default.qubit`` with ``diff_method="backprop"``,
  the circuit written gate by gate (RX per wire, or AmplitudeEmbedding with reversed wires so
  that wire i is Qiskit's qubit i);
* ``qml-defaults``: qiskit-machine-learning's ``TorchConnector(EstimatorQNN(...))`` with its
  default estimator and gradient, on ``build_circuit(genome).circuit``.

Before timing, each path is checked against our engine in float64 on the same weights and
inputs: outputs (⟨Z_i⟩ and log-probabilities) and, except for ``qml-defaults``, the gradients
of the loss must agree to 1e-5, or the cell is not timed.

Cells run in subprocesses with torch's default thread count, one subprocess per genome for the
fast engines (``ours``, ``ours-f64``, ``pennylane``, whose timed steps then go in turns of five,
so that all three run under the same background load) and one per slow cell (``aer``,
``qml-defaults``). Each engine gets two warm-up steps (one if the first step took more than a
quarter of the budget), then timed steps until ``--steps`` are done or the next step would
overrun ``--budget`` (at least one timed step always). A single step that runs longer than
``--cap`` seconds kills the subprocess: the cell is reported as ``> cap``, and ratios against it
are lower bounds (``>``).

On a shared machine, other processes distort the times (torch's threads wait for each other when
a core is taken). The script measures how many cores other processes kept busy during each
subprocess and prints it; ``--wait-idle`` waits for an idle CPU before each subprocess, and
``--retries`` re-runs short ones that ran next to other work, keeping the least disturbed attempt
(chosen by the background load, never by the time measured).

Run (about 20 minutes on 2 idle cores; longer with --wait-idle on a busy machine):

    python benchmarks/train_step.py
    python benchmarks/train_step.py --quick
    python benchmarks/train_step.py --genomes q4-angle-cx-linear-ry.ry --json /tmp/step.json

``--peers`` (issue 21) runs the real competition instead: tensorcircuit-ng on JAX (the whole step
jit-compiled, contractor ``plain-experimental``) and on its PyTorch backend, TorchQuantum in its
dynamic and static modes, and PennyLane ``default.qubit`` (backprop), each in its own virtual
environment that the benchmark creates under ``benchmarks/out/envs`` (first run: several
minutes of pip; later runs reuse them). Every cell is first checked against our engine in
float64 (outputs and gradients), the check printed; then all cells run float32, batch 64, one
thread, each in its own subprocess pinned to one core, in ``--rounds`` rounds whose engine order
alternates (see ``_train_step_peers``). It prints the per-sample times, each peer's time over
ours, and whether ours is at least 1.5x faster than every peer at 4, 8 and 10 qubits:

    python benchmarks/train_step.py --peers
    python benchmarks/train_step.py --peers --quick --genomes q4-angle-cx-linear-ry.ry
    python benchmarks/train_step.py --peers --setup-envs   # only create the environments
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone

from _common import machine_info
from _train_step_competitors import BATCH, ENGINES, LEARNING_RATE, N_CLASSES, N_FEATURES
from _train_step_envs import ENGINE_ENV, ENV_SPECS, ENVS_DIR, ensure_envs
from _train_step_harness import (
    IDLE_CORES,
    INTERLEAVED,
    RETRY_MAX_SECONDS,
    Cell,
    measure_with_retries,
    run_cell,
)
from _train_step_peer_cell import PEER_ENGINES
from _train_step_tables import (
    checks_table,
    criteria,
    peer_criteria,
    peers_table,
    results_table,
    rounds_table,
    steps_table,
)

GENOMES: tuple[str, ...] = (
    "q4-angle-cx-linear-ry.ry",
    "q8-angle-cz-circular-ry.rx.ry.rz",
    "q10-angle-cx-circular-rx.ry.rz.ry",
    "q6-amplitude-cz-linear-ry.ry",
)
ALL_ENGINES: tuple[str, ...] = tuple(dict.fromkeys((*ENGINES, *PEER_ENGINES)))


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Per-sample time of an HQNN training step: our engine vs Aer, PennyLane "
        "default.qubit (backprop) and qiskit-machine-learning's defaults."
    )
    parser.add_argument(
        "--genomes",
        nargs="+",
        default=list(GENOMES),
        metavar="GENOME",
        help="genomes to measure (default: the issue's four)",
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        default=None,
        choices=ALL_ENGINES,
        metavar="ENGINE",
        help=f"engines to measure, from {', '.join(ENGINES)}; with --peers from "
        f"{', '.join(PEER_ENGINES)} (default: all of the mode's)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="soft time budget per cell, seconds (default 120, 20 with --quick)",
    )
    parser.add_argument(
        "--cap",
        type=float,
        default=None,
        help="hard cap on a single step, seconds; a cell exceeding it reports '> cap' "
        "(default 150, 20 with --quick)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed steps per cell at most (default 30, 5 with --quick)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each cell, wait up to SECONDS for other processes to leave the CPU idle "
        f"(below {IDLE_CORES} busy cores; default 0: do not wait)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help=f"re-run a cell of at most {RETRY_MAX_SECONDS:g} s up to this many times when "
        f"other processes kept more than {IDLE_CORES} cores busy during it, keeping the "
        "least disturbed attempt (default 2)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for torch and OpenMP in every cell (default: torch's and the libraries' "
        "own defaults, as a user gets them)",
    )
    peers = parser.add_argument_group("the peer comparison (--peers)")
    peers.add_argument(
        "--peers",
        action="store_true",
        help="tensorcircuit-ng (JAX jit, torch), TorchQuantum (dynamic, static) and PennyLane, "
        "each in its own virtual environment, pinned to one core, one thread, float32",
    )
    peers.add_argument(
        "--rounds", type=int, default=None, help="alternating rounds (default 3, 1 with --quick)"
    )
    peers.add_argument(
        "--core",
        type=int,
        default=None,
        help="the core every cell is pinned to (default: the last)",
    )
    peers.add_argument(
        "--warmup", type=int, default=5, help="warm-up steps per cell at least (default 5)"
    )
    peers.add_argument(
        "--wires-per-block",
        type=int,
        default=3,
        help="TorchQuantum static mode's block width (default 3, its static_on default)",
    )
    peers.add_argument(
        "--envs-dir", default=ENVS_DIR, help=f"the environments' directory (default {ENVS_DIR})"
    )
    peers.add_argument(
        "--setup-envs", action="store_true", help="create the environments, then exit"
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps, smaller budget")
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers to PATH")
    parser.add_argument("--cell", nargs="+", metavar="GENOME ENGINE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engines is None:
        args.engines = list(PEER_ENGINES if args.peers else ENGINES)
    mode_engines = PEER_ENGINES if args.peers else ENGINES
    if any(engine not in mode_engines for engine in args.engines):
        parser.error(
            f"--engines: {'with' if args.peers else 'without'} --peers, choose from "
            f"{', '.join(mode_engines)}"
        )
    if args.peers:
        if args.budget is None:
            args.budget = 1.0 if args.quick else 3.0
        if args.steps is None:
            args.steps = 50 if args.quick else 200
        if args.rounds is None:
            args.rounds = 1 if args.quick else 3
        if args.core is None:
            args.core = max(os.sched_getaffinity(0))
        if args.rounds < 1 or args.warmup < 1 or args.wires_per_block < 1:
            parser.error("--rounds, --warmup and --wires-per-block must be at least 1")
    if args.budget is None:
        args.budget = 20.0 if args.quick else 120.0
    if args.cap is None:
        args.cap = 20.0 if args.quick else 150.0
    if args.steps is None:
        args.steps = 5 if args.quick else 30
    if args.budget <= 0 or args.cap <= 0 or args.steps < 1:
        parser.error("--budget and --cap must be positive and --steps at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.wait_idle < 0 or args.retries < 0:
        parser.error("--wait-idle and --retries must be at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every (engine, genome) cell, print the table and the criteria.

    Returns:
        0 when every measured criterion passes, 1 otherwise, 2 for bad arguments.
    """
    args = _parse(argv)
    if args.cell:
        return run_cell(args.cell[1:], args.cell[0], args.budget, args.steps, args.threads)
    if args.setup_envs:
        ensure_envs(list(args.engines), args.envs_dir)
        return 0

    from faqnas_qiskit.errors import GenomeError
    from faqnas_qiskit.space import Genome

    try:
        genomes = [Genome.parse(text).key for text in args.genomes]
    except GenomeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engines = [e for e in (PEER_ENGINES if args.peers else ENGINES) if e in args.engines]

    command = shlex.join(
        ["python", "benchmarks/train_step.py", *(argv if argv is not None else sys.argv[1:])]
    )
    started = datetime.now(timezone.utc)
    info = machine_info()
    print(f"# Training step benchmark, {started:%Y-%m-%d %H:%M} UTC")
    print(f"command: {command}")
    for key, value in info.items():
        print(f"{key}: {value}")
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.peers:
        print(f"working tree: {_git_state()}")
        print(
            f"batch {BATCH}, {N_FEATURES} features, {N_CLASSES} classes, Adam lr {LEARNING_RATE}; "
            f"float32, one thread, every cell pinned to core {args.core}; {args.rounds} rounds; "
            f"per cell at least {args.warmup} warm-up steps (and 1 s of them after the first), "
            f"then at most {args.steps} timed steps or {args.budget:g} s; cap {args.cap:g} s "
            f"per step; TorchQuantum static wires_per_block {args.wires_per_block}"
        )
    else:
        print(
            f"batch {BATCH}, {N_FEATURES} features, {N_CLASSES} classes, Adam lr "
            f"{LEARNING_RATE}; budget {args.budget:g} s per cell, cap {args.cap:g} s per step, "
            f"at most {args.steps} timed steps, wait for idle CPU {args.wait_idle:g} s, "
            f"retries {args.retries}, threads "
            f"{'torch default' if args.threads is None else args.threads}"
        )
    print(flush=True)
    if args.peers:
        return _main_peers(args, genomes, engines, command, started, info)

    # the fast engines take turns in one process (same background load); slow ones run alone
    groups = [[e for e in engines if e in INTERLEAVED]]
    groups += [[e] for e in engines if e not in INTERLEAVED]
    groups = [group for group in groups if group]
    cells: dict[tuple[str, str], Cell] = {}
    rejected: list[Cell] = []
    total = len(genomes) * len(groups)
    done = 0
    for genome in genomes:
        for group in groups:
            done += 1
            label = f"[{done}/{total}] {'+'.join(group)}"
            kept, others = measure_with_retries(group, genome, args, label)
            cells.update({(cell.engine, genome): cell for cell in kept})
            rejected.extend(others)

    threads = sorted({c.threads for c in cells.values() if c.threads is not None})
    load = os.getloadavg()
    elapsed = (datetime.now(timezone.utc) - started).total_seconds()
    print()
    print(f"## Per-sample time of one training step (ms/sample, median), batch {BATCH}")
    print()
    print(results_table(cells, genomes, engines, args.cap))
    print()
    print(
        "Timed steps (warm-up steps), background load (cores kept busy by other processes "
        "during the cell), #attempt kept if the cell was re-run:"
    )
    print()
    print(steps_table(cells, genomes, engines))
    print()
    print(
        f"torch threads ({'torch default' if args.threads is None else '--threads'}, "
        f"every cell): {', '.join(map(str, threads)) or '-'}; "
        f"'> cap': one step took longer than {args.cap:g} s "
        f"(> {args.cap / BATCH * 1000:.0f} ms/sample), ratios against it are lower bounds; "
        f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"total {elapsed / 60:.1f} min"
    )
    print()
    verdicts = criteria(cells, genomes, args.cap)
    for _, line in verdicts:
        print(line)

    if args.json:
        raw = {
            "command": command,
            "date": started.isoformat(),
            "machine": info,
            "settings": {
                "batch": BATCH,
                "n_features": N_FEATURES,
                "n_classes": N_CLASSES,
                "budget_s": args.budget,
                "cap_s": args.cap,
                "max_steps": args.steps,
                "wait_idle_s": args.wait_idle,
                "retries": args.retries,
            },
            "cells": [{**asdict(c), "ms_per_sample": c.ms_per_sample} for c in cells.values()],
            "rejected_attempts": [
                {**asdict(c), "ms_per_sample": c.ms_per_sample} for c in rejected
            ],
            "criteria": [line for _, line in verdicts],
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(raw, handle, indent=2)
    return 0 if all(v is not False for v, _ in verdicts) else 1


def _git_state() -> str:
    """The checkout's commit, and whether tracked files differ from it (shared working tree)."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "faqnas_qiskit"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}" + (" with uncommitted changes in faqnas_qiskit/" if dirty else " (clean)")


def _main_peers(
    args: argparse.Namespace,
    genomes: list[str],
    engines: list[str],
    command: str,
    started: datetime,
    info: dict[str, str],
) -> int:
    """The peer comparison (``--peers``): checks, pinned rounds, tables and the 1.5x criterion."""
    from _train_step_peers import run_peers

    envs = sorted({ENGINE_ENV[e] for e in engines if ENGINE_ENV[e] is not None})
    for name in envs:
        steps = " && ".join("pip install " + " ".join(step) for step in ENV_SPECS[name].steps)
        print(f"env {name}: {steps}")
    timed, checks, _ = run_peers(genomes, engines, args)

    load = os.getloadavg()
    elapsed = (datetime.now(timezone.utc) - started).total_seconds()
    print(
        f"## Per-sample time of one training step (ms/sample, median), batch {BATCH}, "
        "float32, one thread, one pinned core"
    )
    print()
    print(peers_table(timed, genomes, engines, args.cap))
    print()
    print(
        "Each round's median (ms/sample), timed steps over all rounds, and the largest share "
        f"of core {args.core} that other processes took during a cell:"
    )
    print()
    print(rounds_table(timed, genomes, engines))
    print()
    print(
        "Float64 equivalence check with our engine (largest of the max abs differences of "
        "<Z_i>, log-probabilities and gradients; TorchQuantum computes in complex64 whatever "
        "its input dtype):"
    )
    print()
    print(checks_table(checks, genomes, engines))
    print()
    print(
        f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"total {elapsed / 60:.1f} min"
    )
    print()
    verdicts = peer_criteria(timed, genomes, engines, args.cap)
    for _, line in verdicts:
        print(line)
    if args.json:
        raw = {
            "command": command,
            "date": started.isoformat(),
            "machine": info,
            "working_tree": _git_state(),
            "settings": {
                "batch": BATCH,
                "core": args.core,
                "rounds": args.rounds,
                "warmup": args.warmup,
                "max_steps": args.steps,
                "budget_s": args.budget,
                "cap_s": args.cap,
                "wires_per_block": args.wires_per_block,
            },
            "cells": [{**asdict(c), "ms_per_sample": c.ms_per_sample} for c in timed.values()],
            "checks": [asdict(c) for c in checks.values()],
            "criteria": [line for _, line in verdicts],
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(raw, handle, indent=2)
    return 0 if all(v is True for v, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
