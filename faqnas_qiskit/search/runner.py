"""The search runner: owns the loop, the cache and the store (DESIGN §6-7).

pymoo's NSGA-II is driven through ask/tell. Every candidate's result comes from the store when
it is there (the same key, dataset, training configuration and seed), and is committed to the
store the moment it is trained otherwise. Because the algorithm's generator is seeded from the
run seed and every candidate's seed derives from the run seed and its canonical key, a run is a
deterministic function of its configuration: resuming replays it from the start, reading every
finished evaluation from the store, and reaches the same front without retraining anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.evaluation.population import PopulationMember, population_groups
from faqnas_qiskit.search.candidate import CandidateOutcome, CandidateTask, Evaluator
from faqnas_qiskit.search.config import Objective, SearchConfig, objective_values
from faqnas_qiskit.search.metrics_overlap import GenerationMetrics
from faqnas_qiskit.search.metrics_provider import MetricsProvider
from faqnas_qiskit.search.operators import (
    CanonicalDuplicates,
    CanonicalSampling,
    GenomeProblem,
    ResampleMutation,
)
from faqnas_qiskit.search.results import (
    Candidate,
    GenerationSummary,
    SearchResult,
    VarianceSummary,
    infrastructure_failure,
    pareto_front,
    repeats_to_train,
    score,
)
from faqnas_qiskit.search.runs import package_versions, training_key
from faqnas_qiskit.search.surrogate import POOL_FACTOR, Screen, initial_design
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import RepeatRow, ResultsStore, RunStatus, StoredEvaluation, StoreError

__all__ = ["SearchObserver", "SearchRunner"]

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


class SearchRunner:
    """Runs or resumes one search against a store.

    Args:
        store: The results store (the runner is its only writer during the run).
        evaluator: Trains candidate tasks (in-process, local workers or a cluster).
        metrics: Cost metrics of an architecture.
        dataset_name: Canonical name of the loaded dataset (the store's ``dataset`` column).
        observer: Progress callbacks.
        overlap_metrics: Compute the metrics of candidates that no cache holds in a side
            process while the generation trains (True), in this process before training
            (False), or the former when this process may use more than one core and
            ``metrics`` is a :class:`StoreCachedMetrics` over a transpiling
            :func:`search_metrics` function (None). Results are the same either way
            (:mod:`~faqnas_qiskit.search.metrics_overlap`).

    Attributes:
        generation_metrics: Where each generation's metrics come from (its ``received``
            counts those computed alongside training).
    """

    def __init__(
        self,
        store: ResultsStore,
        evaluator: Evaluator,
        metrics: MetricsProvider,
        dataset_name: str,
        observer: SearchObserver | None = None,
        *,
        overlap_metrics: bool | None = None,
    ) -> None:
        self.store = store
        self.evaluator = evaluator
        self.metrics = metrics
        self.dataset_name = dataset_name
        self.observer = observer or SearchObserver()
        self.generation_metrics = GenerationMetrics(metrics, overlap=overlap_metrics)

    # --------------------------------------------------------------------------------- public
    def start(self, config: SearchConfig) -> SearchResult:
        """Create a run in the store and execute it."""
        run_id = self.store.create_run(
            dataset=self.dataset_name,
            seed=config.seed,
            config=config.to_dict(),
            versions=package_versions(),
        )
        return self._execute(run_id, config, resumed=False)

    def resume(self, run_id: str) -> SearchResult:
        """Continue a stored run (replaying it; stored evaluations are not retrained)."""
        run = self.store.get_run(run_id)
        config = SearchConfig.from_dict(run.config)
        self.store.set_run_status(run_id, RunStatus.RUNNING)
        return self._execute(run_id, config, resumed=True)

    # ------------------------------------------------------------------------------- the loop
    def _execute(self, run_id: str, config: SearchConfig, *, resumed: bool) -> SearchResult:
        started = time.perf_counter()
        self.observer.run_started(run_id, config, resumed)
        state = _RunState()
        try:
            if config.strategy in ("nsga2", "surrogate"):
                stopped_early = self._nsga2(run_id, config, state)
            else:
                stopped_early = self._sampled(run_id, config, state)
        except BaseException:
            self.store.set_run_status(run_id, RunStatus.INTERRUPTED)
            raise
        finally:
            self.generation_metrics.close()
        if state.diverged:
            self.store.drop_generations(run_id, len(state.summaries))
        variance = VarianceSummary.of(list(state.archive.values()), config.repeats)
        self.store.put_run_summary(run_id, variance.to_dict())
        self.store.set_run_status(run_id, RunStatus.FINISHED)
        front = self._front(list(state.archive.values()))
        return SearchResult(
            run_id=run_id,
            front=tuple(sorted(front, key=lambda c: (c.objectives, c.key))),
            candidates=tuple(state.archive.values()),
            generations=tuple(state.summaries),
            stopped_early=stopped_early,
            wall_s=time.perf_counter() - started,
            task_s=state.task_s,
            metrics_s=state.metrics_s,
            trained=state.trained,
            variance=variance,
            screening_s=state.screening_s,
        )

    def _nsga2(self, run_id: str, config: SearchConfig, state: _RunState) -> bool:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.evaluator import Evaluator as PymooEvaluator
        from pymoo.core.population import Population
        from pymoo.operators.crossover.ux import UniformCrossover
        from pymoo.problems.static import StaticProblem
        from pymoo.termination.max_gen import MaximumGenerationTermination

        space = config.space
        problem = GenomeProblem(space, len(config.objectives))
        admits = config.admits if config.exclude_dead else None
        duplicates = CanonicalDuplicates(space, admits)
        screen: Screen | None = None
        sampling: Any = CanonicalSampling(space, admits)
        if config.strategy == "surrogate":  # the paper's NSGA-II, pre-screened (surrogate.py)
            screen = Screen(
                derive_seed(config.seed, "surrogate"),
                self._known_cost(config),
                cost_range=self._cost_range(config),
            )
            design = initial_design(
                space,
                config.population,
                np.random.default_rng(derive_seed(config.seed, "surrogate-design")),
                admits,
            )
            sampling = np.array([space.encode(g) for g in design], dtype=np.int64)
        algorithm = NSGA2(
            pop_size=config.population,
            n_offsprings=config.population * (POOL_FACTOR if screen is not None else 1),
            sampling=sampling,
            crossover=UniformCrossover(prob=config.crossover_prob),
            mutation=ResampleMutation(config.mutation_prob),
            eliminate_duplicates=duplicates,
        )
        algorithm.setup(
            problem,
            termination=MaximumGenerationTermination(config.generations + 1),
            seed=derive_seed(config.seed, "nsga2") % (2**32),
            verbose=False,
        )
        previous_front: frozenset[str] | None = None
        unchanged = 0
        for generation in range(config.generations):
            offspring = algorithm.ask()
            if offspring is None or len(offspring) == 0:
                # no unseen offspring could be made: a tiny space is exhausted
                return True
            wanted = config.population
            if config.budget is not None:  # every evaluation is a new network (duplicates)
                wanted = min(wanted, max(config.budget - len(state.archive), 0))
            if screen is not None and generation > 0:
                t0 = time.perf_counter()
                offspring = Population.merge(
                    offspring, self._immigrants(config, offspring, duplicates, generation)
                )
                pool = [space.decode(v) for v in np.asarray(offspring.get("X")).astype(np.int64)]
                observed = self._observed(config, state)
                offspring = offspring[screen.select(pool, observed, wanted, generation)]
                state.screening_s += time.perf_counter() - t0
            offspring = offspring[:wanted]
            vectors = np.asarray(offspring.get("X")).astype(np.int64)
            genomes = [space.decode(v) for v in vectors]
            candidates = self._evaluate_generation(run_id, generation, genomes, config, state)
            duplicates.remember(c.key for c in candidates)
            values = np.array([c.objectives for c in candidates], dtype=float)
            PymooEvaluator().eval(StaticProblem(problem, F=values), offspring)
            algorithm.tell(infills=offspring)
            survivors = [
                space.decode(np.asarray(x).astype(np.int64)).key for x in algorithm.pop.get("X")
            ]
            front = self._finish_generation(run_id, generation, candidates, survivors, state)
            keys = frozenset(c.key for c in front)
            unchanged = unchanged + 1 if keys == previous_front else 0
            previous_front = keys
            if unchanged >= config.stagnation:
                return generation + 1 < config.generations
            if config.budget is not None and len(state.archive) >= config.budget:
                return False
        return False

    def _known_cost(self, config: SearchConfig) -> Callable[[Genome], float] | None:
        """The cost objective's value of a network before training (None: error only).

        F_Q comes from its exact formula (microseconds); the other costs from the metrics
        provider (a lookup with a warm cost atlas; otherwise one metrics computation per
        screened network, kept like any other).
        """
        costs = [name for name in config.objectives if name != Objective.ERROR]
        if not costs:
            return None
        (name,) = costs  # SearchConfig allows one cost objective with this strategy
        if name == Objective.FLOPS:
            from faqnas_qiskit.metrics import quantum_flops_formula

            return lambda genome: float(quantum_flops_formula(genome))
        objectives = (name,)

        def cost(genome: Genome) -> float:
            metrics = self.metrics(genome)
            record = {
                "params_classical": metrics["params_classical"],
                "params_quantum_effective": effective_weights(genome),
                "val_accuracy": 0.0,
            }
            return objective_values(objectives, record, metrics)[0]

        return cost

    @staticmethod
    def _cost_range(config: SearchConfig) -> tuple[float, float] | None:
        """log10 of the least and greatest F_Q in the space when F_Q is the cost, else None
        (the screen then scales the cost over what it has seen)."""
        if Objective.FLOPS not in config.objectives:
            return None
        from faqnas_qiskit.metrics import quantum_flops_formula

        logs = np.log10([quantum_flops_formula(g) for g in config.space.networks()])
        return float(logs.min()), float(logs.max())

    @staticmethod
    def _immigrants(
        config: SearchConfig, offspring: Any, duplicates: CanonicalDuplicates, generation: int
    ) -> Any:
        """As many unseen networks drawn uniformly from the space as NSGA-II proposed.

        The screen picks from offspring and immigrants alike: offspring exploit the current
        population, immigrants let it reach regions the population has not (the surrogate
        judges both before anything trains).
        """
        from pymoo.core.population import Population

        space = config.space
        rng = np.random.default_rng(derive_seed(config.seed, "surrogate-immigrants", generation))
        taken = set(duplicates.history)
        taken.update(space.decode(v).key for v in np.asarray(offspring.get("X")).astype(np.int64))
        wanted = len(offspring)
        vectors: list[Any] = []
        for vector in space.sample_vectors(20 * wanted, rng):
            genome = space.decode(vector)
            if genome.key not in taken and config.admits(genome):
                taken.add(genome.key)
                vectors.append(vector)
                if len(vectors) == wanted:
                    break
        return Population.new("X", np.array(vectors, dtype=np.int64).reshape(-1, len(vector)))

    @staticmethod
    def _observed(config: SearchConfig, state: _RunState) -> list[tuple[Genome, float, float]]:
        """``(genome, cost, error)`` of every successful candidate so far, in evaluation order."""
        error = config.objectives.index(Objective.ERROR)
        cost = next(
            (i for i, name in enumerate(config.objectives) if name != Objective.ERROR), None
        )
        return [
            (Genome.parse(c.key), 0.0 if cost is None else c.objectives[cost], c.objectives[error])
            for c in state.archive.values()
            if c.ok
        ]

    def _sampled(self, run_id: str, config: SearchConfig, state: _RunState) -> bool:
        """Random search (same budget) or exhaustive search, in chunks of ``population``."""
        space = config.space
        if config.strategy == "exhaustive":
            genomes = [g for g in space.networks() if config.admits(g)]
        else:
            rng = np.random.default_rng(derive_seed(config.seed, "random"))
            available = (
                sum(1 for g in space.networks() if config.admits(g))
                if config.exclude_dead
                else space.n_networks
            )
            wanted = min(config.evaluation_budget, available)
            seen: dict[str, Genome] = {}
            while len(seen) < wanted:
                genome = space.decode(space.sample_vectors(1, rng)[0])
                if config.admits(genome):
                    seen.setdefault(genome.key, genome.canonical())
            genomes = list(seen.values())
        for generation, start in enumerate(range(0, len(genomes), config.population)):
            chunk = genomes[start : start + config.population]
            candidates = self._evaluate_generation(run_id, generation, chunk, config, state)
            self._finish_generation(
                run_id, generation, candidates, [c.key for c in candidates], state
            )
        return False

    # -------------------------------------------------------------------------- one generation
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
        # metrics are attached when an outcome is stored (training does not read them), so
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
            outcome = outcome.with_metrics(self.generation_metrics.collect(by_key[outcome.key]))
            state.metrics_s += time.perf_counter() - t0
            state.task_s += outcome.seconds
            state.trained += 1
            stored = self._store_outcome(run_id, training, outcome)
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
        todo = {genome.key: (genome, seed) for genome, seed, _ in pending}
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
        self, run_id: str, training: str, outcome: CandidateOutcome
    ) -> StoredEvaluation:
        """Commit every repeat of ``outcome`` in one transaction (all or nothing)."""
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
                metrics=outcome.metrics,
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
        lowest = min(
            (float(c.evaluation.metrics.get("quantum_flops", np.inf)) for c in ok), default=None
        )
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
