"""``faqnas``'s parser and ``main``: argv in, exit status out.

Every ``FaqnasError`` becomes one line on stderr and exit status 2 (``--debug`` shows the
traceback instead); Ctrl-C and SIGTERM become one line and exit status 130.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import NoReturn

from faqnas_qiskit import __version__
from faqnas_qiskit.cli.cluster import check_scheduler_address
from faqnas_qiskit.cli.command import Parser, subparsers
from faqnas_qiskit.cli.options import store_path
from faqnas_qiskit.cli.output import pipe_safe_stdout
from faqnas_qiskit.cli.registry import COMMANDS
from faqnas_qiskit.errors import ConfigError, FaqnasError, invalid
from faqnas_qiskit.limits import OPTION_BOUNDS, OPTION_CHOICES

__all__ = ["build_parser", "entry_point", "main"]

_COMMANDS = {command.name: command for command in COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    """The ``faqnas`` argument parser: one subparser per registered command."""
    parser = Parser(
        prog="faqnas",
        description=(
            "FLOPs-aware hybrid quantum neural architecture search on Qiskit. Genomes are "
            "strings like q4-angle-cz-circular-ry.rx (qubits, embedding, entangler, topology, "
            "one rotation per layer)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"faqnas {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.description)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``faqnas`` command.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on bad input, 130 on interrupt.
    """
    # torch's profiler (FLOPs metrics) logs every start and stop to stderr unless told not to
    os.environ.setdefault("KINETO_LOG_LEVEL", "99")
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # the subcommand's own usage, not the top level's
            command = subparsers(parser).get(args.command or "", parser)
            command.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 2
    with pipe_safe_stdout(), _sigterm_as_interrupt():
        try:
            for bound in OPTION_BOUNDS:  # every numeric option, before any work
                value = getattr(args, bound.dest, None)
                if value is not None:
                    bound.check(value)
            _check_words(subparsers(parser)[args.command], args)
            for choice in OPTION_CHOICES:  # every option that takes one of a set of words
                value = getattr(args, choice.dest, None)
                if value is not None:
                    choice.check(value)
            if getattr(args, "scheduler", None) is not None:
                check_scheduler_address(args.scheduler)
            if _COMMANDS[args.command].loads_torch:
                with _interrupt_deferred():
                    import torch  # noqa: F401
            return int(args.handler(args))
        except FaqnasError as exc:
            if args.debug:
                raise
            print(f"faqnas: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("faqnas: interrupted", file=sys.stderr)
            return 130
        except sqlite3.DatabaseError as exc:  # a damaged store read mid-command
            if args.debug:
                raise
            where = store_path(args) if hasattr(args, "store") else "the store"
            print(
                f"faqnas: error: The store must be an intact faqnas database. Got {where!r}: "
                f"{exc}. Restore it from a copy or pass another --store.",
                file=sys.stderr,
            )
            return 2


def _check_words(command: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an empty value of any option that takes words (``--resume ""``, ``--out ""``).

    An empty value is never what was meant, and ``args.x or default`` would silently turn it
    into the default (a new run instead of the one to resume, ``./faqnas.db``, ``iris``).

    Raises:
        ConfigError: Naming the first such option.
    """
    for action in command._actions:
        if not action.option_strings or action.nargs == 0 or action.type is not None:
            continue  # positionals, flags, numbers (OPTION_BOUNDS checks those)
        value = getattr(args, action.dest, None)
        for word in value if isinstance(value, list) else [value]:
            if isinstance(word, str) and not word.strip():
                flag = max(action.option_strings, key=len)
                metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
                raise ConfigError(
                    invalid(
                        flag.lstrip("-"),
                        "a non-empty value",
                        word,
                        f"Pass {flag} {metavar}, or drop {flag} (see '{command.prog} --help').",
                        what="option",
                    )
                )


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block is done, then raise it as KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a command as Ctrl-C does (a search marks its run interrupted)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def entry_point() -> NoReturn:
    """Console-script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C before main's own handling is in place
        print("faqnas: interrupted", file=sys.stderr)
        code = 130
    if code == 130:
        # interrupted: the one line is said and the exit status is decided. A SIGINT that
        # arrives while libraries tear down half-started work (a Dask cluster interrupted while
        # it starts) must not turn it into a death by signal (status -2, seen under load), so
        # it is ignored from here on: SIG_IGN, unlike a Python handler, survives the
        # interpreter's finalisation, which resets Python handlers to the default action
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # what the libraries' exit handlers print while they tear down is not ours
        sys.stdout.flush()
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())
        os.close(devnull)
        # the libraries' exit handlers (a half-started Dask cluster's processes) run now, and
        # the status is then 130 whatever they meet: interpreter finalisation could still end
        # an interrupted command as a death by SIGINT (status -2, about 1 Ctrl-C in 2 at 1 s
        # into `search --workers 2` on the reference machine), which nothing after it can catch
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
        os._exit(130)
    sys.exit(code)
