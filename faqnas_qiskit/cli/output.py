"""What the command shows: tables, progress bars, JSON and CSV on stdout.

Tables and progress go to the user; the library itself never prints. Progress bars draw on
stderr and only on a terminal, so that stdout carries the result alone (``--json | jq``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

from faqnas_qiskit.cli.options import TOKEN_ENV

if TYPE_CHECKING:
    from faqnas_qiskit.hardware import ProgressEvent, ReevaluationPlan, ReevaluationResult
    from faqnas_qiskit.search import (
        Candidate,
        GenerationSummary,
        SearchConfig,
        SearchObserver,
        VarianceSummary,
    )

__all__ = [
    "AtlasProgress",
    "HardwareProgress",
    "accuracy_cell",
    "csv_value",
    "fmt",
    "pipe_safe_stdout",
    "print_front",
    "print_hardware",
    "print_json",
    "print_plan",
    "search_progress",
    "write_csv",
]


# ------------------------------------------------------------------------------- JSON and CSV
def print_json(value: object) -> None:
    """``value`` as one line of JSON on stdout, keys sorted."""
    print(json.dumps(value, sort_keys=True))


def write_csv(rows: list[dict[str, Any]], cell: Callable[[object], object]) -> None:
    """``rows`` as CSV on stdout, a header of the first row's keys (``genome`` when empty);
    ``cell`` turns each value into what its cell holds."""
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["genome"])
    writer.writeheader()
    writer.writerows({k: cell(v) for k, v in row.items()} for row in rows)


def csv_value(value: object) -> object:
    """Lists (per-repeat values, intervals) as ``;``-separated text in a CSV cell."""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


# ------------------------------------------------------------------------------------- tables
def fmt(value: object, spec: str) -> str:
    """``value`` formatted by ``spec``, or ``-`` when it is unknown (None)."""
    if value is None:
        return "-"
    return format(value, spec)


def accuracy_cell(mean: object, sd: object) -> str:
    """``0.733±0.050``, or ``0.733`` when no standard deviation is known."""
    if mean is None:
        return "-"
    if sd is None:
        return format(mean, ".3f")
    return f"{mean:.3f}±{sd:.3f}"


def print_front(
    rows: Sequence[Mapping[str, object]], variance: VarianceSummary | None = None
) -> None:
    """The front as a table; ``variance`` adds the line on its noise."""
    header = (
        f"{'genome':37s} {'val acc':>11s} {'test acc':>11s} {'n':>2s} {'F_Q':>10s} "
        f"{'F_C':>8s} {'F_Q+F_C':>10s} {'params':>7s} {'2q gates':>8s} {'QPU s':>8s}"
    )
    print(header)
    dead = False
    for r in rows:
        mark = "*" if r.get("dead_quantum_layer") else ""
        dead = dead or bool(mark)
        print(
            f"{str(r['genome']) + mark:37s} {accuracy_cell(r['val_accuracy'], r['val_sd']):>11s} "
            f"{accuracy_cell(r['test_accuracy'], r['test_sd']):>11s} "
            f"{fmt(r['repeats'], 'd'):>2s} "
            f"{fmt(r['quantum_flops'], ',.0f'):>10s} {fmt(r['classical_flops'], ',.0f'):>8s} "
            f"{fmt(r['total_flops'], ',.0f'):>10s} "
            f"{fmt(r['params'], 'd'):>7s} {fmt(r['two_qubit_gates'], 'd'):>8s} "
            f"{fmt(r['predicted_qpu_s'], '.2f'):>8s}"
        )
    spread = any(r.get("val_sd") is not None for r in rows)
    print(
        ("accuracies: mean±sd over n repeats" if spread else "accuracies: one evaluation each")
        + "; FLOPs per sample; params: classical + effective quantum weights"
    )
    if dead:
        print(
            "* no trainable quantum weight: every rotation's gradient is identically zero, so "
            "the quantum layer is a fixed feature map (try --exclude-dead)"
        )
    if variance is not None:
        print(variance.verdict)


def print_plan(plan: ReevaluationPlan) -> None:
    """A hardware dry run: what would be submitted, and its predicted QPU seconds."""
    source = {
        "snapshot": "calibration snapshot",
        "device": "live device",
        "simulator": "simulator",
    }.get(plan.target_source, plan.target_source)
    print(
        f"run {plan.run_id} on {plan.profile.name}: target {plan.target} ({source}), "
        f"{plan.n_samples} test samples x {plan.shots} shots"
    )
    if plan.profile.is_hardware and plan.credentials is None:
        print(f"  no IBM Quantum credentials: a real run needs ${TOKEN_ENV} or a saved account")
    print(
        f"{'genome':32s} {'action':>7s} {'qubits':>6s} {'2q':>4s} {'depth':>5s} "
        f"{'pred. QPU s':>11s}  job"
    )
    from faqnas_qiskit.hardware import PlannedJob

    for item in plan.items:
        job = item if isinstance(item, PlannedJob) else None  # a stored/failed one: no cost
        metrics = job and job.metrics
        print(
            f"{item.key:32s} {item.action:>7s} {item.n_qubits:>6d} "
            f"{fmt(metrics and metrics.two_qubit_gates, 'd'):>4s} "
            f"{fmt(metrics and metrics.depth, 'd'):>5s} "
            f"{fmt(job and job.predicted_qpu_s, '.2f'):>11s}  {item.job_id or '-'}"
        )
    total, budget = plan.predicted_qpu_s, plan.max_qpu_seconds
    if total is not None:
        over = " - OVER BUDGET, a real run is refused" if budget and total > budget else ""
        print(f"predicted {total:.1f} QPU s to submit (budget {fmt(budget, '.1f')} s){over}")


def print_hardware(result: ReevaluationResult) -> None:
    """A hardware re-evaluation's records, failures and jobs still running."""
    plan = result.plan
    print(
        f"\n{len(result.records)} re-evaluated on {plan.profile.name} ({plan.target}): "
        f"{result.submitted} submitted, {result.fetched} fetched, {result.reused} from the store"
    )
    print(
        f"{'genome':32s} {'acc':>5s} {'sv acc':>6s} {'2q':>4s} {'depth':>5s} "
        f"{'pred. QPU s':>11s} {'QPU s':>7s} {'wall s':>7s}  job"
    )
    for r in result.records:
        print(
            f"{r.genome:32s} {r.accuracy:5.3f} {r.simulator_accuracy:6.3f} "
            f"{r.two_qubit_gates:4d} {r.depth:5d} {fmt(r.predicted_qpu_s, '.2f'):>11s} "
            f"{r.measured_qpu_s:7.2f} {r.wall_time_s:7.1f}  {','.join(r.job_ids)}"
        )
    if result.records:
        measured = sum(r.measured_qpu_s for r in result.records)
        where = "job.usage()" if result.records[0].on_qpu else "simulator: no QPU time"
        print(f"measured QPU s: {measured:.2f} ({where})")
    for failure in result.failures:
        print(f"FAILED {failure.key} (job {failure.job_id or '-'}): {failure.error}")
    if result.pending:
        print(f"still running: {', '.join(result.pending)}; run again with --resume")


