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
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import selectors
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from _common import CpuMeter, machine_info, markdown_table, wait_for_idle_cpu

GENOMES: tuple[str, ...] = (
    "q4-angle-cx-linear-ry.ry",
    "q8-angle-cz-circular-ry.rx.ry.rz",
    "q10-angle-cx-circular-rx.ry.rz.ry",
    "q6-amplitude-cz-linear-ry.ry",
)
ENGINES: tuple[str, ...] = ("ours", "ours-f64", "aer", "pennylane", "qml-defaults")
ENGINE_TITLES: dict[str, str] = {
    "ours": "ours f32",
    "ours-f64": "ours f64",
    "aer": "Aer",
    "pennylane": "PennyLane",
    "qml-defaults": "qml defaults",
}
# (numerator engine, column title) of each ratio column; the denominator is always "ours"
RATIOS: tuple[tuple[str, str], ...] = (
    ("pennylane", "PennyLane / ours"),
    ("qml-defaults", "qml defaults / ours"),
    ("aer", "Aer / ours"),
)
N_FEATURES = 16
N_CLASSES = 3
BATCH = 64
SEED = 0  # initial weights (build_model's seed)
DATA_SEED = 1234
N_BATCHES = 8  # distinct training batches, cycled
LEARNING_RATE = 0.003
CHECK_SAMPLES = 8
CHECK_TOLERANCE = 1e-5
SETUP_TIMEOUT = 600.0  # seconds for imports, model building and the equivalence check
IDLE_CORES = 0.3  # background load (cores busy with other processes) that counts as idle
RETRY_MAX_SECONDS = 60.0  # only cells at most this long are re-run when the CPU was busy
MARKER = "@@cell "
INTERLEAVED: tuple[str, ...] = ("ours", "ours-f64", "pennylane")  # fast: timed in turn
BLOCK = 5  # timed steps of one engine before the next engine's turn


# ------------------------------------------------------------------------------------ the cell
# Everything from here to ``run_cell`` runs inside the subprocess of one (engine, genome) cell;
# torch, qiskit and pennylane are imported there only, so the parent stays light.


def _emit(event: str, **payload: Any) -> None:
    """Send one event to the parent process (one JSON line on stdout)."""
    print(MARKER + json.dumps({"event": event, **payload}), flush=True)


def _pennylane_network(genome: Any, reference: Any) -> Any:
    """PennyLane ``default.qubit`` (backprop) version of ``reference``, same weights.

    The circuit follows DESIGN §3 with wire i = Qiskit qubit i. Qiskit puts qubit 0 in the least
    significant bit of a basis index and PennyLane puts the first wire of an operation in the
    most significant one, so the amplitude embedding is applied on wires (n-1, ..., 0).

    Args:
        genome: The architecture (a ``faqnas_qiskit.space.Genome``).
        reference: Our model of the genome (a ``faqnas_qiskit.models.HQNN``), float32.

    Returns:
        A module with ``pre``, ``quantum`` (a ``TorchLayer``), ``post`` and ``circuit_weight``.
    """
    import pennylane as qml
    import torch

    from faqnas_qiskit.circuits import entangling_pairs

    n = genome.n_qubits
    pairs = entangling_pairs(n, genome.topology)
    rotation = {"rx": qml.RX, "ry": qml.RY, "rz": qml.RZ}
    entangler = qml.CNOT if genome.entangler == "cx" else qml.CZ
    device = qml.device("default.qubit", wires=n)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(inputs: torch.Tensor, weights: torch.Tensor) -> list[Any]:
        if genome.embedding == "angle":
            for i in range(n):
                qml.RX(inputs[..., i], wires=i)
        else:
            qml.AmplitudeEmbedding(inputs, wires=list(range(n - 1, -1, -1)), normalize=True)
        for layer, name in enumerate(genome.active_rotations):
            for i in range(n):
                rotation[name](weights[layer * n + i], wires=i)
            for control, target in pairs:
                entangler(wires=[control, target])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    class PennyLaneHQNN(torch.nn.Module):
        """Linear -> TorchLayer -> Linear -> log_softmax."""

        def __init__(self) -> None:
            super().__init__()
            self.pre = copy.deepcopy(reference.pre)
            self.quantum = qml.qnn.TorchLayer(circuit, {"weights": (genome.n_weights,)})
            with torch.no_grad():
                self.quantum.weights.copy_(reference.quantum.weight)
            self.post = copy.deepcopy(reference.post)

        @property
        def circuit_weight(self) -> torch.Tensor:
            return self.quantum.weights  # type: ignore[no-any-return]

        def expectations(self, x: torch.Tensor) -> torch.Tensor:
            return self.quantum(self.pre(x))  # type: ignore[no-any-return]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.log_softmax(self.post(self.expectations(x)), dim=1)

    return PennyLaneHQNN()


