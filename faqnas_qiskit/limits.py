"""Declared constraints of the user-facing options, as data (importable without torch or Qiskit).

Two tables say what every option accepts: :data:`OPTION_BOUNDS` (the ranges of the numeric
options of the ``faqnas`` command) and :data:`OPTION_CHOICES` (the words of the options that
take one of a fixed set). Each constraint carries its rule and a fix, and :func:`check` is the
one validator: it raises a :class:`ConfigError` in the package's one message shape (rule, value,
fix). The CLI checks every parsed option against the tables before any work; the records that
hold these options (``TrainingConfig``, ``SearchConfig``, ...) check their fields with
:func:`check` (naming the Python parameter where code, not a command line, passes the value),
so a caller of the Python API gets the same rules less the command line's caps (``Bound.cap``);
and the bad-input tests generate their values from the tables. A bound is declared here once.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import TypeAlias

from faqnas_qiskit.errors import ConfigError, invalid

__all__ = [
    "CONSTRAINTS",
    "MAX_REPEATS",
    "MAX_SEED",
    "OPTION_BOUNDS",
    "OPTION_CHOICES",
    "Bound",
    "Choice",
    "Constraint",
    "check",
    "check_repeats",
    "words",
]

MAX_REPEATS = 32
"""Most repeats of one candidate (``--repeats``): the replicas train as one computation in
memory, and 32 repeats already narrow the 95% interval to ±0.36 standard deviations."""

MAX_SEED = 2**63 - 1
"""Largest seed: seeds are stored as SQLite INTEGERs (signed 64-bit)."""


@dataclass(frozen=True)
class Bound:
    """What one numeric option accepts: a closed range of integers or of finite floats.

    Attributes:
        option: The option's name without dashes, as the user types it (``batch-size``).
        integer: Integers only (else finite floats).
        low: Smallest value allowed.
        high: Largest value allowed.
        low_open: ``low`` itself is excluded (``--lr`` must be > 0).
        fix: A sentence on what to pass instead.
        cap: ``high`` only guards the command line against runaway input (``--epochs 10**9``),
            it is no rule of the library: the records (``TrainingConfig``, ...) accept larger
            values, as a caller of the Python API may mean them (a diverging ``lr=1e30``).
    """

    option: str
    integer: bool
    low: float
    high: float
    fix: str
    low_open: bool = False
    cap: bool = False

    @property
    def dest(self) -> str:
        """The argparse destination (``batch_size``)."""
        return self.option.replace("-", "_")

    @property
    def rule(self) -> str:
        """The rule on the command line, phrased to follow "must be"."""
        return self.rule_of(capped=True)

    def rule_of(self, *, capped: bool) -> str:
        """The rule, phrased to follow "must be"; ``capped=False``: the library's (see ``cap``)."""
        kind = "an integer" if self.integer else "a finite number"
        if self.cap and not capped:
            least = "greater than" if self.low_open else "of at least"
            return f"{kind} {least} {_show(self.low)}"
        if self.low_open:
            return f"{kind} greater than {_show(self.low)} and at most {_show(self.high)}"
        return f"{kind} from {_show(self.low)} to {_show(self.high)}"

    def check(self, value: object, *, capped: bool = True, parameter: str | None = None) -> None:
        """Raise a one-line :class:`ConfigError` unless ``value`` is allowed.

        Args:
            value: The value given.
            capped: Apply ``high`` even where it is only the command line's cap (``cap``).
            parameter: Name the Python parameter (``seed_transpiler``) instead of the option.
        """
        # numbers.Real/Integral: numpy scalars count as the numbers they are; a bool does not
        number: float | int | None = None
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            number = None
        elif isinstance(value, numbers.Integral):
            number = int(value)  # exact: 2**63 must not round to 2**63 - 1
        elif isinstance(value, numbers.Real):
            number = float(value)
        ok = number is not None and (not self.integer or isinstance(number, int))
        if ok and number is not None:
            ok = math.isfinite(number) and (number <= self.high or (self.cap and not capped))
            ok = ok and (number > self.low if self.low_open else number >= self.low)
        if not ok:
            raise _refusal(self, self.rule_of(capped=capped), value, parameter)


