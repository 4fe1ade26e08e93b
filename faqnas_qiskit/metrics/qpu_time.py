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

from faqnas_qiskit.limits import Bound, Fields, check

__all__ = [
    "DEFAULT_JOB_OVERHEAD_S",
    "DEFAULT_REP_DELAY_S",
    "QPU_TIME_PARAMETERS",
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


QPU_TIME_PARAMETERS = Fields.of(
    "predicted_qpu_seconds",
    "Pass a time in seconds, e.g. 0.0 or 2e-06 (the target's schedule gives them).",
    *(
        Bound.seconds(name)
        for name in ("duration_s", "rep_delay_s", "init_s", "measure_s", "overhead_s")
    ),
    what="parameter",
)
"""The declared constraints of :func:`predicted_qpu_seconds`' times."""


def _delay_within(low: float, high: float) -> Bound:
    """The repetition delay a backend allows: from ``low`` to ``high`` seconds."""
    return Bound(
        "rep_delay_s",
        False,
        low,
        high,
        "Leave it unset to use the backend's default.",
        phrase=f"within the backend's range [{low:g}, {high:g}] s",
    )


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
    times = {
        name: check(name, value, fields=QPU_TIME_PARAMETERS)
        for name, value in (
            ("duration_s", duration_s),
            ("rep_delay_s", rep_delay_s),
            ("init_s", init_s),
            ("measure_s", measure_s),
            ("overhead_s", overhead_s),
        )
    }
    if rep_delay_range_s is not None:
        _delay_within(*rep_delay_range_s).check(times["rep_delay_s"], parameter="rep_delay_s")
    duration_s, rep_delay_s = times["duration_s"], times["rep_delay_s"]
    init_s, measure_s, overhead_s = times["init_s"], times["measure_s"], times["overhead_s"]
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
