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
"""

from __future__ import annotations

import csv
import json
import math
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faqnas_qiskit.errors import ConfigError, FaqnasError, invalid
from faqnas_qiskit.metrics.background import exit_with_parent
from faqnas_qiskit.metrics.cache import CostCache, CostEntry, compute_entry, entry_from_dict
from faqnas_qiskit.metrics.flops import classical_flops_formula
from faqnas_qiskit.metrics.transpiled import (
    AER_TARGET,
    DEFAULT_AER_OPTIMIZATION_LEVEL,
    TargetInfo,
)
from faqnas_qiskit.space import Genome, SearchSpace

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
    "render_markdown",
    "write_atlas_report",
]

PROXIES: tuple[str, ...] = ("F_Q", "F_Q+F_C", "params", "effective params")
"""Simulator-side proxies: quantum FLOPs, total FLOPs, all parameters, effective parameters."""

COSTS: tuple[str, ...] = ("2q gates", "2q depth", "duration", "QPU s")
"""Hardware costs on the target: two-qubit gates, two-qubit depth, scheduled duration of one
shot (seconds), predicted QPU seconds of one job."""


# ------------------------------------------------------------------------------------- filling
def atlas_networks(space: SearchSpace | None = None, *, exclude_dead: bool = False) -> list[Genome]:
    """Every distinct network of ``space`` (8,640 for the full space), canonical genomes.

    Args:
        space: The (sub-)space; the whole space when None.
        exclude_dead: Leave out networks without an effective quantum weight.
    """
    networks = list((space or SearchSpace()).networks())
    if exclude_dead:
        from faqnas_qiskit.circuits import has_live_weights

        networks = [g for g in networks if has_live_weights(g)]
    return networks


@dataclass(frozen=True)
class FillSummary:
    """What one :func:`fill_atlas` call did.

    Attributes:
        target: Target name.
        total: Networks asked for.
        cached: Networks whose rows were in the cache already.
        computed: Networks computed (and written) by this call.
        too_large: Networks with more qubits than the target (skipped).
        wall_s: Wall time of the call, seconds.
        compute_s: Sum of the per-network compute times, seconds (over all workers).
    """

    target: str
    total: int
    cached: int
    computed: int
    too_large: int
    wall_s: float
    compute_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; keys are the attribute names."""
        return asdict(self)


# A worker's targets, loaded once per worker thread (pass managers are slow to build, and a
# TargetInfo is not thread-safe: a Dask worker runs several tasks at once in threads). Only
# workers touch it; the caller's process passes its own dictionary.
_WORKER = threading.local()


def _worker_targets() -> dict[str, TargetInfo]:
    targets: dict[str, TargetInfo] | None = getattr(_WORKER, "targets", None)
    if targets is None:
        targets = _WORKER.targets = {}
    return targets


def _worker_init(parent: int) -> None:
    """Exit a worker when its parent dies (kill -9 gives the parent no chance to stop it)."""
    exit_with_parent(parent)


def _compute_chunk(
    keys: Sequence[str],
    target: str,
    level: int,
    seed: int,
    aer_level: int,
    targets: dict[str, TargetInfo] | None = None,
) -> list[dict[str, Any]]:
    """Rows (JSON form) of ``keys`` on ``target`` and on Aer (in a worker: its own targets)."""
    from faqnas_qiskit.circuits import build_circuit

    loaded = _worker_targets() if targets is None else targets
    for name in (target, AER_TARGET):
        if name not in loaded:
            loaded[name] = TargetInfo.load(name)
    ibm, aer = loaded[target], loaded[AER_TARGET]
    out = []
    for key in keys:
        genome = Genome.parse(key)
        circuit = build_circuit(genome).circuit
        for info, lvl in ((ibm, level), (aer, aer_level)):
            entry = compute_entry(
                genome, info, optimization_level=lvl, seed_transpiler=seed, circuit=circuit
            )
            out.append(entry.to_dict())
        # counts are in the cache now: a long atlas must not grow the worker's memory
        ibm.clear_counts()
        aer.clear_counts()
    return out


