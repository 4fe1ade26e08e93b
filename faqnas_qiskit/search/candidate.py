"""One candidate's evaluation as a task: plain data in, plain data out (picklable for workers)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.evaluation import TrainingConfig, evaluate_repeats
from faqnas_qiskit.evaluation.batched import RepeatResult
from faqnas_qiskit.evaluation.population import PopulationMember, evaluate_population
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import FailureKind, encode

__all__ = [
    "CandidateOutcome",
    "CandidateTask",
    "Evaluator",
    "RepeatOutcome",
    "SerialEvaluator",
    "run_candidate",
    "run_group",
    "run_unit",
    "task_units",
    "trains_alone",
]


@dataclass(frozen=True)
class CandidateTask:
    """What a worker needs to train one candidate (the dataset travels separately).

    No cost metrics: training does not read them, and they stay on the coordinator, which
    stores them with the outcome (once per architecture), so that they can be computed while
    the candidate trains.

    Attributes:
        key: Canonical key.
        seed: The candidate's seed (initial weights, batch orders).
        training: Training configuration.
        repeats: Repeat indices to train (DESIGN §4.1), as one batched computation.
        split_seed: The dataset's split seed, from which repeat r > 0 draws its split.
        group: Population batching: the tasks of one :meth:`Evaluator.map` call that carry the
            same group number train together as one batched computation (:func:`run_group`),
            on one worker; None trains the task alone (:func:`run_candidate`). The runner fixes
            the groups from the run alone, never from the scheduling, because in float32 a
            model's last digits depend on what trains beside it.
    """

    key: str
    seed: int
    training: TrainingConfig
    repeats: tuple[int, ...] = (0,)
    split_seed: int = 0
    group: int | None = None


@dataclass(frozen=True)
class RepeatOutcome:
    """One trained repeat: ``record`` (EvaluationRecord JSON) or ``error``, never both.

    Attributes:
        repeat: Repeat index.
        record: JSON form of the EvaluationRecord when training succeeded.
        error: ``"<Type>: <message>"`` when it failed.
        weights: ``torch.save`` bytes of the trained state dict, or None.
        failure: Why it failed: the candidate itself (``TRAINING``, final) or the workers
            evaluating it (``INFRASTRUCTURE``, trained again later); ignored without ``error``.
    """

    repeat: int
    record: dict[str, Any] | None
    error: str | None
    weights: bytes | None
    failure: FailureKind = FailureKind.TRAINING


@dataclass(frozen=True)
class CandidateOutcome:
    """A finished candidate task: one outcome per repeat it trained (no cost metrics: the
    coordinator adds them when it stores the outcome).

    Attributes:
        key: Canonical key.
        seed: The candidate's seed.
        repeats: One outcome per repeat of the task, in the task's order.
        seconds: Wall time of the task, seconds.
    """

    key: str
    seed: int
    repeats: tuple[RepeatOutcome, ...]
    seconds: float

    @property
    def error(self) -> str | None:
        """The first failed repeat's error, or None when every repeat succeeded."""
        return next((r.error for r in self.repeats if r.error is not None), None)

    @property
    def record(self) -> dict[str, Any] | None:
        """The record of the task's first repeat (repeat 0 unless topping up), or None."""
        return self.repeats[0].record if self.repeats else None

    @property
    def weights(self) -> bytes | None:
        """The trained weights of the task's first repeat, or None."""
        return self.repeats[0].weights if self.repeats else None

    @property
    def failure(self) -> FailureKind | None:
        """The kind of the first failed repeat's failure, or None when every repeat succeeded."""
        return next((r.failure for r in self.repeats if r.error is not None), None)

    @classmethod
    def failed(
        cls,
        task: CandidateTask,
        error: str,
        seconds: float,
        kind: FailureKind = FailureKind.TRAINING,
    ) -> CandidateOutcome:
        """Every repeat of ``task`` failed with ``error``, of the given kind."""
        return cls(
            task.key,
            task.seed,
            tuple(RepeatOutcome(r, None, error, None, kind) for r in task.repeats),
            seconds,
        )


def run_candidate(task: CandidateTask, dataset: Dataset) -> CandidateOutcome:
    """Train and score the repeats of one candidate; any exception becomes a failed outcome.

    A non-finite loss (``TrainingError``) or any other error in training is caught, so that a
    search goes on; KeyboardInterrupt and SystemExit are not.
    """
    started = time.perf_counter()
    try:
        results = evaluate_repeats(
            Genome.parse(task.key),
            dataset,
            task.training,
            seed=task.seed,
            split_seed=task.split_seed,
            repeats=task.repeats,
        )
    except Exception as exc:  # a failed candidate is a result, not a crash
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        return CandidateOutcome.failed(task, message, time.perf_counter() - started)
    return _outcome(task, results, time.perf_counter() - started)


