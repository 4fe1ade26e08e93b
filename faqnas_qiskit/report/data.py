"""The numbers behind every plot and table of a report.

``snapshot`` reads a run from the store into plain values (the only I/O here); everything else
is pure: :func:`build_report` turns snapshots into a :class:`ReportData` that the renderer only
draws, and that the tests check against values computed by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.report.analysis import (
    Correlation,
    Point,
    Saving,
    flops_savings,
    flops_threshold,
    mean_saving,
    spearman,
)
from faqnas_qiskit.search import VarianceSummary, load_run, non_dominated
from faqnas_qiskit.space import Genome
from faqnas_qiskit.store import HardwareJobRow, HardwareJobStatus, ResultsStore, present

__all__ = [
    "CandidateRow",
    "Comparison",
    "HardwareRow",
    "ReportData",
    "RunSnapshot",
    "build_report",
    "flops_front",
    "snapshot",
]

NOISY_ADAPTERS = ("fake",)
HARDWARE_ADAPTERS = ("ibm_runtime",)


@dataclass(frozen=True)
class CandidateRow:
    """One evaluated architecture of a run (successful ones only).

    Accuracies are means over the run's repeats (``val_sd`` and ``test_sd`` their sample
    standard deviations, None with one repeat); FLOPs are per sample; ``params`` counts the
    classical parameters and every circuit weight, ``params_quantum_effective`` the circuit
    weights that can train (DESIGN §5.1).
    """

    key: str
    generation: int
    val_accuracy: float
    test_accuracy: float
    quantum_flops: float
    classical_flops: float | None
    params: int
    two_qubit_gates: int | None
    predicted_qpu_s: float | None
    train_time_s: float
    on_front: bool
    val_sd: float | None = None
    test_sd: float | None = None
    repeats: int = 1
    params_quantum_effective: int | None = None

    @property
    def total_flops(self) -> float | None:
        """F_Q + F_C per sample, or None when F_C is unknown."""
        return None if self.classical_flops is None else self.quantum_flops + self.classical_flops


@dataclass(frozen=True)
class HardwareRow:
    """One re-evaluation of an architecture on a backend profile."""

    key: str
    profile: str
    adapter: str
    shots: int
    accuracy: float
    simulator_accuracy: float
    predicted_qpu_s: float | None
    measured_qpu_s: float
    two_qubit_gates: int


@dataclass(frozen=True)
class RunSnapshot:
    """A run as plain values."""

    run_id: str
    dataset: str
    strategy: str
    objectives: tuple[str, ...]
    status: str
    n_val: int
    candidates: tuple[CandidateRow, ...]
    failures: int
    hardware: tuple[HardwareRow, ...] = ()
    variance: VarianceSummary | None = None


def snapshot(store: ResultsStore, run_id: str, n_val: int = 0) -> RunSnapshot:
    """Read a run, its candidates and its hardware re-evaluations from the store.

    Args:
        store: The results store.
        run_id: The run.
        n_val: Validation-split size, for the accuracy tolerance of the FLOPs threshold
            (0: the smallest accuracy step seen in the run).
    """
    run, config, candidates, front = load_run(store, run_id)
    first_generation: dict[str, int] = {}
    for generation in store.generations(run_id):
        for key in generation.stats.get("evaluated", []):
            first_generation.setdefault(key, generation.generation)
    front_keys = {c.key for c in front}
    rows = []
    for c in candidates:
        record, costs = c.evaluation.fields, c.evaluation.costs
        if c.val is None or c.test is None or record is None:
            continue
        effective = record.params_quantum_effective
        if effective is None:  # records stored before the dead-weight analysis
            effective = effective_weights(Genome.parse(c.key))
        transpiled = costs.transpiled
        rows.append(
            CandidateRow(
                key=c.key,
                generation=first_generation.get(c.key, 0),
                val_accuracy=c.val.mean,
                test_accuracy=c.test.mean,
                quantum_flops=float(costs.quantum_flops or 0.0),
                classical_flops=costs.classical_flops,
                params=present(record.params_classical, "params_classical")
                + present(record.params_quantum, "params_quantum"),
                two_qubit_gates=None if transpiled is None else transpiled.two_qubit_gates,
                predicted_qpu_s=None if transpiled is None else transpiled.predicted_qpu_s,
                train_time_s=float(present(record.train_time_s, "train_time_s")),
                on_front=c.key in front_keys,
                val_sd=c.val.sd,
                test_sd=c.test.sd,
                repeats=c.val.n,
                params_quantum_effective=int(effective),
            )
        )
    latest: dict[tuple[str, str], HardwareJobRow] = {}  # one row per architecture and backend
    for job in store.hardware_jobs(run_id):
        if job.status != HardwareJobStatus.DONE or job.result is None:
            continue
        seen = latest.get((job.key, job.backend))
        if seen is None or job.updated_at >= seen.updated_at:
            latest[(job.key, job.backend)] = job
    hardware = []
    for job in sorted(latest.values(), key=lambda j: j.id):
        r = job.summary
        assert r is not None
        hardware.append(
            HardwareRow(
                key=job.key,
                profile=job.backend,
                adapter=r.adapter or "",
                shots=present(r.shots, "shots", "hardware result"),
                accuracy=float(present(r.accuracy, "accuracy", "hardware result")),
                simulator_accuracy=float(
                    present(r.simulator_accuracy, "simulator_accuracy", "hardware result")
                ),
                predicted_qpu_s=r.predicted_qpu_s,
                measured_qpu_s=float(r.measured_qpu_s or 0.0),
                two_qubit_gates=present(r.two_qubit_gates, "two_qubit_gates", "hardware result"),
            )
        )
    return RunSnapshot(
        run_id=run.id,
        dataset=run.dataset,
        strategy=config.strategy,
        objectives=tuple(config.objectives),
        status=run.status,
        n_val=n_val,
        candidates=tuple(rows),
        failures=sum(not c.ok for c in candidates),
        hardware=tuple(hardware),
        variance=VarianceSummary.of(candidates, config.repeats),
    )


@dataclass(frozen=True)
class Comparison:
    """The FLOPs-aware run against one FLOPs-agnostic (or other) run."""

    baseline_id: str
    baseline_objectives: tuple[str, ...]
    baseline_front: tuple[CandidateRow, ...]
    savings: tuple[Saving, ...]
    mean_saving: float | None


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows.

    Attributes:
        run: The main run.
        front: Its non-dominated candidates in (F_Q, 1 - val accuracy), by ascending F_Q.
        comparisons: One per ``--compare`` run.
        threshold: The cheapest candidate within one accuracy step of the best.
        tolerance: That step (fraction).
        correlations: Spearman's rho of F_Q with two-qubit count, predicted and measured QPU
            seconds, and training time, keyed by name.
        accuracy_table: Per front architecture: ideal (exact simulation) accuracy and the
            accuracy on each re-evaluation profile.
        missing: What the report lacks and how to add it, one sentence each.
    """

    run: RunSnapshot
    front: tuple[CandidateRow, ...]
    comparisons: tuple[Comparison, ...]
    threshold: CandidateRow | None
    tolerance: float
    correlations: dict[str, Correlation]
    accuracy_table: tuple[dict[str, Any], ...]
    missing: tuple[str, ...] = field(default_factory=tuple)


