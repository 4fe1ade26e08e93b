"""The harness of the train-step benchmark: each cell in a subprocess, timed and checked.

The parent (:func:`measure_with_retries`, :func:`measure_group`) starts
``python benchmarks/train_step.py --cell GENOME ENGINE...`` in a new session, reads the cell's
events (one JSON line each, after ``MARKER``) with a deadline, kills the process group of a cell
whose step overruns the cap, and re-runs short cells that ran next to other work. The child
(:func:`run_cell`) builds and checks the networks, then times their steps in turns.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from _common import CpuMeter, wait_for_idle_cpu
from _train_step_competitors import (
    BATCH,
    CHECK_TOLERANCE,
    DATA_SEED,
    LEARNING_RATE,
    N_BATCHES,
    N_CLASSES,
    N_FEATURES,
    SEED,
    build_network,
    check_equivalence,
)
from _train_step_tables import time_cell

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_step.py")
SETUP_TIMEOUT = 600.0  # seconds for imports, model building and the equivalence check
IDLE_CORES = 0.3  # background load (cores busy with other processes) that counts as idle
RETRY_MAX_SECONDS = 60.0  # only cells at most this long are re-run when the CPU was busy
MARKER = "@@cell "
INTERLEAVED: tuple[str, ...] = ("ours", "ours-f64", "pennylane")  # fast: timed in turn
BLOCK = 5  # timed steps of one engine before the next engine's turn


# ------------------------------------------------------------------------------------ the cell
# Everything from here to ``run_cell`` runs inside the subprocess of one (engine, genome) cell.


def _emit(event: str, **payload: Any) -> None:
    """Send one event to the parent process (one JSON line on stdout)."""
    print(MARKER + json.dumps({"event": event, **payload}), flush=True)


class _Stepper:
    """Training steps of one network, with the wall time of each.

    Args:
        engine: Engine name.
        network: The network.
        batches: (features, labels) pairs, cycled; features already in the network's dtype.
    """

    def __init__(self, engine: str, network: Any, batches: list[tuple[Any, Any]]) -> None:
        import torch

        self.engine = engine
        self.network = network
        self.batches = batches
        self.optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
        self.warmups: list[float] = []
        self.times: list[float] = []

    def _step(self) -> float:
        import torch

        x, y = self.batches[(len(self.warmups) + len(self.times)) % len(self.batches)]
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.nll_loss(self.network(x), y)
        loss.backward()
        self.optimizer.step()
        return time.perf_counter() - start

    def warm_up(self, budget: float) -> None:
        """Two warm-up steps; one when the first took more than a quarter of ``budget``."""
        for _ in range(2):
            if self.warmups and self.warmups[0] > budget / 4:
                break  # a slow cell: keep the budget for a timed step
            self.warmups.append(self._step())
            _emit("warmup", engine=self.engine, seconds=self.warmups[-1])

    def wants_step(self, budget: float, max_steps: int) -> bool:
        """Whether another timed step fits: fewer than ``max_steps`` and within ``budget``."""
        if len(self.times) >= max_steps:
            return False
        spent = sum(self.warmups) + sum(self.times)
        return not self.times or spent + statistics.median(self.times) <= budget

    def step(self) -> None:
        """One timed step, reported to the parent."""
        self.times.append(self._step())
        _emit("step", engine=self.engine, seconds=self.times[-1])


def run_cell(
    engines: Sequence[str],
    genome_text: str,
    budget: float,
    max_steps: int,
    threads: int | None = None,
) -> int:
    """Build, check and time the cells of ``engines`` on one genome, reporting events on stdout.

    With several engines, timed steps go in turns of ``BLOCK`` steps per engine, so that every
    engine runs under the same background load.

    Args:
        engines: Engines from ``ENGINES``, timed in turn in this process.
        genome_text: Canonical genome string.
        budget: Seconds of steps (warm-up and timed) per engine; no step is started that would
            overrun it, except the first timed step.
        max_steps: Timed steps per engine at most.
        threads: torch intra-op threads; None keeps torch's default.

    Returns:
        Exit status: 0 when every engine was timed, 1 when an equivalence check failed.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)

    from faqnas_qiskit.models import build_model
    from faqnas_qiskit.space import Genome

    genome = Genome.parse(genome_text)
    reference = build_model(genome, N_FEATURES, N_CLASSES, engine="statevector", seed=SEED)
    generator = torch.Generator().manual_seed(DATA_SEED)
    features = torch.randn(N_BATCHES * BATCH, N_FEATURES, generator=generator)
    features = (features - features.mean(dim=0)) / features.std(dim=0)
    labels = torch.randint(0, N_CLASSES, (N_BATCHES * BATCH,), generator=generator)

    steppers: list[_Stepper] = []
    status = 0
    for engine in engines:
        network, dtype = build_network(engine, genome, reference)
        # the parameter-shift backward of qml-defaults is what is slow: check its forward only
        errors = check_equivalence(network, reference, with_gradients=engine != "qml-defaults")
        passed = all(value <= CHECK_TOLERANCE for value in errors.values())
        _emit("ready", engine=engine, threads=torch.get_num_threads(), check=errors, passed=passed)
        if not passed:
            status = 1
            continue
        batches = [
            (features[i * BATCH : (i + 1) * BATCH].to(dtype), labels[i * BATCH : (i + 1) * BATCH])
            for i in range(N_BATCHES)
        ]
        steppers.append(_Stepper(engine, network, batches))

    for stepper in steppers:
        stepper.warm_up(budget)
    active = list(steppers)
    while active:
        for stepper in list(active):
            for _ in range(BLOCK):
                if not stepper.wants_step(budget, max_steps):
                    active.remove(stepper)
                    break
                stepper.step()
    _emit("done")
    return status