def fill_atlas(
    genomes: Iterable[Genome],
    cache: CostCache,
    *,
    target: str,
    optimization_level: int = 1,
    seed_transpiler: int = 0,
    aer_optimization_level: int = DEFAULT_AER_OPTIMIZATION_LEVEL,
    workers: int = 1,
    client: Any = None,
    chunk: int = 4,
    progress: Callable[[int, int], None] | None = None,
    shuffle_seed: int = 0,
) -> FillSummary:
    """Compute and store the rows the cache lacks for ``genomes`` on ``target`` (and on Aer).

    Networks are computed in a shuffled order (so that the progress's ETA is honest: cost
    grows steeply with qubits) and written chunk by chunk as they arrive, each chunk in one
    transaction: a process killed at any moment loses at most the chunks in flight, and the
    next call computes only what is missing.

    Args:
        genomes: The networks (canonical keys are used; duplicates count once).
        cache: The machine's cost cache; must be usable.
        target: Canonical IBM target name (``"fake_fez"``); loaded to check it exists.
        optimization_level: Preset pass manager level on the target.
        seed_transpiler: Seed of the pass managers.
        aer_optimization_level: Preset pass manager level on Aer.
        workers: Local worker processes; 1 computes in this process. Ignored with ``client``.
        client: A connected ``distributed.Client``: compute on its cluster's workers instead
            (each must have faqnas-qiskit and the same qiskit installed; rows are keyed by this
            process's versions). At most two chunks per worker thread are in flight.
        chunk: Networks per task sent to a worker.
        progress: Called with (done, to do) after each chunk is stored.
        shuffle_seed: Seed of the order of computation.

    Returns:
        What was done.

    Raises:
        ConfigError: For an unusable cache, an unknown target or bad settings.
        ClusterError: If the Dask cluster is lost or a worker cannot compute (the chunks
            stored before stay stored: run again to continue).
    """
    started = time.perf_counter()
    for name, value, low in (("workers", workers, 1), ("chunk", chunk, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(invalid(name, f"an integer of at least {low}", value, what="option"))
    if not cache.usable:
        raise ConfigError(
            invalid(
                "cache",
                "a writable SQLite file",
                str(cache.path),
                f"{cache.problem}. Pass --cache PATH to a writable place.",
                what="option",
            )
        )
    info = TargetInfo.load(target)
    if info.name == AER_TARGET or not info.timed:
        raise ConfigError(
            invalid("ibm-target", "a timed IBM target such as 'fake_fez'", target, what="option")
        )
    target = info.name
    unique = list(dict.fromkeys(g.key for g in genomes))
    too_large = [k for k in unique if Genome.parse(k).n_qubits > info.num_qubits]
    fits = [k for k in unique if Genome.parse(k).n_qubits <= info.num_qubits]
    have = cache.keys(target, optimization_level, seed_transpiler) & cache.keys(
        AER_TARGET, aer_optimization_level, seed_transpiler
    )
    todo = [k for k in fits if k not in have]
    random.Random(shuffle_seed).shuffle(todo)
    chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    args = (target, optimization_level, seed_transpiler, aer_optimization_level)
    done = 0
    compute_s = 0.0
    if progress is not None:
        progress(0, len(todo))

    def store(rows: list[dict[str, Any]]) -> None:
        nonlocal done, compute_s
        entries = [entry_from_dict(r) for r in rows]
        cache.put_many(entries)
        if not cache.usable:
            raise ConfigError(
                invalid(
                    "cache",
                    "a writable SQLite file",
                    str(cache.path),
                    f"{cache.problem}. Pass --cache PATH to a writable place.",
                    what="option",
                )
            )
        done += len(entries) // 2
        compute_s += sum(e.compute_s for e in entries)
        if progress is not None:
            progress(done, len(todo))

    if client is not None:
        _fill_on_cluster(client, chunks, args, store)
    elif workers == 1 or len(chunks) <= 1:
        here = {target: info}
        for keys in chunks:
            store(_compute_chunk(keys, *args, targets=here))
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
        ) as pool:
            pending: set[Future[list[dict[str, Any]]]] = set()
            queue = iter(chunks)
            try:
                for keys in queue:
                    pending.add(pool.submit(_compute_chunk, keys, *args))
                    if len(pending) >= 2 * workers:
                        break
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        store(future.result())
                        following = next(queue, None)
                        if following is not None:
                            pending.add(pool.submit(_compute_chunk, following, *args))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return FillSummary(
        target=target,
        total=len(unique),
        cached=len(fits) - len(todo),
        computed=done,
        too_large=len(too_large),
        wall_s=time.perf_counter() - started,
        compute_s=compute_s,
    )


def _fill_on_cluster(
    client: Any,
    chunks: Sequence[list[str]],
    args: tuple[str, int, int, int],
    store: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Compute ``chunks`` on a Dask cluster, storing each result as it arrives."""
    import distributed

    from faqnas_qiskit.errors import ClusterError

    if not chunks:
        return
    address = getattr(getattr(client, "scheduler", None), "address", "?")
    queue = iter(chunks)
    try:
        window = 2 * max(1, sum(client.nthreads().values()))
        first = [next(queue) for _ in range(min(window, len(chunks)))]
        running = distributed.as_completed(
            [client.submit(_compute_chunk, keys, *args, pure=False) for keys in first],
            loop=client.loop,
        )
        for future in running:
            rows = future.result()
            future.release()
            store(rows)
            following = next(queue, None)
            if following is not None:
                running.add(client.submit(_compute_chunk, following, *args, pure=False))
    except FaqnasError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise ClusterError(
            f"The atlas must be computed on the Dask cluster at {address}. Got "
            f"{type(exc).__name__}{': ' + text if text else ''} instead. Finished chunks are "
            "stored: check the scheduler and its workers, then run the same command again."
        ) from exc


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


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def render_markdown(report: AtlasReport) -> str:
    """The report as Markdown: side-by-side correlations, by group, and disagreements."""
    lines = ["# Cost atlas: how well simulator proxies rank hardware cost", ""]
    settings = ", ".join(f"{k} {v}" for k, v in report.settings.items())
    lines.append(
        "Networks: "
        + ", ".join(f"{t} {report.networks[t]:,}" for t in report.targets)
        + (f". Settings: {settings}." if settings else ".")
    )
    lines += ["", "## Spearman rho / Kendall tau-b over every network", ""]
    head = "| proxy | cost | " + " | ".join(report.targets) + " |"
    lines += [head, "|" + "---|" * (2 + len(report.targets))]
    for proxy in PROXIES:
        for cost in COSTS:
            cells = []
            for target in report.targets:
                c = report.correlation(target, proxy, cost)
                cells.append("-" if c is None else f"{_cell(c.spearman)} / {_cell(c.kendall)}")
            lines.append(f"| {proxy} | {cost} | " + " | ".join(cells) + " |")
    for target in report.targets:
        groups = list(dict.fromkeys(c.group for c in report.correlations if c.target == target))
        lines += ["", f"## F_Q against each cost on {target}, by group (Spearman / Kendall)", ""]
        lines += ["| group | n | " + " | ".join(COSTS) + " |", "|" + "---|" * (2 + len(COSTS))]
        for group in groups:
            cells = []
            n = 0
            for cost in COSTS:
                c = report.correlation(target, "F_Q", cost, group)
                n = c.n if c is not None else n
                cells.append("-" if c is None else f"{_cell(c.spearman)} / {_cell(c.kendall)}")
            lines.append(f"| {group} | {n} | " + " | ".join(cells) + " |")
        lines += ["", f"## Where F_Q and the cost disagree most on {target}", ""]
        lines += [
            "| cost | genome | F_Q | cost value | F_Q rank | cost rank |",
            "|---|---|---|---|---|---|",
        ]
        for d in report.disagreements:
            if d.target == target:
                lines.append(
                    f"| {d.cost} | {d.genome} | {d.proxy_value:,.0f} | {d.cost_value:.6g} | "
                    f"{d.proxy_rank:.2f} | {d.cost_rank:.2f} |"
                )
    return "\n".join(lines) + "\n"


def _plot(rows: Sequence[AtlasRow], target: str, path: Path) -> bool:
    """log10 F_Q against each cost, coloured by embedding; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, len(COSTS), figsize=(4.2 * len(COSTS), 3.8))
    for ax, cost in zip(axes, COSTS, strict=True):
        for embedding, colour in (("angle", "tab:blue"), ("amplitude", "tab:orange")):
            chosen = [r for r in rows if r.embedding == embedding]
            ax.scatter(
                [math.log10(r.quantum_flops) for r in chosen],
                [r.cost(cost) for r in chosen],
                s=4,
                alpha=0.4,
                color=colour,
                label=embedding,
            )
        ax.set_xlabel("log10 F_Q (FLOPs per sample)")
        ax.set_ylabel(cost + (" (s)" if cost in ("duration", "QPU s") else ""))
        ax.set_yscale("log" if cost in ("duration", "QPU s") else "linear")
        ax.set_title(f"{target}: {cost}")
    axes[0].legend(markerscale=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_atlas_report(
    report: AtlasReport, atlases: Mapping[str, Sequence[AtlasRow]], out: str | Path
) -> dict[str, Path]:
    """Write the report: Markdown, JSON, CSV tables, and PNG plots when matplotlib is there.

    Args:
        report: From :func:`build_atlas_report`.
        atlases: The rows it was built from (for the per-network CSV and the plots).
        out: Output folder (created).

    Returns:
        Name -> path of every file written.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    written["md"] = folder / "atlas.md"
    written["md"].write_text(render_markdown(report), encoding="utf-8")
    written["json"] = folder / "atlas.json"
    written["json"].write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    written["correlations"] = folder / "correlations.csv"
    with open(written["correlations"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(RankCorrelation.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(c.to_dict() for c in report.correlations)
    written["disagreements"] = folder / "disagreements.csv"
    with open(written["disagreements"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(Disagreement.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(d.to_dict() for d in report.disagreements)
    for target, rows in atlases.items():
        path = folder / f"networks_{target}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(AtlasRow.__dataclass_fields__))
            writer.writeheader()
            writer.writerows(asdict(r) for r in rows)
        written[f"networks_{target}"] = path
        png = folder / f"flops_vs_cost_{target}.png"
        if _plot(rows, target, png):
            written[f"plot_{target}"] = png
    return written
