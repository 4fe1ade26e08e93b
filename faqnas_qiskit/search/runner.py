"""The search runner: owns the loop, the cache and the store (DESIGN §6-7).

pymoo's NSGA-II is driven through ask/tell. Every candidate's result comes from the store when
it is there (the same key, dataset, training configuration and seed), and is committed to the
store the moment it is trained otherwise. Because the algorithm's generator is seeded from the
run seed and every candidate's seed derives from the run seed and its canonical key, a run is a
deterministic function of its configuration: resuming replays it from the start, reading every
finished evaluation from the store, and reaches the same front without retraining anything.

The evaluation of one generation (store lookups, training, storing, scoring, the generation's
summary) and :class:`SearchObserver` are in :mod:`faqnas_qiskit.search.generation`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.evaluation import derive_seed
from faqnas_qiskit.search.candidate import Evaluator
from faqnas_qiskit.search.config import Objective, SearchConfig, objective_values
from faqnas_qiskit.search.generation import SearchObserver, _GenerationEvaluation, _RunState
from faqnas_qiskit.search.metrics_overlap import GenerationMetrics
from faqnas_qiskit.search.metrics_provider import MetricsProvider
from faqnas_qiskit.search.operators import (
    CanonicalDuplicates,
    CanonicalSampling,
    GenomeProblem,
    ResampleMutation,
)
from faqnas_qiskit.search.results import SearchResult, VarianceSummary
from faqnas_qiskit.search.runs import package_versions
from faqnas_qiskit.search.surrogate import POOL_FACTOR, Screen, initial_design
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import CostFields, EvaluationFields, ResultsStore, RunStatus

__all__ = ["SearchObserver", "SearchRunner"]


class SearchRunner(_GenerationEvaluation):
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
        config = run.config_as(SearchConfig)
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
            costs = CostFields.read(self.metrics(genome))
            record = EvaluationFields(
                params_classical=costs.params_classical,
                params_quantum_effective=effective_weights(genome),
                val_accuracy=0.0,
            )
            return objective_values(objectives, record, costs)[0]

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
