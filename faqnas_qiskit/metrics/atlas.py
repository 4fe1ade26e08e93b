"""The cost atlas (DESIGN §5.2): every network's genome-level cost on a target, and how well the
FLOPs proxies rank hardware cost over the whole space.

Two halves:

* **Filling** (:func:`fill_atlas`): computes the :class:`~faqnas_qiskit.metrics.cache.CostEntry`
  rows of the networks the cache lacks, on the IBM target and on Aer, in this process, on local
  worker processes or on a Dask cluster, and writes each chunk of results the moment it arrives
  (one transaction), so a run killed at any moment resumes where it stopped.
* **Reporting** (:func:`build_atlas_report`, pure; :func:`write_atlas_report`, files): Spearman
  and Kendall (tau-b) rank correlations of the proxies (F_Q, F_Q + F_C at given widths, all
  parameters, effective parameters) with the hardware costs (two-qubit gates, two-qubit depth,
  scheduled duration, predicted QPU seconds), over the whole atlas, by embedding and by qubit
  count; the networks where F_Q and a cost disagree most; and plots of log F_Q against each cost.

This module holds the reporting data (rows, rank correlations, disagreements, the report) and
re-exports the filling, which is in :mod:`faqnas_qiskit.metrics.atlas_fill`; the report's files
are written by :mod:`faqnas_qiskit.metrics.atlas_files`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from faqnas_qiskit.metrics.atlas_fill import FillSummary, atlas_networks, fill_atlas
from faqnas_qiskit.metrics.cache import CostEntry
from faqnas_qiskit.metrics.flops import classical_flops_formula
from faqnas_qiskit.space import Genome

__all__ = [
    "COSTS",
    "PROXIES",
    "AtlasReport",
    "AtlasRow",
    "Disagreement",
    "FillSummary",
    "RankCorrelation",
    "atlas_networks",
    "atlas_rows",
    "build_atlas_report",
    "disagreements",
    "fill_atlas",
    "rank_correlations",
]

PROXIES: tuple[str, ...] = ("F_Q", "F_Q+F_C", "params", "effective params")
"""Simulator-side proxies: quantum FLOPs, total FLOPs, all parameters, effective parameters."""

COSTS: tuple[str, ...] = ("2q gates", "2q depth", "duration", "QPU s")
"""Hardware costs on the target: two-qubit gates, two-qubit depth, scheduled duration of one
shot (seconds), predicted QPU seconds of one job."""


# ----------------------------------------------------------------------------------- reporting
@dataclass(frozen=True)
class AtlasRow:
    """One network of an atlas with its proxies and costs (the report's unit).

    Attributes:
        genome: Canonical genome key.
        n_qubits: Qubits.
        embedding: ``angle`` or ``amplitude``.
        quantum_flops: F_Q per sample, FLOPs.
        classical_flops: F_C per sample at the report's widths, FLOPs.
        params: Quantum + classical parameters at the report's widths.
        effective_params: Effective quantum + classical parameters.
        two_qubit_gates: Two-qubit gates on the target.
        two_qubit_depth: Two-qubit depth on the target.
        duration_s: Scheduled duration of one shot, seconds.
        qpu_s: Predicted QPU seconds of one job (the report's samples × shots).
    """

    genome: str
    n_qubits: int
    embedding: str
    quantum_flops: int
    classical_flops: int
    params: int
    effective_params: int
    two_qubit_gates: int
    two_qubit_depth: int
    duration_s: float
    qpu_s: float

    def proxy(self, name: str) -> float:
        """The value of proxy ``name`` (one of :data:`PROXIES`)."""
        values = {
            "F_Q": self.quantum_flops,
            "F_Q+F_C": self.quantum_flops + self.classical_flops,
            "params": self.params,
            "effective params": self.effective_params,
        }
        return float(values[name])

    def cost(self, name: str) -> float:
        """The value of cost ``name`` (one of :data:`COSTS`)."""
        values = {
            "2q gates": self.two_qubit_gates,
            "2q depth": self.two_qubit_depth,
            "duration": self.duration_s,
            "QPU s": self.qpu_s,
        }
        return float(values[name])


def atlas_rows(
    entries: Iterable[CostEntry], *, n_features: int, n_classes: int, samples: int, shots: int
) -> list[AtlasRow]:
    """The report's rows of one target's atlas.

    Args:
        entries: Cache rows of one (timed) target.
        n_features: Input width, for F_C and the classical parameters.
        n_classes: Number of classes, for F_C and the classical parameters.
        samples: Circuits of the job whose QPU seconds are predicted.
        shots: Shots per circuit.

    Returns:
        One row per entry, in genome order.
    """
    rows = []
    for entry in sorted(entries, key=lambda e: e.genome):
        if entry.duration_s is None:
            continue
        genome = Genome.parse(entry.genome)
        classical = (n_features + 1) * genome.n_inputs + (genome.n_qubits + 1) * n_classes
        qpu = entry.predicted_qpu_s(samples=samples, shots=shots)
        assert qpu is not None
        rows.append(
            AtlasRow(
                genome=entry.genome,
                n_qubits=genome.n_qubits,
                embedding=genome.embedding,
                quantum_flops=entry.quantum_flops,
                classical_flops=classical_flops_formula(genome, n_features, n_classes),
                params=entry.params_quantum + classical,
                effective_params=entry.params_quantum_effective + classical,
                two_qubit_gates=entry.two_qubit_gates,
                two_qubit_depth=entry.two_qubit_depth,
                duration_s=entry.duration_s,
                qpu_s=qpu,
            )
        )
    return rows


@dataclass(frozen=True)
class RankCorrelation:
    """Rank agreement of a proxy with a cost over a group of networks.

    Attributes:
        target: Target name.
        proxy: One of :data:`PROXIES`.
        cost: One of :data:`COSTS`.
        group: ``all``, an embedding (``angle``, ``amplitude``) or a qubit count (``q4``).
        n: Networks in the group.
        spearman: Spearman's rho (average ranks for ties); None when either side is constant.
        kendall: Kendall's tau-b; None when either side is constant.
    """

    target: str
    proxy: str
    cost: str
    group: str
    n: int
    spearman: float | None
    kendall: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; keys are the attribute names."""
        return asdict(self)


def _rank_pair(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    from scipy import stats

    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return None, None
    rho = float(stats.spearmanr(x, y).statistic)
    tau = float(stats.kendalltau(x, y).statistic)
    return (None if math.isnan(rho) else rho), (None if math.isnan(tau) else tau)


def _groups(rows: Sequence[AtlasRow]) -> list[tuple[str, list[int]]]:
    groups: list[tuple[str, list[int]]] = [("all", list(range(len(rows))))]
    for embedding in ("angle", "amplitude"):
        groups.append((embedding, [i for i, r in enumerate(rows) if r.embedding == embedding]))
    for n in sorted({r.n_qubits for r in rows}):
        groups.append((f"q{n}", [i for i, r in enumerate(rows) if r.n_qubits == n]))
    return [(name, members) for name, members in groups if members]


def rank_correlations(
    rows: Sequence[AtlasRow],
    target: str,
    *,
    proxies: Sequence[str] = PROXIES,
    costs: Sequence[str] = COSTS,
) -> list[RankCorrelation]:
    """Spearman and Kendall correlations of every proxy with every cost, by group.

    Groups: all networks, each embedding, each qubit count.

    Returns:
        One :class:`RankCorrelation` per (group, proxy, cost).
    """
    columns_p = {p: np.array([r.proxy(p) for r in rows]) for p in proxies}
    columns_c = {c: np.array([r.cost(c) for r in rows]) for c in costs}
    out = []
    for group, members in _groups(rows):
        index = np.array(members)
        for proxy in proxies:
            for cost in costs:
                rho, tau = _rank_pair(columns_p[proxy][index], columns_c[cost][index])
                out.append(RankCorrelation(target, proxy, cost, group, len(members), rho, tau))
    return out


@dataclass(frozen=True)
class Disagreement:
    """A network whose rank by a proxy is far from its rank by a cost.

    Attributes:
        target: Target name.
        genome: Canonical genome key.
        proxy: One of :data:`PROXIES`.
        cost: One of :data:`COSTS`.
        proxy_value: The proxy's value.
        cost_value: The cost's value.
        proxy_rank: Percentile rank by the proxy, 0 (cheapest) .. 1 (dearest).
        cost_rank: Percentile rank by the cost.
        gap: ``proxy_rank - cost_rank``: positive when the proxy overstates the cost.
    """

    target: str
    genome: str
    proxy: str
    cost: str
    proxy_value: float
    cost_value: float
    proxy_rank: float
    cost_rank: float
    gap: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; keys are the attribute names."""
        return asdict(self)


def _percentile_ranks(values: np.ndarray) -> np.ndarray:
    from scipy import stats

    if len(values) < 2:
        return np.zeros(len(values))
    return (stats.rankdata(values) - 1.0) / (len(values) - 1.0)


def disagreements(
    rows: Sequence[AtlasRow], target: str, *, proxy: str = "F_Q", cost: str = "QPU s", top: int = 5
) -> list[Disagreement]:
    """The networks where ``proxy`` and ``cost`` disagree most, both ways.

    Returns:
        Up to ``top`` networks the proxy ranks far dearer than the cost (largest gap first),
        then up to ``top`` it ranks far cheaper (most negative gap first).
    """
    if not rows:
        return []
    p = np.array([r.proxy(proxy) for r in rows])
    c = np.array([r.cost(cost) for r in rows])
    rp, rc = _percentile_ranks(p), _percentile_ranks(c)
    gap = rp - rc
    order = np.lexsort((np.array([r.genome for r in rows]), -gap))
    over = [int(i) for i in order[:top] if gap[i] > 0]
    under_order = np.lexsort((np.array([r.genome for r in rows]), gap))
    under = [int(i) for i in under_order[:top] if gap[i] < 0]
    return [
        Disagreement(
            target,
            rows[i].genome,
            proxy,
            cost,
            float(p[i]),
            float(c[i]),
            float(rp[i]),
            float(rc[i]),
            float(gap[i]),
        )
        for i in (*over, *under)
    ]


@dataclass(frozen=True)
class AtlasReport:
    """Everything the atlas report shows, for one or several targets.

    Attributes:
        targets: Target names, in report order.
        networks: Target -> networks in its atlas.
        settings: Widths, samples, shots, optimisation level and seed the report used.
        correlations: Every :class:`RankCorrelation`.
        disagreements: The networks where F_Q disagrees most with each cost, per target.
    """

    targets: tuple[str, ...]
    networks: Mapping[str, int]
    settings: Mapping[str, Any]
    correlations: tuple[RankCorrelation, ...]
    disagreements: tuple[Disagreement, ...]

    def correlation(
        self, target: str, proxy: str, cost: str, group: str = "all"
    ) -> RankCorrelation | None:
        """The correlation of ``proxy`` with ``cost`` on ``target`` over ``group``, if any."""
        for c in self.correlations:
            if (c.target, c.proxy, c.cost, c.group) == (target, proxy, cost, group):
                return c
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "targets": list(self.targets),
            "networks": dict(self.networks),
            "settings": dict(self.settings),
            "correlations": [c.to_dict() for c in self.correlations],
            "disagreements": [d.to_dict() for d in self.disagreements],
        }


def build_atlas_report(
    atlases: Mapping[str, Sequence[AtlasRow]],
    *,
    settings: Mapping[str, Any] | None = None,
    top: int = 5,
) -> AtlasReport:
    """The report's data (pure): correlations and disagreements of each target's atlas.

    Args:
        atlases: Target name -> its rows (:func:`atlas_rows`).
        settings: Recorded with the report (widths, samples, shots, level, seed).
        top: Disagreeing networks listed per direction, per cost and target.

    Returns:
        The report.
    """
    correlations: list[RankCorrelation] = []
    worst: list[Disagreement] = []
    for target, rows in atlases.items():
        correlations.extend(rank_correlations(rows, target))
        for cost in COSTS:
            worst.extend(disagreements(rows, target, proxy="F_Q", cost=cost, top=top))
    return AtlasReport(
        targets=tuple(atlases),
        networks={t: len(rows) for t, rows in atlases.items()},
        settings=dict(settings or {}),
        correlations=tuple(correlations),
        disagreements=tuple(worst),
    )
