"""The tables of the train-step benchmark: per-sample times, ratios, steps and criteria.

Pure functions of the measured cells (``_train_step_harness.Cell``), keyed by
(engine, genome); each returns Markdown text or verdict lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from _common import markdown_table
from _train_step_competitors import BATCH

if TYPE_CHECKING:
    from _train_step_harness import Cell

ENGINE_TITLES: dict[str, str] = {
    "ours": "ours f32",
    "ours-f64": "ours f64",
    "aer": "Aer",
    "pennylane": "PennyLane",
    "qml-defaults": "qml defaults",
    "tc-jax": "tc JAX jit",
    "tc-torch": "tc torch",
    "tq-dynamic": "TQ dynamic",
    "tq-static": "TQ static",
}
PEER_NEED = 1.5  # issue 21: ours at least this much faster than every peer
PEER_QUBITS: tuple[int, ...] = (4, 8, 10)
# (numerator engine, column title) of each ratio column; the denominator is always "ours"
RATIOS: tuple[tuple[str, str], ...] = (
    ("pennylane", "PennyLane / ours"),
    ("qml-defaults", "qml defaults / ours"),
    ("aer", "Aer / ours"),
)


def _fmt_ms(value: float) -> str:
    """Four significant digits."""
    return f"{value:.4g}" if value < 1000 else f"{value:.0f}"


def _fmt_ratio(value: float) -> str:
    """``4.6x``, ``987x``."""
    return f"{value:.3g}x" if value < 1000 else f"{value:.0f}x"


def _per_sample(cell: Cell | None, cap: float) -> tuple[float | None, bool]:
    """(ms per sample, is a lower bound) of a cell: the cap gives a bound when it timed out."""
    if cell is None:
        return None, False
    if cell.ms_per_sample is not None:
        return cell.ms_per_sample, False
    if cell.status == "timeout":
        return cap / BATCH * 1000.0, True
    return None, False


def time_cell(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    if cell.ms_per_sample is not None:
        return _fmt_ms(cell.ms_per_sample)
    return {"timeout": "> cap", "check-failed": "check failed"}.get(cell.status, "error")


def ratio(
    cells: dict[tuple[str, str], Cell], genome: str, engine: str, cap: float
) -> tuple[float | None, bool]:
    """(engine time / ours time, is a lower bound) for one genome; None if not measured."""
    ours, _ = _per_sample(cells.get(("ours", genome)), cap)
    theirs, bound = _per_sample(cells.get((engine, genome)), cap)
    if ours is None or theirs is None:
        return None, False
    return theirs / ours, bound


def _ratio_cell(value: tuple[float | None, bool]) -> str:
    number, bound = value
    if number is None:
        return "-"
    return ("> " if bound else "") + _fmt_ratio(number)


def results_table(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str], cap: float
) -> str:
    """The per-sample times (ms/sample) and the ratios against ``ours``, as Markdown."""
    headers = ["genome", *(ENGINE_TITLES[e] for e in engines)]
    ratios = [(e, title) for e, title in RATIOS if e in engines and "ours" in engines]
    headers += [title for _, title in ratios]
    rows = []
    for genome in genomes:
        row = [genome, *(time_cell(cells.get((e, genome))) for e in engines)]
        row += [_ratio_cell(ratio(cells, genome, e, cap)) for e, _ in ratios]
        rows.append(row)
    return markdown_table(headers, rows)


def steps_table(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str]
) -> str:
    """Timed steps (warm-up steps), background load (cores) and attempt of each cell."""
    rows = []
    for genome in genomes:
        row = [genome]
        for engine in engines:
            cell = cells.get((engine, genome))
            row.append(
                "-"
                if cell is None
                else f"{len(cell.step_s)} ({len(cell.warmup_s)}), {cell.background_cores:.2f}"
                + (f", #{cell.attempt}" if cell.attempt > 1 else "")
            )
        rows.append(row)
    return markdown_table(["genome", *(ENGINE_TITLES[e] for e in engines)], rows)


def criteria(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], cap: float
) -> list[tuple[bool | None, str]]:
    """The issue's acceptance criteria: (PASS, FAIL or None = not measured, line) each."""
    wanted = [
        ("pennylane", 4, 3.0, "PennyLane default.qubit backprop"),
        ("pennylane", 10, 3.0, "PennyLane default.qubit backprop"),
        ("qml-defaults", 4, 1000.0, "qiskit-machine-learning defaults"),
    ]
    out: list[tuple[bool | None, str]] = []
    for engine, qubits, need, name in wanted:
        matching = [g for g in genomes if g.startswith(f"q{qubits}-")]
        text = f"ours >= {need:g}x faster per sample than {name} at {qubits} qubits"
        if not matching:
            out.append((None, f"SKIP {text}: no {qubits}-qubit genome measured"))
        for genome in matching:
            number, bound = ratio(cells, genome, engine, cap)
            if number is None:
                out.append((None, f"SKIP {text} ({genome}): not measured"))
                continue
            verdict = number >= need
            measured = ("> " if bound else "") + _fmt_ratio(number)
            note = ""
            if bound and not verdict:
                note = " (only a lower bound, from the cap: inconclusive; raise --cap)"
            label = "PASS" if verdict else "FAIL"
            out.append((verdict, f"{label} {text} ({genome}): measured {measured}{note}"))
    return out


