"""What a ``faqnas`` subcommand is: a name, its help, its options and its handler.

Each command module declares one :class:`Command`; :mod:`faqnas_qiskit.cli.registry` lists
them, and :func:`faqnas_qiskit.cli.app.build_parser` walks that list, as Optuna's CLI walks its
``_COMMANDS``.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import NoReturn

__all__ = ["Command", "Parser", "subparsers"]


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}. See '{self.prog} --help'.\n")


@dataclasses.dataclass(frozen=True)
class Command:
    """One subcommand of ``faqnas``.

    Attributes:
        name: The word after ``faqnas`` (``"search"``).
        help: One line for ``faqnas --help``'s list of commands.
        description: The paragraph at the top of ``faqnas NAME --help``.
        add_arguments: Adds the command's options to its (empty) parser.
        run: Runs the command on the parsed arguments; returns the exit status.
        loads_torch: Whether ``run`` loads torch. ``main`` then loads it first, with Ctrl-C
            held until it has: a SIGINT while torch's C++ extension initialises aborts the
            process (pybind11 cannot pass the KeyboardInterrupt on: "terminate called ...").
    """

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    loads_torch: bool


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands' parsers by name (empty for a parser without subcommands)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
