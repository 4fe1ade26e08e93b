"""The peer comparison of ``train_step.py --peers``: references, checks and pinned rounds.

For each genome the parent writes a reference file from our engine (weights, batches, and our
outputs and gradients on a check batch in float64 and float32; see ``_train_step_peer_cell``).
Then:

1. **Checks.** Every (engine, genome) cell runs once in float64 in its engine's environment and
   is compared with our engine in float64: ⟨Z_i⟩, log-probabilities and the gradients of the loss
   for every parameter, to ``CHECK64_TOLERANCE``. A cell that fails is not timed.
2. **Rounds.** ``--rounds`` rounds; in each, every genome's engines run one after another, each in
   a new subprocess pinned with ``taskset`` to one core, with one thread (``torch.set_num_threads
   (1)``, ``OMP/MKL/OPENBLAS_NUM_THREADS=1``, XLA without its Eigen thread pool), float32, batch
   64. The order of the engines alternates from round to round (forward, then reversed), so that
   no engine always runs first or last. Each timed subprocess first checks its float32 network
   against our engine in float32 (``CHECK32_TOLERANCE``), then warms up (JAX compiles here),
   then times steps. A cell's time is the median of its timed steps over all rounds.

During each subprocess the parent reads ``/proc/stat`` for the pinned core: the time that core
spent busy minus the CPU time of the cell itself is what other processes took from it.
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import shutil
import statistics
import time
from collections.abc import Sequence
from typing import Any

from _common import CpuMeter
from _train_step_competitors import (
    BATCH,
    CHECK_SAMPLES,
    DATA_SEED,
    LEARNING_RATE,
    N_BATCHES,
    N_CLASSES,
    N_FEATURES,
    SEED,
)
from _train_step_envs import ENGINE_ENV, ensure_envs
from _train_step_harness import Cell, run_events
from _train_step_peer_cell import CHECK32_TOLERANCE, CHECK64_TOLERANCE, GRADIENTS
from _train_step_tables import time_cell

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
CELL_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_train_step_peer_cell.py")
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "JAX_PLATFORMS": "cpu",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def write_reference(genome_text: str, path: str) -> None:
    """Write the reference file of ``genome_text`` (our engine, ``build_model`` seed ``SEED``).

    The training batches are those of ``_train_step_harness.run_cell`` (``DATA_SEED``); the
    check batch is that of ``check_equivalence`` (``DATA_SEED + 1``, ``CHECK_SAMPLES``).
    """
    import numpy as np
    import torch

    from faqnas_qiskit.circuits import entangling_pairs
    from faqnas_qiskit.models import build_model
    from faqnas_qiskit.space import Genome

    genome = Genome.parse(genome_text)
    model = build_model(genome, N_FEATURES, N_CLASSES, engine="statevector", seed=SEED)
    generator = torch.Generator().manual_seed(DATA_SEED)
    features = torch.randn(N_BATCHES * BATCH, N_FEATURES, generator=generator)
    features = (features - features.mean(dim=0)) / features.std(dim=0)
    labels = torch.randint(0, N_CLASSES, (N_BATCHES * BATCH,), generator=generator)
    generator = torch.Generator().manual_seed(DATA_SEED + 1)
    check_x = torch.randn(CHECK_SAMPLES, N_FEATURES, generator=generator, dtype=torch.float64)
    check_y = torch.randint(0, N_CLASSES, (CHECK_SAMPLES,), generator=generator)

    arrays: dict[str, Any] = {
        "genome": np.array(genome.key),
        "n_qubits": np.array(genome.n_qubits),
        "embedding": np.array(genome.embedding),
        "entangler": np.array(genome.entangler),
        "rotations": np.array(list(genome.active_rotations)),
        "pairs": np.array(entangling_pairs(genome.n_qubits, genome.topology)).reshape(-1, 2),
        "n_classes": np.array(N_CLASSES),
        "batch": np.array(BATCH),
        "n_batches": np.array(N_BATCHES),
        "learning_rate": np.array(LEARNING_RATE),
        "pre_weight": model.pre.weight.detach().double().numpy(),
        "pre_bias": model.pre.bias.detach().double().numpy(),
        "theta": model.quantum.weight.detach().double().numpy(),
        "post_weight": model.post.weight.detach().double().numpy(),
        "post_bias": model.post.bias.detach().double().numpy(),
        "features": features.numpy(),
        "labels": labels.numpy(),
        "check_x": check_x.numpy(),
        "check_y": check_y.numpy(),
    }
    for suffix, dtype in (("64", torch.float64), ("32", torch.float32)):
        ours = copy.deepcopy(model).to(dtype)
        x = check_x.to(dtype)
        with torch.no_grad():
            arrays[f"expectations_{suffix}"] = ours.quantum(ours.pre(x)).double().numpy()
            arrays[f"log_probs_{suffix}"] = ours(x).double().numpy()
        ours.zero_grad(set_to_none=True)
        torch.nn.functional.nll_loss(ours(x), check_y).backward()
        grads = (
            ours.pre.weight.grad,
            ours.pre.bias.grad,
            ours.quantum.weight.grad,
            ours.post.weight.grad,
            ours.post.bias.grad,
        )
        for k, grad in enumerate(grads):
            arrays[f"grad_{suffix}_{k}"] = grad.double().numpy()
    assert len(grads) == len(GRADIENTS)
    np.savez(path, **arrays)


class CoreMeter:
    """CPU seconds that processes other than this one's children took on one core."""

    def __init__(self, core: int) -> None:
        self.core = core
        self._tick = os.sysconf("SC_CLK_TCK")
        self._start = (self._busy(), self._children(), time.monotonic())

    def _busy(self) -> float:
        with open("/proc/stat", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(f"cpu{self.core} "):
                    fields = [int(v) for v in line.split()[1:]]
                    # user nice system idle iowait irq softirq steal
                    return (sum(fields[:8]) - fields[3] - fields[4]) / self._tick
        return float("nan")

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def background(self) -> float:
        """Mean share of the core (0-1) that other processes used since construction."""
        busy0, children0, t0 = self._start
        wall = time.monotonic() - t0
        if wall <= 0:
            return float("nan")
        other = (self._busy() - busy0) - (self._children() - children0)
        return max(other, 0.0) / wall


def _run_cell(
    python: str,
    engine: str,
    genome: str,
    reference: str,
    mode: str,
    args: argparse.Namespace,
    core: int,
) -> Cell:
    cell = Cell(engine, genome)
    command = [
        shutil.which("taskset") or "taskset",
        "-c",
        str(core),
        python,
        CELL_SCRIPT,
        "--reference",
        reference,
        "--engine",
        engine,
        "--mode",
        mode,
        "--steps",
        str(args.steps),
        "--budget",
        str(args.budget),
        "--warmup",
        str(args.warmup),
        "--wires-per-block",
        str(args.wires_per_block),
    ]
    env = {**os.environ, **ONE_THREAD}
    if ENGINE_ENV[engine] is not None:
        env.pop("PYTHONPATH", None)
    else:  # ours: the project from this checkout
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    meter = CpuMeter()
    core_meter = CoreMeter(core)
    started = time.monotonic()
    run_events(command, env, {engine: cell}, args.cap)
    cell.seconds = time.monotonic() - started
    cell.background_cores = meter.background_cores()
    cell.extra["core_background"] = core_meter.background()
    return cell


def _check_line(cell: Cell, tolerance: float) -> str:
    check = ", ".join(f"{k} {v:.1e}" for k, v in cell.check.items()) or "-"
    verdict = {"ok": "PASS", "check-failed": "FAIL"}.get(cell.status, cell.status.upper())
    return f"{check} (tolerance {tolerance:g}): {verdict}"


def run_peers(
    genomes: Sequence[str], engines: Sequence[str], args: argparse.Namespace
) -> tuple[dict[tuple[str, str], Cell], dict[tuple[str, str], Cell], list[list[float]]]:
    """Check every cell in float64, then time them in pinned, alternating rounds.

    Returns:
        (timed cells with every round's steps, the float64 check cells, the background share of
        the pinned core of every timed subprocess, by round).
    """
    pythons = ensure_envs(list(engines), args.envs_dir, lambda line: print(line, flush=True))
    references = os.path.join(OUT_DIR, "references")
    os.makedirs(references, exist_ok=True)
    paths = {}
    for genome in genomes:
        paths[genome] = os.path.join(references, f"{genome}.npz")
        write_reference(genome, paths[genome])
    print(f"references: {references}", flush=True)
    print(f"pinned core: {args.core}", flush=True)
    print(flush=True)

    print("## Equivalence with our engine, float64 (max abs difference; each cell's own env)")
    checks: dict[tuple[str, str], Cell] = {}
    for genome in genomes:
        for engine in engines:
            cell = _run_cell(
                pythons[engine], engine, genome, paths[genome], "check", args, args.core
            )
            checks[(engine, genome)] = cell
            versions = ", ".join(f"{k} {v}" for k, v in cell.extra.get("versions", {}).items())
            print(
                f"    {genome} {engine} [{versions}]: {_check_line(cell, CHECK64_TOLERANCE)}",
                flush=True,
            )
            if cell.status not in ("ok", "check-failed") and cell.detail:
                print("      " + cell.detail.replace("\n", "\n      "), flush=True)
    print(flush=True)

    timed: dict[tuple[str, str], Cell] = {}
    loads: list[list[float]] = []
    for number in range(args.rounds):
        order = list(engines) if number % 2 == 0 else list(reversed(engines))
        print(f"## Round {number + 1}/{args.rounds}: {' -> '.join(order)}", flush=True)
        loads.append([])
        for genome in genomes:
            for engine in order:
                if checks[(engine, genome)].status != "ok":
                    continue
                cell = _run_cell(
                    pythons[engine], engine, genome, paths[genome], "time", args, args.core
                )
                loads[-1].append(cell.extra["core_background"])
                kept = timed.setdefault((engine, genome), Cell(engine, genome))
                _merge(kept, cell)
                ms = time_cell(cell)
                print(
                    f"    {genome} {engine}: {ms} ms/sample "
                    f"(median of {len(cell.step_s)} steps after {len(cell.warmup_s)} warm-up; "
                    f"{cell.extra.get('dtype', '?')}, threads {cell.threads}, "
                    f"float32 check {_check_line(cell, CHECK32_TOLERANCE)}; "
                    f"others on core {cell.extra['core_background']:.2f}, "
                    f"machine {cell.background_cores:.2f} cores)",
                    flush=True,
                )
                if cell.status != "ok" and cell.detail:
                    print("      " + cell.detail.replace("\n", "\n      "), flush=True)
        print(flush=True)
    return timed, checks, loads


def _merge(kept: Cell, cell: Cell) -> None:
    """Add one round's measurement to the cell kept over all rounds.

    The kept cell's status is ``ok`` while every round was; otherwise that of the first round
    that was not. Its check holds the largest float32 differences over the rounds.
    """
    first = not kept.extra.get("round_ms") and not kept.extra.get("rounds")
    kept.step_s.extend(cell.step_s)
    kept.warmup_s.extend(cell.warmup_s)
    kept.threads = cell.threads
    kept.check = _worst(kept.check, cell.check)
    if first or (kept.status == "ok" and cell.status != "ok"):
        kept.status = cell.status
        kept.detail = cell.detail
    kept.seconds += cell.seconds
    for key in ("dtype", "versions"):
        if key in cell.extra:
            kept.extra[key] = cell.extra[key]
    kept.extra["rounds"] = kept.extra.get("rounds", 0) + 1
    kept.extra.setdefault("round_ms", [])
    kept.extra.setdefault("core_background", []).append(cell.extra["core_background"])
    if cell.step_s:
        ms = statistics.median(cell.step_s) / BATCH * 1000.0
        kept.extra["round_ms"].append(float(f"{ms:.4g}"))
    loads = [kept.background_cores, cell.background_cores]
    kept.background_cores = max((v for v in loads if v == v), default=float("nan"))


def _worst(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: max(a.get(k, 0.0), b.get(k, 0.0)) for k in {*a, *b}}


__all__ = ["run_peers", "write_reference"]
