"""The paper's claims, computed from the runs that ``benchmarks/paper/run.py`` stores.

Pure apart from reading the store and the cost cache: every number of RESULTS.md comes from
here. A run is identified by its stored configuration (dataset, seed, objectives, training
budget); when a configuration ran more than once (a rerun after an interruption), the latest
finished run counts.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from faqnas_qiskit.evaluation import AccuracyStats, TrainingConfig
from faqnas_qiskit.report import build_report, snapshot
from faqnas_qiskit.report.analysis import Point, Saving, flops_savings, spearman
from faqnas_qiskit.report.data import CandidateRow, ReportData, RunSnapshot
from faqnas_qiskit.search import SearchConfig
from faqnas_qiskit.store import ResultsStore

PAPER_SAVING = 0.37  # the paper's average FLOPs saving at equal accuracy
#: The training budgets: the paper's, and one that trains (Iris reaches 0.9-1.0 with it).
BUDGETS: dict[str, TrainingConfig] = {
    "paper": TrainingConfig(epochs=5, lr=0.003),
    "trains": TrainingConfig(epochs=30, lr=0.03),
}
#: Where the budget that trains differs by dataset. On mnist5k, lr 0.03 leaves angle-embedded
#: networks at chance and 10 epochs at lr 0.003 train as well as 30
#: (``benchmarks/paper/budgets.py``, BUDGETS.md). Full MNIST and Fashion-MNIST are not measured
#: (their files cannot be downloaded here); they get mnist5k's budget because their inputs have
#: the same shape and, with 14 times the samples, 10 epochs are 14 times the optimiser steps.
TRAINS_BY_DATASET: dict[str, TrainingConfig] = {
    name: TrainingConfig(epochs=10, lr=0.003) for name in ("mnist5k", "mnist", "fashion_mnist")
}


def training_for(budget: str, dataset: str) -> TrainingConfig:
    """The training of ``budget`` (a key of :data:`BUDGETS`) on ``dataset``."""
    if budget == "trains" and dataset in TRAINS_BY_DATASET:
        return TRAINS_BY_DATASET[dataset]
    return BUDGETS[budget]


def budget_words(budget: str, datasets: Sequence[str] = ()) -> str:
    """``budget`` in words, e.g. ``trains (30 epochs, lr 0.03; mnist5k: 10 epochs, lr
    0.003)``, naming the exceptions among ``datasets``."""

    def words(training: TrainingConfig) -> str:
        return f"{training.epochs} epochs, lr {training.lr:g}"

    text = f"{budget} ({words(BUDGETS[budget])}"
    for dataset in sorted(set(datasets)):
        if training_for(budget, dataset) != BUDGETS[budget]:
            text += f"; {dataset}: {words(training_for(budget, dataset))}"
    return text + ")"


#: Search kinds by objectives.
KINDS: dict[str, tuple[str, ...]] = {
    "aware": ("flops", "error"),
    "baseline": ("error",),
    "total": ("total_flops", "error"),
}


@dataclass(frozen=True)
class Interval:
    """Mean and 95% Student-t interval of per-seed values (None bounds with one value)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Interval | None:
        """The interval of ``values``, or None when there are none."""
        finite = [v for v in values if v is not None and math.isfinite(v)]
        if not finite:
            return None
        stats = AccuracyStats.of(finite)
        return cls(stats.mean, stats.ci_low, stats.ci_high, stats.n)

    def clipped(self, low: float, high: float) -> Interval:
        """The interval with its bounds kept inside ``[low, high]``, the range the quantity
        can take (a t-interval of shares near 1 otherwise ends above 1)."""

        def clip(v: float | None) -> float | None:
            return None if v is None else min(high, max(low, v))

        return Interval(self.mean, clip(self.low), clip(self.high), self.n)

    def show(self, scale: float = 1.0, spec: str = ".3f", unit: str = "") -> str:
        """``mean [low, high]`` (n = ...), scaled (100 for percent)."""
        mean = format(self.mean * scale, spec) + unit
        if self.low is None or self.high is None:
            return f"{mean} (n = {self.n})"
        low, high = format(self.low * scale, spec), format(self.high * scale, spec)
        return f"{mean} [{low}, {high}]{unit} (n = {self.n})"


