"""The ``faqnas`` subcommands, in the order ``faqnas --help`` lists them.

A new command is a module with a ``COMMAND`` (:class:`~faqnas_qiskit.cli.command.Command`)
added here; :func:`faqnas_qiskit.cli.app.build_parser` builds one parser per entry.
"""

from __future__ import annotations

from faqnas_qiskit.cli import (
    atlas,
    backends,
    evaluate,
    front,
    hardware,
    inspect,
    report,
    runs,
    search,
)
from faqnas_qiskit.cli.command import Command

__all__ = ["COMMANDS"]

COMMANDS: tuple[Command, ...] = (
    evaluate.COMMAND,
    inspect.COMMAND,
    search.COMMAND,
    runs.COMMAND,
    front.COMMAND,
    report.COMMAND,
    hardware.COMMAND,
    backends.COMMAND,
    atlas.COMMAND,
)
