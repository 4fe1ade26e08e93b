"""Documented limits of user-facing options, importable without torch or Qiskit (for the CLI)."""

from __future__ import annotations

from faqnas_qiskit.errors import ConfigError, invalid

__all__ = ["MAX_REPEATS", "check_repeats"]

MAX_REPEATS = 32
"""Most repeats of one candidate (``--repeats``): the replicas train as one computation in
memory, and 32 repeats already narrow the 95% interval to ±0.36 standard deviations."""


def check_repeats(value: object) -> int:
    """``value`` as a repeat count.

    Raises:
        ConfigError: Unless it is an integer from 1 to :data:`MAX_REPEATS`.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REPEATS:
        raise ConfigError(
            invalid(
                "repeats",
                f"an integer from 1 to {MAX_REPEATS}",
                value,
                "Pass e.g. --repeats 5 (1, the default, is the paper's single evaluation).",
                what="option",
            )
        )
    return value