def geometric(log_ratios: Sequence[float]) -> Interval | None:
    """The saving ``1 - exp(mean)`` of per-seed mean log ratios ``ln(aware / baseline)``,
    with the 95% t-interval of the log ratios mapped the same way (so the saving's interval
    is ``[1 - exp(high), 1 - exp(low)]``, never above 1)."""
    interval = Interval.of(log_ratios)
    if interval is None:
        return None
    low = None if interval.high is None else 1.0 - math.exp(interval.high)
    high = None if interval.low is None else 1.0 - math.exp(interval.low)
    return Interval(1.0 - math.exp(interval.mean), low, high, interval.n)


def correlation(rhos: Sequence[float]) -> Interval | None:
    """Mean and 95% interval of correlation coefficients through Fisher's z.

    Each rho maps to ``z = atanh(rho)`` (clipped to |rho| <= 1 - 1e-12, where atanh is finite),
    the t-interval is taken over the z values and mapped back with ``tanh``, so the mean and
    both bounds stay inside [-1, 1] (a plain t-interval over rho does not: 0.77 [0.50, 1.03]).
    """
    clipped = [
        max(-_RHO_CLIP, min(_RHO_CLIP, r)) for r in rhos if r is not None and math.isfinite(r)
    ]
    interval = Interval.of([math.atanh(r) for r in clipped])
    if interval is None:
        return None
    low = None if interval.low is None else math.tanh(interval.low)
    high = None if interval.high is None else math.tanh(interval.high)
    return Interval(math.tanh(interval.mean), low, high, interval.n)


#: Largest |rho| Fisher's z is taken of (atanh(1) is infinite).
_RHO_CLIP = 1.0 - 1e-12


@dataclass(frozen=True)
class RunKey:
    """What identifies one run of the experiment."""

    dataset: str
    budget: str
    seed: int
    kind: str


def budget_of(config: SearchConfig) -> str | None:
    """The name of ``config``'s training budget on its dataset (:func:`training_for`), or
    None."""
    for name in BUDGETS:
        training = training_for(name, config.dataset)
        if (config.training.epochs, config.training.lr) == (training.epochs, training.lr):
            return name
    return None


def find_runs(store: ResultsStore) -> dict[RunKey, str]:
    """The latest finished run of each (dataset, budget, seed, kind) in ``store``."""
    found: dict[RunKey, str] = {}
    for row in store.list_runs():  # oldest first: later runs replace earlier ones
        if row.status != "finished":
            continue
        config = row.config_as(SearchConfig)
        budget = budget_of(config)
        kind = next((k for k, v in KINDS.items() if v == tuple(config.objectives)), None)
        if budget is None or kind is None or config.strategy != "nsga2":
            continue
        found[RunKey(config.dataset, budget, config.seed, kind)] = row.id
    return found


