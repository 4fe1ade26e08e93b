"""The store's codec: the one place that turns stored JSON into typed records and back.

Written: any record with a ``to_dict()`` (:class:`~faqnas_qiskit.evaluation.EvaluationRecord`,
:class:`~faqnas_qiskit.metrics.ArchitectureMetrics`, the hardware layer's ``HardwareRecord``,
the search's ``SearchConfig``) or a JSON-ready mapping, through :func:`encode`; the JSON stays
the records' own ``to_dict()`` form, so stores written before the codec read the same.

Read, two ways:

* Whole records through their own ``from_dict``: :func:`decode` (generic, for the records of the
  layers above the store, ``HardwareRecord`` and ``SearchConfig``, which the store may not
  import) and :meth:`EvaluationFields.record` / :meth:`CostFields.architecture_metrics` (strict).
* Field by field, typed: :class:`EvaluationFields`, :class:`CostFields` (with
  :class:`TranspiledFields`) and :class:`HardwareResultFields`. These read rows of every age:
  a field a row predates (``params_quantum_effective`` before the dead-weight analysis, the
  transpiled counts of a ``transpile=False`` search) is None, and so is any field a
  hand-written row leaves out. A consumer that cannot do without a field asks for it with
  :func:`present`, which names the field and the fix in a :class:`StoreError`.

No module outside ``store/`` reads a record field by its JSON key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from faqnas_qiskit.errors import FaqnasError, invalid
from faqnas_qiskit.store.errors import StoreError

if TYPE_CHECKING:  # imported where used: the store loads without torch and Qiskit
    from faqnas_qiskit.evaluation.record import EvaluationRecord
    from faqnas_qiskit.metrics.records import ArchitectureMetrics

__all__ = [
    "CostFields",
    "Decodable",
    "Encodable",
    "EvaluationFields",
    "HardwareResultFields",
    "TranspiledFields",
    "decode",
    "encode",
    "present",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Encodable(Protocol):
    """A record the store can write: its JSON-ready form is ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]: ...


class Decodable(Protocol[T_co]):
    """A record type the store can read back: ``from_dict`` inverts ``to_dict``."""

    def from_dict(self, data: dict[str, Any], /) -> T_co: ...