def _qml_defaults_network(genome: Any, reference: Any) -> Any:
    """qiskit-machine-learning defaults version of ``reference``, same weights.

    ``TorchConnector(EstimatorQNN(...))`` without estimator or gradient (the library's default
    estimator and parameter-shift gradient), between the same Linear layers; the pre-layer output
    is mapped to circuit inputs by ``HQNNCircuit.input_values``.

    Args:
        genome: The architecture.
        reference: Our model of the genome, float32.

    Returns:
        A module with ``pre``, ``quantum`` (the ``TorchConnector``), ``post`` and
        ``circuit_weight``.
    """
    import torch
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    from faqnas_qiskit.circuits import build_circuit

    hqnn = build_circuit(genome)
    qnn = EstimatorQNN(
        circuit=hqnn.circuit,
        observables=list(hqnn.observables),
        input_params=list(hqnn.input_params),
        weight_params=list(hqnn.weight_params),
        input_gradients=True,
    )

    class QiskitDefaultsHQNN(torch.nn.Module):
        """Linear -> input_values -> TorchConnector -> Linear -> log_softmax."""

        def __init__(self) -> None:
            super().__init__()
            self.pre = copy.deepcopy(reference.pre)
            initial = reference.quantum.weight.detach().numpy()
            self.quantum = TorchConnector(qnn, initial_weights=initial)
            self.post = copy.deepcopy(reference.post)

        @property
        def circuit_weight(self) -> torch.Tensor:
            return self.quantum.weight  # type: ignore[no-any-return]

        def expectations(self, x: torch.Tensor) -> torch.Tensor:
            angles = hqnn.input_values(self.pre(x))
            # TorchConnector always returns float32; cast back for the float64 check
            return self.quantum(angles).to(angles.dtype)  # type: ignore[no-any-return]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.log_softmax(self.post(self.expectations(x)), dim=1)

    return QiskitDefaultsHQNN()


def _expectations(network: Any, x: Any) -> Any:
    """⟨Z_i⟩ of the quantum layer for features ``x``, shape (batch, n)."""
    if hasattr(network, "expectations"):
        return network.expectations(x)
    return network.quantum(network.pre(x))


def _gradients(network: Any, x: Any, y: Any) -> dict[str, Any]:
    """Gradients of the NLL loss on (x, y) for pre, circuit weights and post, by role."""
    import torch

    network.zero_grad(set_to_none=True)
    torch.nn.functional.nll_loss(network(x), y).backward()
    circuit_weight = (
        network.circuit_weight if hasattr(network, "circuit_weight") else network.quantum.weight
    )
    return {
        "pre.weight": network.pre.weight.grad,
        "pre.bias": network.pre.bias.grad,
        "circuit weights": circuit_weight.grad,
        "post.weight": network.post.weight.grad,
        "post.bias": network.post.bias.grad,
    }


def _check(network: Any, reference: Any, with_gradients: bool) -> dict[str, float]:
    """Largest absolute differences between ``network`` and our engine, both in float64.

    Args:
        network: The network to be timed.
        reference: Our model, float32; converted to float64 here.
        with_gradients: Also compare the gradients of the loss.

    Returns:
        ``{"expectations": ..., "log_probs": ..., "gradients": ...}`` (max abs error each).
    """
    import torch

    generator = torch.Generator().manual_seed(DATA_SEED + 1)
    x = torch.randn(CHECK_SAMPLES, N_FEATURES, generator=generator, dtype=torch.float64)
    y = torch.randint(0, N_CLASSES, (CHECK_SAMPLES,), generator=generator)
    ours = copy.deepcopy(reference).double()
    theirs = copy.deepcopy(network).double()
    errors: dict[str, float] = {}
    with torch.no_grad():
        errors["expectations"] = float(
            (_expectations(theirs, x) - _expectations(ours, x)).abs().max()
        )
        errors["log_probs"] = float((theirs(x) - ours(x)).abs().max())
    if with_gradients:
        expected = _gradients(ours, x, y)
        got = _gradients(theirs, x, y)
        errors["gradients"] = max(
            float((got[name].double() - expected[name]).abs().max()) for name in expected
        )
    return errors