def flops_front(rows: Sequence[CandidateRow]) -> list[CandidateRow]:
    """Non-dominated rows in (F_Q, 1 - validation accuracy), by ascending F_Q."""
    points = [(r.quantum_flops, 1.0 - r.val_accuracy) for r in rows]
    front = [rows[i] for i in non_dominated(points)]
    return sorted(front, key=lambda r: (r.quantum_flops, -r.val_accuracy, r.key))


def _points(rows: Sequence[CandidateRow]) -> list[Point]:
    return [Point(r.key, r.quantum_flops, r.val_accuracy) for r in rows]


def _tolerance(run: RunSnapshot) -> float:
    if run.n_val > 0:
        return 1.0 / run.n_val
    levels = sorted({r.val_accuracy for r in run.candidates})
    steps = [b - a for a, b in pairwise(levels) if b - a > 1e-12]
    return min(steps) if steps else 0.0


def build_report(run: RunSnapshot, baselines: Sequence[RunSnapshot] = ()) -> ReportData:
    """All report numbers from snapshots (pure)."""
    front = flops_front(run.candidates)
    comparisons = []
    for base in baselines:
        savings = flops_savings(_points(front), _points(base.candidates))
        comparisons.append(
            Comparison(
                baseline_id=base.run_id,
                baseline_objectives=base.objectives,
                baseline_front=tuple(flops_front(base.candidates)),
                savings=tuple(savings),
                mean_saving=mean_saving(savings),
            )
        )
    tolerance = _tolerance(run)
    point = flops_threshold(_points(run.candidates), tolerance)
    threshold = next((r for r in run.candidates if point and r.key == point.key), None)
    ok = run.candidates
    with_2q = [r for r in ok if r.two_qubit_gates is not None]
    with_qpu = [r for r in ok if r.predicted_qpu_s is not None]
    measured = [h for h in run.hardware if h.measured_qpu_s > 0]
    flops_of = {r.key: r.quantum_flops for r in ok}
    correlations = {
        "flops_vs_two_qubit_gates": spearman(
            [r.quantum_flops for r in with_2q], [float(r.two_qubit_gates or 0) for r in with_2q]
        ),
        "flops_vs_predicted_qpu_s": spearman(
            [r.quantum_flops for r in with_qpu], [float(r.predicted_qpu_s or 0) for r in with_qpu]
        ),
        "flops_vs_measured_qpu_s": spearman(
            [flops_of.get(h.key, 0.0) for h in measured], [h.measured_qpu_s for h in measured]
        ),
        "flops_vs_training_time": spearman(
            [r.quantum_flops for r in ok], [r.train_time_s for r in ok]
        ),
    }
    table = []
    profiles = sorted({h.profile for h in run.hardware})
    for r in front:
        row: dict[str, Any] = {
            "genome": r.key,
            "quantum_flops": r.quantum_flops,
            "val_accuracy": r.val_accuracy,
            "ideal_accuracy": r.test_accuracy,
        }
        for profile in profiles:  # every row has every column; None where not re-evaluated
            row[f"{profile}_accuracy"] = None
            row[f"{profile}_measured_qpu_s"] = None
        for h in run.hardware:
            if h.key == r.key:
                row[f"{h.profile}_accuracy"] = h.accuracy
                row[f"{h.profile}_measured_qpu_s"] = h.measured_qpu_s
        table.append(row)
    missing = []
    if not run.hardware:
        missing.append(
            f"No hardware or noisy-simulation results: run 'faqnas hardware {run.run_id} "
            "--backend fake_fez' (noisy simulation, free) or '--backend ibm_fez' (QPU time), "
            "then write the report again."
        )
    elif not any(h.adapter in HARDWARE_ADAPTERS for h in run.hardware):
        missing.append(
            f"No results from real hardware: run 'faqnas hardware {run.run_id} --backend ibm_fez' "
            "with an IBM Quantum account to measure QPU seconds."
        )
    if not baselines:
        missing.append(
            "No FLOPs-agnostic baseline: run 'faqnas search --objectives error' with the same "
            f"dataset, seed and budget, then 'faqnas report {run.run_id} --compare BASELINE_RUN'."
        )
    return ReportData(
        run=run,
        front=tuple(front),
        comparisons=tuple(comparisons),
        threshold=threshold,
        tolerance=tolerance,
        correlations=correlations,
        accuracy_table=tuple(table),
        missing=tuple(missing),
    )