@dataclass(frozen=True)
class SeedResult:
    """One dataset, budget and seed: the aware run's report against its baseline."""

    seed: int
    aware: RunSnapshot
    report: ReportData
    total: RunSnapshot | None

    @property
    def saving(self) -> float | None:
        """Mean FLOPs saving at equal accuracy against the baseline (fraction): the paper's
        arithmetic mean over the accuracy levels of ``1 - F_Q(aware) / F_Q(baseline)``."""
        return self.report.comparisons[0].mean_saving if self.report.comparisons else None

    @property
    def log_ratio(self) -> float | None:
        """Mean over the accuracy levels of ``ln(F_Q(aware) / F_Q(baseline))``: the geometric
        saving is ``1 - exp`` of it. Unlike the arithmetic mean of ``1 - ratio``, which has no
        lower bound, one level where the aware front is 100x dearer weighs as much as one where
        it is 100x cheaper."""
        if not self.report.comparisons:
            return None
        return _mean_log_ratio(self.report.comparisons[0].savings)

    @property
    def total_log_ratio(self) -> float | None:
        """The search on total FLOPs against the search on F_Q, both fronts priced in total
        FLOPs F_Q + F_C per sample: the mean over the accuracy levels both fronts reach of
        ``ln(total(total-FLOPs front) / total(F_Q front))``, cheapest network at each level.
        Below 0 when counting F_C finds networks that cost less in all at equal accuracy; 0
        when F_C stays fixed (then both searches rank networks alike). None without a
        total-FLOPs run or a common level."""
        if self.total is None:
            return None
        return _mean_log_ratio(flops_savings(_total_points(self.total), _total_points(self.aware)))


def _mean_log_ratio(savings: Sequence[Saving]) -> float | None:
    """Mean over the levels of ``ln(aware_flops / baseline_flops)`` (levels with a zero or
    missing cost left out), or None without a level."""
    logs = [
        math.log(s.aware_flops / s.baseline_flops)
        for s in savings
        if 0 < s.aware_flops < math.inf and 0 < s.baseline_flops < math.inf
    ]
    return sum(logs) / len(logs) if logs else None


def _total_points(run: RunSnapshot) -> list[Point]:
    """The run's front networks as (total FLOPs F_Q + F_C, mean validation accuracy)."""
    return [
        Point(r.key, r.quantum_flops + r.classical_flops, r.val_accuracy)
        for r in run.candidates
        if r.on_front and r.classical_flops is not None
    ]


