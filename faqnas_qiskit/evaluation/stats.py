"""Uncertainty of repeated evaluations: per-candidate intervals and the architecture's share.

Pure functions of accuracies (fractions in [0, 1]); DESIGN §4.1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from faqnas_qiskit.errors import FaqnasError

__all__ = ["AccuracyStats", "variance_share", "variance_verdict"]


def _t_quantile(dof: int) -> float:
    """The 0.975 quantile of Student's t with ``dof`` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


@dataclass(frozen=True)
class AccuracyStats:
    """Accuracies of the repeats of one candidate on one split.

    Attributes:
        values: One accuracy per repeat, in repeat order, each in [0, 1].
        mean: Their mean.
        sd: Sample standard deviation (``ddof=1``); None with one repeat.
        ci_low: Lower end of the 95% Student-t interval of the mean; None with one repeat.
        ci_high: Upper end of that interval; None with one repeat.
    """

    values: tuple[float, ...]
    mean: float
    sd: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def n(self) -> int:
        """Number of repeats."""
        return len(self.values)

    @classmethod
    def of(cls, values: Sequence[float]) -> AccuracyStats:
        """Mean, standard deviation and 95% t-interval of ``values``.

        Raises:
            FaqnasError: If ``values`` is empty.
        """
        data = tuple(float(v) for v in values)
        if not data:
            raise FaqnasError("The 'values' of an AccuracyStats must hold one repeat or more.")
        n = len(data)
        mean = math.fsum(data) / n
        if n == 1:
            return cls(data, mean, None, None, None)
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
        half = _t_quantile(n - 1) * sd / math.sqrt(n)
        return cls(data, mean, sd, mean - half, mean + half)

    def describe(self) -> str:
        """``0.733 ± 0.050 (5)``, or ``0.733 (1)`` with one repeat."""
        if self.sd is None:
            return f"{self.mean:.3f} (1)"
        return f"{self.mean:.3f} ± {self.sd:.3f} ({self.n})"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "values": list(self.values),
            "mean": self.mean,
            "sd": self.sd,
            "ci95": None if self.ci_low is None else [self.ci_low, self.ci_high],
            "n": self.n,
        }


def variance_share(groups: Sequence[Sequence[float]]) -> float | None:
    """Share of the variance explained by the group: one-way intraclass correlation ICC(1).

    One group per candidate (its repeats' accuracies). With ``a`` groups of sizes ``n_i``,
    ``N = sum n_i``, MSB and MSW the between- and within-group mean squares and
    ``n0 = (N - sum n_i**2 / N) / (a - 1)`` (equal to the group size when balanced)::

        ICC(1) = (MSB - MSW) / (MSB + (n0 - 1) * MSW)

    The estimate is clipped to [0, 1] (a negative estimate means no detectable share).

    Args:
        groups: Accuracies per candidate; groups with fewer than 2 values are ignored.

    Returns:
        The share in [0, 1], or None when it is undefined (fewer than 2 groups of 2 or more
        values, or no variance at all).
    """
    data = [[float(v) for v in g] for g in groups if len(g) >= 2]
    a = len(data)
    if a < 2:
        return None
    sizes = [len(g) for g in data]
    total = sum(sizes)
    means = [math.fsum(g) / len(g) for g in data]
    grand = math.fsum(v for g in data for v in g) / total
    msb = math.fsum(n * (m - grand) ** 2 for n, m in zip(sizes, means, strict=True)) / (a - 1)
    msw = math.fsum((v - m) ** 2 for g, m in zip(data, means, strict=True) for v in g) / (total - a)
    n0 = (total - sum(n * n for n in sizes) / total) / (a - 1)
    denominator = msb + (n0 - 1) * msw
    if denominator <= 0:
        return None
    return min(1.0, max(0.0, (msb - msw) / denominator))


def variance_verdict(share: float | None, repeats: int, mean_accuracy: float | None = None) -> str:
    """One plain sentence on what ``share`` means for a front.

    Args:
        share: The variance share (:func:`variance_share`), or None.
        repeats: Repeats per candidate.
        mean_accuracy: Mean validation accuracy over the candidates: a low share with nearly
            perfect accuracy means the architectures tie, not that training is too short.
    """
    if share is None:
        if repeats < 2:
            return (
                "With 1 repeat no uncertainty is known: rerun with --repeats 3 or more to see "
                "how much of the front is noise."
            )
        return "The variance share is undefined (fewer than 2 candidates or no variance at all)."
    pct = f"{100 * share:.0f}%"
    if share < 0.2 and mean_accuracy is not None and mean_accuracy >= 0.9:
        return (
            f"The architecture explains {pct} of the validation-accuracy variance: the "
            f"networks reach nearly the same accuracy (mean {mean_accuracy:.3f}), so accuracy "
            "differences on the front are noise and the cost objective decides."
        )
    if share < 0.2:
        return (
            f"The architecture explains {pct} of the validation-accuracy variance: at this "
            "budget the ranking is mostly noise. Raise --epochs and --lr (e.g. --epochs 30 "
            "--lr 0.03) or --repeats before trusting the front."
        )
    if share < 0.5:
        return (
            f"The architecture explains {pct} of the validation-accuracy variance: the front "
            "is partly noise; read it with the intervals, and raise --epochs or --repeats to "
            "sharpen it."
        )
    return (
        f"The architecture explains {pct} of the validation-accuracy variance: the ranking "
        "mostly reflects the architectures."
    )
