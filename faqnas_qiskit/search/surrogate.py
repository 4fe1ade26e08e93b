"""Surrogate-assisted NSGA-II (strategy ``surrogate``): spend trainings where the front can move.

Every objective but ``error`` is known before training (F_Q from its exact formula; the other
costs from the metrics provider, a lookup with a warm cost atlas). Only the validation accuracy
has to be learned, and each training costs seconds while a prediction costs microseconds. The
strategy keeps NSGA-II's loop, genome and operators and adds two things:

1. **A cost-stratified initial design.** The space's networks are binned by log F_Q into
   ``population`` bins of equal width and one network is drawn per bin (the seeded generator
   picks which), so that the first generation spans the whole cost axis, its cheap end included,
   instead of clustering where most networks are (random sampling rarely draws the few cheap
   networks a front starts with).
2. **Pre-screened offspring.** Each later generation, NSGA-II's mating (binary tournament on
   rank and crowding, uniform crossover, gene resampling; every duplicate of an evaluated
   network removed) proposes ``POOL_FACTOR x population`` unseen networks, and as many unseen
   networks are drawn uniformly from the space (immigrants: offspring exploit the population,
   immigrants reach where it has not been). An ensemble of extremely randomised trees, fitted
   to every candidate evaluated so far, predicts each one's error (mean and spread over the
   trees); the pool is screened greedily by expected hypervolume improvement (EHVI) over the
   current front, in the plane (log cost scaled to [0, 1] over the space, error) in which
   search quality is judged, each pick joining the front at its predicted error before the
   next is chosen. Only the ``population`` picked are trained. NSGA-II's survival then works
   on them as usual.

Pure: no store, no training. The runner (``search/runner.py``) calls :func:`initial_design` and
:meth:`Screen.select`; both are deterministic functions of their inputs and seed, so a resumed
run replays the same proposals from the same stored evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.space import ROTATIONS, Genome, SearchSpace

__all__ = [
    "MIN_FIT",
    "POOL_FACTOR",
    "REFERENCE",
    "AccuracySurrogate",
    "Screen",
    "expected_improvement",
    "genome_features",
    "initial_design",
]

#: Offspring proposed per network trained in a generation.
POOL_FACTOR = 8
#: Reference point of the hypervolume in the normalised (log cost, error) plane.
REFERENCE = (1.1, 1.1)
#: Evaluated candidates needed before the surrogate screens (fewer: the pool's first networks).
MIN_FIT = 5
#: Floor of the predictive standard deviation of an error (a tree ensemble can agree exactly).
_MIN_SD = 1e-3
_TREES = 64

FloatArray = npt.NDArray[np.float64]


def genome_features(genome: Genome) -> FloatArray:
    """What the surrogate sees of a network: 14 numbers known before training.

    Qubits, depth, embedding (1: amplitude), entangler (1: cz), topology (1: circular), the
    count of each active rotation, the effective quantum weights (DESIGN §5.1), log2 of the
    pre-layer's width, log10 F_Q, and the first and last layers' rotations (index into
    ``ROTATIONS``).

    Returns:
        Shape (14,), float64.
    """
    from faqnas_qiskit.metrics import quantum_flops_formula

    active = genome.active_rotations
    return np.array(
        [
            genome.n_qubits,
            genome.depth,
            genome.embedding == "amplitude",
            genome.entangler == "cz",
            genome.topology == "circular",
            *(active.count(r) for r in ROTATIONS),
            effective_weights(genome),
            math.log2(genome.n_inputs),
            math.log10(quantum_flops_formula(genome)),
            ROTATIONS.index(active[0]),
            ROTATIONS.index(active[-1]),
        ],
        dtype=np.float64,
    )


class AccuracySurrogate:
    """Error predicted from :func:`genome_features` by extremely randomised trees.

    Args:
        seed: Seed of the trees' randomness (the fit is deterministic given it and the data).
    """

    def __init__(self, seed: int) -> None:
        from sklearn.ensemble import ExtraTreesRegressor

        self._model = ExtraTreesRegressor(
            n_estimators=_TREES, min_samples_leaf=2, random_state=seed % (2**32), n_jobs=1
        )

    def fit(self, features: FloatArray, errors: FloatArray) -> AccuracySurrogate:
        """Fit to ``features`` (shape (m, 14)) and observed errors (shape (m,), in [0, 1])."""
        self._model.fit(features, errors)
        return self

    def predict(self, features: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Mean and standard deviation over the trees of the predicted error, shape (k,) each."""
        per_tree = np.stack([tree.predict(features) for tree in self._model.estimators_])
        return per_tree.mean(axis=0), np.maximum(per_tree.std(axis=0), _MIN_SD)


def _front_2d(points: FloatArray) -> FloatArray:
    """Non-dominated points of ``points`` (shape (m, 2), minimised), by ascending cost."""
    if len(points) == 0:
        return points.reshape(0, 2)
    order = np.lexsort((points[:, 1], points[:, 0]))
    kept = []
    best = math.inf
    for i in order:
        if points[i, 1] < best:
            kept.append(i)
            best = points[i, 1]
    return points[kept]


