"""What runs on a Dask worker: the dataset plugin, the task wrapper and the version probe.

:class:`DatasetPlugin` holds a run's dataset on every worker (sent once per run, kept for workers
that join or restart later), warms the worker up and pauses its statistical profiler;
:func:`evaluate_on_worker` runs a :data:`TaskFunction` or :data:`GroupFunction` there with the
run's torch thread count. :class:`~faqnas_qiskit.search.distributed.DaskEvaluator`, on the
coordinator, submits them.

Importing this module needs the ``dask`` extra (``pip install 'faqnas-qiskit[dask]'``); without
it the import raises :class:`~faqnas_qiskit.errors.ConfigError` with that command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.errors import ClusterError, ConfigError
from faqnas_qiskit.search.candidate import CandidateOutcome, CandidateTask
from faqnas_qiskit.space import Genome

try:
    import distributed
except ImportError as _missing:  # pragma: no cover - the dask extra is installed in CI
    raise ConfigError(
        "Parallel and cluster evaluation (--workers, --scheduler) need dask.distributed, which "
        f"is not installed ({_missing}). Install it with: pip install 'faqnas-qiskit[dask]'."
    ) from None

if TYPE_CHECKING:
    from distributed import Worker

__all__ = ["DatasetPlugin", "GroupFunction", "TaskFunction", "evaluate_on_worker"]

TaskFunction = Callable[[CandidateTask, Dataset], CandidateOutcome]
"""Evaluates one task on a dataset; must be picklable (a module-level function or a
``functools.partial`` of one)."""

GroupFunction = Callable[[Sequence[CandidateTask], Dataset], list[CandidateOutcome]]
"""Evaluates one population group (tasks with the same ``group``) on a dataset, one outcome per
task in order; must be picklable."""

# the worker's periodic callbacks of its statistical profiler (distributed.worker.profile)
_PROFILER_CALLBACKS = ("profile", "profile-cycle")


def _warm_up(torch_threads: int) -> None:
    """Import and exercise the evaluation stack once, so the first candidate does not pay it.

    The first evaluation in a fresh process imports Qiskit and parts of torch (its optimiser
    pulls in ``torch._dynamo``): about two seconds. Training a two-qubit network on eight
    synthetic samples does it here. Seeds are explicit, so this leaves no trace in results.
    """
    import numpy as np
    import torch

    from faqnas_qiskit.evaluation import TrainingConfig, evaluate_genome

    torch.set_num_threads(torch_threads)
    x = np.linspace(-1.0, 1.0, 16).reshape(8, 2)
    y = np.array([0, 1] * 4, dtype=np.int64)
    tiny = Dataset("warm-up", x, y, x.copy(), y.copy(), x.copy(), y.copy(), ("a", "b"))
    evaluate_genome(Genome.parse("q2-angle-cx-linear-ry"), tiny, TrainingConfig(epochs=1))


class DatasetPlugin(distributed.WorkerPlugin):  # type: ignore[misc]
    """Holds a run's dataset on every worker, warms the worker up and pauses its profiler.

    Registered once per evaluator; the scheduler sends it to every current worker and to every
    worker that connects later, including one restarted after a crash.

    The worker's statistical profiler walks the training thread's Python stack every 10 ms
    on the worker's event loop, holding the GIL while it does; with autograd's deep stacks
    that took about 5% of the CPU a candidate needs (measured on Digits). Nothing here reads
    the profile, so it is paused while the plugin is registered and resumed on teardown.

    Args:
        dataset: The run's dataset.
        torch_threads: Torch intra-op threads to set while warming up, at least 1.
    """

    idempotent = False

    def __init__(self, dataset: Dataset, torch_threads: int) -> None:
        self.dataset = dataset
        self.torch_threads = torch_threads
        self._paused: list[str] = []

    async def setup(self, worker: Worker) -> None:
        """Pause the worker's profiler, and warm the worker up off its event loop."""
        self._paused = []
        for name in _PROFILER_CALLBACKS:
            callback = worker.periodic_callbacks.get(name)
            if callback is not None and callback.is_running():
                callback.stop()
                self._paused.append(name)
        await asyncio.get_running_loop().run_in_executor(None, _warm_up, self.torch_threads)

    def teardown(self, worker: Worker) -> None:
        """Resume the profiler (a shared cluster outlives the run)."""
        for name in self._paused:
            callback = worker.periodic_callbacks.get(name)
            if callback is not None:
                callback.start()


def evaluate_on_worker(
    evaluate: Callable[[Any, Dataset], Any], task: Any, plugin: str, torch_threads: int
) -> Any:
    """Run ``evaluate(task, dataset)`` on a Dask worker with ``torch_threads`` torch threads.

    The thread count is set on every call, in the thread that trains: torch's setting is
    per-thread under OpenMP, and a restarted worker must train like the others.

    Args:
        evaluate: The task function (:func:`run_candidate` by default, or a
            :data:`GroupFunction` for a population group).
        task: The candidate (or the group's tasks).
        plugin: Name of the :class:`DatasetPlugin` that holds the dataset on this worker.
        torch_threads: Torch intra-op threads.

    Returns:
        The candidate's outcome (the group's outcomes).

    Raises:
        ClusterError: If the worker does not hold the dataset (the evaluator was closed).
    """
    import torch

    holder = distributed.get_worker().plugins.get(plugin)
    if not isinstance(holder, DatasetPlugin):
        raise ClusterError(
            f"The Dask worker must hold the dataset plugin {plugin!r}. Got none instead. The "
            "evaluator was closed while candidates were running."
        )
    if torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)
    return evaluate(task, holder.dataset)


def _versions() -> dict[str, str]:
    """Versions of the packages a candidate's result depends on (compared across processes)."""
    import torch

    import faqnas_qiskit

    return {"faqnas-qiskit": faqnas_qiskit.__version__, "torch": torch.__version__}