def _outcome(
    task: CandidateTask, results: Sequence[RepeatResult], seconds: float
) -> CandidateOutcome:
    return CandidateOutcome(
        task.key,
        task.seed,
        tuple(
            RepeatOutcome(
                r.repeat, None if r.record is None else encode(r.record), r.error, r.weights
            )
            for r in results
        ),
        seconds,
    )


def run_group(tasks: Sequence[CandidateTask], dataset: Dataset) -> list[CandidateOutcome]:
    """Train the candidates of one population group as one batched computation.

    The tasks share the training configuration and split seed, and (when the group holds
    more than one candidate) the qubit count and embedding
    (:func:`~faqnas_qiskit.evaluation.population.population_groups`). Each candidate keeps its
    own seed, weights, batch orders, splits and optimiser state, so its results equal training
    it alone up to the order of floating-point operations (float64: 1e-8). When the batched
    computation cannot run at all, every candidate is trained alone (:func:`run_candidate`);
    a non-finite loss fails its own model only.

    Args:
        tasks: The group's tasks, in the run's order.
        dataset: The run's dataset.

    Returns:
        One outcome per task, in the order of ``tasks``; each outcome's ``seconds`` is its
        share of the group's wall time, in proportion to its repeats.
    """
    if not tasks:
        return []
    first = tasks[0]
    if any(t.training != first.training or t.split_seed != first.split_seed for t in tasks):
        raise ConfigError(
            invalid(
                "group",
                "tasks with one training configuration and split seed",
                [t.key for t in tasks],
                "Group only the candidates of one run's generation.",
            )
        )
    models = sum(len(t.repeats) for t in tasks)  # repeats are never empty: >= 1
    started = time.perf_counter()
    try:
        members = [PopulationMember(Genome.parse(t.key), t.seed, t.repeats) for t in tasks]
        results = evaluate_population(
            members,
            dataset,
            first.training,
            split_seed=first.split_seed,
            max_models=models,
        )
    except Exception:  # the group cannot train at all: each candidate alone (its own errors)
        return [run_candidate(task, dataset) for task in tasks]
    total = time.perf_counter() - started
    return [
        _outcome(task, result, total * len(task.repeats) / models)
        for task, result in zip(tasks, results, strict=True)
    ]


def task_units(tasks: Sequence[CandidateTask]) -> list[list[CandidateTask]]:
    """``tasks`` cut into what trains as one computation: each group, each ungrouped task.

    Units come in the order of their first task; a group's tasks keep their order.
    """
    units: list[list[CandidateTask]] = []
    groups: dict[int, list[CandidateTask]] = {}
    for task in tasks:
        if task.group is None:
            units.append([task])
        elif task.group in groups:
            groups[task.group].append(task)
        else:
            groups[task.group] = [task]
            units.append(groups[task.group])
    return units


def trains_alone(unit: Sequence[CandidateTask]) -> bool:
    """Whether a unit of :func:`task_units` is one ungrouped task (:func:`run_candidate`)."""
    return len(unit) == 1 and unit[0].group is None


def run_unit(tasks: Sequence[CandidateTask], dataset: Dataset) -> list[CandidateOutcome]:
    """One unit of :func:`task_units`: a group (:func:`run_group`) or one task alone."""
    if trains_alone(tasks):
        return [run_candidate(tasks[0], dataset)]
    return run_group(tasks, dataset)


class Evaluator(Protocol):
    """Runs candidate tasks and yields their outcomes as they finish (any order).

    Tasks that share a ``group`` number train together as one computation
    (:func:`task_units`, :func:`run_unit`), on one worker.
    """

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        """Evaluate ``tasks``."""
        ...

    def close(self) -> None:
        """Release workers."""
        ...


class SerialEvaluator:
    """In-process evaluation, one candidate after another.

    Args:
        dataset: The run's dataset.
        torch_threads: Torch intra-op threads while a task trains (restored afterwards), or
            None to leave torch's setting alone. One thread, the default as on Dask workers,
            gives results identical to
            :class:`~faqnas_qiskit.search.distributed.DaskEvaluator` runs (the thread count
            changes the order of floating-point reductions, hence the last digits) and is the
            fastest for networks of a few qubits.
    """

    def __init__(self, dataset: Dataset, *, torch_threads: int | None = 1) -> None:
        if torch_threads is not None and torch_threads < 1:
            raise ConfigError(invalid("threads", "an integer of at least 1", torch_threads))
        self.dataset = dataset
        self.torch_threads = torch_threads

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        """Evaluate ``tasks`` in order (a group when its first task comes)."""
        for unit in task_units(tasks):
            previous = torch.get_num_threads()
            if self.torch_threads is not None and previous != self.torch_threads:
                torch.set_num_threads(self.torch_threads)
            try:
                outcomes = run_unit(unit, self.dataset)
            finally:
                if torch.get_num_threads() != previous:
                    torch.set_num_threads(previous)
            yield from outcomes

    def close(self) -> None:
        """Nothing to release."""