# ---------------------------------------------------------------------------------- the parent


@dataclass
class Cell:
    """The measurement of one (engine, genome) cell.

    Attributes:
        engine: Engine name.
        genome: Canonical genome string.
        status: ``"ok"``, ``"timeout"`` (a step exceeded the cap before any timed step finished),
            ``"check-failed"`` or ``"error"``.
        warmup_s: Wall time of each warm-up step, seconds.
        step_s: Wall time of each timed step, seconds.
        threads: ``torch.get_num_threads()`` in the cell.
        check: Max abs differences from our engine (float64), by quantity.
        detail: Error output, or a note.
        background_cores: Mean number of cores other processes kept busy during the cell's
            subprocess.
        waited_s: Seconds waited for an idle CPU before the cell started.
        seconds: Wall time of the cell's subprocess (shared by the cells timed in it), s.
        attempt: Which attempt this is (1 = first run of the cell).
        extra: Further facts the cell reported when ready (the peer cells: dtype, library
            versions, setup seconds, CPU affinity).
    """

    engine: str
    genome: str
    status: str = "error"
    warmup_s: list[float] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)
    threads: int | None = None
    check: dict[str, float] = field(default_factory=dict)
    detail: str = ""
    background_cores: float = float("nan")
    waited_s: float = 0.0
    seconds: float = 0.0
    attempt: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ms_per_sample(self) -> float | None:
        """Median step time per sample, milliseconds; None when no step was timed."""
        if not self.step_s:
            return None
        return statistics.median(self.step_s) / BATCH * 1000.0


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the cell's process group (the cell and anything it started), by its id."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run_events(
    command: Sequence[str], env: dict[str, str] | None, cells: dict[str, Cell], cap: float
) -> str:
    """Run one cell subprocess and record its events in ``cells`` (keyed by engine).

    Setup (imports, models, equivalence checks) may take ``SETUP_TIMEOUT`` seconds; after the
    last engine's "ready" event each step must report within ``cap`` seconds or the process
    group is killed.

    Args:
        command: The cell's command line.
        env: Its environment (None: this process's).
        cells: The cells it measures, by engine; updated in place.
        cap: Hard cap on one step, seconds.

    Returns:
        The last lines of the subprocess's stderr (empty when it wrote none).
    """
    genome = next(iter(cells.values())).genome if cells else ""
    readied: set[str] = set()
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True, env=env
        )
        assert process.stdout is not None
        fd = process.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + SETUP_TIMEOUT
        pending = b""
        lines: list[bytes] = []
        finished = False
        ready = False
        try:
            while not finished:
                if not lines:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not selector.select(timeout=remaining):
                        for engine, cell in cells.items():
                            if engine not in readied:
                                cell.detail = f"setup did not finish within {SETUP_TIMEOUT:g} s"
                            elif cell.status == "error":
                                cell.status = "ok" if cell.step_s else "timeout"
                                cell.detail = f"a step did not finish within {cap:g} s; killed"
                        _kill(process)
                        break
                    # raw reads, so that a partial line cannot block past the deadline
                    chunk = os.read(fd, 65536)
                    if not chunk:  # the cell exited
                        break
                    *lines, pending = (pending + chunk).split(b"\n")
                    continue
                line = lines.pop(0).decode(errors="replace")
                if not line.startswith(MARKER):
                    continue  # a library's own output
                event = json.loads(line[len(MARKER) :])
                kind = event.pop("event")
                engine = event.pop("engine", "")
                cell = cells.get(engine, Cell("", genome))
                if kind == "ready":
                    readied.add(engine)
                    cell.threads = event.pop("threads")
                    cell.check = event.pop("check")
                    if not event.pop("passed"):
                        cell.status = "check-failed"
                    cell.extra.update(event)
                elif kind == "warmup":
                    cell.warmup_s.append(event["seconds"])
                elif kind == "step":
                    cell.step_s.append(event["seconds"])
                elif kind == "done":
                    for name, each in cells.items():
                        if each.status == "error" and name in readied:
                            each.status = "ok"
                    finished = True
                # setup ends with the last "ready"; from then on, each step has ``cap`` seconds
                ready = ready or readied >= set(cells)
                if ready:
                    deadline = time.monotonic() + cap
        finally:
            if process.poll() is None and not finished:
                _kill(process)
            process.wait()
            selector.close()
            process.stdout.close()
        stderr.seek(0)
        tail = "\n".join(stderr.read().strip().splitlines()[-15:])
    for cell in cells.values():
        if cell.status == "error" and not cell.detail:
            cell.detail = tail or f"exit status {process.returncode}"
    return tail


