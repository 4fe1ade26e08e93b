"""Draw a :class:`ReportData`: PNG plots (matplotlib), one self-contained HTML page, a Markdown
summary, and every table as CSV and JSON. Rendering computes nothing: the numbers come from
:mod:`faqnas_qiskit.report.data`.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from faqnas_qiskit.errors import FaqnasError
from faqnas_qiskit.report.data import CandidateRow, ReportData

__all__ = ["ReportError", "write_report"]


class ReportError(FaqnasError):
    """The report cannot be written (e.g. an unwritable directory)."""


def _log_if_wide(values: Sequence[float]) -> bool:
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) >= 100


def _rho(name: str, data: ReportData) -> str:
    c = data.correlations[name]
    return "Spearman ρ: n/a" if c.rho is None else f"Spearman ρ = {c.rho:.2f} (n = {c.n})"


def _plots(data: ReportData) -> list[tuple[str, str, Any]]:
    """(file name, caption, figure) for every plot that has data."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ReportError(
            "The report's plots must be drawn with matplotlib. Got no matplotlib installed. "
            "Install it: pip install 'faqnas-qiskit[plots]'."
        ) from exc

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    run = data.run
    rows = list(run.candidates)
    if rows:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.scatter(
            [r.quantum_flops for r in rows],
            [r.val_accuracy for r in rows],
            s=14,
            color="0.75",
            label="all evaluated",
            zorder=1,
        )
        front = list(data.front)
        generations = [r.generation + 1 for r in front]
        points = ax.scatter(
            [r.quantum_flops for r in front],
            [r.val_accuracy for r in front],
            c=generations,
            cmap=plt.get_cmap("viridis", max(r.generation for r in rows) + 1),
            s=42,
            edgecolors="black",
            zorder=3,
            label="front",
        )
        if any(r.val_sd is not None for r in front):
            ax.errorbar(
                [r.quantum_flops for r in front],
                [r.val_accuracy for r in front],
                yerr=[r.val_sd or 0.0 for r in front],
                fmt="none",
                ecolor="black",
                elinewidth=0.8,
                capsize=3,
                zorder=2,
                label="± 1 sd over repeats",
            )
        ax.step(
            [r.quantum_flops for r in front],
            [r.val_accuracy for r in front],
            where="post",
            color="black",
            linewidth=0.8,
            zorder=2,
        )
        last = max(r.generation for r in rows) + 1
        points.set_clim(0.5, last + 0.5)
        fig.colorbar(points, ax=ax, label="generation found", ticks=range(1, last + 1))
        if _log_if_wide([r.quantum_flops for r in rows]):
            ax.set_xscale("log")
        ax.set_xlabel("quantum FLOPs F_Q per sample (FLOPs)")
        repeats = max(r.repeats for r in rows)
        ax.set_ylabel(
            "validation accuracy" + (f" (mean of {repeats} repeats)" if repeats > 1 else "")
        )
        ax.set_title(f"Pareto front of {run.run_id} on {run.dataset}")
        ax.legend(loc="lower right")
        out.append(
            (
                "front.png",
                "F_Q against validation accuracy; the front coloured by the generation found",
                fig,
            )
        )
    for comparison in data.comparisons:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, front_rows, colour in (
            (f"FLOPs-aware ({run.run_id})", data.front, "tab:blue"),
            (
                f"{'/'.join(comparison.baseline_objectives)} ({comparison.baseline_id})",
                comparison.baseline_front,
                "tab:red",
            ),
        ):
            ax.step(
                [r.quantum_flops for r in front_rows],
                [r.val_accuracy for r in front_rows],
                where="post",
                color=colour,
                label=label,
                marker="o",
            )
        all_flops = [r.quantum_flops for r in (*data.front, *comparison.baseline_front)]
        if _log_if_wide(all_flops):
            ax.set_xscale("log")
        saving = "n/a" if comparison.mean_saving is None else f"{100 * comparison.mean_saving:.0f}%"
        ax.set_title(f"FLOPs-aware against {comparison.baseline_id}: mean FLOPs saving {saving}")
        ax.set_xlabel("quantum FLOPs F_Q per sample (FLOPs)")
        ax.set_ylabel("validation accuracy")
        ax.legend(loc="lower right")
        out.append(
            (
                f"compare_{comparison.baseline_id}.png",
                "FLOPs-aware front against the baseline's",
                fig,
            )
        )
    with_2q = [(r.quantum_flops, float(r.two_qubit_gates or 0)) for r in rows if r.two_qubit_gates]
    with_qpu = [(r.quantum_flops, float(r.predicted_qpu_s or 0)) for r in rows if r.predicted_qpu_s]
    pairs = [
        ("flops_vs_two_qubit_gates", "two-qubit gates after transpilation (gates)", with_2q),
        ("flops_vs_predicted_qpu_s", "predicted QPU time (s)", with_qpu),
        (
            "flops_vs_training_time",
            "measured training time (s)",
            [(r.quantum_flops, r.train_time_s) for r in rows],
        ),
    ]
    flops_of = {r.key: r.quantum_flops for r in rows}
    measured = [
        (flops_of.get(h.key, 0.0), h.measured_qpu_s) for h in run.hardware if h.measured_qpu_s > 0
    ]
    if measured:
        pairs.insert(2, ("flops_vs_measured_qpu_s", "measured QPU time (s)", measured))
    for name, ylabel, xy in pairs:
        if len(xy) < 2:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter([p[0] for p in xy], [p[1] for p in xy], s=18)
        if _log_if_wide([p[0] for p in xy]):
            ax.set_xscale("log")
        if _log_if_wide([p[1] for p in xy]):
            ax.set_yscale("log")
        ax.set_xlabel("quantum FLOPs F_Q per sample (FLOPs)")
        ax.set_ylabel(ylabel)
        ax.set_title(_rho(name, data))
        out.append((f"{name}.png", f"F_Q against {ylabel}", fig))
    profiles = sorted(
        {
            k[: -len("_accuracy")]
            for row in data.accuracy_table
            for k in row
            if k.endswith("_accuracy") and k not in ("val_accuracy", "ideal_accuracy")
        }
    )
    if profiles:
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(data.accuracy_table) + 2), 4))
        series = ["ideal", *profiles]
        width = 0.8 / len(series)
        for i, name in enumerate(series):
            key = "ideal_accuracy" if name == "ideal" else f"{name}_accuracy"
            values = [math.nan if row.get(key) is None else row[key] for row in data.accuracy_table]
            ax.bar([j + i * width for j in range(len(values))], values, width, label=name)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(data.accuracy_table))])
        ax.set_xticklabels(
            [row["genome"] for row in data.accuracy_table], rotation=30, ha="right", fontsize=7
        )
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1)
        ax.set_title("Accuracy on ideal simulation, noisy simulation and hardware")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out.append(
            ("accuracy_by_backend.png", "test accuracy of each front architecture per backend", fig)
        )
    return out


