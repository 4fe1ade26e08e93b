"""The package's exceptions: one root, a few named kinds.

Every message follows one shape, so that the CLI can print it as a single line:
``The '<name>' <what> must be <rule>. Got <value> instead. <fix>``.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "ConfigError",
    "DataError",
    "EngineError",
    "FaqnasError",
    "GenomeError",
    "invalid",
]


class FaqnasError(Exception):
    """Root of every error this package raises on purpose.

    The CLI turns any ``FaqnasError`` into one line on stderr and exit status 2.
    """


class GenomeError(FaqnasError, ValueError):
    """A genome, or its string form, breaks the rules of the search space."""


class ConfigError(FaqnasError, ValueError):
    """An option (training, engine, CLI) has a value outside its allowed set or range."""


class DataError(FaqnasError):
    """A dataset is unknown, missing, or malformed."""


class EngineError(FaqnasError):
    """A simulation engine cannot run what it was given (unknown engine, unsupported gate)."""


class ClusterError(FaqnasError):
    """A Dask cluster cannot be reached, has no workers, or was lost during a run."""


_MAX_SHOWN = 120  # characters of a bad value that a message repeats


def invalid(name: str, rule: str, value: object, fix: str = "", *, what: str = "parameter") -> str:
    """Format the package's one message shape for bad input.

    Args:
        name: The name of the offending parameter, option or field.
        rule: What the value must be, phrased to follow "must be".
        value: The value that was given.
        fix: What the user can do about it (a sentence), or empty.
        what: The noun after the name ("parameter", "option", "field", ...).

    Returns:
        One line: ``The 'name' what must be rule. Got value instead. fix``.
    """
    shown = repr(value) if isinstance(value, str) else str(value)
    if len(shown) > _MAX_SHOWN:  # a 130k-character genome is not echoed whole
        shown = f"{shown[: _MAX_SHOWN - 20]}... ({len(shown)} characters)"
    message = f"The '{name}' {what} must be {rule}. Got {shown} instead."
    return f"{message} {fix}".rstrip()
