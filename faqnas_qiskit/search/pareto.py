"""Pareto fronts and hypervolume (pure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["hypervolume", "non_dominated"]


def non_dominated(points: Sequence[Sequence[float]] | npt.NDArray[np.float64]) -> list[int]:
    """Indices of the non-dominated rows (all objectives minimised), in input order.

    Of several identical points, the first is kept.

    Args:
        points: Objective vectors, shape (n, k).

    Returns:
        Row indices of the first front.
    """
    f = np.asarray(points, dtype=float)
    if f.size == 0:
        return []
    keep = []
    for i in range(f.shape[0]):
        others = np.delete(f, i, axis=0)
        dominated = np.any(np.all(others <= f[i], axis=1) & np.any(others < f[i], axis=1))
        duplicate_before = np.any(np.all(f[:i] == f[i], axis=1))
        if not dominated and not duplicate_before:
            keep.append(i)
    return keep


def hypervolume(points: npt.NDArray[np.float64], reference: Sequence[float]) -> float:
    """Hypervolume dominated by ``points`` (minimisation) up to ``reference``.

    Args:
        points: Objective vectors, shape (n, k); points not better than the reference in every
            objective add nothing.
        reference: Reference point, shape (k,).

    Returns:
        The dominated volume (product of objective units).
    """
    from pymoo.indicators.hv import HV

    f = np.asarray(points, dtype=float)
    ref = np.asarray(reference, dtype=float)
    f = f[np.all(f < ref, axis=1)] if f.size else f
    if f.size == 0:
        return 0.0
    return float(HV(ref_point=ref)(f))
