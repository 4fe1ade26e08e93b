"""Headline numbers of a report, computed from values (pure functions, checked by the tests).

All FLOPs are quantum FLOPs F_Q per sample (DESIGN §5); accuracies are fractions in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Correlation",
    "Point",
    "Saving",
    "flops_savings",
    "flops_threshold",
    "mean_saving",
    "spearman",
]


@dataclass(frozen=True)
class Point:
    """One architecture in the (F_Q, accuracy) plane."""

    key: str
    flops: float
    accuracy: float


@dataclass(frozen=True)
class Saving:
    """FLOPs saving of the FLOPs-aware search at one accuracy level.

    Attributes:
        accuracy: The level: both searches found an architecture at least this accurate.
        aware_flops: Lowest F_Q of a FLOPs-aware architecture reaching the level.
        baseline_flops: Lowest F_Q of a baseline architecture reaching the level.
        saving: ``1 - aware_flops / baseline_flops`` (negative when the baseline was cheaper).
    """

    accuracy: float
    aware_flops: float
    baseline_flops: float
    saving: float


def _cheapest_at(points: Sequence[Point], level: float) -> float:
    return min((p.flops for p in points if p.accuracy >= level - 1e-12), default=math.inf)


def flops_savings(aware: Sequence[Point], baseline: Sequence[Point]) -> list[Saving]:
    """The saving at every accuracy level reached by both searches.

    Levels are the distinct accuracies of either set that both sets reach. At each level the
    cost of a search is the lowest F_Q among its architectures at least that accurate.

    Args:
        aware: Architectures found by the FLOPs-aware search (its front or all its candidates).
        baseline: Architectures evaluated by the FLOPs-agnostic baseline.

    Returns:
        One :class:`Saving` per level, by ascending accuracy.
    """
    if not aware or not baseline:
        return []
    top = min(max(p.accuracy for p in aware), max(p.accuracy for p in baseline))
    levels = sorted({p.accuracy for p in (*aware, *baseline) if p.accuracy <= top + 1e-12})
    out = []
    for level in levels:
        a, b = _cheapest_at(aware, level), _cheapest_at(baseline, level)
        out.append(Saving(level, a, b, 1.0 - a / b if b > 0 else 0.0))
    return out


def mean_saving(savings: Sequence[Saving]) -> float | None:
    """Mean of the savings over the levels, or None when there is no common level."""
    return float(np.mean([s.saving for s in savings])) if savings else None


def flops_threshold(points: Sequence[Point], tolerance: float = 0.0) -> Point | None:
    """The cheapest architecture within ``tolerance`` of the best accuracy.

    Beyond its F_Q, more FLOPs bought no more than ``tolerance`` of accuracy.

    Args:
        points: Architectures of a run.
        tolerance: Accuracy (fraction) that still counts as the best, e.g. one validation
            sample, ``1 / n_val``.
    """
    if not points:
        return None
    best = max(p.accuracy for p in points)
    near = [p for p in points if p.accuracy >= best - tolerance - 1e-12]
    return min(near, key=lambda p: (p.flops, -p.accuracy, p.key))


@dataclass(frozen=True)
class Correlation:
    """Spearman's rank correlation of two quantities over ``n`` architectures."""

    rho: float | None
    p_value: float | None
    n: int


def spearman(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """Spearman's rho (average ranks for ties); None when fewer than 3 points or a constant."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = int(min(xs.size, ys.size))
    if n < 3 or np.all(xs == xs[0]) or np.all(ys == ys[0]):
        return Correlation(None, None, n)
    from scipy.stats import spearmanr

    result = spearmanr(xs[:n], ys[:n])
    return Correlation(float(result.statistic), float(result.pvalue), n)
