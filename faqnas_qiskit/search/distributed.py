"""Candidate evaluation on Dask workers: local worker processes or an existing cluster.

:class:`DaskEvaluator` implements the :class:`~faqnas_qiskit.search.candidate.Evaluator`
protocol on top of ``dask.distributed`` (DESIGN §7). The coordinator (the process that runs
:class:`~faqnas_qiskit.search.runner.SearchRunner`) keeps the store; each worker receives the
dataset once per run and a small :class:`CandidateTask` per candidate, and sends back a
:class:`CandidateOutcome`. A worker never touches the store.

The dataset travels in a worker plugin rather than as scattered data: the scheduler hands the
plugin to every worker that is connected or joins later (a worker restarted after a crash
included), and nothing evicts it. Data scattered with ``broadcast=True`` has neither property:
the scheduler's active memory manager drops the extra copies within seconds (dask/dask#11148),
and when the worker holding the last copy dies the data is gone and every candidate that
needed it is cancelled. The scheduler keeps one serialised copy of the dataset while the
evaluator is open.

Determinism: a candidate's outcome is a function of its task alone (its seed derives from the
run seed and its canonical key), every task runs with the same number of torch threads (one,
unless told otherwise), and the runner orders outcomes itself, so neither the number of workers
nor the completion order changes a stored result.

Faults: when a worker process dies while it evaluates a candidate, the scheduler runs the
candidate again on another worker, up to its ``allowed-failures`` bound; past it, the candidate
is yielded as a failed outcome of kind ``FailureKind.INFRASTRUCTURE`` whose error starts with
``"KilledWorker: "`` (the runner stores it, and a resumed or later run trains it again: see
:func:`~faqnas_qiskit.search.results.infrastructure_failure`). Losing the
scheduler ends :meth:`DaskEvaluator.map` with a :class:`ClusterError`; the coordinator has
stored every outcome it received, so the run can be resumed.

Importing this module needs the ``dask`` extra (``pip install 'faqnas-qiskit[dask]'``); without
it the import raises :class:`~faqnas_qiskit.errors.ConfigError` with that command.

The worker side (:class:`DatasetPlugin`, :func:`evaluate_on_worker`, the task function types)
is in :mod:`faqnas_qiskit.search.dask_worker` and the submission order's cost estimate
(:func:`estimated_cost`) in :mod:`faqnas_qiskit.search.task_cost`; both are re-exported here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.errors import ClusterError, ConfigError, invalid
from faqnas_qiskit.limits import check
from faqnas_qiskit.search.candidate import (
    CandidateOutcome,
    CandidateTask,
    run_candidate,
    run_group,
    task_units,
    trains_alone,
)
from faqnas_qiskit.search.dask_worker import (
    DatasetPlugin,
    GroupFunction,
    TaskFunction,
    _versions,
    evaluate_on_worker,
)
from faqnas_qiskit.search.task_cost import _unit_cost, estimated_cost
from faqnas_qiskit.store import FailureKind

try:
    import distributed
except ImportError as _missing:  # pragma: no cover - the dask extra is installed in CI
    raise ConfigError(
        "Parallel and cluster evaluation (--workers, --scheduler) need dask.distributed, which "
        f"is not installed ({_missing}). Install it with: pip install 'faqnas-qiskit[dask]'."
    ) from None

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

__all__ = [
    "ClusterError",
    "DaskEvaluator",
    "DatasetPlugin",
    "GroupFunction",
    "TaskFunction",
    "estimated_cost",
    "evaluate_on_worker",
]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------ helpers
def _killed_message(exc: BaseException) -> str:
    """``"KilledWorker: ..."``, shorter than Dask's own message (it goes into the store)."""
    try:
        attempts = int(exc.args[2]) + 1
        last = str(getattr(exc.args[1], "address", exc.args[1]))
    except (IndexError, TypeError, ValueError):
        return _one_line(exc)
    return (
        f"KilledWorker: {attempts} worker{'s' if attempts > 1 else ''} died while evaluating "
        "this candidate "
        f"(the last one {last})"
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------------------------- evaluator
class DaskEvaluator:
    """Evaluates candidates on Dask workers; yields outcomes as they finish.

    Build one with :meth:`local` (worker processes on this machine, started and stopped by the
    evaluator) or :meth:`connect` (an existing cluster); the constructor takes a connected
    client for other set-ups. Use it as a context manager, or call :meth:`close`.

    Args:
        client: A connected ``distributed.Client``; closed by :meth:`close`.
        dataset: The run's dataset, sent to every worker now (once per evaluator).
        torch_threads: Torch intra-op threads per task, at least 1. Keep the same value in
            every mode (one thread, the default) for identical results across modes.
        evaluate: The task function, run on the workers.
        evaluate_group: The function that trains a population group (tasks that share a
            ``group``) on one worker.
        cluster: A cluster the evaluator owns and closes after the client, or None.

    Attributes:
        address: The scheduler's address.
        torch_threads: Torch intra-op threads per task.
        startup_s: Wall time of starting or connecting, sending the dataset and warming the
            workers up, seconds.

    Raises:
        ClusterError: If the dataset cannot be sent to the workers.
    """

    def __init__(
        self,
        client: Client,
        dataset: Dataset,
        *,
        torch_threads: int = 1,
        evaluate: TaskFunction = run_candidate,
        evaluate_group: GroupFunction = run_group,
        cluster: LocalCluster | None = None,
    ) -> None:
        started = time.perf_counter()
        check("threads", torch_threads)
        self.torch_threads = torch_threads
        self._client = client
        self._cluster = cluster
        self._evaluate = evaluate
        self._evaluate_group = evaluate_group
        self._closed = False
        self._plugin = f"faqnas-dataset-{uuid.uuid4().hex[:12]}"
        self.address: str = str(client.scheduler.address)
        try:
            replies = client.register_plugin(
                DatasetPlugin(dataset, self.torch_threads), name=self._plugin
            )
            failed = {w: r for w, r in (replies or {}).items() if r.get("status") != "OK"}
            if failed:
                worker, reply = sorted(failed.items())[0]
                raise ClusterError(
                    f"Dask worker {worker} could not load the dataset "
                    f"({reply.get('exception', reply)}). Every worker must run the same "
                    "faqnas-qiskit and torch as the coordinator."
                )
            self._check_versions(client.run(_versions))
        except (OSError, CancelledError) as exc:
            self.close()
            raise ClusterError(
                f"Could not send the dataset to the workers of the Dask scheduler at "
                f"{self.address} ({_one_line(exc)}). Check that the scheduler and its workers "
                "are running."
            ) from exc
        except ClusterError:
            self.close()
            raise
        self.startup_s = time.perf_counter() - started
        log.info(
            "dask evaluator ready: scheduler %s, %d workers, dataset %s sent in %.2f s",
            self.address,
            self.workers,
            dataset.name,
            self.startup_s,
        )

    # ---------------------------------------------------------------------------- construction
    @classmethod
    def local(
        cls,
        dataset: Dataset,
        workers: int = 2,
        *,
        threads_per_worker: int = 1,
        torch_threads: int = 1,
        retries: int = 3,
        evaluate: TaskFunction = run_candidate,
        evaluate_group: GroupFunction = run_group,
    ) -> DaskEvaluator:
        """Start ``workers`` worker processes on this machine (a ``LocalCluster`` on loopback).

        Args:
            dataset: The run's dataset.
            workers: Worker processes, at least 1.
            threads_per_worker: Candidates each worker trains at once, at least 1.
            torch_threads: Torch intra-op threads per task, at least 1.
            retries: How many times a candidate whose worker died runs again (the scheduler's
                ``allowed-failures``), at least 0.
            evaluate: The task function.

        Returns:
            An evaluator that owns the cluster and stops it on :meth:`close`; its
            ``startup_s`` includes starting the processes.

        Raises:
            ConfigError: If an option is out of range.
            ClusterError: If the cluster does not start.
        """
        for name, value in (
            ("workers", workers),
            ("threads-per-worker", threads_per_worker),
            ("threads", torch_threads),
            ("retries", retries),
        ):
            check(name, value)
        started = time.perf_counter()
        try:
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,  # failures are reported as outcomes and errors
                # no dashboard; its HTTP server (health checks) on any free loopback port
                scheduler_kwargs={"allowed_failures": retries, "dashboard_address": "127.0.0.1:0"},
            )
        except (OSError, RuntimeError, TimeoutError) as exc:
            raise ClusterError(
                f"Could not start {workers} local Dask workers ({_one_line(exc)}). Try fewer "
                "--workers, or run without --workers."
            ) from exc
        try:
            client = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        evaluator = cls(
            client,
            dataset,
            torch_threads=torch_threads,
            evaluate=evaluate,
            evaluate_group=evaluate_group,
            cluster=cluster,
        )
        evaluator.startup_s = time.perf_counter() - started
        return evaluator

    @classmethod
    def connect(
        cls,
        dataset: Dataset,
        address: str,
        *,
        timeout: float = 5.0,
        wait_for_workers: float = 30.0,
        torch_threads: int = 1,
        evaluate: TaskFunction = run_candidate,
        evaluate_group: GroupFunction = run_group,
    ) -> DaskEvaluator:
        """Use an existing Dask cluster (``dask scheduler`` and ``dask worker`` processes).

        Every worker must import the same versions of faqnas-qiskit and torch as the
        coordinator (a mismatch is logged as a warning); the store stays with the coordinator.
        How often a candidate whose worker died runs again is the scheduler's own
        ``distributed.scheduler.allowed-failures`` setting (3 unless configured otherwise).

        Args:
            dataset: The run's dataset.
            address: The scheduler's address, e.g. ``"tcp://10.0.0.5:8786"``.
            timeout: Seconds to wait for the scheduler to answer, > 0.
            wait_for_workers: Seconds to wait for at least one worker, > 0.
            torch_threads: Torch intra-op threads per task, at least 1.
            evaluate: The task function.

        Returns:
            An evaluator that leaves the cluster running on :meth:`close`.

        Raises:
            ConfigError: If the address is malformed or an option is out of range.
            ClusterError: If no scheduler answers at ``address`` within ``timeout`` seconds,
                or no worker joins it within ``wait_for_workers`` seconds.
        """
        check("timeout", timeout)
        check("wait-for-workers", wait_for_workers)
        check("threads", torch_threads)
        fix = "Pass the address that 'dask scheduler' prints, e.g. --scheduler tcp://HOST:8786."
        if not isinstance(address, str) or not address.strip():
            raise ConfigError(
                invalid("scheduler", "the address of a Dask scheduler", address, fix, what="option")
            )
        started = time.perf_counter()
        try:
            client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                invalid(
                    "scheduler",
                    f"the address of a Dask scheduler ({_one_line(exc)})",
                    address,
                    fix,
                    what="option",
                )
            ) from None
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"No Dask scheduler answered at {address!r} within {timeout:g} s. Start one with "
                "'dask scheduler' (it prints its address) and workers with 'dask worker "
                "ADDRESS', then pass that address to --scheduler."
            ) from exc
        try:
            client.wait_for_workers(1, timeout=wait_for_workers)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise ClusterError(
                f"The Dask scheduler at {address!r} must have at least one worker. Got none "
                f"within {wait_for_workers:g} s. Start workers with 'dask worker {address}'."
            ) from exc
        evaluator = cls(
            client,
            dataset,
            torch_threads=torch_threads,
            evaluate=evaluate,
            evaluate_group=evaluate_group,
        )
        evaluator.startup_s = time.perf_counter() - started
        return evaluator

    # ------------------------------------------------------------------------------- protocol
    @property
    def client(self) -> Client:
        """The ``distributed.Client`` (for diagnostics: dashboards, ``client.run``)."""
        return self._client

    @property
    def workers(self) -> int:
        """Workers connected to the scheduler now."""
        if self._closed:
            return 0
        return len(self._client.nthreads())

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        """Evaluate ``tasks`` on the workers; yield each outcome as it arrives.

        Candidates go out longest first (by :func:`estimated_cost`), and no more at a time
        than the cluster has worker threads: each one is handed to the first worker that
        frees up (greedy list scheduling, so the workers finish close together), and a worker
        that dies takes down only the candidate it was running, never one queued behind it.
        A population group (tasks that share a ``group``) goes out as one unit, trained on
        one worker, its cost the sum of its members'. Outcomes come in order of completion.
        Leaving the loop early cancels the candidates still running.

        Raises:
            ClusterError: If the connection to the scheduler is lost, or a worker cannot run
                the task function at all (e.g. it cannot import faqnas_qiskit). Outcomes
                yielded before the error are complete and can be stored.
        """
        if not tasks:
            return
        if self._closed:
            raise ClusterError("The Dask evaluator is closed; create a new one to evaluate.")
        units = task_units(tasks)
        queue = deque(sorted(units, key=lambda u: -_unit_cost(u)))  # stable: ties keep order
        running: dict[Any, tuple[Future, list[CandidateTask], float]] = {}
        finished = distributed.as_completed(loop=self._client.loop)
        try:
            self._top_up(queue, running, finished)
            for future in finished:
                _, unit, submitted = running.pop(future.key)
                outcomes = self._outcomes(future, unit, submitted)
                self._top_up(queue, running, finished)
                yield from outcomes
        except (OSError, CancelledError) as exc:
            raise ClusterError(
                f"Lost the Dask scheduler at {self.address} ({_one_line(exc)}). Finished "
                "evaluations are stored; restart the scheduler and workers, then resume the run."
            ) from exc
        finally:
            if running and not self._closed and self._client.status == "running":
                try:
                    self._client.cancel([future for future, _, _ in running.values()])
                except Exception:  # the scheduler may be going away
                    log.debug("could not cancel %d running tasks", len(running), exc_info=True)

    def _top_up(
        self,
        queue: deque[list[CandidateTask]],
        running: dict[Any, tuple[Future, list[CandidateTask], float]],
        finished: Any,
    ) -> None:
        """Submit queued units until every worker thread has one (at least one runs)."""
        if not queue:
            return
        slots = max(1, sum(self._client.nthreads().values()))
        while queue and len(running) < slots:
            unit = queue.popleft()
            alone = trains_alone(unit)
            future: Future = self._client.submit(
                evaluate_on_worker,
                self._evaluate if alone else self._evaluate_group,
                unit[0] if alone else tuple(unit),
                self._plugin,
                self.torch_threads,
                key=f"candidate-{unit[0].key}-{uuid.uuid4().hex[:12]}",
                pure=False,
            )
            running[future.key] = (future, unit, time.perf_counter())
            finished.add(future)

    def close(self) -> None:
        """Drop the dataset from the workers, close the client, stop an owned cluster."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._cluster is None and self._client.status == "running":
                # a shared cluster outlives the run: free the workers' copies of the dataset
                try:
                    self._client.unregister_worker_plugin(self._plugin)
                except Exception:  # never registered, or the scheduler is gone
                    log.debug("could not unregister %s", self._plugin, exc_info=True)
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()

    def __enter__(self) -> DaskEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------------------------- helpers
    def _outcomes(
        self, future: Future, unit: list[CandidateTask], submitted: float
    ) -> list[CandidateOutcome]:
        """The outcomes of one finished unit, one per task in order."""
        names = ", ".join(task.key for task in unit)
        try:
            result = future.result()
        except distributed.KilledWorker as exc:
            # the unit took down every worker it ran on: a result, like a training error
            error = _killed_message(exc)
            log.warning("candidate %s failed: %s", names, error)
            seconds = time.perf_counter() - submitted
            kind = FailureKind.INFRASTRUCTURE
            return [CandidateOutcome.failed(task, error, seconds, kind) for task in unit]
        except (OSError, CancelledError, ClusterError):
            raise
        except Exception as exc:
            # run_candidate turns every training error into an outcome, so this is the
            # worker's environment (unpicklable task, missing package), not the candidate
            raise ClusterError(
                f"A Dask worker could not evaluate candidate {names} ({_one_line(exc)}). "
                "Every worker must run the same faqnas-qiskit and torch as the coordinator."
            ) from exc
        outcomes = result if isinstance(result, list) else [result]
        if len(outcomes) != len(unit) or not all(
            isinstance(o, CandidateOutcome) and o.key == t.key
            for o, t in zip(outcomes, unit, strict=False)
        ):
            raise ClusterError(
                f"A Dask worker must return one CandidateOutcome per task for candidate {names}. "
                f"Got {type(result).__name__} instead. Check the evaluator's task function."
            )
        return outcomes

    def _check_versions(self, versions: dict[str, dict[str, str]]) -> None:
        mine = _versions()
        for worker, theirs in sorted(versions.items()):
            if theirs != mine:
                log.warning(
                    "worker %s runs %s, the coordinator %s: results may differ from a local run",
                    worker,
                    theirs,
                    mine,
                )
