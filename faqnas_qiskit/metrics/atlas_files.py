"""The cost atlas's report as files: Markdown, JSON, CSV tables and plots of F_Q against cost.

:func:`render_markdown` is pure; :func:`write_atlas_report` writes every file of a report built
by :func:`~faqnas_qiskit.metrics.atlas.build_atlas_report` (the plots only when matplotlib is
installed).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from faqnas_qiskit.metrics.atlas import (
    COSTS,
    PROXIES,
    AtlasReport,
    AtlasRow,
    Disagreement,
    RankCorrelation,
)

__all__ = ["render_markdown", "write_atlas_report"]


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
