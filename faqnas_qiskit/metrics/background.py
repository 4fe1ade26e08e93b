"""Cost metrics computed in a side process while the calling process does something else.

A search trains a generation's candidates in its coordinator process (or has it wait for
workers); the metrics of candidates the cost cache lacks (transpiling on a 156-qubit target
costs milliseconds per network, plus a second or two of pass managers and a profiler run once
per process) can be computed at the same time on another core. :class:`BackgroundMetrics` keeps
one such process, started on first use from a :class:`~faqnas_qiskit.metrics.MetricsRecipe`:

* **Same values**: the side process rebuilds the caller's metrics function from the recipe (same
  settings, the same persistent cost cache by path), so a genome's metrics are equal whoever
  computes them.
* **Never waits**: :meth:`BackgroundMetrics.result` returns what has arrived, or None; the caller
  then computes the genome itself (the side process's answer, arriving later, is dropped).
* **Never fatal**: any failure of the side process (it cannot start, raises, or dies) logs one
  warning line and turns it off; :meth:`~BackgroundMetrics.result` then always returns None, so
  the caller computes every metric itself, as without a side process.
* **Separate process, not a thread**: torch's profiler (the FLOPs formula check) is process-wide
  and must not run beside training, and SQLite connections belong to one thread.
* **Idle cores only**: the process runs at a lower CPU priority (``nice`` +10), so where the
  cores are busy it takes what training leaves instead of slowing it down.
* **Quiet and bounded**: the process is started with SIGINT blocked (Ctrl-C is the caller's to
  handle), exits within a second when its parent dies (even by ``kill -9``), and is stopped by
  :meth:`~BackgroundMetrics.close`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.space import Genome

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess
    from multiprocessing.queues import Queue

    from faqnas_qiskit.metrics.metrics_function import MetricsRecipe

__all__ = ["BackgroundMetrics", "exit_with_parent", "usable_cores"]

log = logging.getLogger(__name__)

_NICE = 10
"""How much lower than the caller's the side process's CPU priority is (``nice`` steps)."""

_STOP_WAIT_S = 0.1
"""How long :meth:`BackgroundMetrics.close` lets the side process exit before terminating it."""


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def exit_with_parent(parent: int) -> None:
    """In a child process: exit within a second once process ``parent`` is no longer its parent.

    ``kill -9`` gives the parent no chance to stop its children; a daemon thread polls the
    parent's pid and ends the process when it changes (the child was re-parented). The parent
    passes its pid: a parent killed while the child was still importing has already left by
    the time the child could ask for it, and the child then exits at once.

    Args:
        parent: The pid of the process that started this one (its ``os.getpid()``).
    """
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _serve(parent: int, recipe: MetricsRecipe, requests: Queue[Any], results: Queue[Any]) -> None:
    """The side process: build the metrics function, then answer batches of genome keys.

    Requests are lists of canonical keys (None stops the process); each answer is
    ``("ok", key, metrics)``, or ``("error", key or None, message)`` after which it stops.
    """
    exit_with_parent(parent)
    try:
        import torch

        torch.set_num_threads(1)  # the profiler run of the formula check: one core, not both
        compute = recipe.build()
    except BaseException as exc:  # reported to the caller, which computes instead
        results.put(("error", None, _one_line(exc)))
        return
    while True:
        keys = requests.get()
        if keys is None:
            return
        for key in keys:
            try:
                metrics = compute(Genome.parse(key))
            except BaseException as exc:
                results.put(("error", key, _one_line(exc)))
                return
            results.put(("ok", key, metrics))


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while a child starts; the child is born with SIGINT blocked.

    SIGINT is blocked in this thread (a child inherits the mask: Ctrl-C is the caller's to
    handle). And a signal must not interrupt the start half-way: the child would then read a
    truncated start-up message and print a traceback. So, in the main thread, the Python
    handlers of SIGINT and SIGTERM only record what arrives until the child has started; the
    recorded signals are then raised again, to the handlers that were there before.
    """
    caught: list[int] = []
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for held in (signal.SIGINT, signal.SIGTERM):
            previous[held] = signal.signal(held, lambda number, frame: caught.append(number))
    mask = None
    if hasattr(signal, "pthread_sigmask"):
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)


def _lower_priority(pid: int | None) -> None:
    """Give process ``pid`` the lowest CPU priority but one (nice +:data:`_NICE` from ours).

    The side process is to use otherwise idle cores: when the cores are busy (training, other
    jobs), the kernel gives it what they leave, and the coordinator computes the metrics it
    needs itself rather than wait. Best effort: not every platform allows it.
    """
    if pid is None or not hasattr(os, "setpriority"):  # pragma: no cover - not on POSIX
        return
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(19, ours + _NICE))
    except OSError as exc:  # pragma: no cover - e.g. a sandbox without the permission
        log.debug("could not lower the priority of the metrics side process: %s", exc)


