"""Declared constraints, as data, and the one validator (importable without torch or Qiskit).

Two tables say what every option accepts: :data:`OPTION_BOUNDS` (the ranges of the numeric
options of the ``faqnas`` command) and :data:`OPTION_CHOICES` (the words of the options that
take one of a fixed set). Each record declares the constraints of its fields beside it, as a
:class:`Fields` table (``HardwareRecord``, ``BackendProfile``, ``TranspiledMetrics``, ...), and
the rules that tie its fields together as :class:`Relation` s (``SearchConfig``: a population of
at least 2 for NSGA-II). Each constraint carries its rule and a fix, and :func:`check` is the
one validator (:func:`check_fields` runs it over a table, :func:`check_rules` over the
relations): it raises a :class:`ConfigError` (or the caller's narrower kind) in the package's
one message shape (rule, value, fix), naming the option, the Python parameter, the record's
field, or the field of the file it was read from.

The CLI checks every parsed option against the tables before any work; the records that hold
these options (``TrainingConfig``, ``SearchConfig``, ...) check their fields with :func:`check`
(naming the Python parameter where code, not a command line, passes the value), so a caller of
the Python API gets the same rules less the command line's caps (``Bound.cap``); and the
bad-input tests generate their values from the declarations. A bound is declared once.
"""

from __future__ import annotations

from faqnas_qiskit.limits.constraints import (
    Bound,
    Choice,
    Constraint,
    Counts,
    Instance,
    Relation,
    Subject,
    Text,
)
from faqnas_qiskit.limits.options import (
    CONSTRAINTS,
    MAX_REPEATS,
    MAX_SEED,
    MAX_SHOTS,
    OPTION_BOUNDS,
    OPTION_CHOICES,
)
from faqnas_qiskit.limits.validator import (
    Fields,
    check,
    check_fields,
    check_repeats,
    check_rules,
    option_field,
    words,
)

__all__ = [
    "CONSTRAINTS",
    "MAX_REPEATS",
    "MAX_SEED",
    "MAX_SHOTS",
    "OPTION_BOUNDS",
    "OPTION_CHOICES",
    "Bound",
    "Choice",
    "Constraint",
    "Counts",
    "Fields",
    "Instance",
    "Relation",
    "Subject",
    "Text",
    "check",
    "check_fields",
    "check_repeats",
    "check_rules",
    "option_field",
    "words",
]