def _tables(data: ReportData) -> dict[str, list[dict[str, Any]]]:
    def row(r: CandidateRow) -> dict[str, Any]:
        return {**asdict(r), "total_flops": r.total_flops}

    tables: dict[str, list[dict[str, Any]]] = {
        "front": [row(r) for r in data.front],
        "candidates": [row(r) for r in data.run.candidates],
        "accuracy": [dict(r) for r in data.accuracy_table],
        "hardware": [asdict(h) for h in data.run.hardware],
        "correlations": [{"name": k, **asdict(v)} for k, v in data.correlations.items()],
    }
    for c in data.comparisons:
        tables[f"savings_{c.baseline_id}"] = [asdict(s) for s in c.savings]
    return tables


def _headlines(data: ReportData) -> list[str]:
    run = data.run
    lines = [
        f"Run {run.run_id} ({run.strategy}, objectives {','.join(run.objectives)}, {run.status}) "
        f"on {run.dataset}: {len(run.candidates)} architectures trained, {run.failures} failed, "
        f"{len(data.front)} on the front.",
    ]
    if run.variance is not None:
        lines.append(run.variance.verdict)
    if data.front:
        best = max(data.front, key=lambda r: (r.val_accuracy, -r.quantum_flops))
        spread = "" if best.val_sd is None else f" ± {best.val_sd:.3f} over {best.repeats} repeats"
        lines.append(
            f"Best validation accuracy {best.val_accuracy:.3f}{spread} (test "
            f"{best.test_accuracy:.3f}) by {best.key} at F_Q = {best.quantum_flops:,.0f} FLOPs "
            "per sample."
        )
        dead = [r.key for r in data.front if r.params_quantum_effective == 0]
        if dead:
            lines.append(
                f"{len(dead)} front architecture(s) have no trainable quantum weight (a fixed "
                f"feature map with a classical model around it): {', '.join(dead)}."
            )
    if data.threshold is not None:
        t = data.threshold
        lines.append(
            f"FLOPs threshold: beyond F_Q = {t.quantum_flops:,.0f} ({t.key}, validation accuracy "
            f"{t.val_accuracy:.3f}) no architecture improved accuracy by more than "
            f"{data.tolerance:.3f}."
        )
    for c in data.comparisons:
        if c.mean_saving is None:
            lines.append(f"Against {c.baseline_id}: no accuracy level reached by both runs.")
        else:
            lines.append(
                f"Against {c.baseline_id} ({','.join(c.baseline_objectives)}): mean FLOPs saving "
                f"{100 * c.mean_saving:.1f}% over {len(c.savings)} accuracy levels reached by both "
                "(the paper reports about 37%)."
            )
    for name, label in (
        ("flops_vs_two_qubit_gates", "two-qubit gate count"),
        ("flops_vs_predicted_qpu_s", "predicted QPU seconds"),
        ("flops_vs_measured_qpu_s", "measured QPU seconds"),
        ("flops_vs_training_time", "measured training time"),
    ):
        corr = data.correlations[name]
        if corr.rho is not None:
            lines.append(f"F_Q ranks {label} with Spearman ρ = {corr.rho:.2f} (n = {corr.n}).")
    return lines


