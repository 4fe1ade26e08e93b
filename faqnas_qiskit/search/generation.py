"""Evaluating one generation of a search: cached or trained, scored, stored, summarised.

:class:`_GenerationEvaluation` holds the steps of one generation that
:class:`~faqnas_qiskit.search.runner.SearchRunner` (which owns the loop) inherits: read each
candidate from the store or train the repeats it lacks (one task per candidate, or population
groups), store the outcome with its metrics the moment it arrives, score it, and close the
generation with its front and summary. :class:`SearchObserver` (the progress callbacks) and the
run's mutable state are here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.evaluation.population import PopulationMember, population_groups
from faqnas_qiskit.search.candidate import CandidateOutcome, CandidateTask, Evaluator
from faqnas_qiskit.search.config import SearchConfig
from faqnas_qiskit.search.metrics_overlap import GenerationMetrics
from faqnas_qiskit.search.results import (
    Candidate,
    GenerationSummary,
    infrastructure_failure,
    pareto_front,
    repeats_to_train,
    score,
)
from faqnas_qiskit.search.runs import training_key
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import RepeatRow, ResultsStore, StoredEvaluation, StoreError

__all__ = ["SearchObserver"]

log = logging.getLogger(__name__)


class SearchObserver:
    """Progress callbacks; the default does nothing (the CLI draws bars and tables)."""

    def run_started(self, run_id: str, config: SearchConfig, resumed: bool) -> None:
        """A run starts or resumes."""

    def generation_started(self, generation: int, total: int, cached: int) -> None:
        """A generation of ``total`` candidates starts, ``cached`` of them already stored."""

    def candidate_finished(self, outcome: Candidate, cached: bool) -> None:
        """One candidate is done (trained now, or read from the store)."""

    def generation_finished(self, summary: GenerationSummary) -> None:
        """A generation is done."""


@dataclass
class _RunState:
    archive: dict[str, Candidate] = field(default_factory=dict)
    summaries: list[GenerationSummary] = field(default_factory=list)
    task_s: float = 0.0
    metrics_s: float = 0.0
    trained: int = 0
    screening_s: float = 0.0
    diverged: bool = False  # a stored infrastructure failure was retrained: a new path


class _GenerationEvaluation:
    """One generation's evaluation; mixed into :class:`~faqnas_qiskit.search.runner.SearchRunner`,
    which sets these attributes (see its docstring)."""

    store: ResultsStore
    evaluator: Evaluator
    dataset_name: str
    observer: SearchObserver
    generation_metrics: GenerationMetrics

    def _evaluate_generation(
        self,
        run_id: str,
        generation: int,
        genomes: Sequence[Genome],
        config: SearchConfig,
        state: _RunState,
    ) -> list[Candidate]:
        started = time.perf_counter()
        training = training_key(config)
        found: dict[str, Candidate] = {}
        cached: list[StoredEvaluation] = []
        pending: list[tuple[Genome, int, list[int]]] = []
        for genome in dict((g.key, g) for g in genomes).values():
            seed = derive_seed(config.seed, genome.key)
            stored = self.store.lookup(genome.key, self.dataset_name, training, seed)
            todo = repeats_to_train(stored, config.repeats)
            if stored is not None and any(
                infrastructure_failure(row) for r in todo if (row := stored.repeat(r)) is not None
            ):
                state.diverged = True  # a stored dead-worker failure is retrained: a new path
            if todo:
                pending.append((genome, seed, todo))
            else:
                assert stored is not None
                cached.append(stored)
        self.observer.generation_started(generation, len(genomes), len(cached))
        for stored in cached:
            candidate = score(stored, config)
            found[stored.key] = candidate
            self.observer.candidate_finished(candidate, cached=True)
        # metrics stay here and are stored with an outcome (training does not read them), so
        # those no cache holds can be computed alongside training (metrics_overlap.py)
        t0 = time.perf_counter()
        self.generation_metrics.prepare([genome for genome, _, _ in pending])
        state.metrics_s += time.perf_counter() - t0
        if config.population_batching:
            tasks = self._group_tasks(genomes, pending, config, state)
        else:
            tasks = [
                CandidateTask(
                    genome.key, seed, config.training, repeats=tuple(todo), split_seed=config.seed
                )
                for genome, seed, todo in pending
            ]
        by_key = {genome.key: genome for genome, _, _ in pending}
        wanted = {genome.key: set(todo) for genome, _, todo in pending}
        for outcome in self._outcomes(tasks):
            if outcome.key not in wanted:  # trained only to complete its group
                state.task_s += outcome.seconds
                continue
            outcome = replace(
                outcome,
                repeats=tuple(r for r in outcome.repeats if r.repeat in wanted[outcome.key]),
            )
            t0 = time.perf_counter()
            metrics = self.generation_metrics.collect(by_key[outcome.key])
            state.metrics_s += time.perf_counter() - t0
            state.task_s += outcome.seconds
            state.trained += 1
            stored = self._store_outcome(run_id, training, outcome, metrics)
            if outcome.error is not None:
                log.warning("candidate %s failed: %s", outcome.key, outcome.error)
            candidate = score(stored, config)
            found[outcome.key] = candidate
            self.observer.candidate_finished(candidate, cached=False)
        candidates = [found[g.key] for g in genomes]
        for c in candidates:
            state.archive.setdefault(c.key, c)
        state.summaries.append(
            GenerationSummary(
                generation=generation,
                evaluated=len(found),
                trained=len(pending),
                cache_hits=len(cached),
                failures=sum(not c.ok for c in found.values()),
                front_size=0,
                best_val_accuracy=None,
                lowest_flops=None,
                seconds=time.perf_counter() - started,
            )
        )
        return candidates

    @staticmethod
    def _group_tasks(
        genomes: Sequence[Genome],
        pending: Sequence[tuple[Genome, int, list[int]]],
        config: SearchConfig,
        state: _RunState,
    ) -> list[CandidateTask]:
        """Population batching: the generation's tasks in groups fixed by the run alone.

        The members are the generation's networks that are new to this run (not in its
        archive; in the generation's order), plus any it must train again (a stored
        infrastructure failure); they are grouped by qubit count and embedding
        (:func:`~faqnas_qiskit.evaluation.population.population_groups`) with all the run's
        repeats. Which of them the store already holds (an earlier part of this run before a
        resume, or another run) does not change the groups: a group with anything left to
        train is trained whole, and only what is missing is stored. So every stored result
        is the one an uninterrupted run on an empty store computes, whatever the store held,
        the workers or the interruptions.
        """
        todo = {genome.key for genome, _, _ in pending}
        members: list[PopulationMember] = []
        for genome in dict((g.key, g) for g in genomes).values():
            if genome.key in state.archive and genome.key not in todo:
                continue
            seed = derive_seed(config.seed, genome.key)
            members.append(PopulationMember(genome, seed, tuple(range(config.repeats))))
        tasks: list[CandidateTask] = []
        for number, group in enumerate(population_groups(members)):
            if not any(members[i].genome.key in todo for i in group):
                continue  # every member stored: nothing to train
            tasks.extend(
                CandidateTask(
                    members[i].genome.key,
                    members[i].seed,
                    config.training,
                    repeats=members[i].repeats,
                    split_seed=config.seed,
                    group=number,
                )
                for i in group
            )
        return tasks

    def _store_outcome(
        self, run_id: str, training: str, outcome: CandidateOutcome, metrics: dict[str, Any]
    ) -> StoredEvaluation:
        """Commit every repeat of ``outcome`` in one transaction (all or nothing).

        ``metrics`` (the architecture's, JSON form) are stored once per architecture and
        settings (the metrics provider's, when it keys a cache by them); a candidate stored
        before keeps the metrics it refers to.
        """
        stored = self.store.lookup(outcome.key, self.dataset_name, training, outcome.seed)
        first = next((r for r in outcome.repeats if r.repeat == 0), None)
        others = [
            RepeatRow(r.repeat, r.record, r.error, r.weights, r.failure)
            for r in outcome.repeats
            if r.repeat != 0
        ]
        # a stored failure is overwritten only when its workers died (the candidate was fine)
        retried = stored is not None and any(
            row is not None and infrastructure_failure(row)
            for row in (stored.repeat(r.repeat) for r in outcome.repeats)
        )
        if first is not None:
            return self.store.put_evaluation(
                key=outcome.key,
                dataset=self.dataset_name,
                training=training,
                seed=outcome.seed,
                record=first.record,
                error=first.error,
                metrics=metrics,
                metrics_settings=self.generation_metrics.settings,
                weights=first.weights,
                run_id=run_id,
                replace_failed=retried,
                repeats=others,
                failure=first.failure,
            )
        if stored is None:
            raise StoreError(
                f"Repeats of {outcome.key} must follow its repeat 0 in the store. Got no stored "
                "repeat 0 instead. Train repeat 0 with them."
            )
        self.store.put_repeats(stored.id, others, run_id=run_id, replace_failed=retried)
        fresh = self.store.lookup(outcome.key, self.dataset_name, training, outcome.seed)
        if fresh is None:
            raise StoreError(f"The evaluation of {outcome.key} must be readable once stored.")
        return fresh

    def _outcomes(self, tasks: list[CandidateTask]) -> Iterator[CandidateOutcome]:
        if tasks:
            yield from self.evaluator.map(tasks)

    @staticmethod
    def _front(candidates: list[Candidate]) -> list[Candidate]:
        return pareto_front(candidates)

    def _finish_generation(
        self,
        run_id: str,
        generation: int,
        candidates: list[Candidate],
        members: list[str],
        state: _RunState,
    ) -> list[Candidate]:
        front = self._front(list(state.archive.values()))
        ok = [c for c in state.archive.values() if c.ok]
        best = max((c.val.mean for c in ok if c.val is not None), default=None)
        lowest = min((float(_or_inf(c.evaluation.costs.quantum_flops)) for c in ok), default=None)
        summary = state.summaries[-1]
        summary = GenerationSummary(
            generation=summary.generation,
            evaluated=summary.evaluated,
            trained=summary.trained,
            cache_hits=summary.cache_hits,
            failures=summary.failures,
            front_size=len(front),
            best_val_accuracy=best,
            lowest_flops=None if lowest is None or not np.isfinite(lowest) else lowest,
            seconds=summary.seconds,
        )
        state.summaries[-1] = summary
        self.store.put_generation(
            run_id,
            generation,
            members,
            sorted(c.key for c in front),
            {
                "evaluated": [c.key for c in candidates],
                "trained": summary.trained,
                "cache_hits": summary.cache_hits,
                "failures": summary.failures,
            },
            replace=state.diverged,
        )
        self.observer.generation_finished(summary)
        return front


def _or_inf(flops: float | None) -> float:
    """F_Q of a candidate, infinite when its metrics do not hold it (it is then never lowest)."""
    return np.inf if flops is None else flops
