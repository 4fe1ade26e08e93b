"""``faqnas report``: a run's report as HTML, Markdown, PNG plots and CSV/JSON tables."""

from __future__ import annotations

import argparse

from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.options import add_store_option, store_path

__all__ = ["COMMAND"]


def _add_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("run", metavar="RUN", help="run id (see 'faqnas runs')")
    report.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="RUN2",
        help="baseline runs (e.g. --objectives error)",
    )
    report.add_argument("--out", help="output directory (default: faqnas-report-RUN)")
    add_store_option(report)


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _run(args: argparse.Namespace) -> int:
    from faqnas_qiskit.report import build_report, snapshot, write_report
    from faqnas_qiskit.store import ResultsStore

    with ResultsStore(store_path(args), create=False) as store:
        main_run = snapshot(store, args.run)
        baselines = [snapshot(store, other) for other in args.compare]
    data = build_report(main_run, baselines)
    out = args.out or f"faqnas-report-{main_run.run_id}"
    written = write_report(data, out)
    plots = sum(1 for name in written if name.endswith(".png"))
    print(f"wrote {written['html']} and {written['md']} ({plots} plots, tables as CSV and JSON)")
    for note in data.missing:
        print(f"  missing: {note}")
    if not any(name.endswith(".png") for name in written) and not _has_matplotlib():
        print(
            "  missing: the plots (matplotlib is not installed): "
            "pip install 'faqnas-qiskit[plots]' and write the report again."
        )
    return 0


COMMAND = Command(
    name="report",
    help="write a run's report: HTML page, Markdown, PNG plots, CSV/JSON tables",
    description=(
        "Write DIR/report.html (one self-contained page), DIR/report.md, the plots as PNG "
        "and every table as CSV and JSON: the Pareto front, the FLOPs-aware front against "
        "baselines given with --compare, F_Q against two-qubit gates and QPU seconds with "
        "rank correlations, and accuracy on ideal simulation, noisy simulation and hardware."
    ),
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=False,
)
