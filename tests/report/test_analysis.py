from __future__ import annotations

import pytest

from faqnas_qiskit.report.analysis import (
    Point,
    flops_savings,
    flops_threshold,
    mean_saving,
    spearman,
)


def test_savings_by_hand() -> None:
    aware = [Point("a1", 100, 0.6), Point("a2", 300, 0.8), Point("a3", 900, 0.9)]
    baseline = [Point("b1", 400, 0.7), Point("b2", 1000, 0.9), Point("b3", 2000, 1.0)]
    savings = flops_savings(aware, baseline)
    # levels reached by both: 0.6, 0.7, 0.8, 0.9 (aware never reaches 1.0)
    assert [s.accuracy for s in savings] == [0.6, 0.7, 0.8, 0.9]
    # 0.6: aware 100 vs baseline 400; 0.7: 300 vs 400; 0.8: 300 vs 1000; 0.9: 900 vs 1000
    assert [s.aware_flops for s in savings] == [100, 300, 300, 900]
    assert [s.baseline_flops for s in savings] == [400, 400, 1000, 1000]
    assert [round(s.saving, 6) for s in savings] == [0.75, 0.25, 0.7, 0.1]
    assert mean_saving(savings) == pytest.approx((0.75 + 0.25 + 0.7 + 0.1) / 4)
    assert flops_savings([], baseline) == [] and mean_saving([]) is None


def test_threshold_by_hand() -> None:
    points = [Point("a", 10, 0.5), Point("b", 50, 0.9), Point("c", 80, 0.95), Point("d", 500, 0.95)]
    assert flops_threshold(points).key == "c"  # type: ignore[union-attr]
    assert flops_threshold(points, tolerance=0.05).key == "b"  # type: ignore[union-attr]
    assert flops_threshold([]) is None


def test_spearman_by_hand() -> None:
    # ranks x: 1 2 3 4 5; y: 2 1 4 3 5 -> d^2 = 1+1+1+1+0 = 4; rho = 1 - 6*4/(5*24) = 0.8
    c = spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50])
    assert c.rho == pytest.approx(0.8) and c.n == 5
    assert spearman([1, 2], [3, 4]).rho is None
    assert spearman([1, 1, 1], [1, 2, 3]).rho is None