def _qubits(genome: str) -> int:
    return int(genome.split("-", 1)[0][1:])


def peers_table(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str], cap: float
) -> str:
    """Peer comparison: ms/sample per engine, each peer's time over ours, and the smallest."""
    peers = [e for e in engines if e != "ours"]
    headers = ["genome", *(ENGINE_TITLES[e] for e in engines)]
    headers += [f"{ENGINE_TITLES[e]} / ours" for e in peers] + ["fastest peer / ours"]
    rows = []
    for genome in genomes:
        row = [genome, *(time_cell(cells.get((e, genome))) for e in engines)]
        ratios = [ratio(cells, genome, e, cap) for e in peers]
        row += [_ratio_cell(value) for value in ratios]
        measured = [value for value, _ in ratios if value is not None]
        complete = len(measured) == len(peers)
        row.append((_fmt_ratio(min(measured)) if measured else "-") + ("" if complete else " *"))
        rows.append(row)
    return markdown_table(headers, rows)


def rounds_table(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str]
) -> str:
    """Each round's median (ms/sample) and the share of the pinned core others took."""
    rows = []
    for genome in genomes:
        row = [genome]
        for engine in engines:
            cell = cells.get((engine, genome))
            if cell is None or not cell.extra.get("round_ms"):
                row.append("-")
                continue
            medians = " / ".join(_fmt_ms(v) for v in cell.extra["round_ms"])
            worst = max(cell.extra.get("core_background", [float("nan")]))
            row.append(f"{medians} ({len(cell.step_s)} steps, others <= {worst:.2f})")
        rows.append(row)
    return markdown_table(["genome", *(ENGINE_TITLES[e] for e in engines)], rows)


def checks_table(
    checks: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str]
) -> str:
    """The float64 equivalence check of every cell: largest of the three differences."""
    rows = []
    for genome in genomes:
        row = [genome]
        for engine in engines:
            cell = checks.get((engine, genome))
            if cell is None or not cell.check:
                row.append("-" if cell is None else cell.status)
                continue
            worst = max(cell.check.values())
            verdict = "PASS" if cell.status == "ok" else "FAIL"
            row.append(f"{worst:.1e} {verdict}")
        rows.append(row)
    return markdown_table(["genome", *(ENGINE_TITLES[e] for e in engines)], rows)


def peer_criteria(
    cells: dict[tuple[str, str], Cell], genomes: Sequence[str], engines: Sequence[str], cap: float
) -> list[tuple[bool | None, str]]:
    """Issue 21: ours >= ``PEER_NEED`` x faster than every peer at each of ``PEER_QUBITS``.

    A size passes when every peer of ``engines`` was timed on every genome of that size and each
    is at least ``PEER_NEED`` times slower than ours; a peer that was not timed (a failed check,
    an error) leaves the size unproven (None).
    """
    peers = [e for e in engines if e != "ours"]
    out: list[tuple[bool | None, str]] = []
    for qubits in PEER_QUBITS:
        text = f"ours >= {PEER_NEED:g}x faster per sample than every peer at {qubits} qubits"
        matching = [g for g in genomes if _qubits(g) == qubits]
        if not matching:
            out.append((None, f"SKIP {text}: no {qubits}-qubit genome measured"))
            continue
        if not peers:
            out.append((None, f"SKIP {text}: no peer measured"))
            continue
        for genome in matching:
            ratios = {e: ratio(cells, genome, e, cap)[0] for e in peers}
            missing = [e for e, value in ratios.items() if value is None]
            measured = {e: v for e, v in ratios.items() if v is not None}
            detail = ", ".join(f"{ENGINE_TITLES[e]} {_fmt_ratio(v)}" for e, v in measured.items())
            if missing:
                names = ", ".join(ENGINE_TITLES[e] for e in missing)
                out.append((None, f"UNPROVEN {text} ({genome}): not timed: {names}; {detail}"))
                continue
            slowest = min(measured, key=measured.__getitem__)
            verdict = measured[slowest] >= PEER_NEED
            label = "PASS" if verdict else "FAIL"
            out.append(
                (
                    verdict,
                    f"{label} {text} ({genome}): closest {ENGINE_TITLES[slowest]} "
                    f"{_fmt_ratio(measured[slowest])}; all: {detail}",
                )
            )
    return out