def expected_improvement(
    cost: FloatArray,
    mean: FloatArray,
    sd: FloatArray,
    front: FloatArray,
    reference: tuple[float, float] = REFERENCE,
) -> FloatArray:
    """Exact expected hypervolume improvement of points with a known cost and a normal error.

    In two dimensions the improvement of a point (c, e) over a front is a sum over the front's
    staircase segments right of c: width x max(0, g - e), where g is the staircase's error on
    the segment (the reference's where no front point is left of it). It is linear in
    max(0, g - e), whose expectation under e ~ N(mean, sd^2) is (g - mean) Phi(z) + sd phi(z)
    with z = (g - mean) / sd; so the expectation is exact, no sampling.

    Args:
        cost: Normalised costs, shape (k,).
        mean: Predicted errors, shape (k,).
        sd: Their standard deviations, shape (k,), positive.
        front: The current front, shape (f, 2) as (normalised cost, error), any order.
        reference: Hypervolume reference point (cost, error).

    Returns:
        Expected improvement per point, shape (k,), >= 0 (area in the normalised plane).
    """
    ref_c, ref_e = reference
    front = _front_2d(np.asarray(front, dtype=np.float64).reshape(-1, 2))
    lows = np.concatenate([[-np.inf], front[:, 0]])
    highs = np.concatenate([front[:, 0], [ref_c]])
    levels = np.minimum(np.concatenate([[ref_e], front[:, 1]]), ref_e)
    widths = np.clip(
        np.minimum(highs[None, :], ref_c) - np.maximum(lows[None, :], cost[:, None]), 0.0, None
    )
    z = (levels[None, :] - mean[:, None]) / sd[:, None]
    gain = (levels[None, :] - mean[:, None]) * norm.cdf(z) + sd[:, None] * norm.pdf(z)
    return np.asarray((widths * gain).sum(axis=1), dtype=np.float64)


def initial_design(
    space: SearchSpace,
    n: int,
    rng: np.random.Generator,
    admits: Callable[[Genome], bool] | None = None,
) -> list[Genome]:
    """``n`` distinct networks spread over the cost axis: one per bin of equal log F_Q width.

    Bins left empty (costs cluster by qubit count) give their draws to the others, taken from
    the remaining networks at random, so the design has ``min(n, admitted networks)`` networks.

    Args:
        space: The space searched.
        n: Networks wanted (the population).
        rng: The strategy's seeded generator.
        admits: Networks that may be evaluated (``--exclude-dead``); all when None.
    """
    from faqnas_qiskit.metrics import quantum_flops_formula

    networks = list(space.networks())
    logs = np.log10([quantum_flops_formula(g) for g in networks])
    edges = np.linspace(logs.min(), logs.max(), n + 1)
    bins = np.clip(np.searchsorted(edges, logs, side="right") - 1, 0, n - 1)
    chosen: list[Genome] = []
    taken: set[int] = set()
    for b in range(n):
        members = np.flatnonzero(bins == b)
        for i in rng.permutation(members):
            if admits is None or admits(networks[int(i)]):
                chosen.append(networks[int(i)])
                taken.add(int(i))
                break
    for i in rng.permutation(len(networks)):
        if len(chosen) >= n:
            break
        if int(i) not in taken and (admits is None or admits(networks[int(i)])):
            chosen.append(networks[int(i)])
            taken.add(int(i))
    return chosen


@dataclass
class Screen:
    """Picks which of a generation's proposed offspring to train (see the module doc).

    Args:
        seed: The run's strategy seed (the trees' randomness derives from it and the generation).
        cost: The known cost of a network, > 0 (None: error is the only objective).
        cost_range: log10 of the space's least and greatest cost, which scale the cost to
            [0, 1] as the hypervolume a search is judged by does; None: scale over the pool
            and the evaluated networks.
    """

    seed: int
    cost: Callable[[Genome], float] | None
    cost_range: tuple[float, float] | None = None
    _features: dict[str, FloatArray] = field(default_factory=dict)

    def features(self, genome: Genome) -> FloatArray:
        """:func:`genome_features`, memoised by canonical key."""
        key = genome.key
        if key not in self._features:
            self._features[key] = genome_features(genome)
        return self._features[key]

    def select(
        self,
        pool: Sequence[Genome],
        evaluated: Sequence[tuple[Genome, float, float]],
        n: int,
        generation: int,
    ) -> list[int]:
        """Indices into ``pool`` of the ``n`` networks to train, in the order picked.

        Args:
            pool: Proposed unseen networks.
            evaluated: ``(genome, cost, error)`` of every successful candidate so far, with the
                cost objective's value (0 without one) and the observed error.
            n: How many to pick.
            generation: The generation being screened (seeds the trees).
        """
        if n >= len(pool):
            return list(range(len(pool)))
        if len(evaluated) < MIN_FIT:
            return list(range(n))
        x = np.stack([self.features(g) for g, _, _ in evaluated])
        y = np.array([e for _, _, e in evaluated], dtype=np.float64)
        model = AccuracySurrogate(self.seed + generation).fit(x, y)
        mean, sd = model.predict(np.stack([self.features(g) for g in pool]))
        if self.cost is None:
            pool_cost = np.zeros(len(pool))
            done_cost = np.zeros(len(evaluated))
        else:
            pool_cost = np.log10(np.maximum([self.cost(g) for g in pool], 1e-12))
            done_cost = np.log10(np.maximum([c for _, c, _ in evaluated], 1e-12))
            if self.cost_range is not None:
                low, high = self.cost_range
            else:
                low = min(pool_cost.min(), done_cost.min())
                high = max(pool_cost.max(), done_cost.max())
            span = high - low or 1.0
            pool_cost = (pool_cost - low) / span
            done_cost = (done_cost - low) / span
        front = np.column_stack([done_cost, y])
        picked: list[int] = []
        open_ = np.ones(len(pool), dtype=bool)
        for _ in range(n):
            gain = expected_improvement(pool_cost, mean, sd, front)
            gain[~open_] = -np.inf
            # ties (no expected gain anywhere) go to the lowest predicted error, then pool order
            best = int(np.lexsort((np.arange(len(pool)), mean, -gain))[0])
            picked.append(best)
            open_[best] = False
            front = np.vstack([front, [pool_cost[best], mean[best]]])  # the "believer" step
        return picked
