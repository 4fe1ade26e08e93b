"""Parallel and cluster evaluation: same results as in-process, worker deaths, lost schedulers."""

from __future__ import annotations

import functools
import io
import os
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

distributed = pytest.importorskip("distributed")

from faqnas_qiskit.data import Dataset, load_dataset  # noqa: E402
from faqnas_qiskit.errors import ConfigError, FaqnasError  # noqa: E402
from faqnas_qiskit.evaluation import TrainingConfig  # noqa: E402
from faqnas_qiskit.evaluation.train import split_tensors  # noqa: E402
from faqnas_qiskit.search import (  # noqa: E402
    Candidate,
    CandidateTask,
    SearchObserver,
    SearchResult,
    SearchRunner,
    SerialEvaluator,
    run_candidate,
)
from faqnas_qiskit.search.distributed import (  # noqa: E402
    ClusterError,
    DaskEvaluator,
    estimated_cost,
)
from faqnas_qiskit.space import Genome  # noqa: E402
from faqnas_qiskit.store import ResultsStore  # noqa: E402
from tests.search.test_search import SMALL, formula_flops  # noqa: E402


# ----------------------------------------------------------------------- task functions (workers)
def _kill_once(task: CandidateTask, dataset: Dataset, *, victim: str, marker: str) -> Any:
    """Kill this worker process the first time ``victim`` is evaluated anywhere."""
    if task.key == victim:
        try:
            with open(marker, "x") as handle:  # atomic: exactly one attempt gets here
                handle.write(str(os.getpid()))
        except FileExistsError:
            pass
        else:
            os._exit(1)
    return run_candidate(task, dataset)


def _kill_always(task: CandidateTask, dataset: Dataset, *, victim: str) -> Any:
    """Kill this worker process whenever ``victim`` is evaluated."""
    if task.key == victim:
        os._exit(1)
    return run_candidate(task, dataset)


def _stall_unless(task: CandidateTask, dataset: Dataset, *, quick: str) -> Any:
    """Evaluate ``quick``; every other candidate hangs until its worker goes away."""
    if task.key != quick:
        time.sleep(120)
    return run_candidate(task, dataset)


_HELD: list[Dataset] = []  # on a worker: every dataset object a task was given, kept alive


def _record_dataset(task: CandidateTask, dataset: Dataset, *, log: str) -> Any:
    """Evaluate, and log which dataset object and float32 training tensor this worker used.

    The datasets are held, so that a fresh copy per task could not reuse a freed one's id.
    """
    outcome = run_candidate(task, dataset)
    _HELD.append(dataset)
    x, _ = split_tensors(dataset, "train", torch.float32)
    with open(log, "a") as handle:
        handle.write(f"{os.getpid()} {id(dataset)} {x.data_ptr()}\n")
    return outcome


def _broken(task: CandidateTask, dataset: Dataset) -> Any:
    raise RuntimeError("no such module on this worker")