def _html_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><em>empty</em></p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _md_escape(text: str) -> str:
    """Text for Markdown, which renders raw HTML: ``<``, ``>`` and ``&`` escaped. Quotes stay
    (no attribute to close here), so a command shown in the report can be copied as it is."""
    return html.escape(text, quote=False)


def _md_text(text: str) -> str:
    """A Markdown table cell: HTML escaped, pipes kept inside the cell."""
    return _md_escape(text).replace("|", "\\|")


def _md_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_empty_\n"
    keys = list(rows[0])
    lines = ["| " + " | ".join(_md_text(k) for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_md_text(_cell(r[k])) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
img { max-width: 100%; border: 1px solid #ddd; }
figure { margin: 1.5em 0; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #f3f3f3; }
.missing { background: #fff4e0; border-left: 4px solid #f0a020; padding: 0.5em 1em; }
"""


def write_report(data: ReportData, out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md``, the PNG plots and CSV/JSON tables to ``out_dir``.

    Returns:
        Written files by kind (``html``, ``md``, and one entry per plot and table).

    Raises:
        ReportError: If the directory cannot be created or written.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".faqnas-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ReportError(
            f"The report directory must be writable. Got {str(out)!r} ({exc.strerror}). "
            "Pass another --out DIR."
        ) from exc
    written: dict[str, Path] = {}
    figures = []
    notes = list(data.missing)
    try:
        plots = _plots(data)
    except ReportError as exc:  # no matplotlib: everything but the images
        plots = []
        notes.append(str(exc))
    for name, caption, fig in plots:
        import matplotlib.pyplot as plt

        path = out / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written[name] = path
        figures.append((name, caption, path))
    tables = _tables(data)
    for name, rows in tables.items():
        (out / f"{name}.json").write_text(json.dumps(rows, indent=1, sort_keys=True, default=str))
        with (out / f"{name}.csv").open("w", newline="") as handle:
            keys = list(rows[0]) if rows else ["empty"]
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            writer.writerows({k: _csv(v) for k, v in r.items()} for r in rows)
        written[f"{name}.csv"] = out / f"{name}.csv"
    headlines = _headlines(data)
    run = data.run
    title = f"faqnas report: {run.run_id} on {run.dataset}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
    ]
    parts.append(f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1><ul>")
    parts += [f"<li>{html.escape(line)}</li>" for line in headlines]
    parts.append("</ul>")
    for note in notes:
        parts.append(f"<p class='missing'>{html.escape(note)}</p>")
    for _name, caption, path in figures:
        encoded = base64.b64encode(path.read_bytes()).decode()
        parts.append(
            f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{encoded}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    for name in (
        "front",
        "accuracy",
        "correlations",
        *[k for k in tables if k.startswith("savings_")],
    ):
        parts.append(f"<h2>{html.escape(name)}</h2>{_html_table(tables[name])}")
    parts.append("</body></html>")
    (out / "report.html").write_text("".join(parts), encoding="utf-8")
    written["html"] = out / "report.html"
    # Markdown renders raw HTML: text from dataset paths and column names is escaped
    md = [f"# {_md_escape(title)}\n"] + [f"- {_md_escape(line)}" for line in headlines] + [""]
    md += [f"> {_md_escape(note)}\n" for note in notes]
    md += [f"![{caption}]({name})\n" for name, caption, _ in figures]
    for name in (
        "front",
        "accuracy",
        "correlations",
        *[k for k in tables if k.startswith("savings_")],
    ):
        md += [f"## {name}\n", _md_table(tables[name])]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    written["md"] = out / "report.md"
    return written


def _csv(value: object) -> object:
    return json.dumps(value) if isinstance(value, (list, dict, tuple)) else value
