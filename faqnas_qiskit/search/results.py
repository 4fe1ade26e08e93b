"""A search's candidates as scored results: repeats, their uncertainty, objectives, front rows,
the front itself and the summaries of a run and its generations.

Pure functions of stored evaluations (no I/O): what a candidate's K repeats say (DESIGN §4.1),
which repeats still have to be trained, and the flat rows of a front for tables, CSV and JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.evaluation import AccuracyStats, variance_share, variance_verdict
from faqnas_qiskit.search.config import SearchConfig, objective_values
from faqnas_qiskit.search.pareto import non_dominated
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import (
    INFRASTRUCTURE_PREFIX,
    EvaluationFields,
    FailureKind,
    StoredEvaluation,
    StoredRepeat,
    present,
)

__all__ = [
    "INFRASTRUCTURE_ERRORS",
    "Candidate",
    "GenerationSummary",
    "SearchResult",
    "VarianceSummary",
    "front_rows",
    "infrastructure_failure",
    "pareto_front",
    "repeats_to_train",
    "score",
]

INFRASTRUCTURE_ERRORS = (INFRASTRUCTURE_PREFIX,)
"""Prefixes of stored errors that say nothing about the candidate (workers that died while
evaluating it): how the store records :attr:`FailureKind.INFRASTRUCTURE`, in old rows and new."""


def infrastructure_failure(stored: StoredEvaluation | StoredRepeat) -> bool:
    """Whether a stored repeat failed because its workers died, not because of the candidate.

    A later run or ``--resume`` trains such a candidate again.
    """
    return stored.failure is FailureKind.INFRASTRUCTURE


@dataclass(frozen=True)
class Candidate:
    """An evaluated candidate of a run, with its objective vector.

    Attributes:
        key: Canonical key.
        evaluation: The stored evaluation (repeat 0, with its stored repeats).
        objectives: Objective vector, all minimised (WORST everywhere for a failure).
        val: Validation accuracy over the run's repeats; None for a failure.
        test: Test accuracy over the run's repeats; None for a failure.
        error: Why the candidate failed (the first failed repeat's error), or None.
    """

    key: str
    evaluation: StoredEvaluation
    objectives: tuple[float, ...]
    val: AccuracyStats | None = None
    test: AccuracyStats | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every repeat of the run trained successfully."""
        return self.val is not None


def repeats_to_train(stored: StoredEvaluation | None, repeats: int) -> list[int]:
    """Repeats among ``0..repeats-1`` that must still be trained.

    Missing repeats and infrastructure failures are trained; a candidate whose stored repeat
    failed on its own (an exception, a NaN loss) is final and trains nothing more.
    """
    if stored is None:
        return list(range(repeats))
    todo = []
    for r in range(repeats):
        row = stored.repeat(r)
        if row is None or infrastructure_failure(row):
            todo.append(r)
        elif not row.ok:
            return []
    return todo


def score(stored: StoredEvaluation, config: SearchConfig) -> Candidate:
    """The candidate that ``stored`` is under ``config`` (its first ``config.repeats`` repeats).

    A candidate fails when one of those repeats failed or is missing; its objectives are then
    WORST. Otherwise ``error`` is the mean validation accuracy over the repeats.
    """
    records: list[EvaluationFields] = []
    for r in range(config.repeats):
        row = stored.repeat(r)
        if row is None or not row.ok or row.fields is None:
            error = "repeat not stored" if row is None else row.error
            failed = objective_values(config.objectives, None, stored.costs)
            return Candidate(stored.key, stored, failed, error=error or "failed")
        records.append(row.fields)
    val = AccuracyStats.of([float(present(r.val_accuracy, "val_accuracy")) for r in records])
    test = AccuracyStats.of([float(present(r.test_accuracy, "test_accuracy")) for r in records])
    objectives = objective_values(
        config.objectives, records[0], stored.costs, val_accuracy=val.mean
    )
    return Candidate(stored.key, stored, objectives, val, test)


def front_rows(front: Sequence[Candidate]) -> list[dict[str, Any]]:
    """Flat rows of a front for tables, CSV and JSON.

    Accuracies are means over the run's repeats, with their standard deviation (None with one
    repeat), 95% interval and per-repeat values; FLOPs per sample: quantum F_Q, classical F_C
    and their total; parameters count the effective quantum weights (DESIGN §5.1).
    """
    rows = []
    for c in front:
        record, costs = c.evaluation.fields, c.evaluation.costs
        effective = None if record is None else record.params_quantum_effective
        if effective is None:
            effective = effective_weights(Genome.parse(c.key))
        params_classical = None if record is None else record.params_classical
        transpiled = costs.transpiled
        val, test = c.val, c.test
        rows.append(
            {
                "genome": c.key,
                "val_accuracy": None if val is None else val.mean,
                "val_sd": None if val is None else val.sd,
                "val_ci95": None
                if val is None or val.ci_low is None
                else [val.ci_low, val.ci_high],
                "val_repeats": None if val is None else list(val.values),
                "test_accuracy": None if test is None else test.mean,
                "test_sd": None if test is None else test.sd,
                "test_ci95": (
                    None if test is None or test.ci_low is None else [test.ci_low, test.ci_high]
                ),
                "test_repeats": None if test is None else list(test.values),
                "repeats": 0 if val is None else val.n,
                "quantum_flops": costs.quantum_flops,
                "classical_flops": costs.classical_flops,
                "total_flops": costs.total_flops,
                "params": (params_classical or 0) + effective,
                "params_quantum": None if record is None else record.params_quantum,
                "params_quantum_effective": effective,
                "dead_quantum_layer": effective == 0,
                "two_qubit_gates": None if transpiled is None else transpiled.two_qubit_gates,
                "predicted_qpu_s": None if transpiled is None else transpiled.predicted_qpu_s,
            }
        )
    return rows


@dataclass(frozen=True)
class VarianceSummary:
    """How much the architecture decides the validation accuracy among a run's candidates.

    Attributes:
        share: One-way intraclass correlation ICC(1) of the candidates' repeated validation
            accuracies, in [0, 1]; None with one repeat or when undefined.
        repeats: Repeats per candidate.
        candidates: Successful candidates it is computed over.
        mean_val_accuracy: Mean validation accuracy over those candidates, or None.
        verdict: One plain sentence on what the share means.
    """

    share: float | None
    repeats: int
    candidates: int
    mean_val_accuracy: float | None
    verdict: str

    @classmethod
    def of(cls, candidates: Sequence[Candidate], repeats: int) -> VarianceSummary:
        """The summary over the successful ``candidates`` of a run with ``repeats`` repeats."""
        groups = [c.val.values for c in candidates if c.val is not None]
        share = variance_share(groups) if repeats >= 2 else None
        means = [c.val.mean for c in candidates if c.val is not None]
        mean = sum(means) / len(means) if means else None
        return cls(share, repeats, len(groups), mean, variance_verdict(share, repeats, mean))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the store's run summary)."""
        return {
            "variance_share": self.share,
            "repeats": self.repeats,
            "candidates": self.candidates,
            "mean_val_accuracy": self.mean_val_accuracy,
            "verdict": self.verdict,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VarianceSummary:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data.get("variance_share"),
            int(data["repeats"]),
            int(data["candidates"]),
            data.get("mean_val_accuracy"),
            str(data["verdict"]),
        )


def pareto_front(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The non-dominated successful candidates (all objectives minimised), in input order."""
    ok = [c for c in candidates if c.ok]
    return [ok[i] for i in non_dominated([c.objectives for c in ok])]


@dataclass(frozen=True)
class GenerationSummary:
    """What one generation did."""

    generation: int
    evaluated: int
    trained: int
    cache_hits: int
    failures: int
    front_size: int
    best_val_accuracy: float | None
    lowest_flops: float | None
    seconds: float


@dataclass(frozen=True)
class SearchResult:
    """The outcome of a run.

    Attributes:
        run_id: Run id in the store.
        front: Non-dominated successful candidates, by ascending first objective.
        candidates: Every distinct candidate evaluated, in evaluation order.
        generations: Per-generation summaries.
        stopped_early: Whether the stagnation rule ended the run.
        wall_s: Wall time of this call, seconds.
        task_s: Time spent in candidate tasks (training and scoring), seconds.
        metrics_s: Time the coordinator spent on cost metrics (computing or looking them up;
            metrics computed alongside training in a side process are not counted), seconds.
        trained: Candidates trained by this call (not read from the store).
        variance: How much the architecture decides the validation accuracy (DESIGN §4.1).
        screening_s: Time the ``surrogate`` strategy spent fitting and screening, seconds.
    """

    run_id: str
    front: tuple[Candidate, ...]
    candidates: tuple[Candidate, ...]
    generations: tuple[GenerationSummary, ...]
    stopped_early: bool
    wall_s: float
    task_s: float
    metrics_s: float
    trained: int
    variance: VarianceSummary
    screening_s: float = 0.0
