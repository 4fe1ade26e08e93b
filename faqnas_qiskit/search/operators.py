"""pymoo operators for the integer genome: gene-resampling mutation, canonical-key duplicates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.mutation import Mutation
from pymoo.core.problem import Problem
from pymoo.core.sampling import Sampling

from faqnas_qiskit.space import GENE_NAMES, Genome, SearchSpace

__all__ = ["CanonicalDuplicates", "CanonicalSampling", "GenomeProblem", "ResampleMutation"]

_SAMPLING_ROUNDS = 100


class GenomeProblem(Problem):  # type: ignore[misc]
    """The search space as a pymoo problem: nine integer genes in [0, upper bound].

    Evaluation happens outside pymoo (ask/tell), so ``_evaluate`` is never called.
    """

    def __init__(self, space: SearchSpace, n_objectives: int) -> None:
        super().__init__(
            n_var=len(GENE_NAMES), n_obj=n_objectives, xl=0, xu=space.upper_bounds, vtype=int
        )
        self.space = space


class ResampleMutation(Mutation):  # type: ignore[misc]
    """Each gene of each child is resampled uniformly with probability ``gene_prob``."""

    def __init__(self, gene_prob: float) -> None:
        super().__init__(prob=1.0)
        self.gene_prob = gene_prob

    def _do(self, problem: Any, X: Any, *args: Any, random_state: Any = None, **kwargs: Any) -> Any:  # noqa: N803 (pymoo's name)
        genes = np.asarray(X).astype(np.int64)
        upper = np.asarray(problem.xu, dtype=np.int64)
        resample = random_state.random(genes.shape) < self.gene_prob
        fresh = random_state.integers(0, upper + 1, size=genes.shape)
        return np.where(resample, fresh, genes)


class CanonicalSampling(Sampling):  # type: ignore[misc]
    """The initial population: ``n_samples`` gene vectors of distinct networks.

    Draws like pymoo's ``IntegerRandomSampling`` (each gene uniform over its indices) and keeps
    the first vector of each canonical key; when two draws are the same network (inactive
    rotation genes, two-qubit topologies), further rounds top the population up, so that a
    population of 20 is 20 networks. Stops short only when the space has fewer networks.
    """

    def __init__(self, space: SearchSpace, admits: Callable[[Genome], bool] | None = None) -> None:
        super().__init__()
        self.space = space
        self.admits = admits

    def _do(
        self, problem: Any, n_samples: int, *args: Any, random_state: Any = None, **kwargs: Any
    ) -> Any:
        upper = np.asarray(problem.xu, dtype=np.int64)
        wanted = min(n_samples, self.space.n_networks)
        kept: dict[str, np.ndarray] = {}
        for _ in range(_SAMPLING_ROUNDS):
            draws = np.column_stack(
                [random_state.integers(0, upper[k] + 1, size=n_samples) for k in range(len(upper))]
            )
            for vector in draws:
                genome = self.space.decode(vector)
                if self.admits is not None and not self.admits(genome):
                    continue
                kept.setdefault(genome.key, vector)
                if len(kept) == wanted:
                    return np.array(list(kept.values()), dtype=np.int64)
        return np.array(list(kept.values()), dtype=np.int64)


class CanonicalDuplicates(DuplicateElimination):  # type: ignore[misc]
    """Two individuals are duplicates when they decode to the same canonical key.

    Offspring are also duplicates of every network the run has already evaluated (its
    history, see :meth:`remember`), so that each evaluation of the budget is a new network.
    A network that ``admits`` rejects (``--exclude-dead``) counts as a duplicate too, so that
    pymoo's mating draws other offspring in its place. pymoo applies duplicate elimination
    only to the initial sample and to new offspring.
    """

    def __init__(self, space: SearchSpace, admits: Callable[[Genome], bool] | None = None) -> None:
        super().__init__()
        self.space = space
        self.admits = admits
        self.history: set[str] = set()

    def remember(self, keys: Iterable[str]) -> None:
        """Mark canonical keys as evaluated."""
        self.history.update(keys)

    def _key(self, individual: Any) -> str:
        return self.space.decode(np.asarray(individual.X).astype(np.int64)).key

    def _do(self, pop: Any, other: Any, is_duplicate: Any) -> Any:
        seen = set(self.history)
        if other is not None:
            seen.update(self._key(o) for o in other)
        for i, individual in enumerate(pop):
            genome = self.space.decode(np.asarray(individual.X).astype(np.int64))
            key = genome.key
            if key in seen or (self.admits is not None and not self.admits(genome)):
                is_duplicate[i] = True
            else:
                seen.add(key)
        return is_duplicate
