"""Predicted QPU seconds: IBM's baseline usage formula, with the fake backend's timings."""

from __future__ import annotations

import pytest
from qiskit_ibm_runtime.fake_provider import FakeFez

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.metrics import (
    DEFAULT_JOB_OVERHEAD_S,
    DEFAULT_REP_DELAY_S,
    USAGE_SOURCE,
    TargetInfo,
    estimator_executions,
    predicted_qpu_seconds,
    transpiled_metrics,
)
from faqnas_qiskit.space import Genome


def test_the_formula_by_hand() -> None:
    seconds = predicted_qpu_seconds(
        10e-6, samples=30, shots=1000, rep_delay_s=250e-6, init_s=1e-6, measure_s=2e-6
    )
    assert seconds == pytest.approx(2.0 + (250e-6 + 1e-6 + 10e-6 + 2e-6) * 30 * 1000)


def test_ibms_quick_formula_is_a_special_case() -> None:
    """The page's "2 + 0.00035 * <num executions>": 350 µs per execution, 2 s overhead."""
    executions = estimator_executions(samples=40, shots=4096)
    seconds = predicted_qpu_seconds(100e-6, samples=40, shots=4096, rep_delay_s=250e-6)
    assert seconds == pytest.approx(2 + 0.00035 * executions)
    assert DEFAULT_JOB_OVERHEAD_S == 2.0 and DEFAULT_REP_DELAY_S == 250e-6
    assert USAGE_SOURCE.startswith("https://quantum.cloud.ibm.com/docs/")


def test_linear_in_samples_and_shots_beyond_the_overhead() -> None:
    one = predicted_qpu_seconds(5e-6, samples=1, shots=100) - DEFAULT_JOB_OVERHEAD_S
    assert predicted_qpu_seconds(5e-6, samples=7, shots=300) - 2.0 == pytest.approx(21 * one)


def test_defaults_come_from_the_fake_backend(fez: TargetInfo) -> None:
    backend = FakeFez()
    assert fez.rep_delay_s == backend.configuration().default_rep_delay == 250e-6
    assert fez.rep_delay_range_s == tuple(backend.configuration().rep_delay_range)


def test_predicted_seconds_of_a_genome_from_independent_parts(fez: TargetInfo) -> None:
    genome = Genome.parse("q4-angle-cz-circular-ry.rx")
    m = transpiled_metrics(genome, fez, shots=2000, samples=30)
    backend = FakeFez()
    target = backend.target
    isa = fez.transpile(build_circuit(genome).circuit)
    physical = isa.layout.final_index_layout()
    assert len(physical) == 4
    measure = max(target["measure"][(q,)].duration for q in physical)
    reset = max(target["reset"][(q,)].duration for q in physical)
    per_shot = backend.configuration().default_rep_delay + reset + m.duration_s + measure
    assert m.predicted_qpu_s == pytest.approx(2.0 + per_shot * 30 * 2000, rel=1e-12)
    # the repetition delay dominates short circuits
    assert m.predicted_qpu_s == pytest.approx(2.0 + 250e-6 * 30 * 2000, rel=0.05)


def test_options_change_the_prediction(fez: TargetInfo) -> None:
    genome = Genome.parse("q3-angle-cx-linear-rx")
    base = transpiled_metrics(genome, fez, shots=1000, samples=10).predicted_qpu_s
    faster = transpiled_metrics(genome, fez, shots=1000, samples=10, rep_delay_s=100e-6)
    no_overhead = transpiled_metrics(genome, fez, shots=1000, samples=10, overhead_s=0.0)
    no_init = transpiled_metrics(genome, fez, shots=1000, samples=10, init_qubits=False)
    assert base is not None and faster.predicted_qpu_s is not None
    assert base - faster.predicted_qpu_s == pytest.approx(150e-6 * 10_000)
    assert base - no_overhead.predicted_qpu_s == pytest.approx(2.0)  # type: ignore[operator]
    assert 0 < base - no_init.predicted_qpu_s < 10_000 * 2e-6  # type: ignore[operator]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"samples": 0}, "samples"),
        ({"shots": -5}, "shots"),
        ({"rep_delay_s": -1.0}, "rep_delay_s"),
        ({"overhead_s": float("inf")}, "overhead_s"),
        ({"measure_s": "1us"}, "measure_s"),
    ],
)
def test_bad_inputs_are_one_line(kwargs: dict[str, object], name: str) -> None:
    arguments: dict[str, object] = {"samples": 1, "shots": 1, **kwargs}
    with pytest.raises(ConfigError) as info:
        predicted_qpu_seconds(1e-6, **arguments)  # type: ignore[arg-type]
    assert f"'{name}'" in str(info.value) and "\n" not in str(info.value)


def test_rep_delay_outside_the_backends_range() -> None:
    with pytest.raises(ConfigError, match=r"range \[0, 0.0005\] s"):
        predicted_qpu_seconds(
            1e-6, samples=1, shots=1, rep_delay_s=1e-3, rep_delay_range_s=(0.0, 0.0005)
        )
