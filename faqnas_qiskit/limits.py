"""Declared limits of the user-facing options, as data (importable without torch or Qiskit).

One table, :data:`OPTION_BOUNDS`, says for every numeric option of the ``faqnas`` command what
it accepts; the CLI checks every parsed option against it before any work (one validator, one
message shape: rule, value, fix), and the bad-input tests generate their values from it. The
libraries' own records (``TrainingConfig``, ``SearchConfig``, ...) keep validating what they
are given, so a caller of the Python API gets the same rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from faqnas_qiskit.errors import ConfigError, invalid

__all__ = ["MAX_REPEATS", "MAX_SEED", "OPTION_BOUNDS", "Bound", "check_repeats"]

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
    """

    option: str
    integer: bool
    low: float
    high: float
    fix: str
    low_open: bool = False

    @property
    def dest(self) -> str:
        """The argparse destination (``batch_size``)."""
        return self.option.replace("-", "_")

    @property
    def rule(self) -> str:
        """The rule, phrased to follow "must be"."""
        kind = "an integer" if self.integer else "a finite number"
        if self.low_open:
            return f"{kind} greater than {_show(self.low)} and at most {_show(self.high)}"
        return f"{kind} from {_show(self.low)} to {_show(self.high)}"

    def check(self, value: object) -> None:
        """Raise a one-line :class:`ConfigError` unless ``value`` is allowed."""
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        ok = number is not None and (not self.integer or isinstance(number, int))
        if ok and number is not None:
            ok = math.isfinite(number) and number <= self.high
            ok = ok and (number > self.low if self.low_open else number >= self.low)
        if not ok:
            raise ConfigError(invalid(self.option, self.rule, value, self.fix, what="option"))


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


OPTION_BOUNDS: tuple[Bound, ...] = (
    Bound("epochs", True, 1, 100_000, "Pass e.g. --epochs 5 (the paper's)."),
    Bound("lr", False, 0, 10, "Pass e.g. --lr 0.003 (the paper's).", low_open=True),
    Bound("batch-size", True, 1, 1_000_000, "Pass e.g. --batch-size 64."),
    Bound("seed", True, 0, MAX_SEED, "Pass e.g. --seed 0."),
    Bound("threads", True, 1, 256, "Pass --threads 1 (the default) or up to your core count."),
    Bound("repeats", True, 1, MAX_REPEATS, "Pass e.g. --repeats 5 (1 is the paper's)."),
    Bound("max-train", True, 1, 100_000_000, "Pass e.g. --max-train 5000, or leave it out."),
    Bound("population", True, 1, 10_000, "Pass e.g. --population 20 (the paper's)."),
    Bound("generations", True, 1, 10_000, "Pass e.g. --generations 8 (the paper's)."),
    Bound("stagnation", True, 1, 10_000, "Pass e.g. --stagnation 2."),
    Bound("budget", True, 1, 1_000_000, "Pass e.g. --budget 50, or leave it out."),
    Bound("crossover-prob", False, 0, 1, "Pass a probability, e.g. --crossover-prob 0.8."),
    Bound("mutation-prob", False, 0, 1, "Pass a probability, e.g. --mutation-prob 0.2."),
    Bound("shots", True, 1, 10_000_000, "Pass e.g. --shots 1024."),
    Bound("workers", True, 1, 1024, "Pass e.g. --workers 2 (one per core)."),
    Bound("features", True, 1, 100_000, "Pass the dataset's input width, e.g. --features 4."),
    Bound("classes", True, 2, 100_000, "Pass the number of classes, e.g. --classes 3."),
    Bound("train-samples", True, 1, 100_000_000, "Pass e.g. --train-samples 90."),
    Bound("samples", True, 1, 10_000_000, "Pass e.g. --samples 30, or leave it out."),
    Bound("optimization-level", True, 0, 3, "Pass 0, 1 (the default), 2 or 3."),
    Bound("seed-transpiler", True, 0, 2**31 - 1, "Pass e.g. --seed-transpiler 0."),
    Bound("max-qpu-seconds", False, 0, 1e9, "Pass a budget in seconds, e.g. 60.", low_open=True),
    Bound("timeout", False, 0, 1e9, "Pass seconds to wait, e.g. --timeout 600.", low_open=True),
)
"""Every numeric option of ``faqnas``; an option a command does not have is skipped."""


def check_repeats(value: object) -> int:
    """``value`` as a repeat count.

    Raises:
        ConfigError: Unless it is an integer from 1 to :data:`MAX_REPEATS`.
    """
    next(b for b in OPTION_BOUNDS if b.option == "repeats").check(value)
    assert isinstance(value, int)
    return value