@dataclass(frozen=True)
class Choice:
    """What a word-valued option accepts: one of a fixed set of words.

    Attributes:
        option: The option's name without dashes, as the user types it (``strategy``).
        words: The words allowed, in the order the rule lists them.
        fix: A sentence on what to pass instead.
    """

    option: str
    words: tuple[str, ...]
    fix: str

    @property
    def dest(self) -> str:
        """The argparse destination."""
        return self.option.replace("-", "_")

    @property
    def rule(self) -> str:
        """The rule, phrased to follow "must be"."""
        return f"one of {', '.join(self.words)}"

    def check(self, value: object, *, capped: bool = True, parameter: str | None = None) -> None:
        """Raise a one-line :class:`ConfigError` unless ``value`` is one of :attr:`words`.

        ``capped`` is accepted for symmetry with :meth:`Bound.check` (a choice has no cap);
        ``parameter`` names the Python parameter instead of the option.
        """
        if not isinstance(value, str) or value not in self.words:
            raise _refusal(self, self.rule, value, parameter)


Constraint: TypeAlias = Bound | Choice
"""One declared constraint: a range (:class:`Bound`) or a set of words (:class:`Choice`)."""


def _refusal(
    constraint: Constraint, rule: str, value: object, parameter: str | None
) -> ConfigError:
    """The one message: ``The 'name' option (or parameter) must be <rule>. Got <value> ...``."""
    if parameter is None:
        return ConfigError(invalid(constraint.option, rule, value, constraint.fix, what="option"))
    return ConfigError(invalid(parameter, rule, value, constraint.fix))


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


OPTION_BOUNDS: tuple[Bound, ...] = (
    Bound("epochs", True, 1, 100_000, "Pass e.g. --epochs 5 (the paper's).", cap=True),
    Bound("lr", False, 0, 10, "Pass e.g. --lr 0.003 (the paper's).", low_open=True, cap=True),
    Bound("batch-size", True, 1, 1_000_000, "Pass e.g. --batch-size 64.", cap=True),
    Bound("seed", True, 0, MAX_SEED, "Pass e.g. --seed 0."),
    Bound(
        "threads",
        True,
        1,
        256,
        "Pass --threads 1 (the default) or up to your core count.",
        cap=True,
    ),
    Bound("repeats", True, 1, MAX_REPEATS, "Pass e.g. --repeats 5 (1 is the paper's)."),
    Bound(
        "max-train", True, 1, 100_000_000, "Pass e.g. --max-train 5000, or leave it out.", cap=True
    ),
    Bound("population", True, 1, 10_000, "Pass e.g. --population 20 (the paper's).", cap=True),
    Bound("generations", True, 1, 10_000, "Pass e.g. --generations 8 (the paper's).", cap=True),
    Bound("stagnation", True, 1, 10_000, "Pass e.g. --stagnation 2.", cap=True),
    Bound("budget", True, 1, 1_000_000, "Pass e.g. --budget 50, or leave it out.", cap=True),
    Bound("crossover-prob", False, 0, 1, "Pass a probability, e.g. --crossover-prob 0.8."),
    Bound("mutation-prob", False, 0, 1, "Pass a probability, e.g. --mutation-prob 0.2."),
    Bound("shots", True, 1, 10_000_000, "Pass e.g. --shots 1024.", cap=True),
    Bound("workers", True, 1, 1024, "Pass e.g. --workers 2 (one per core).", cap=True),
    Bound(
        "features", True, 1, 100_000, "Pass the dataset's input width, e.g. --features 4.", cap=True
    ),
    Bound("classes", True, 2, 100_000, "Pass the number of classes, e.g. --classes 3.", cap=True),
    Bound("train-samples", True, 1, 100_000_000, "Pass e.g. --train-samples 90.", cap=True),
    Bound("samples", True, 1, 10_000_000, "Pass e.g. --samples 30, or leave it out.", cap=True),
    Bound("measurement-bases", True, 1, 1000, "The Z readout needs 1.", cap=True),
    Bound("chunk", True, 1, 1_000_000, "Pass e.g. chunk=4 (the default).", cap=True),
    Bound("optimization-level", True, 0, 3, "Pass 0, 1 (the default), 2 or 3."),
    Bound("seed-transpiler", True, 0, 2**31 - 1, "Pass e.g. --seed-transpiler 0.", cap=True),
    Bound(
        "max-qpu-seconds",
        False,
        0,
        1e9,
        "Pass a budget in seconds, e.g. 60.",
        low_open=True,
        cap=True,
    ),
    Bound(
        "threads-per-worker",
        True,
        1,
        256,
        "Pass e.g. threads_per_worker=1 (one candidate per worker at a time).",
        cap=True,
    ),
    Bound("retries", True, 0, 1000, "Pass e.g. retries=3 (the default), or 0.", cap=True),
    Bound(
        "wait-for-workers",
        False,
        0,
        1e9,
        "Pass seconds to wait, e.g. wait_for_workers=60.",
        low_open=True,
        cap=True,
    ),
    Bound(
        "timeout",
        False,
        0,
        1e9,
        "Pass seconds to wait, e.g. --timeout 600.",
        low_open=True,
        cap=True,
    ),
)
"""Every numeric option of ``faqnas`` (an option a command does not have is skipped), and the
few numeric parameters of the Python API that no option sets (``threads-per-worker``,
``retries`` and ``wait-for-workers`` of ``DaskEvaluator``, ``measurement-bases`` of the QPU-time
model, ``chunk`` of the atlas fill)."""