def measure_group(
    engines: Sequence[str],
    genome: str,
    budget: float,
    cap: float,
    max_steps: int,
    threads: int | None,
) -> list[Cell]:
    """Run the cells of ``engines`` on ``genome`` in one subprocess and collect their events.

    Setup (imports, models, equivalence checks) may take ``SETUP_TIMEOUT`` seconds; after that
    each step must report within ``cap`` seconds or the subprocess is killed.

    Args:
        engines: Engines timed in turn in the subprocess (see :func:`run_cell`).
        genome: Canonical genome string.
        budget: Soft budget per engine, seconds (see :func:`run_cell`).
        cap: Hard cap on one step, seconds.
        max_steps: Timed steps per engine at most.
        threads: Threads for torch and OpenMP (Aer, BLAS) in the cell; None keeps the defaults.

    Returns:
        One measurement per engine, in the order of ``engines``.
    """
    cells = {engine: Cell(engine, genome) for engine in engines}
    meter = CpuMeter()
    started = time.monotonic()
    command = [sys.executable, SCRIPT, "--cell", genome, *engines]
    command += ["--budget", str(budget), "--steps", str(max_steps)]
    env = None
    if threads is not None:
        command += ["--threads", str(threads)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    run_events(command, env, cells, cap)
    load = meter.background_cores()
    seconds = time.monotonic() - started
    for cell in cells.values():
        cell.background_cores = load
        cell.seconds = seconds
    return list(cells.values())


def _busy(cells: Sequence[Cell]) -> float:
    """Background load of an attempt for ranking attempts (NaN, i.e. unknown, ranks last)."""
    load = cells[0].background_cores
    return float("inf") if math.isnan(load) else load


def measure_with_retries(
    engines: Sequence[str], genome: str, args: argparse.Namespace, label: str
) -> tuple[list[Cell], list[Cell]]:
    """Measure a group of cells; re-run it while other processes kept the CPU busy.

    A group is re-run (up to ``args.retries`` times) when its background load exceeded
    ``IDLE_CORES`` and it took at most ``RETRY_MAX_SECONDS``; the attempt with the lowest
    background load is kept. Attempts are chosen by the load of *other* processes only, never
    by the time measured.

    Args:
        engines: Engines timed together (see :func:`run_cell`).
        genome: Canonical genome string.
        args: Parsed options (budget, cap, steps, threads, wait_idle, retries).
        label: Progress prefix, e.g. ``"[3/12]"``.

    Returns:
        (kept cells, the cells of the other attempts).
    """
    attempts: list[list[Cell]] = []
    while True:
        waited = 0.0
        if args.wait_idle > 0:
            waited, _ = wait_for_idle_cpu(args.wait_idle, threshold=IDLE_CORES)
        cells = measure_group(engines, genome, args.budget, args.cap, args.steps, args.threads)
        for cell in cells:
            cell.waited_s = waited
            cell.attempt = len(attempts) + 1
        attempts.append(cells)
        print(
            f"{label} {genome} (attempt {len(attempts)}): {cells[0].seconds:.0f} s, background "
            f"load {cells[0].background_cores:.2f} cores (waited {waited:.0f} s for idle CPU)",
            flush=True,
        )
        for cell in cells:
            check = ", ".join(f"{k} {v:.1e}" for k, v in cell.check.items())
            print(
                f"    {cell.engine}: {time_cell(cell)} ms/sample, {len(cell.step_s)} timed + "
                f"{len(cell.warmup_s)} warm-up steps, threads {cell.threads}, "
                f"check vs ours (float64): {check or '-'}",
                flush=True,
            )
            if cell.detail:
                print("      " + cell.detail.replace("\n", "\n      "), flush=True)
        if (
            _busy(cells) <= IDLE_CORES
            or len(attempts) > args.retries
            or cells[0].seconds > RETRY_MAX_SECONDS
        ):
            break
    kept = min(attempts, key=_busy)
    if len(attempts) > 1:
        print(f"    kept attempt {kept[0].attempt} (lowest background load)", flush=True)
    return kept, [cell for cells in attempts if cells is not kept for cell in cells]
