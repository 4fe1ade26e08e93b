"""``faqnas runs``: the runs in the store."""

from __future__ import annotations

import argparse

from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.options import add_store_option, store_path
from faqnas_qiskit.cli.output import print_json

__all__ = ["COMMAND"]


def _add_arguments(runs: argparse.ArgumentParser) -> None:
    add_store_option(runs)
    runs.add_argument("--json", action="store_true", help="print JSON")


def _run(args: argparse.Namespace) -> int:
    import datetime

    from faqnas_qiskit.store import ResultsStore

    with ResultsStore(store_path(args), create=False) as store:
        runs = store.list_runs()
        counts = {r.id: len(store.generations(r.id)) for r in runs}
    if args.json:
        print_json(
            [
                {
                    "id": r.id,
                    "status": r.status,
                    "dataset": r.dataset,
                    "seed": r.seed,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                    "generations": counts[r.id],
                    "config": r.config,
                    "versions": r.versions,
                }
                for r in runs
            ]
        )
        return 0
    print(
        f"{'run':10s} {'status':11s} {'dataset':14s} {'strategy':10s} {'objectives':18s} "
        f"{'gens':>4s}  created"
    )
    for r in runs:
        created = datetime.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M")
        print(
            f"{r.id:10s} {r.status:11s} {r.dataset:14s} {r.config.get('strategy', '?'):10s} "
            f"{','.join(r.config.get('objectives', [])):18s} {counts[r.id]:>4d}  {created}"
        )
    return 0


COMMAND = Command(
    name="runs",
    help="list the runs in the store",
    description="List the runs in the store.",
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=False,
)