def _build(engine: str, genome: Any, reference: Any) -> tuple[Any, Any]:
    """The network of ``engine`` for ``genome`` and the dtype of its inputs.

    Args:
        engine: One of ``ENGINES``.
        genome: The architecture.
        reference: Our model of the genome (float32); ``"ours"`` times it in place.

    Returns:
        (network, torch dtype of the features it takes).
    """
    import torch

    from faqnas_qiskit.models import build_model

    if engine == "ours":
        return reference, torch.float32
    if engine == "ours-f64":
        return copy.deepcopy(reference).double(), torch.float64
    if engine == "aer":
        return build_model(genome, N_FEATURES, N_CLASSES, engine="aer", seed=SEED), torch.float32
    if engine == "pennylane":
        return _pennylane_network(genome, reference), torch.float32
    if engine == "qml-defaults":
        return _qml_defaults_network(genome, reference), torch.float32
    raise ValueError(f"The 'engine' option must be one of {ENGINES}. Got {engine!r} instead.")


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
        network, dtype = _build(engine, genome, reference)
        # the parameter-shift backward of qml-defaults is what is slow: check its forward only
        errors = _check(network, reference, with_gradients=engine != "qml-defaults")
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
    command = [sys.executable, os.path.abspath(__file__), "--cell", genome, *engines]
    command += ["--budget", str(budget), "--steps", str(max_steps)]
    env = None
    if threads is not None:
        command += ["--threads", str(threads)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
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
                        for cell in cells.values():
                            if cell.threads is None:
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
                kind = event["event"]
                cell = cells.get(event.get("engine", ""), Cell("", genome))
                if kind == "ready":
                    cell.threads = event["threads"]
                    cell.check = event["check"]
                    if not event["passed"]:
                        cell.status = "check-failed"
                elif kind == "warmup":
                    cell.warmup_s.append(event["seconds"])
                elif kind == "step":
                    cell.step_s.append(event["seconds"])
                elif kind == "done":
                    for each in cells.values():
                        if each.status == "error" and each.threads is not None:
                            each.status = "ok"
                    finished = True
                # setup ends with the last "ready"; from then on, each step has ``cap`` seconds
                ready = ready or all(c.threads is not None for c in cells.values())
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
    load = meter.background_cores()
    seconds = time.monotonic() - started
    for cell in cells.values():
        if cell.status == "error" and not cell.detail:
            cell.detail = tail or f"exit status {process.returncode}"
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
                f"    {cell.engine}: {_time_cell(cell)} ms/sample, {len(cell.step_s)} timed + "
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


def _fmt_ms(value: float) -> str:
    """Four significant digits."""
    return f"{value:.4g}" if value < 1000 else f"{value:.0f}"


def _fmt_ratio(value: float) -> str:
    """``4.6x``, ``987x``."""
    return f"{value:.3g}x" if value < 1000 else f"{value:.0f}x"


def _per_sample(cell: Cell | None, cap: float) -> tuple[float | None, bool]:
    """(ms per sample, is a lower bound) of a cell: the cap gives a bound when it timed out."""
    if cell is None:
        return None, False
    if cell.ms_per_sample is not None:
        return cell.ms_per_sample, False
    if cell.status == "timeout":
        return cap / BATCH * 1000.0, True
    return None, False


def _time_cell(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    if cell.ms_per_sample is not None:
        return _fmt_ms(cell.ms_per_sample)
    return {"timeout": "> cap", "check-failed": "check failed"}.get(cell.status, "error")


def ratio(
    cells: dict[tuple[str, str], Cell], genome: str, engine: str, cap: float
) -> tuple[float | None, bool]:
    """(engine time / ours time, is a lower bound) for one genome; None if not measured."""
    ours, _ = _per_sample(cells.get(("ours", genome)), cap)
    theirs, bound = _per_sample(cells.get((engine, genome)), cap)
    if ours is None or theirs is None:
        return None, False
    return theirs / ours, bound


def _ratio_cell(value: tuple[float | None, bool]) -> str:
    number, bound = value
    if number is None:
        return "-"
    return ("> " if bound else "") + _fmt_ratio(number)


def results_table(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str], cap: float
) -> str:
    """The per-sample times (ms/sample) and the ratios against ``ours``, as Markdown."""
    headers = ["genome", *(ENGINE_TITLES[e] for e in engines)]
    ratios = [(e, title) for e, title in RATIOS if e in engines and "ours" in engines]
    headers += [title for _, title in ratios]
    rows = []
    for genome in genomes:
        row = [genome, *(_time_cell(cells.get((e, genome))) for e in engines)]
        row += [_ratio_cell(ratio(cells, genome, e, cap)) for e, _ in ratios]
        rows.append(row)
    return markdown_table(headers, rows)


def steps_table(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str]
) -> str:
    """Timed steps (warm-up steps), background load (cores) and attempt of each cell."""
    rows = []
    for genome in genomes:
        row = [genome]
        for engine in engines:
            cell = cells.get((engine, genome))
            row.append(
                "-"
                if cell is None
                else f"{len(cell.step_s)} ({len(cell.warmup_s)}), {cell.background_cores:.2f}"
                + (f", #{cell.attempt}" if cell.attempt > 1 else "")
            )
        rows.append(row)
    return markdown_table(["genome", *(ENGINE_TITLES[e] for e in engines)], rows)


