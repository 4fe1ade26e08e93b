"""One candidate's evaluation as a task: plain data in, plain data out (picklable for workers)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.evaluation import TrainingConfig, evaluate_genome
from faqnas_qiskit.space import Genome

__all__ = ["CandidateOutcome", "CandidateTask", "Evaluator", "SerialEvaluator", "run_candidate"]


@dataclass(frozen=True)
class CandidateTask:
    """What a worker needs to train one candidate (the dataset travels separately)."""

    key: str
    seed: int
    training: TrainingConfig
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CandidateOutcome:
    """A finished candidate: ``record`` (EvaluationRecord JSON) or ``error``, never both.

    Attributes:
        key: Canonical key.
        seed: The candidate's seed.
        record: JSON form of the EvaluationRecord when training succeeded.
        error: ``"<Type>: <message>"`` when it failed.
        weights: ``torch.save`` bytes of the trained state dict, or None.
        metrics: Cost metrics (JSON form).
        seconds: Wall time of the task, seconds.
    """

    key: str
    seed: int
    record: dict[str, Any] | None
    error: str | None
    weights: bytes | None
    metrics: dict[str, Any]
    seconds: float


def run_candidate(task: CandidateTask, dataset: Dataset) -> CandidateOutcome:
    """Train and score one candidate; any exception becomes a failed outcome.

    A non-finite loss (``TrainingError``) or any other error in training is caught, so that a
    search goes on; KeyboardInterrupt and SystemExit are not.
    """
    started = time.perf_counter()
    try:
        record, model = evaluate_genome(
            Genome.parse(task.key), dataset, task.training, seed=task.seed, metrics=task.metrics
        )
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        return CandidateOutcome(
            task.key,
            task.seed,
            record.to_dict(),
            None,
            buffer.getvalue(),
            task.metrics,
            time.perf_counter() - started,
        )
    except Exception as exc:  # a failed candidate is a result, not a crash
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        return CandidateOutcome(
            task.key, task.seed, None, message, None, task.metrics, time.perf_counter() - started
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