# ----------------------------------------------------------------------------------- progress
def search_progress(store_path: str, quiet: bool) -> SearchObserver:
    """The search's observer: run id first, a progress bar with ETA (on a terminal), a line per
    generation; with ``quiet`` (``--json``) only the run id, on stderr."""
    from faqnas_qiskit.search import SearchObserver

    # the observer's base class loads the search (torch): subclassed only when a search runs
    class Progress(_SearchProgress, SearchObserver):
        pass

    return Progress(store_path, quiet)


class _SearchProgress:
    """Search observer: run id first, a progress bar with ETA (on a terminal), a line per
    generation."""

    def __init__(self, store_path: str, quiet: bool) -> None:
        self.store_path = store_path
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.total = 0
        self.done = 0
        self.started = 0.0
        self.generations = 0

    def run_started(self, run_id: str, config: SearchConfig, resumed: bool) -> None:
        self.generations = config.generations
        verb = "resuming" if resumed else "run"
        # with --json, stdout carries the JSON alone; the run id still comes first, on stderr
        out = sys.stderr if self.quiet else sys.stdout
        print(f"{verb} {run_id} (store {self.store_path})", file=out, flush=True)
        if not self.quiet:
            print(
                f"  {config.strategy} on {config.dataset}, "
                f"objectives {','.join(config.objectives)}, "
                f"space: {config.space.describe()}"
                f"{' without dead networks' if config.exclude_dead else ''}, seed {config.seed}, "
                f"{config.repeats} repeat{'s' if config.repeats > 1 else ''} per candidate",
                flush=True,
            )

    def generation_started(self, generation: int, total: int, cached: int) -> None:
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def candidate_finished(self, outcome: Candidate, cached: bool) -> None:
        self.done += 1
        if not self.tty:
            return
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r  [{bar}] {self.done}/{self.total} ETA {eta:5.1f} s ")
        sys.stderr.flush()

    def generation_finished(self, summary: GenerationSummary) -> None:
        if self.tty:
            sys.stderr.write("\r" + " " * 60 + "\r")
        if self.quiet:
            return
        best = "-" if summary.best_val_accuracy is None else f"{summary.best_val_accuracy:.3f}"
        lowest = "-" if summary.lowest_flops is None else f"{summary.lowest_flops:.4g}"
        print(
            f"  gen {summary.generation + 1}: {summary.evaluated} evaluated "
            f"({summary.trained} trained, {summary.cache_hits} cache hits, "
            f"{summary.failures} failed), "
            f"front {summary.front_size}, best val acc {best}, lowest F_Q {lowest}, "
            f"{summary.seconds:.1f} s",
            flush=True,
        )