def encode(value: Encodable | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready form the store writes of a record (``to_dict()``) or a mapping."""
    if isinstance(value, Mapping):
        return dict(value)
    return value.to_dict()


def decode(kind: Decodable[T], data: Mapping[str, Any], *, what: str) -> T:
    """The record of type ``kind`` stored as ``data`` (``kind.from_dict``).

    Args:
        kind: The record's class (anything with ``from_dict``).
        data: Its stored JSON form.
        what: What the row is, for the message ("the run's config", "hardware job 3").

    Raises:
        StoreError: When ``data`` is not a whole record of that type (a key missing or a value
            of the wrong type); the record's own check (a ``FaqnasError``) as it raises it.
    """
    try:
        return kind.from_dict(dict(data))
    except FaqnasError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(
            invalid(
                what,
                f"a stored {getattr(kind, '__name__', kind)}",
                f"one that does not read back ({type(exc).__name__}: {exc})",
                "The row was written by hand or by another program; write it again.",
                what="row",
            )
        ) from exc


def present(value: T | None, name: str, what: str = "evaluation record") -> T:
    """``value``, a field read through this codec, when the row holds it.

    Raises:
        StoreError: When the stored row has no such field.
    """
    if value is None:
        raise StoreError(
            invalid(
                name,
                f"present in the stored {what}",
                "a row without it",
                "The row predates the field or was written by hand; evaluate it again.",
                what="field",
            )
        )
    return value


def _int(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    return value if value is None or isinstance(value, int) else int(value)


def _float(data: Mapping[str, Any], name: str) -> float | None:
    """The number as stored (an int stays an int, so what is printed of it is unchanged)."""
    value = data.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise StoreError(invalid(name, "a number", value, what="stored field"))
    return value


def _str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value is None else str(value)


@dataclass(frozen=True)
class EvaluationFields:
    """The fields of a stored :class:`EvaluationRecord` (repeat 0 or r), typed.

    None marks a field the stored row does not hold (see the module docstring). Accuracies are
    fractions in [0, 1]; times are wall seconds. ``data`` is the stored JSON (empty for fields
    built by hand, e.g. a cost estimate's).
    """

    genome: str | None = None
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    params_classical: int | None = None
    params_quantum: int | None = None
    params_quantum_effective: int | None = None
    train_time_s: float | None = None
    eval_time_s: float | None = None
    repeat: int = 0
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> EvaluationFields:
        """The fields of ``data``, an EvaluationRecord's stored JSON (``to_dict()``)."""
        return cls(
            genome=_str(data, "genome"),
            train_accuracy=_float(data, "train_accuracy"),
            val_accuracy=_float(data, "val_accuracy"),
            test_accuracy=_float(data, "test_accuracy"),
            params_classical=_int(data, "params_classical"),
            params_quantum=_int(data, "params_quantum"),
            params_quantum_effective=_int(data, "params_quantum_effective"),
            train_time_s=_float(data, "train_time_s"),
            eval_time_s=_float(data, "eval_time_s"),
            repeat=_int(data, "repeat") or 0,
            data=dict(data),
        )

    def record(self) -> EvaluationRecord:
        """The whole record (its ``from_dict``).

        Raises:
            StoreError: When the row is not a whole EvaluationRecord.
        """
        from faqnas_qiskit.evaluation.record import EvaluationRecord

        return decode(EvaluationRecord, self.data, what="evaluation record")

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON, as it was read."""
        return dict(self.data)


@dataclass(frozen=True)
class TranspiledFields:
    """The transpiled counts of a stored architecture on one target (``TranspiledMetrics``).

    ``duration_s`` and ``predicted_qpu_s`` are None on Aer (no timing model), and any field
    the row lacks is None.
    """

    target: str | None
    two_qubit_gates: int | None
    two_qubit_depth: int | None
    depth: int | None
    size: int | None
    duration_s: float | None
    predicted_qpu_s: float | None

    @classmethod
    def read(cls, data: Mapping[str, Any] | None) -> TranspiledFields | None:
        """The counts of ``data`` (``TranspiledMetrics.to_dict()``), or None when not stored."""
        if data is None:
            return None
        return cls(
            target=_str(data, "target"),
            two_qubit_gates=_int(data, "two_qubit_gates"),
            two_qubit_depth=_int(data, "two_qubit_depth"),
            depth=_int(data, "depth"),
            size=_int(data, "size"),
            duration_s=_float(data, "duration_s"),
            predicted_qpu_s=_float(data, "predicted_qpu_s"),
        )


@dataclass(frozen=True)
class CostFields:
    """The cost metrics of an evaluation's architecture, typed (``ArchitectureMetrics.to_dict()``,
    or its FLOPs-only form from a search that did not transpile), as stored once per
    architecture and metric settings and referred to by its evaluations.

    FLOPs are per sample (``training_flops``: of all of training), integers as
    ArchitectureMetrics writes them (read as stored); ``transpiled`` is the IBM target's counts
    and ``aer`` the Aer basis's, None when not computed.
    """

    quantum_flops: float | None
    classical_flops: float | None
    training_flops: float | None
    params_quantum: int | None
    params_classical: int | None
    transpiled: TranspiledFields | None
    aer: TranspiledFields | None
    data: Mapping[str, Any]

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> CostFields:
        """The fields of ``data``, the stored metrics JSON."""
        return cls(
            quantum_flops=_float(data, "quantum_flops"),
            classical_flops=_float(data, "classical_flops"),
            training_flops=_float(data, "training_flops"),
            params_quantum=_int(data, "params_quantum"),
            params_classical=_int(data, "params_classical"),
            transpiled=TranspiledFields.read(data.get("transpiled")),
            aer=TranspiledFields.read(data.get("transpiled_aer")),
            data=dict(data),
        )

    @property
    def total_flops(self) -> float | None:
        """F_Q + F_C per sample, or None when either is not stored."""
        if self.quantum_flops is None or self.classical_flops is None:
            return None
        return self.quantum_flops + self.classical_flops

    def architecture_metrics(self) -> ArchitectureMetrics:
        """The whole record (``ArchitectureMetrics.from_dict``).

        Raises:
            StoreError: When the row is not whole (e.g. the FLOPs-only form).
        """
        from faqnas_qiskit.metrics.records import ArchitectureMetrics

        present(self.transpiled, "transpiled", "metrics")  # None: a search that did not transpile
        return decode(ArchitectureMetrics, self.data, what="metrics")

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON, as it was read."""
        return dict(self.data)


@dataclass(frozen=True)
class HardwareResultFields:
    """The summary fields of a stored hardware result (``HardwareRecord.to_dict()``), typed.

    The hardware layer sits above the store, so the whole record is read there with
    ``row.result_as(HardwareRecord)``; these are the fields the report tabulates.
    """

    adapter: str | None
    shots: int | None
    accuracy: float | None
    simulator_accuracy: float | None
    predicted_qpu_s: float | None
    measured_qpu_s: float | None
    two_qubit_gates: int | None

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> HardwareResultFields:
        """The fields of ``data``, a hardware job's stored result."""
        return cls(
            adapter=_str(data, "adapter"),
            shots=_int(data, "shots"),
            accuracy=_float(data, "accuracy"),
            simulator_accuracy=_float(data, "simulator_accuracy"),
            predicted_qpu_s=_float(data, "predicted_qpu_s"),
            measured_qpu_s=_float(data, "measured_qpu_s"),
            two_qubit_gates=_int(data, "two_qubit_gates"),
        )
