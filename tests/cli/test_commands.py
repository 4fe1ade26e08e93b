"""The command registry: every command module is registered once, and the parser is built
from the registry alone."""

from __future__ import annotations

import importlib
import pkgutil

import faqnas_qiskit.cli as cli
from faqnas_qiskit.cli import build_parser
from faqnas_qiskit.cli.command import Command, subparsers
from faqnas_qiskit.cli.registry import COMMANDS


def test_every_command_module_is_registered_once() -> None:
    declared = []
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"{cli.__name__}.{info.name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, Command):
            assert command.name == info.name, (command.name, info.name)
            declared.append(command)
    assert sorted(c.name for c in declared) == sorted(c.name for c in COMMANDS)
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)


def test_the_parser_has_one_subcommand_per_registered_command_in_order() -> None:
    parsers = subparsers(build_parser())
    assert list(parsers) == [c.name for c in COMMANDS]
    for command in COMMANDS:
        args = parsers[command.name].parse_args(_required(command.name))
        assert args.handler is command.run
        assert parsers[command.name].description == command.description


def test_help_lists_the_commands_in_registry_order() -> None:
    text = build_parser().format_help()
    positions = [text.index(f"    {c.name} ") for c in COMMANDS]
    assert positions == sorted(positions)


def _required(name: str) -> list[str]:
    """Arguments that let ``faqnas NAME`` parse (its required options, dummy values)."""
    return {
        "evaluate": ["--genome", "g"],
        "inspect": ["--genome", "g"],
        "front": ["RUN"],
        "report": ["RUN"],
        "hardware": ["RUN", "--backend", "aer"],
    }.get(name, [])
