"""``faqnas front``: a run's Pareto front as a table, JSON or CSV."""

from __future__ import annotations

import argparse

from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.options import add_store_option, store_path
from faqnas_qiskit.cli.output import csv_value, print_front, print_json, write_csv

__all__ = ["COMMAND"]


def _add_arguments(front: argparse.ArgumentParser) -> None:
    front.add_argument("run", metavar="RUN", help="run id (see 'faqnas runs')")
    add_store_option(front)
    fmt = front.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")


def _run(args: argparse.Namespace) -> int:
    from faqnas_qiskit.search import VarianceSummary, front_rows, load_run
    from faqnas_qiskit.store import ResultsStore

    with ResultsStore(store_path(args), create=False) as store:
        run, config, candidates, front = load_run(store, args.run)
    rows = front_rows(front)
    variance = VarianceSummary.of(candidates, config.repeats)
    if args.json:
        print_json(
            {
                "run": run.id,
                "status": run.status,
                "front": rows,
                "repeats": config.repeats,
                "variance": variance.to_dict(),
            }
        )
    elif args.csv:
        write_csv(rows, csv_value)
    else:
        print(
            f"run {run.id} ({run.status}) on {run.dataset}: {len(rows)} architectures on the "
            f"front, {config.repeats} repeat{'s' if config.repeats > 1 else ''} per candidate"
        )
        print_front(rows, variance)
    return 0


COMMAND = Command(
    name="front",
    help="print a run's Pareto front",
    description="Print the Pareto front of a run: genome, accuracies, F_Q, F_C, parameters, "
    "two-qubit count and predicted QPU seconds.",
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=False,
)