class BackgroundMetrics:
    """Computes genomes' metrics in one side process (see the module docstring).

    Not thread-safe: use it from one thread of the calling process.

    Args:
        recipe: How to build the metrics function in the side process.

    Attributes:
        problem: Why the side process was turned off (one line), or None while it works.
    """

    def __init__(self, recipe: MetricsRecipe) -> None:
        self.recipe = recipe
        self.problem: str | None = None
        self._process: SpawnProcess | None = None
        self._requests: Queue[Any] | None = None
        self._results: Queue[Any] | None = None
        self._arrived: dict[str, dict[str, Any]] = {}
        self._asked: set[str] = set()
        self._taken: set[str] = set()

    @property
    def usable(self) -> bool:
        """Whether the side process is (or may still be) working."""
        return self.problem is None

    @property
    def pid(self) -> int | None:
        """The side process's id while it runs, else None."""
        return None if self._process is None else self._process.pid

    def wait(self, timeout_s: float) -> bool:
        """Block until every genome asked for has arrived or the side process is turned off.

        For callers that have nothing else to do (a search never calls it).

        Args:
            timeout_s: Longest wait, seconds.

        Returns:
            Whether every genome asked for has arrived (and not been taken yet).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self._drain()
            if not self.usable:
                return False
            if self._asked <= self._taken | set(self._arrived):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def submit(self, genomes: Sequence[Genome]) -> None:
        """Ask for the metrics of ``genomes`` (in this order); starts the process on first use.

        Genomes already asked for are not asked again. Does nothing once turned off.
        """
        if not self.usable:
            return
        keys = [g.key for g in genomes if g.key not in self._asked]
        if not keys:
            return
        try:
            if self._process is None:
                self._start()
            assert self._requests is not None
            self._requests.put(keys)
        except (OSError, ValueError, RuntimeError) as exc:
            self._fail(f"it could not be started ({_one_line(exc)})")
            return
        self._asked.update(keys)

    def result(self, genome: Genome) -> dict[str, Any] | None:
        """The metrics of ``genome`` if they have arrived, else None (never waits).

        None also when it was never asked for, or once the side process is turned off; the
        caller then computes them itself.
        """
        self._drain()
        found = self._arrived.pop(genome.key, None)
        if found is not None:
            self._taken.add(genome.key)
        return found

    def close(self) -> None:
        """Stop the side process (terminated if it does not exit at once); idempotent."""
        process, self._process = self._process, None
        requests, self._requests = self._requests, None
        results, self._results = self._results, None
        self._arrived.clear()
        self._asked.clear()
        self._taken.clear()
        if process is not None:
            if requests is not None:
                with suppress(OSError, ValueError):
                    requests.put(None)
            process.join(_STOP_WAIT_S)
            if process.is_alive():
                process.terminate()  # mid-computation: nothing of value in flight
                process.join(5.0)
        for q in (requests, results):
            if q is not None:
                q.cancel_join_thread()  # never block this process's exit on a dead reader
                q.close()

    # -------------------------------------------------------------------------------- inside
    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._requests = context.Queue()
        self._results = context.Queue()
        process = context.Process(
            target=_serve,
            args=(os.getpid(), self.recipe, self._requests, self._results),
            name="faqnas-metrics",
            daemon=True,  # ended with this process even if close() is never called
        )
        with _signals_held():
            process.start()
            self._process = process  # before a held Ctrl-C is raised again: close() stops it
        _lower_priority(process.pid)
        log.debug("metrics side process %s started", process.pid)

    def _drain(self) -> None:
        if self._results is None or not self.usable:
            return
        while True:
            try:
                status, key, value = self._results.get_nowait()
            except queue.Empty:
                break
            except (OSError, ValueError, EOFError) as exc:
                self._fail(f"its answers could not be read ({_one_line(exc)})")
                return
            if status != "ok":
                where = f" on {key}" if key is not None else ""
                self._fail(f"it failed{where} ({value})")
                return
            self._arrived[key] = value
        process = self._process
        if process is not None and not process.is_alive():
            self._fail(f"it exited with status {process.exitcode}")

    def _fail(self, why: str) -> None:
        self.problem = why
        log.warning("metrics side process turned off: %s; computing metrics in this process.", why)
        self.close()