OPTION_CHOICES: tuple[Choice, ...] = (
    Choice(
        "strategy",
        ("nsga2", "surrogate", "random", "exhaustive"),
        "Pass --strategy nsga2 (the paper's, the default), surrogate, random or exhaustive.",
    ),
    Choice("engine", ("statevector", "aer"), "Use --engine statevector or --engine aer."),
    Choice("device", ("cpu", "cuda", "auto"), "Use --device cpu, cuda or auto."),
)
"""Every option of ``faqnas`` that takes one of a fixed set of words."""

_DECLARED: tuple[Constraint, ...] = (*OPTION_BOUNDS, *OPTION_CHOICES)
CONSTRAINTS: dict[str, Constraint] = {c.option: c for c in _DECLARED}
"""Every declared constraint by its option name (``batch-size``, ``strategy``)."""


def check(
    name: str, value: object, *, high: float | None = None, parameter: str | None = None
) -> None:
    """The one validator: check ``value`` against the declared constraint of option ``name``.

    This is the library's check (a record's fields): a ``cap`` of the command line does not
    apply; the CLI calls each constraint's ``check`` itself, caps included.

    Args:
        name: An option's name as the user types it, without dashes (a key of
            :data:`CONSTRAINTS`).
        value: The value given.
        high: A tighter maximum that binds where the caller has one (a backend's most shots);
            only for a numeric option.
        parameter: The Python parameter to name in the message (``seed_transpiler``), where
            the value comes from code rather than the command line (the message then says
            "parameter" instead of "option").

    Raises:
        ConfigError: ``The '<name>' option must be <rule>. Got <value> instead. <fix>``.
        KeyError: If no constraint is declared for ``name`` (a programming error).
    """
    constraint = CONSTRAINTS[name]
    if high is not None:
        if not isinstance(constraint, Bound):
            raise KeyError(name)
        constraint = replace(constraint, high=min(high, constraint.high), cap=False)
    constraint.check(value, capped=False, parameter=parameter)


def words(option: str) -> tuple[str, ...]:
    """The words option ``option`` accepts (``words("strategy")``), as declared in
    :data:`OPTION_CHOICES`.

    Raises:
        KeyError: If ``option`` declares no choice of words (a programming error).
    """
    choice = CONSTRAINTS[option]
    if not isinstance(choice, Choice):
        raise KeyError(option)
    return choice.words


def check_repeats(value: object) -> int:
    """``value`` as a repeat count.

    Raises:
        ConfigError: Unless it is an integer from 1 to :data:`MAX_REPEATS`.
    """
    check("repeats", value)
    assert isinstance(value, numbers.Integral)
    return int(value)
