"""The paper reproduction's verdict rules (``benchmarks/paper/claims.py``), on hand-made cases.

The intervals are checked against SciPy's Student-t quantiles, the verdicts against cases whose
answer is known by reading them.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]


def _claims() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "paper_claims", ROOT / "benchmarks" / "paper" / "claims.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["paper_claims"] = module
    spec.loader.exec_module(module)
    return module


claims = _claims()


def _t_interval(values: list[float]) -> tuple[float, float, float]:
    n = len(values)
    mean = sum(values) / n
    half = stats.t.ppf(0.975, n - 1) * stats.tstd(values) / math.sqrt(n)
    return mean, mean - half, mean + half


@pytest.mark.parametrize(
    "values", [[0.1, 0.2, 0.3], [-1.13, 0.46, 0.03, 0.03, 0.57], [0.37, 0.37, 0.38]]
)
def test_interval_is_the_student_t_interval_of_the_mean(values: list[float]) -> None:
    interval = claims.Interval.of([*values, float("nan"), None])  # non-finite values dropped
    mean, low, high = _t_interval(values)
    assert interval.n == len(values)
    assert interval.mean == pytest.approx(mean, abs=1e-12)
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)


def test_interval_of_one_value_has_no_bounds_and_of_none_is_none() -> None:
    one = claims.Interval.of([0.5])
    assert (one.mean, one.low, one.high, one.n) == (0.5, None, None, 1)
    assert claims.Interval.of([]) is None


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (0.10, 0.50, "holds: above 0, compatible with ~37%"),
        (0.05, 0.20, "holds: above 0, interval excludes ~37%"),
        (-0.40, 0.60, "not shown: interval includes 0, compatible with ~37%"),
        (-0.40, 0.20, "not shown: interval includes 0, interval excludes ~37%"),
        (-0.50, -0.10, "does not hold: significantly below 0, interval excludes ~37%"),
    ],
)
def test_saving_verdict_states_the_sign_and_the_paper_size(
    low: float, high: float, verdict: str
) -> None:
    interval = claims.Interval((low + high) / 2, low, high, 5)
    assert claims.verdict_saving(interval) == verdict
    assert claims.saving_holds(interval) == (low > 0)


def test_saving_verdict_without_an_interval() -> None:
    assert claims.verdict_saving(None) == "no data"
    assert claims.verdict_saving(claims.Interval(0.4, None, None, 1)) == "one seed: no interval"
    assert not claims.saving_holds(claims.Interval(0.4, None, None, 1))


def test_overall_verdict_over_datasets() -> None:
    assert claims.overall({"iris": True, "wine": True}) == "holds"
    assert claims.overall({"iris": False, "wine": False}) == "does not hold"
    assert claims.overall({"iris": True, "wine": False, "digits": True}) == (
        "depends: holds for iris, digits only"
    )
    assert claims.overall({}) == "no data"


def _row(flops: float, fc: float, eff: int, acc: float, on_front: bool = True) -> Any:
    return SimpleNamespace(
        quantum_flops=flops,
        classical_flops=fc,
        params_quantum_effective=eff,
        val_accuracy=acc,
        on_front=on_front,
    )


def _seed(seed: int, rows: list[Any], threshold: float | None) -> Any:
    report = SimpleNamespace(
        threshold=None if threshold is None else SimpleNamespace(quantum_flops=threshold),
        comparisons=(),
    )
    aware = SimpleNamespace(candidates=tuple(rows), hardware=(), variance=None)
    return claims.SeedResult(seed, aware, report, None)


def test_threshold_is_stable_only_when_its_interval_spans_under_four_fold() -> None:
    tight = claims.Cell(
        "iris", "paper", tuple(_seed(s, [], t) for s, t in enumerate([1e3, 1.2e3, 0.9e3]))
    )
    wide = claims.Cell(
        "iris", "paper", tuple(_seed(s, [], t) for s, t in enumerate([1e2, 1e4, 1e3]))
    )
    logs = [math.log10(v) for v in (1e3, 1.2e3, 0.9e3)]
    _, low, high = _t_interval(logs)
    assert tight.threshold.low == pytest.approx(low) and tight.threshold.high == pytest.approx(high)
    assert 10 ** (high - low) < 4 and tight.threshold_stable()
    assert not wide.threshold_stable()
    assert not claims.Cell("iris", "paper", (_seed(0, [], 1e3),)).threshold_stable()


def test_classical_flops_fixed_and_quantum_flops_driving_accuracy() -> None:
    # F_Q ranks accuracy perfectly in every seed (rho 1); F_C 100 or 140 across a front
    rows = [_row(10, 100, 2, 0.5), _row(20, 140, 0, 0.6), _row(40, 100, 4, 0.9)]
    cell = claims.Cell("wine", "paper", tuple(_seed(s, rows, 20) for s in range(3)))
    assert cell.classical_spread() == pytest.approx(1.4)
    assert cell.classical_fixed()
    rho = cell.rho("F_Q")
    assert (rho.mean, rho.n) == (pytest.approx(1.0), 3)
    # an interval of identical values has zero width: F_Q's rho is above 0
    assert cell.drives()
    # on the pooled fronts: effective parameters (2, 0, 4) against accuracy (0.5, 0.6, 0.9)
    expected = stats.spearmanr([2, 0, 4] * 3, [0.5, 0.6, 0.9] * 3).statistic
    assert cell.front_rho("effective") == pytest.approx(expected)
    # one network of each seed's front is dead
    assert cell.dead("aware") == (3, 9)
    varied = claims.Cell(
        "wine", "paper", (_seed(0, [_row(10, 100, 1, 0.5), _row(20, 200, 1, 0.6)], 20),)
    )
    assert varied.classical_spread() == pytest.approx(2.0) and not varied.classical_fixed()


def test_reevaluated_counts_front_networks_with_a_noisy_result() -> None:
    def seed(front: list[str], off: list[str], measured: list[str]) -> Any:
        rows = [SimpleNamespace(key=k, on_front=True) for k in front]
        rows += [SimpleNamespace(key=k, on_front=False) for k in off]
        hardware = tuple(SimpleNamespace(key=k) for k in measured)
        aware = SimpleNamespace(candidates=tuple(rows), hardware=hardware)
        return claims.SeedResult(0, aware, SimpleNamespace(comparisons=()), None)

    # seed 0: 2 of 3 front networks measured (one twice: counted once); a measured network
    # off the front does not count; seed 1: none of 2
    cell = claims.Cell(
        "iris",
        "paper",
        (seed(["a", "b", "c"], ["d"], ["a", "b", "b", "d"]), seed(["e", "f"], [], [])),
    )
    assert cell.reevaluated() == (2, 5)
    assert claims.Cell("iris", "paper", ()).reevaluated() == (0, 0)


def test_geometric_saving_maps_the_log_ratio_interval() -> None:
    logs = [math.log(0.25), math.log(0.5), math.log(1.0)]
    mean, low, high = _t_interval(logs)
    saving = claims.geometric(logs)
    assert saving.mean == pytest.approx(1 - math.exp(mean))
    assert saving.mean == pytest.approx(1 - 0.5)  # the geometric mean of the ratios is 1/2
    assert saving.low == pytest.approx(1 - math.exp(high))
    assert saving.high == pytest.approx(1 - math.exp(low)) and saving.high < 1
    assert claims.geometric([]) is None


def test_correlation_interval_is_taken_on_fishers_z_and_stays_inside_minus_one_one() -> None:
    rhos = [0.5, 0.9, 0.95, 0.7, 0.8]  # a plain t-interval over these ends above 1
    assert _t_interval(rhos)[2] > 1.0 or _t_interval([0.77, 0.99, 0.55])[2] > 1.0
    z = [0.5 * math.log((1 + r) / (1 - r)) for r in rhos]  # atanh, written out
    mean, low, high = _t_interval(z)
    interval = claims.correlation([*rhos, float("nan")])
    assert interval.n == 5
    assert interval.mean == pytest.approx(math.tanh(mean))
    assert interval.low == pytest.approx(math.tanh(low))
    assert interval.high == pytest.approx(math.tanh(high))
    wide = claims.correlation([0.77, 0.99, 0.55])
    assert -1.0 < wide.low < wide.mean < wide.high < 1.0
    perfect = claims.correlation([1.0, 1.0, -1.0])  # atanh(+-1) is infinite: clipped, finite
    assert perfect is not None and -1.0 <= perfect.low <= perfect.high <= 1.0
    assert claims.correlation([]) is None


def test_variance_share_interval_stays_inside_zero_one() -> None:
    shares = [0.99, 0.97, 0.999]  # a t-interval over these ends above 1
    mean, low, high = _t_interval(shares)
    assert high > 1.0

    def seed(share: float) -> Any:
        aware = SimpleNamespace(variance=SimpleNamespace(share=share))
        return claims.SeedResult(0, aware, SimpleNamespace(comparisons=()), None)

    interval = claims.Cell("mnist5k", "paper", tuple(seed(v) for v in shares)).variance_share()
    assert interval.mean == pytest.approx(mean)
    assert interval.low == pytest.approx(low)
    assert interval.high == 1.0
    assert claims.Interval(0.5, -0.2, 0.4, 3).clipped(0.0, 1.0) == claims.Interval(0.5, 0.0, 0.4, 3)


def test_the_budget_that_trains_is_named_per_dataset() -> None:
    from faqnas_qiskit.evaluation import TrainingConfig
    from faqnas_qiskit.search import SearchConfig

    def budget(dataset: str, epochs: int, lr: float) -> str | None:
        config = SearchConfig(dataset=dataset, training=TrainingConfig(epochs=epochs, lr=lr))
        return claims.budget_of(config)

    assert budget("iris", 5, 0.003) == budget("mnist5k", 5, 0.003) == "paper"
    assert budget("iris", 30, 0.03) == budget("digits", 30, 0.03) == "trains"
    # on the MNIST images lr 0.03 leaves angle-embedded networks at chance: 10 epochs at 0.003
    assert budget("mnist5k", 10, 0.003) == "trains"
    assert budget("mnist5k", 30, 0.03) is None and budget("iris", 10, 0.003) is None
    assert claims.training_for("trains", "mnist5k") == TrainingConfig(epochs=10, lr=0.003)
    assert claims.budget_words("trains", ["iris", "mnist5k", "wine"]) == (
        "trains (30 epochs, lr 0.03; mnist5k: 10 epochs, lr 0.003)"
    )
    assert claims.budget_words("paper", ["mnist5k"]) == "paper (5 epochs, lr 0.003)"


def test_a_dearer_level_and_an_equally_cheaper_one_cancel_in_the_geometric_saving() -> None:
    def saving(aware: float, base: float) -> Any:
        return SimpleNamespace(aware_flops=aware, baseline_flops=base, saving=1 - aware / base)

    levels = (saving(50.0, 100.0), saving(400.0, 200.0))  # half as dear, then twice as dear
    comparison = SimpleNamespace(savings=levels, mean_saving=(0.5 + -1.0) / 2)
    report = SimpleNamespace(comparisons=(comparison,), threshold=None)
    seed = claims.SeedResult(0, SimpleNamespace(candidates=()), report, None)
    assert seed.log_ratio == pytest.approx(0.0)
    assert seed.saving == pytest.approx(-0.25)  # the paper's arithmetic mean is not symmetric
    none = claims.SeedResult(0, None, SimpleNamespace(comparisons=()), None)
    assert none.log_ratio is None and none.saving is None


def test_busy_seconds_counts_overlaps_once_and_gaps_not_at_all() -> None:
    assert claims.busy_seconds([]) == 0.0
    # two jobs of one call planned together at t=0, finishing at 10 and 25: 25 s
    assert claims.busy_seconds([(0.0, 10.0), (0.0, 25.0)]) == 25.0
    # a later call three hours on adds its own 40 s, not the gap
    assert claims.busy_seconds([(0.0, 10.0), (0.0, 25.0), (10_800.0, 10_840.0)]) == 65.0
    # nested and touching intervals, given out of order
    assert claims.busy_seconds([(5.0, 6.0), (20.0, 30.0), (0.0, 10.0), (10.0, 12.0)]) == 22.0


def test_walls_do_not_count_the_gap_before_a_later_reevaluation() -> None:
    run = SimpleNamespace(id="r1", created_at=100.0, updated_at=400.0)
    jobs = [
        SimpleNamespace(created_at=400.0, updated_at=430.0),
        SimpleNamespace(created_at=400.0, updated_at=460.0),
        SimpleNamespace(created_at=90_000.0, updated_at=90_100.0),  # a call a day later
    ]
    store = SimpleNamespace(list_runs=lambda: [run], hardware_jobs=lambda run_id: jobs)
    key = claims.RunKey("iris", "paper", 0, "aware")
    assert claims.walls(store, {key: "r1"}) == {("iris", "paper"): 300.0 + 60.0 + 100.0}


def _front(*rows: tuple[str, float, float, float, bool]) -> Any:
    """A run snapshot whose candidates are (key, F_Q, F_C, mean val accuracy, on_front)."""
    return SimpleNamespace(
        candidates=tuple(
            SimpleNamespace(key=k, quantum_flops=q, classical_flops=c, val_accuracy=a, on_front=f)
            for k, q, c, a, f in rows
        )
    )


def test_total_flops_search_is_priced_against_the_fq_front_in_total_flops() -> None:
    # F_Q front: a (100 + 900 = 1000, acc 0.8), b (400 + 100 = 500, acc 0.9).
    aware = _front(("a", 100, 900, 0.8, True), ("b", 400, 100, 0.9, True), ("x", 1, 1, 0.95, False))
    # total-FLOPs front: c (250, acc 0.8), d (500, acc 0.9); an off-front network never counts.
    total = _front(("c", 200, 50, 0.8, True), ("d", 400, 100, 0.9, True), ("y", 1, 1, 0.9, False))
    report = SimpleNamespace(comparisons=(), threshold=None)
    seed = claims.SeedResult(0, aware, report, total)
    # level 0.8: cheapest totals 250 against min(1000, 500) = 500; level 0.9: 500 against 500.
    assert seed.total_log_ratio == pytest.approx((math.log(0.5) + 0.0) / 2)
    assert claims.SeedResult(0, aware, report, None).total_log_ratio is None

    # a second seed where the total-FLOPs front is twice as dear at its only common level
    dear = _front(("e", 900, 100, 0.9, True))
    other = claims.SeedResult(1, _front(("f", 400, 100, 0.9, True)), report, dear)
    assert other.total_log_ratio == pytest.approx(math.log(2.0))
    cell = claims.Cell("iris", "paper", (seed, other))
    mean, low, high = _t_interval([math.log(0.5) / 2, math.log(2.0)])
    assert cell.total_saving.mean == pytest.approx(1 - math.exp(mean))
    assert cell.total_saving.low == pytest.approx(1 - math.exp(high))
    assert cell.total_saving.high == pytest.approx(1 - math.exp(low))
    assert cell.total_saving.n == 2
