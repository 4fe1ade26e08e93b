"""One candidate's evaluation as a task: plain data in, plain data out (picklable for workers)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import torch

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.evaluation import TrainingConfig, evaluate_repeats
from faqnas_qiskit.space import Genome

__all__ = [
    "CandidateOutcome",
    "CandidateTask",
    "Evaluator",
    "RepeatOutcome",
    "SerialEvaluator",
    "run_candidate",
]


@dataclass(frozen=True)
class CandidateTask:
    """What a worker needs to train one candidate (the dataset travels separately).

    Attributes:
        key: Canonical key.
        seed: The candidate's seed (initial weights, batch orders).
        training: Training configuration.
        metrics: Cost metrics (JSON form) to attach to every record; training does not use
            them. The search runner sends none and attaches each candidate's metrics itself
            when it stores the outcome (:meth:`CandidateOutcome.with_metrics`), so that they
            can be computed while the candidate trains.
        repeats: Repeat indices to train (DESIGN §4.1), as one batched computation.
        split_seed: The dataset's split seed, from which repeat r > 0 draws its split.
    """

    key: str
    seed: int
    training: TrainingConfig
    metrics: dict[str, Any] = field(default_factory=dict)
    repeats: tuple[int, ...] = (0,)
    split_seed: int = 0


@dataclass(frozen=True)
class RepeatOutcome:
    """One trained repeat: ``record`` (EvaluationRecord JSON) or ``error``, never both.

    Attributes:
        repeat: Repeat index.
        record: JSON form of the EvaluationRecord when training succeeded.
        error: ``"<Type>: <message>"`` when it failed.
        weights: ``torch.save`` bytes of the trained state dict, or None.
    """

    repeat: int
    record: dict[str, Any] | None
    error: str | None
    weights: bytes | None


@dataclass(frozen=True)
class CandidateOutcome:
    """A finished candidate task: one outcome per repeat it trained.

    Attributes:
        key: Canonical key.
        seed: The candidate's seed.
        repeats: One outcome per repeat of the task, in the task's order.
        metrics: Cost metrics (JSON form).
        seconds: Wall time of the task, seconds.
    """

    key: str
    seed: int
    repeats: tuple[RepeatOutcome, ...]
    metrics: dict[str, Any]
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

    def with_metrics(self, metrics: dict[str, Any]) -> CandidateOutcome:
        """This outcome with ``metrics`` as its cost metrics and every record's.

        Equal to the outcome of a task that carried ``metrics`` to the worker: training does
        not read them, so only the attached copies differ.
        """
        repeats = tuple(
            r if r.record is None else replace(r, record={**r.record, "metrics": dict(metrics)})
            for r in self.repeats
        )
        return replace(self, repeats=repeats, metrics=dict(metrics))

    @classmethod
    def failed(cls, task: CandidateTask, error: str, seconds: float) -> CandidateOutcome:
        """Every repeat of ``task`` failed with ``error``."""
        return cls(
            task.key,
            task.seed,
            tuple(RepeatOutcome(r, None, error, None) for r in task.repeats),
            task.metrics,
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
            metrics=task.metrics,
        )
    except Exception as exc:  # a failed candidate is a result, not a crash
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        return CandidateOutcome.failed(task, message, time.perf_counter() - started)
    return CandidateOutcome(
        task.key,
        task.seed,
        tuple(
            RepeatOutcome(
                r.repeat, None if r.record is None else r.record.to_dict(), r.error, r.weights
            )
            for r in results
        ),
        task.metrics,
        time.perf_counter() - started,
    )


class Evaluator(Protocol):
    """Runs candidate tasks and yields their outcomes as they finish (any order)."""

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
            raise ValueError(f"torch_threads must be at least 1, got {torch_threads}")
        self.dataset = dataset
        self.torch_threads = torch_threads

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        """Evaluate ``tasks`` in order."""
        for task in tasks:
            previous = torch.get_num_threads()
            if self.torch_threads is not None and previous != self.torch_threads:
                torch.set_num_threads(self.torch_threads)
            try:
                outcome = run_candidate(task, self.dataset)
            finally:
                if torch.get_num_threads() != previous:
                    torch.set_num_threads(previous)
            yield outcome

    def close(self) -> None:
        """Nothing to release."""