class HardwareProgress:
    """One line per step of each architecture (silent with --json)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet or event.stage == "planned":
            return
        head = f"  [{event.index}/{event.total}] {event.key:32s} {event.stage:9s}"
        if event.record is not None:
            r = event.record
            print(
                f"{head} acc {r.accuracy:.3f} (statevector {r.simulator_accuracy:.3f}), "
                f"{r.two_qubit_gates} 2q gates, {r.wall_time_s:.1f} s",
                flush=True,
            )
        elif event.error is not None:
            print(f"{head} {event.error}", flush=True)
        else:
            print(f"{head} job {event.job_id}", flush=True)


class AtlasProgress:
    """A progress bar with ETA on a terminal (stderr); silent otherwise."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.clock = time.monotonic

    def __call__(self, done: int, total: int) -> None:
        if not self.tty or total == 0:
            return
        elapsed = self.clock() - self.started
        eta = elapsed / done * (total - done) if done else float("nan")
        width = 30
        filled = int(width * done / total)
        shown = "--:--" if eta != eta else f"{int(eta) // 60:d}:{int(eta) % 60:02d}"
        end = "\n" if done == total else ""
        print(
            f"\r{self.target} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"{done / total:4.0%} ETA {shown}",
            end=end,
            file=sys.stderr,
            flush=True,
        )


# --------------------------------------------------------------------------------- the stream
class _PipeSafe:
    """stdout that stops writing, instead of raising, once its reader has gone (``| head``).

    The command goes on (a search keeps training and storing); only its output is dropped.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self.stream.write(text))
            except BrokenPipeError:
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.broken = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def pipe_safe_stdout() -> Iterator[None]:
    """stdout that outlives its reader for the block (see :class:`_PipeSafe`)."""
    original = sys.stdout
    safe = _PipeSafe(original)
    sys.stdout = cast(TextIO, safe)
    try:
        yield
    finally:
        sys.stdout = original
        if safe.broken:
            # the interpreter's last flush must not raise either
            devnull = os.open(os.devnull, os.O_WRONLY)
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, original.fileno())
            os.close(devnull)
