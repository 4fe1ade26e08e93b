"""The one validator: a value against its declared constraint, a record against its table."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from faqnas_qiskit.errors import ConfigError, FaqnasError
from faqnas_qiskit.limits.constraints import Bound, Choice, Constraint, Relation, Subject
from faqnas_qiskit.limits.options import CONSTRAINTS

__all__ = [
    "Fields",
    "check",
    "check_fields",
    "check_repeats",
    "check_rules",
    "option_field",
    "words",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Fields:
    """The declared constraints of one record's fields, in the order they are checked.

    Declared beside the record (as scikit-learn declares an estimator's
    ``_parameter_constraints``) and checked by :func:`check_fields` when it is made.

    Attributes:
        record: The record's name (``HardwareRecord``).
        constraints: One constraint per checked field, named as the field.
        what: The noun after a field's name in a message (``field``; ``parameter`` for a
            function's inputs).
    """

    record: str
    constraints: tuple[Constraint, ...]
    what: str = "field"

    @classmethod
    def of(cls, record: str, fix: str, *constraints: Constraint, what: str = "field") -> Fields:
        """A table whose constraints without a fix of their own take ``fix``."""
        stamped = tuple(c if c.fix else replace(c, fix=fix) for c in constraints)
        return cls(record, stamped, what)

    def __getitem__(self, name: str) -> Constraint:
        """The constraint of field ``name``.

        Raises:
            KeyError: If the table declares no such field (a programming error).
        """
        for constraint in self.constraints:
            if constraint.option == name:
                return constraint
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """The fields declared, in order."""
        return tuple(c.option for c in self.constraints)


def check(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    parameter: str | None = None,
    fields: Fields | None = None,
    where: str | None = None,
    error: type[FaqnasError] = ConfigError,
) -> Any:
    """The one validator: ``value`` against the declared constraint of ``name``.

    This is the library's check: a ``cap`` of the command line does not apply; the CLI calls
    each option's ``check`` itself, caps included.

    Args:
        name: An option's name as the user types it, without dashes (a key of
            :data:`~faqnas_qiskit.limits.CONSTRAINTS`), or a field of ``fields``.
        value: The value given.
        low: A tighter minimum that binds where the caller has one (the classes a subsample
            must keep); only for a numeric constraint.
        high: A tighter maximum that binds where the caller has one (a backend's most shots);
            only for a numeric constraint.
        parameter: The Python parameter to name in the message (``seed_transpiler``), where
            the value comes from code rather than the command line (the message then says
            "parameter" instead of "option").
        fields: The table of a record's fields that declares ``name`` (the message then names
            the field).
        where: The file a field's value was read from (``field of /path/x.toml``).
        error: The error to raise: a :class:`ConfigError`, or a narrower kind of the caller's.

    Returns:
        ``value`` in its plain form: an ``int`` or ``float`` (numpy scalars included), the
        string, a tuple of strings, a ``dict`` of counts; None where None is allowed.

    Raises:
        ConfigError: ``The '<name>' option must be <rule>. Got <value> instead. <fix>`` (or
            ``error``; "parameter", "field" or "field of <where>" for "option").
        KeyError: If no constraint is declared for ``name`` (a programming error).
    """
    constraint = CONSTRAINTS[name] if fields is None else fields[name]
    if low is not None or high is not None:
        if not isinstance(constraint, Bound):
            raise KeyError(name)
        constraint = replace(
            constraint,
            low=constraint.low if low is None else max(low, constraint.low),
            high=constraint.high if high is None else min(high, constraint.high),
            cap=False,
        )
    subject = None
    if fields is not None:
        subject = Subject(name, fields.what if where is None else f"{fields.what} of {where}")
    return constraint.check(value, capped=False, parameter=parameter, subject=subject, error=error)


def option_field(option: str, name: str | None = None) -> Constraint:
    """The declared constraint of ``option``, for a record's field that holds it.

    Args:
        option: The option (a key of :data:`~faqnas_qiskit.limits.CONSTRAINTS`).
        name: The field's name (default: the option's with ``_`` for ``-``).
    """
    constraint = CONSTRAINTS[option]
    return replace(constraint, option=name or constraint.dest)


def check_fields(
    fields: Fields,
    record: object,
    *,
    where: str | None = None,
    error: type[FaqnasError] = ConfigError,
) -> dict[str, Any]:
    """Check every declared field of ``record``, in order.

    A field is read as the attribute of its constraint's ``dest`` (an option's table names
    ``max-train``, the record holds ``max_train``).

    Args:
        fields: The record's table.
        record: The record being made.
        where: The file it was read from, if any.
        error: The error to raise.

    Returns:
        Each declared field's plain form (:func:`check`), for the record to keep.

    Raises:
        ConfigError: (or ``error``) For the first field outside its rule.
    """
    return {
        c.option: check(c.option, getattr(record, c.dest), fields=fields, where=where, error=error)
        for c in fields.constraints
    }


def check_rules(
    record: T,
    rules: Iterable[Relation[T]],
    *,
    where: str | None = None,
    error: type[FaqnasError] = ConfigError,
) -> None:
    """Check the declared rules between the fields of ``record``, in order.

    Raises:
        ConfigError: (or ``error``) For the first rule it breaks.
    """
    for rule in rules:
        rule.check(record, where=where, error=error)


def words(option: str) -> tuple[str, ...]:
    """The words option ``option`` accepts (``words("strategy")``), as declared in
    :data:`~faqnas_qiskit.limits.OPTION_CHOICES`.

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