def criteria(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], cap: float
) -> list[tuple[bool | None, str]]:
    """The issue's acceptance criteria: (PASS, FAIL or None = not measured, line) each."""
    wanted = [
        ("pennylane", 4, 3.0, "PennyLane default.qubit backprop"),
        ("pennylane", 10, 3.0, "PennyLane default.qubit backprop"),
        ("qml-defaults", 4, 1000.0, "qiskit-machine-learning defaults"),
    ]
    out: list[tuple[bool | None, str]] = []
    for engine, qubits, need, name in wanted:
        matching = [g for g in genomes if g.startswith(f"q{qubits}-")]
        text = f"ours >= {need:g}x faster per sample than {name} at {qubits} qubits"
        if not matching:
            out.append((None, f"SKIP {text}: no {qubits}-qubit genome measured"))
        for genome in matching:
            number, bound = ratio(cells, genome, engine, cap)
            if number is None:
                out.append((None, f"SKIP {text} ({genome}): not measured"))
                continue
            verdict = number >= need
            measured = ("> " if bound else "") + _fmt_ratio(number)
            note = ""
            if bound and not verdict:
                note = " (only a lower bound, from the cap: inconclusive; raise --cap)"
            label = "PASS" if verdict else "FAIL"
            out.append((verdict, f"{label} {text} ({genome}): measured {measured}{note}"))
    return out


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
        default=list(ENGINES),
        choices=ENGINES,
        metavar="ENGINE",
        help=f"engines to measure, from {', '.join(ENGINES)} (default: all)",
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
    parser.add_argument("--quick", action="store_true", help="fewer steps, smaller budget")
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers to PATH")
    parser.add_argument("--cell", nargs="+", metavar="GENOME ENGINE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
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

    from faqnas_qiskit.errors import GenomeError
    from faqnas_qiskit.space import Genome

    try:
        genomes = [Genome.parse(text).key for text in args.genomes]
    except GenomeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engines = [e for e in ENGINES if e in args.engines]

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
    print(
        f"batch {BATCH}, {N_FEATURES} features, {N_CLASSES} classes, Adam lr {LEARNING_RATE}; "
        f"budget {args.budget:g} s per cell, cap {args.cap:g} s per step, "
        f"at most {args.steps} timed steps, wait for idle CPU {args.wait_idle:g} s, "
        f"retries {args.retries}, threads "
        f"{'torch default' if args.threads is None else args.threads}"
    )
    print(flush=True)

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


if __name__ == "__main__":
    sys.exit(main())
