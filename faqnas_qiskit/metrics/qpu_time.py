"""Predicted QPU seconds of an Estimator job, after IBM's published usage estimate.

Source: IBM Quantum documentation, "Workload usage", section "Estimate usage before submitting a
job" (https://quantum.cloud.ibm.com/docs/en/guides/estimate-job-run-time), which gives the
baseline formula::

    <per sub-job overhead> + (rep_delay + <circuit length>) * <num executions>

* per sub-job overhead: "approximately 2s per sub-job" (loading the payload into the control
  electronics); a job is split into sub-jobs only when too large, which the page does not
  quantify, so one sub-job is assumed;
* ``rep_delay``: the execution option, default ``backend.default_rep_delay`` ("250 microseconds
  on most IBM Quantum backends");
* circuit length: the instruction length of one shot; the page's code example takes
  ``estimate_duration`` of the ALAP-scheduled ISA circuit and adds the ``reset`` duration when
  ``init_qubits`` is on (the default);
* num executions: circuits (after PUB broadcasting) times shots.

For an HQNN evaluated by the Estimator: one PUB, one circuit per sample (parameter
broadcasting), and the n observables ⟨Z_i⟩ commute qubit-wise, so they are measured in one basis:
executions = samples × shots. The ISA circuit has no measurements (the Estimator adds them), so
the circuit length here is the transpiled circuit's duration plus its readout (the longest
``measure`` on its qubits) plus the initialisation::

    QPU s = overhead_s + (rep_delay_s + init_s + duration_s + measure_s) × samples × shots

Not modelled: error suppression and mitigation (twirling, TREX, ZNE, PEA, PEC add circuits and
executions; the page warns that they raise usage) and sub-job splitting. With
``resilience_level=0`` and no twirling this is the page's baseline.

:func:`job_qpu_seconds` applies the formula to a transpiled circuit's schedule on a target.
"""

from __future__ import annotations

import math

from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.limits import check

__all__ = [
    "DEFAULT_JOB_OVERHEAD_S",
    "DEFAULT_REP_DELAY_S",
    "USAGE_SOURCE",
    "estimator_executions",
    "job_qpu_seconds",
    "predicted_qpu_seconds",
]

DEFAULT_JOB_OVERHEAD_S = 2.0
"""Per-(sub-)job overhead, seconds: IBM's "approximately 2s per sub-job"."""

DEFAULT_REP_DELAY_S = 250e-6
"""Repetition delay, seconds, when a backend declares none: IBM's "250 microseconds"."""

USAGE_SOURCE = "https://quantum.cloud.ibm.com/docs/en/guides/estimate-job-run-time"
"""The page the usage model follows."""


def _non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(invalid(name, "a number of seconds", value))
    if not math.isfinite(value) or value < 0:
        raise ConfigError(invalid(name, "a finite number of seconds, at least 0", value))
    return float(value)


def estimator_executions(samples: int, shots: int, measurement_bases: int = 1) -> int:
    """Circuit executions of one Estimator PUB: samples × shots × measurement bases.

    Args:
        samples: Parameter sets broadcast in the PUB (one circuit each).
        shots: Shots per circuit.
        measurement_bases: Groups of qubit-wise commuting observables; 1 for the ⟨Z_i⟩ readout.

    Returns:
        Number of executions.
    """
    check("samples", samples, parameter="samples")
    check("shots", shots, parameter="shots")
    check("measurement-bases", measurement_bases, parameter="measurement_bases")
    return samples * shots * measurement_bases


def predicted_qpu_seconds(
    duration_s: float,
    *,
    samples: int,
    shots: int,
    rep_delay_s: float = DEFAULT_REP_DELAY_S,
    init_s: float = 0.0,
    measure_s: float = 0.0,
    overhead_s: float = DEFAULT_JOB_OVERHEAD_S,
    rep_delay_range_s: tuple[float, float] | None = None,
) -> float:
    """Predicted QPU usage of one Estimator job, seconds (IBM's baseline formula).

    ``overhead_s + (rep_delay_s + init_s + duration_s + measure_s) × samples × shots``; see the
    module docstring and :data:`USAGE_SOURCE`.

    Args:
        duration_s: Duration of one shot of the ISA circuit without readout, seconds.
        samples: Circuits executed (one per sample, parameter broadcasting in one PUB).
        shots: Shots per circuit.
        rep_delay_s: Repetition delay between shots, seconds.
        init_s: Qubit initialisation per shot, seconds (0 with ``init_qubits=False``).
        measure_s: Readout per shot, seconds.
        overhead_s: Per-job overhead, seconds.
        rep_delay_range_s: The backend's allowed (min, max) repetition delay, seconds; checked
            when given.

    Returns:
        Seconds of QPU usage.

    Raises:
        ConfigError: For negative or non-finite times, or a repetition delay outside the range.
    """
    duration_s = _non_negative("duration_s", duration_s)
    rep_delay_s = _non_negative("rep_delay_s", rep_delay_s)
    init_s = _non_negative("init_s", init_s)
    measure_s = _non_negative("measure_s", measure_s)
    overhead_s = _non_negative("overhead_s", overhead_s)
    if rep_delay_range_s is not None:
        low, high = rep_delay_range_s
        if not low <= rep_delay_s <= high:
            raise ConfigError(
                invalid(
                    "rep_delay_s",
                    f"within the backend's range [{low:g}, {high:g}] s",
                    rep_delay_s,
                    "Leave it unset to use the backend's default.",
                )
            )
    executions = estimator_executions(samples, shots)
    return overhead_s + (rep_delay_s + init_s + duration_s + measure_s) * executions


def job_qpu_seconds(
    duration_s: float | None,
    *,
    init_s: float,
    measure_s: float,
    target_rep_delay_s: float | None,
    rep_delay_range_s: tuple[float, float] | None,
    shots: int,
    samples: int,
    rep_delay_s: float | None,
    overhead_s: float,
    init_qubits: bool,
) -> float | None:
    """Predicted QPU seconds of one job from a circuit's schedule on a target (None untimed).

    The one place the schedule becomes a prediction, for freshly transpiled circuits and for
    the machine cache's rows alike (they must agree exactly). ``rep_delay_s`` None takes the
    target's delay, or ``DEFAULT_REP_DELAY_S`` when the target has none.
    """
    if duration_s is None:
        return None
    delay = target_rep_delay_s if rep_delay_s is None else rep_delay_s
    return predicted_qpu_seconds(
        duration_s,
        samples=samples,
        shots=shots,
        rep_delay_s=DEFAULT_REP_DELAY_S if delay is None else delay,
        init_s=init_s if init_qubits else 0.0,
        measure_s=measure_s,
        overhead_s=overhead_s,
        rep_delay_range_s=rep_delay_range_s,
    )