@dataclass(frozen=True)
class Cell:
    """Everything the claims need for one dataset and budget, over its seeds."""

    dataset: str
    budget: str
    seeds: tuple[SeedResult, ...]
    repeats: int = 1
    extra: dict[str, object] = field(default_factory=dict)

    # claim 1 ---------------------------------------------------------------------------
    @property
    def saving(self) -> Interval | None:
        """FLOPs saving against the baseline over the seeds (the paper's arithmetic mean)."""
        return Interval.of([s.saving for s in self.seeds if s.saving is not None])

    @property
    def geometric_saving(self) -> Interval | None:
        """Geometric FLOPs saving over the seeds: the t-interval of the per-seed mean log
        ratios, mapped through ``1 - exp`` (see :func:`geometric`)."""
        return geometric([s.log_ratio for s in self.seeds if s.log_ratio is not None])

    # claim 2 ---------------------------------------------------------------------------
    @property
    def total_saving(self) -> Interval | None:
        """Total FLOPs (F_Q + F_C) the search on total FLOPs saves against the search on F_Q
        at equal accuracy, geometric over the seeds (see :attr:`SeedResult.total_log_ratio`)."""
        return geometric([r for s in self.seeds if (r := s.total_log_ratio) is not None])

    def rho(self, proxy: str) -> Interval | None:
        """Spearman rho of ``proxy`` with mean validation accuracy over each aware run's
        candidates, over the seeds. ``proxy``: ``F_Q``, ``F_C`` or ``effective``."""
        values = []
        for s in self.seeds:
            rows = [r for r in s.aware.candidates if _proxy(r, proxy) is not None]
            rho = spearman([_proxy(r, proxy) or 0.0 for r in rows], [r.val_accuracy for r in rows])
            if rho.rho is not None:
                values.append(rho.rho)
        return correlation(values)

    def dead(self, kind: str) -> tuple[int, int]:
        """(front networks without a trainable quantum weight, front networks) summed over
        the seeds' ``aware`` or ``total`` fronts."""
        dead = size = 0
        for s in self.seeds:
            run = s.aware if kind == "aware" else s.total
            if run is None:
                continue
            front = [r for r in run.candidates if r.on_front]
            size += len(front)
            dead += sum(r.params_quantum_effective == 0 for r in front)
        return dead, size

    def classical_share(self) -> float | None:
        """Median F_C / F_Q over the aware fronts."""
        shares = [
            (r.classical_flops or 0.0) / r.quantum_flops
            for s in self.seeds
            for r in s.aware.candidates
            if r.on_front and r.classical_flops is not None and r.quantum_flops > 0
        ]
        return statistics.median(shares) if shares else None

    def classical_spread(self) -> float:
        """The largest max / min F_C over the networks of one aware front (1: fixed)."""
        spreads = [1.0]
        for s in self.seeds:
            values = [
                r.classical_flops
                for r in s.aware.candidates
                if r.on_front and r.classical_flops is not None and r.classical_flops > 0
            ]
            if values:
                spreads.append(max(values) / min(values))
        return max(spreads)

    def drives(self) -> bool:
        """Claim 2's first half for this cell: F_Q's rank correlation with mean accuracy has
        an interval above 0."""
        rho = self.rho("F_Q")
        return rho is not None and rho.low is not None and rho.low > 0

    def classical_fixed(self) -> bool:
        """Claim 2's second half: F_C varies by at most 1.5-fold across every aware front."""
        return self.classical_spread() <= 1.5

    def front_rho(self, proxy: str) -> float | None:
        """Spearman rho of ``proxy`` with mean validation accuracy over the networks of the
        aware fronts, pooled over the seeds (F_Q's is 1 on a front by construction)."""
        rows = [
            r
            for s in self.seeds
            for r in s.aware.candidates
            if r.on_front and _proxy(r, proxy) is not None
        ]
        return spearman([_proxy(r, proxy) or 0.0 for r in rows], [r.val_accuracy for r in rows]).rho

    # claim 3 ---------------------------------------------------------------------------
    @property
    def threshold(self) -> Interval | None:
        """log10 of the FLOPs threshold over the seeds (geometric mean and interval)."""
        return Interval.of(
            [math.log10(s.report.threshold.quantum_flops) for s in self.seeds if s.report.threshold]
        )

    def threshold_stable(self) -> bool:
        """Claim 3 for this cell: the threshold's interval spans less than a factor of 4."""
        t = self.threshold
        return (
            t is not None
            and t.low is not None
            and t.high is not None
            and t.high - t.low < math.log10(4.0)
        )

    # beyond ----------------------------------------------------------------------------
    def noise_loss(self) -> Interval | None:
        """Exact minus noisy test accuracy over every re-evaluated aware front network."""
        return Interval.of(
            [h.simulator_accuracy - h.accuracy for s in self.seeds for h in s.aware.hardware]
        )

    def reevaluated(self) -> tuple[int, int]:
        """(aware front networks with a noisy re-evaluation, aware front networks) summed over
        the seeds; the rest were left out by the run's qubit limit or QPU-seconds budget."""
        done = size = 0
        for s in self.seeds:
            measured = {h.key for h in s.aware.hardware}
            front = [r for r in s.aware.candidates if r.on_front]
            size += len(front)
            done += sum(r.key in measured for r in front)
        return done, size

    def variance_share(self) -> Interval | None:
        """The architecture's share of accuracy variance (ICC) of the aware runs, over seeds;
        the interval's bounds are kept inside [0, 1], where a share lies."""
        interval = Interval.of(
            [
                s.aware.variance.share
                for s in self.seeds
                if s.aware.variance is not None and s.aware.variance.share is not None
            ]
        )
        return None if interval is None else interval.clipped(0.0, 1.0)


def _proxy(row: CandidateRow, name: str) -> float | None:
    if name == "F_Q":
        return row.quantum_flops
    if name == "F_C":
        return None if row.classical_flops is None else float(row.classical_flops)
    return None if row.params_quantum_effective is None else float(row.params_quantum_effective)


