"""The kinds of declared constraint, and the one message every refusal writes.

A constraint says what one value accepts: a range of numbers (:class:`Bound`), a set of words
(:class:`Choice`), a string (:class:`Text`), a table of counts (:class:`Counts`) or another
record (:class:`Instance`). A
:class:`Relation` ties several fields of one record together (a population of at least 2 for
NSGA-II). Each carries its rule and a fix; checking a value returns it in its plain form (an
``int``, a ``float``, ...) or raises the package's one message shape (rule, value, fix).
"""

from __future__ import annotations

import math
import numbers
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

from faqnas_qiskit.errors import ConfigError, FaqnasError, invalid

__all__ = [
    "Bound",
    "Choice",
    "Constraint",
    "Counts",
    "Instance",
    "Relation",
    "Subject",
    "Text",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Subject:
    """What a message names: ``The '<name>' <what> must be ...``.

    Attributes:
        name: The option (``batch-size``), parameter (``seed_transpiler``) or field
            (``two_qubit_gates``, ``limits.max_qubits``).
        what: The noun after the name: ``option``, ``parameter``, ``field``, or ``field of
            <file>`` where a file holds the value (a backend profile).
    """

    name: str
    what: str = "option"


def refusal(
    subject: Subject, rule: str, value: object, fix: str, error: type[FaqnasError] = ConfigError
) -> FaqnasError:
    """The one message: ``The '<name>' <what> must be <rule>. Got <value> instead. <fix>``."""
    return error(invalid(subject.name, rule, value, fix, what=subject.what))


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _number(value: object) -> float | int | None:
    """``value`` as the number it is (numpy scalars included), or None: a bool is no number."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Integral):
        return int(value)  # exact: 2**63 must not round to 2**63 - 1
    if isinstance(value, numbers.Real):
        return float(value)
    return None


class _Declared(ABC):
    """What every constraint has: a name, a fix, whether None is allowed, and its check."""

    option: str
    fix: str
    optional: bool

    @property
    def dest(self) -> str:
        """The argparse destination (``batch_size``), or the Python name of the field."""
        return self.option.replace("-", "_")

    @abstractmethod
    def rule_of(self, *, capped: bool) -> str:
        """The rule, phrased to follow "must be"."""

    @property
    def rule(self) -> str:
        """The rule on the command line (caps included), phrased to follow "must be"."""
        return self.rule_of(capped=True)

    @abstractmethod
    def _accept(self, value: object, *, capped: bool) -> tuple[bool, Any]:
        """Whether ``value`` is allowed, and its plain form."""

    def check(
        self,
        value: object,
        *,
        capped: bool = True,
        parameter: str | None = None,
        subject: Subject | None = None,
        error: type[FaqnasError] = ConfigError,
    ) -> Any:
        """``value`` in its plain form (``int``, ``float``, ``str``, ...), if it is allowed.

        Args:
            value: The value given.
            capped: Apply a command line's cap (see :attr:`Bound.cap`).
            parameter: Name the Python parameter (``seed_transpiler``) instead of the option.
            subject: Name this instead (a record's field, a file's field); wins over
                ``parameter``.
            error: The error to raise (a :class:`ConfigError` unless a caller has a narrower
                kind, such as a profile's).

        Raises:
            ConfigError: (or ``error``) One line: the rule, the value and the fix.
        """
        if value is None and self.optional:
            return None
        ok, plain = self._accept(value, capped=capped)
        if ok:
            return plain
        if subject is None:
            subject = Subject(self.option) if parameter is None else Subject(parameter, "parameter")
        raise refusal(subject, self.rule_of(capped=capped), value, self.fix, error)

    def _or_none(self, rule: str) -> str:
        return f"{rule}, or None" if self.optional else rule


@dataclass(frozen=True)
class Bound(_Declared):
    """What one numeric value accepts: a closed range of integers or of finite floats.

    Attributes:
        option: The option's name without dashes, as the user types it (``batch-size``), or the
            field's name.
        integer: Integers only (else finite floats).
        low: Smallest value allowed.
        high: Largest value allowed (``math.inf``: no largest).
        low_open: ``low`` itself is excluded (``--lr`` must be > 0).
        fix: A sentence on what to pass instead.
        cap: ``high`` only guards the command line against runaway input (``--epochs 10**9``),
            it is no rule of the library: the records (``TrainingConfig``, ...) accept larger
            values, as a caller of the Python API may mean them (a diverging ``lr=1e30``).
        unit: What the number counts (``seconds``), named in the rule.
        optional: None is allowed too (a time an untimed target does not have).
        phrase: The rule in other words, where a caller's users know it so (``a positive
            integer or None``); empty: written from the range.
    """

    option: str
    integer: bool
    low: float
    high: float
    fix: str
    low_open: bool = False
    cap: bool = False
    unit: str = ""
    optional: bool = False
    phrase: str = ""

    @classmethod
    def count(cls, name: str, *, low: int = 0, high: float = math.inf, fix: str = "") -> Bound:
        """An integer field from ``low`` (default 0) to ``high`` (default: no largest)."""
        return cls(name, True, low, high, fix)

    @classmethod
    def seconds(
        cls, name: str, *, positive: bool = False, optional: bool = False, fix: str = ""
    ) -> Bound:
        """A finite number of seconds of at least 0 (``positive``: greater than 0)."""
        return cls(
            name, False, 0, math.inf, fix, low_open=positive, unit="seconds", optional=optional
        )

    def rule_of(self, *, capped: bool) -> str:
        """The rule, phrased to follow "must be"; ``capped=False``: the library's (see ``cap``)."""
        if self.phrase:
            return self.phrase
        kind = "an integer" if self.integer else "a finite number"
        if self.unit:
            kind = f"{kind} of {self.unit},"
        if math.isinf(self.high) or (self.cap and not capped):
            least = (
                "greater than" if self.low_open else ("at least" if self.unit else "of at least")
            )
            rule = f"{kind} {least} {_show(self.low)}"
        elif self.low_open:
            rule = f"{kind} greater than {_show(self.low)} and at most {_show(self.high)}"
        else:
            rule = f"{kind} from {_show(self.low)} to {_show(self.high)}"
        return self._or_none(rule)

    def _accept(self, value: object, *, capped: bool) -> tuple[bool, Any]:
        number = _number(value)
        if number is None or (self.integer and not isinstance(number, int)):
            return False, None
        ok = math.isfinite(number) and (number <= self.high or (self.cap and not capped))
        ok = ok and (number > self.low if self.low_open else number >= self.low)
        return ok, number if self.integer else float(number)


@dataclass(frozen=True)
class Choice(_Declared):
    """What a word-valued option (or field) accepts: one of a fixed set of words.

    Attributes:
        option: The option's name without dashes, as the user types it (``strategy``).
        words: The words allowed, in the order the rule lists them.
        fix: A sentence on what to pass instead.
        optional: None is allowed too.
    """

    option: str
    words: tuple[str, ...]
    fix: str
    optional: bool = False

    def rule_of(self, *, capped: bool) -> str:
        """The rule, phrased to follow "must be" (a choice has no cap)."""
        return self._or_none(f"one of {', '.join(self.words)}")

    def _accept(self, value: object, *, capped: bool) -> tuple[bool, Any]:
        return isinstance(value, str) and value in self.words, value


@dataclass(frozen=True)
class Text(_Declared):
    """What a string field accepts: a non-empty string, or one that matches a pattern.

    Attributes:
        option: The field's name.
        fix: A sentence on what to pass instead.
        phrase: The rule, phrased to follow "must be".
        pattern: A regular expression the whole string must match, or empty for any.
        empty: The empty string is allowed.
        many: A non-empty sequence of such strings (job ids), kept as a tuple.
        optional: None is allowed too.
    """

    option: str
    fix: str = ""
    phrase: str = "a non-empty string"
    pattern: str = ""
    empty: bool = False
    many: bool = False
    optional: bool = False

    def rule_of(self, *, capped: bool) -> str:
        """The rule, phrased to follow "must be"."""
        return self._or_none(self.phrase)

    def _one(self, value: object) -> bool:
        if not isinstance(value, str) or not (value or self.empty):
            return False
        return not self.pattern or re.fullmatch(self.pattern, value) is not None

    def _accept(self, value: object, *, capped: bool) -> tuple[bool, Any]:
        if not self.many:
            return self._one(value), value
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
            return False, None
        return bool(value) and all(self._one(v) for v in value), tuple(value)


@dataclass(frozen=True)
class Counts(_Declared):
    """What a table of counts accepts: names mapped to integers of at least 0 (gate counts).

    Attributes:
        option: The field's name.
        fix: A sentence on what to pass instead.
        optional: None is allowed too.
    """

    option: str
    fix: str = ""
    optional: bool = False

    def rule_of(self, *, capped: bool) -> str:
        """The rule, phrased to follow "must be"."""
        return self._or_none("a mapping of gate names to integers of at least 0")

    def _accept(self, value: object, *, capped: bool) -> tuple[bool, Any]:
        if not isinstance(value, Mapping):
            return False, None
        plain: dict[str, int] = {}
        for name, count in value.items():
            number = _number(count)
            if not isinstance(name, str) or not isinstance(number, int) or number < 0:
                return False, None
            plain[name] = number
        return True, plain


@dataclass(frozen=True)
class Instance(_Declared):
    """What a field that holds another record accepts: an instance of that record's type.

    Attributes:
        option: The field's name.
        kind: The type its value must be.
        fix: A sentence on what to pass instead.
        optional: None is allowed too.
    """

    option: str
    kind: type
    fix: str = ""
    optional: bool = False

    def rule_of(self, *, capped: bool) -> str:
        """The rule, phrased to follow "must be"."""
        return self._or_none(f"a {self.kind.__name__}")

    def _accept(self, value: object, *, capped: bool) -> tuple[bool, Any]:
        return isinstance(value, self.kind), value


Constraint: TypeAlias = Bound | Choice | Text | Counts | Instance
"""One declared constraint on one value."""


@dataclass(frozen=True)
class Relation(Generic[T]):
    """A declared rule between fields of one record (``population`` >= 2 for NSGA-II).

    Attributes:
        name: The field or option the message names.
        holds: Whether the record keeps the rule.
        rule: The rule for this record, phrased to follow "must be".
        value: What the message shows as the value given.
        fix: A sentence on what to pass instead.
        what: The noun after the name (``option``, ``field``).
        breaks: Keyword arguments that break the rule when the record is made with them (the
            bad-input tests make the record from them and expect this rule's message).
    """

    name: str
    holds: Callable[[T], bool]
    rule: Callable[[T], str]
    value: Callable[[T], object]
    fix: str = ""
    what: str = "option"
    breaks: Mapping[str, Any] = field(default_factory=dict)

    def check(
        self, record: T, *, where: str | None = None, error: type[FaqnasError] = ConfigError
    ) -> None:
        """Raise the one message unless ``record`` keeps the rule.

        Args:
            record: The record (its other fields already checked).
            where: The file the record comes from, named after the noun (``field of x.toml``).
            error: The error to raise.
        """
        if not self.holds(record):
            what = self.what if where is None else f"{self.what} of {where}"
            raise refusal(
                Subject(self.name, what), self.rule(record), self.value(record), self.fix, error
            )