# --------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def iris() -> Dataset:
    return load_dataset("iris", seed=5)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """In-process training with one torch thread, like every worker."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(path: Path, data: Dataset, evaluator: Any, observer: Any = None) -> SearchResult:
    with ResultsStore(path) as store:
        runner = SearchRunner(store, evaluator, formula_flops, data.name, observer)
        return runner.start(SMALL)


def _stored(path: Path) -> list[tuple[Any, ...]]:
    """Every stored evaluation minus wall times, with its trained weights, sorted by key."""
    with ResultsStore(path, create=False) as store:
        rows = []
        for e in store.evaluations():
            record = {k: v for k, v in (e.record or {}).items() if not k.endswith("time_s")}
            blob = store.weights(e.id)
            weights = (
                None
                if blob is None
                else {k: v.tolist() for k, v in torch.load(io.BytesIO(blob)).items()}
            )
            rows.append(
                (e.key, e.seed, e.status, e.error, sorted(record.items()), e.metrics, weights)
            )
        return sorted(rows, key=lambda row: row[0])


def _front(result: SearchResult) -> list[tuple[str, tuple[float, ...]]]:
    return [(c.key, c.objectives) for c in result.front]


@pytest.fixture(scope="module")
def serial(
    tmp_path_factory: pytest.TempPathFactory, iris: Dataset, one_thread: None
) -> tuple[SearchResult, list[tuple[Any, ...]]]:
    path = tmp_path_factory.mktemp("serial") / "s.db"
    result = _run(path, iris, SerialEvaluator(iris))
    return result, _stored(path)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A stand-in for 'dask scheduler' + two 'dask worker' processes, on loopback."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, **_QUIET) as running:
        yield running


_QUIET: dict[str, Any] = {
    "host": "127.0.0.1",
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ----------------------------------------------------------------------------------------- tests
@pytest.mark.slow
def test_two_local_workers_match_serial(
    tmp_path: Path, iris: Dataset, serial: tuple[SearchResult, list[Any]]
) -> None:
    expected, stored = serial
    with DaskEvaluator.local(iris, workers=2) as evaluator:
        assert evaluator.workers == 2 and evaluator.torch_threads == 1
        result = _run(tmp_path / "d.db", iris, evaluator)
    assert result.trained == expected.trained > 6
    assert _front(result) == _front(expected)
    assert _stored(tmp_path / "d.db") == stored


@pytest.mark.slow
def test_cluster_matches_serial_despite_a_killed_worker(
    tmp_path: Path, iris: Dataset, serial: tuple[SearchResult, list[Any]], cluster: Any
) -> None:
    expected, stored = serial
    victim = expected.candidates[0].key  # trained in the first generation
    marker = tmp_path / "killed"
    kill = functools.partial(_kill_once, victim=victim, marker=str(marker))
    with DaskEvaluator.connect(iris, cluster.scheduler_address, evaluate=kill) as evaluator:
        result = _run(tmp_path / "c.db", iris, evaluator)
    assert int(marker.read_text()) != os.getpid()  # a worker died evaluating the victim...
    assert all(c.ok for c in result.candidates)  # ...and another one evaluated it again
    assert _front(result) == _front(expected)
    assert _stored(tmp_path / "c.db") == stored
    # the cluster outlives the evaluator, without the run's dataset
    assert not any(name.startswith("faqnas") for name in cluster.scheduler.worker_plugins)


@pytest.mark.slow
def test_each_worker_gets_the_dataset_once_per_run(
    tmp_path: Path, iris: Dataset, cluster: Any
) -> None:
    """Issue 18: the dataset reaches a worker once, and every task there trains on one copy."""
    keys = [
        "q2-angle-cz-linear-ry",
        "q2-angle-cx-linear-rx",
        "q3-angle-cz-circular-ry",
        "q2-amplitude-cz-linear-ry",
        "q3-angle-cx-linear-ry.rx",
        "q2-angle-cz-linear-rz.ry",
    ]
    tasks = [
        CandidateTask(key=key, seed=i, training=TrainingConfig(epochs=1))
        for i, key in enumerate(keys)
    ]
    assert len(pickle.dumps(tasks[0])) < 2000  # tasks do not carry the data
    log = tmp_path / "used"
    record = functools.partial(_record_dataset, log=str(log))
    with DaskEvaluator.connect(iris, cluster.scheduler_address, evaluate=record) as evaluator:
        for _ in range(2):  # two generations
            assert all(o.error is None for o in evaluator.map(tasks))
    rows = [line.split() for line in log.read_text().splitlines()]
    assert len(rows) == 2 * len(tasks)
    used: dict[str, set[tuple[str, str]]] = {}
    for pid, dataset_id, pointer in rows:
        used.setdefault(pid, set()).add((dataset_id, pointer))
    assert str(os.getpid()) not in used
    assert all(len(objects) == 1 for objects in used.values()), used


@pytest.mark.slow
def test_worker_that_cannot_evaluate_is_a_cluster_error(iris: Dataset, cluster: Any) -> None:
    task = CandidateTask("q2-angle-cx-linear-ry", 1, TrainingConfig(epochs=1))
    with (
        DaskEvaluator.connect(iris, cluster.scheduler_address, evaluate=_broken) as evaluator,
        pytest.raises(ClusterError, match=r"q2-angle-cx-linear-ry .*RuntimeError"),
    ):
        list(evaluator.map([task]))


@pytest.mark.slow
def test_candidate_that_always_kills_its_worker_fails_alone(iris: Dataset) -> None:
    tasks = [
        CandidateTask(key, 7, TrainingConfig(epochs=1))
        for key in ("q2-angle-cx-linear-ry", "q3-angle-cz-linear-rx", "q2-amplitude-cx-linear-rz")
    ]
    victim = tasks[1].key
    always = functools.partial(_kill_always, victim=victim)
    with DaskEvaluator.local(iris, workers=2, retries=0, evaluate=always) as evaluator:
        outcomes = {o.key: o for o in evaluator.map(tasks)}
    assert sorted(outcomes) == sorted(t.key for t in tasks)
    assert outcomes[victim].record is None and outcomes[victim].error is not None
    assert outcomes[victim].error.startswith("KilledWorker: 1 worker died")
    assert all(o.error is None for key, o in outcomes.items() if key != victim), {
        k: o.error for k, o in outcomes.items()
    }


def test_unreachable_scheduler_fails_fast_with_one_line(iris: Dataset) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.perf_counter()
    with pytest.raises(ClusterError) as caught:
        DaskEvaluator.connect(iris, address, timeout=2)
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert elapsed < 10, elapsed
    assert "\n" not in message
    assert address in message and "dask scheduler" in message
    assert isinstance(caught.value, FaqnasError)


@pytest.mark.parametrize("address", ["", "nonsense://host:1"])
def test_malformed_scheduler_address(iris: Dataset, address: str) -> None:
    with pytest.raises(ConfigError, match="'scheduler' option"):
        DaskEvaluator.connect(iris, address)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
        ({"threads_per_worker": 0}, "threads-per-worker"),
        ({"torch_threads": 0}, "threads"),
        ({"retries": -1}, "retries"),
    ],
)
def test_local_options_are_checked_before_starting(
    iris: Dataset, options: dict[str, Any], name: str
) -> None:
    with pytest.raises(ConfigError, match=f"'{name}' option"):
        DaskEvaluator.local(iris, **options)


@pytest.mark.slow
def test_lost_scheduler_ends_the_run_resumably(
    tmp_path: Path, iris: Dataset, serial: tuple[SearchResult, list[Any]]
) -> None:
    expected, stored = serial
    quick = expected.candidates[0].key
    doomed = distributed.LocalCluster(n_workers=1, threads_per_worker=8, **_QUIET)

    class CloseOnFirst(SearchObserver):
        def candidate_finished(self, outcome: Candidate, cached: bool) -> None:
            doomed.close()  # the scheduler goes away while the others are still running

    stall = functools.partial(_stall_unless, quick=quick)
    path = tmp_path / "l.db"
    try:
        evaluator = DaskEvaluator.connect(iris, doomed.scheduler_address, evaluate=stall)
        started = time.perf_counter()
        with pytest.raises(ClusterError, match="resume") as caught:
            _run(path, iris, evaluator, CloseOnFirst())
        assert time.perf_counter() - started < 30
        assert "\n" not in str(caught.value)
        evaluator.close()
    finally:
        doomed.close()
    with ResultsStore(path) as store:
        (run,) = store.list_runs()
        assert run.status == "interrupted"
        assert [e.key for e in store.evaluations()] == [quick]
        again = SearchRunner(store, SerialEvaluator(iris), formula_flops, iris.name).resume(run.id)
    assert again.trained == expected.trained - 1
    assert _front(again) == _front(expected)
    assert _stored(path) == stored


def test_cost_estimate_orders_by_size() -> None:
    def cost(key: str) -> float:
        return estimated_cost(Genome.parse(key))

    assert cost("q2-angle-cx-linear-ry") < cost("q2-angle-cx-linear-ry.ry.ry")
    assert cost("q4-angle-cx-linear-ry.ry.ry") < cost("q9-angle-cx-linear-ry")
    assert cost("q9-amplitude-cz-linear-rx.rx.rx") < cost("q10-angle-cx-circular-ry.ry.ry.ry")