def cells(store: ResultsStore, runs: Mapping[RunKey, str]) -> list[Cell]:
    """One :class:`Cell` per dataset and budget that has aware and baseline runs."""
    out = []
    groups = sorted({(k.dataset, k.budget) for k in runs}, key=lambda g: (g[1] != "paper", g))
    for dataset, budget in groups:
        seeds = []
        repeats = 1
        for seed in sorted({k.seed for k in runs if (k.dataset, k.budget) == (dataset, budget)}):
            aware_id = runs.get(RunKey(dataset, budget, seed, "aware"))
            base_id = runs.get(RunKey(dataset, budget, seed, "baseline"))
            if aware_id is None or base_id is None:
                continue
            total_id = runs.get(RunKey(dataset, budget, seed, "total"))
            aware = snapshot(store, aware_id)
            report = build_report(aware, [snapshot(store, base_id)])
            total = snapshot(store, total_id) if total_id else None
            repeats = max((r.repeats for r in aware.candidates), default=1)
            seeds.append(SeedResult(seed, aware, report, total))
        if seeds:
            out.append(Cell(dataset, budget, tuple(seeds), repeats))
    return out


def busy_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals (seconds): overlapping jobs count
    once, and the gaps between them (another call, hours later) not at all."""
    total = 0.0
    end = -math.inf
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def walls(store: ResultsStore, runs: Mapping[RunKey, str]) -> dict[tuple[str, str], float]:
    """Seconds spent per (dataset, budget), read from the store: each counted run from its
    start to its last write (a run resumed after an interruption counts the pause too), plus
    the time its hardware re-evaluation jobs were open, from each job's creation to its last
    write (the union over the jobs, so jobs added by a later call do not count the gap)."""
    by_id = {row.id: row for row in store.list_runs()}
    out: dict[tuple[str, str], float] = {}
    for key, run_id in runs.items():
        row = by_id[run_id]
        spent = row.updated_at - row.created_at
        spent += busy_seconds((j.created_at, j.updated_at) for j in store.hardware_jobs(run_id))
        out[(key.dataset, key.budget)] = out.get((key.dataset, key.budget), 0.0) + spent
    return out


def span(store: ResultsStore, runs: Mapping[RunKey, str]) -> float:
    """Seconds from the first counted run's start to the last write of any counted run or
    re-evaluation: the experiment's wall time, over however many calls it took."""
    ids = set(runs.values())
    rows = [row for row in store.list_runs() if row.id in ids]
    if not rows:
        return 0.0
    last = max(row.updated_at for row in rows)
    for run_id in ids:
        last = max([last, *(j.updated_at for j in store.hardware_jobs(run_id))])
    return last - min(row.created_at for row in rows)


def verdict_saving(interval: Interval | None) -> str:
    """Whether the saving holds: significantly above 0, and compatible with the paper's ~37%
    (both stated, whatever the first is)."""
    if interval is None:
        return "no data"
    if interval.low is None or interval.high is None:
        return "one seed: no interval"
    paper = f"~{100 * PAPER_SAVING:.0f}%"
    compatible = interval.low <= PAPER_SAVING <= interval.high
    size = f"compatible with {paper}" if compatible else f"interval excludes {paper}"
    if interval.low > 0:
        return f"holds: above 0, {size}"
    if interval.high < 0:
        return f"does not hold: significantly below 0, {size}"
    return f"not shown: interval includes 0, {size}"


def saving_holds(interval: Interval | None) -> bool:
    """Claim 1 holds for a cell: the saving's interval lies above 0."""
    return interval is not None and interval.low is not None and interval.low > 0


def overall(holds: Mapping[str, bool]) -> str:
    """``holds`` / ``does not hold`` / ``depends (holds for ...)`` over the datasets."""
    if not holds:
        return "no data"
    yes = [name for name, ok in holds.items() if ok]
    if len(yes) == len(holds):
        return "holds"
    if not yes:
        return "does not hold"
    return f"depends: holds for {', '.join(yes)} only"
