"""``faqnas backends``: the shipped backend profiles."""

from __future__ import annotations

import argparse

from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.output import fmt, print_json

__all__ = ["COMMAND"]


def _add_arguments(backends: argparse.ArgumentParser) -> None:
    backends.add_argument("--json", action="store_true", help="print JSON")


def _run(args: argparse.Namespace) -> int:
    from faqnas_qiskit.hardware import list_profiles

    profiles = list_profiles()
    if args.json:
        print_json([p.to_dict() for p in profiles])
        return 0
    print(
        f"{'name':16s} {'adapter':12s} {'backend':16s} {'shots':>6s} {'opt':>3s} "
        f"{'max q':>5s} {'max QPU s':>9s}  description"
    )
    for p in profiles:
        print(
            f"{p.name:16s} {p.adapter:12s} {p.backend:16s} {p.shots:6d} "
            f"{p.optimization_level:3d} {p.limits.max_qubits:5d} "
            f"{fmt(p.limits.max_qpu_seconds, '.0f'):>9s}  {p.description}"
        )
    print("A path to a .toml file with the same fields works as --backend too.")
    return 0


COMMAND = Command(
    name="backends",
    help="list the backend profiles",
    description="List the shipped backend profiles (the files in backends/).",
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=False,
)
