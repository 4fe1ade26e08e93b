"""Transpiled counts against independent preset pass managers; targets and their errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from qiskit.circuit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeFez

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.errors import ConfigError, FaqnasError
from faqnas_qiskit.metrics import (
    DEFAULT_OPTIMIZATION_LEVEL,
    MetricsCache,
    TargetInfo,
    TranspiledMetrics,
    count_transpiled,
    ibm_target_names,
    quantum_flops_formula,
    transpiled_metrics,
)
from faqnas_qiskit.space import Genome, SearchSpace

GENOMES = (
    "q2-angle-cx-linear-rx",
    "q4-angle-cz-circular-ry.rx",
    "q5-angle-cx-circular-rz.ry.rx",
    "q3-amplitude-cz-linear-ry",
    "q5-amplitude-cx-circular-rx.rz",
)


@pytest.fixture(scope="module")
def independent_fez() -> FakeFez:
    return FakeFez()


def counts(circuit: QuantumCircuit) -> dict[str, object]:
    """The metrics computed the plain way, on the circuit object."""
    return {
        "ops": dict(circuit.count_ops()),
        "size": circuit.size(),
        "depth": circuit.depth(),
        "two_qubit_gates": sum(1 for i in circuit.data if i.operation.num_qubits == 2),
        "two_qubit_depth": circuit.depth(lambda instr: instr.operation.num_qubits == 2),
    }


def reported(m: TranspiledMetrics) -> dict[str, object]:
    return {
        k: m.to_dict()[k] for k in ("ops", "size", "depth", "two_qubit_gates", "two_qubit_depth")
    }


@pytest.mark.parametrize("text", GENOMES)
def test_ibm_counts_equal_an_independent_preset_pass_manager(
    text: str, fez: TargetInfo, independent_fez: FakeFez
) -> None:
    genome = Genome.parse(text)
    m = transpiled_metrics(genome, fez)
    assert (m.target, m.optimization_level, m.seed_transpiler) == ("fake_fez", 1, 0)
    manager = generate_preset_pass_manager(
        optimization_level=m.optimization_level,
        backend=independent_fez,
        seed_transpiler=m.seed_transpiler,
    )
    isa = manager.run(build_circuit(genome).circuit)
    assert reported(m) == counts(isa)
    assert m.duration_s == pytest.approx(isa.estimate_duration(independent_fez.target), rel=1e-12)


@pytest.mark.parametrize("text", GENOMES[:3])
def test_aer_counts_equal_an_independent_preset_pass_manager(text: str, aer: TargetInfo) -> None:
    genome = Genome.parse(text)
    m = transpiled_metrics(genome, aer, optimization_level=1)
    manager = generate_preset_pass_manager(
        optimization_level=1, backend=AerSimulator(), seed_transpiler=m.seed_transpiler
    )
    assert reported(m) == counts(manager.run(build_circuit(genome).circuit))
    assert m.target == "aer" and m.duration_s is None and m.predicted_qpu_s is None


def test_counts_on_the_dag_equal_the_circuit_methods(fez: TargetInfo) -> None:
    rng = np.random.default_rng(3)
    for genome in SearchSpace(qubits=(2, 3, 4, 5, 6)).sample(12, rng):
        isa = fez.transpile(build_circuit(genome).circuit, optimization_level=int(rng.integers(3)))
        m = count_transpiled(isa, fez, optimization_level=0, seed_transpiler=0, shots=1, samples=1)
        assert reported(m) == counts(isa), genome.key


def test_other_settings_are_reported_and_honoured(
    fez: TargetInfo, independent_fez: FakeFez
) -> None:
    genome = Genome.parse("q4-angle-cz-circular-ry.rx")
    m = transpiled_metrics(genome, fez, optimization_level=2, seed_transpiler=11)
    assert (m.optimization_level, m.seed_transpiler) == (2, 11)
    manager = generate_preset_pass_manager(
        optimization_level=2, backend=independent_fez, seed_transpiler=11
    )
    assert reported(m) == counts(manager.run(build_circuit(genome).circuit))


def test_duration_is_the_alap_scheduled_length(fez: TargetInfo) -> None:
    """IBM's usage page schedules the ISA circuit ALAP and takes its estimated duration."""
    genome = Genome.parse("q3-amplitude-cx-circular-ry.rz")
    isa = fez.transpile(build_circuit(genome).circuit)
    scheduled = generate_preset_pass_manager(
        optimization_level=0, target=fez.target, scheduling_method="alap"
    ).run(isa)
    assert "delay" in scheduled.count_ops()
    expected = scheduled.estimate_duration(fez.target)
    assert transpiled_metrics(genome, fez).duration_s == pytest.approx(expected, rel=1e-12)
    # whole number of dt
    assert transpiled_metrics(genome, fez).duration_s / fez.target.dt == pytest.approx(
        round(expected / fez.target.dt), abs=1e-6
    )


def test_pass_managers_and_targets_are_built_once(metrics_cache: MetricsCache) -> None:
    fez = metrics_cache.target("fake_fez")
    assert metrics_cache.target("fake_fez") is fez
    assert metrics_cache.target("FakeFez") is fez
    assert fez.pass_manager(1, 0) is fez.pass_manager(1, 0)
    assert fez.pass_manager(1, 0) is not fez.pass_manager(2, 0)


def test_targets_keep_counts_across_shots_and_samples() -> None:
    info = TargetInfo.load("fake_torino")
    genome = Genome.parse("q3-angle-cz-circular-rx")
    assert not info.has_counts(genome, 1, 0)
    few = transpiled_metrics(genome, info, shots=100, samples=1)
    assert info.has_counts(genome, 1, 0) and not info.has_counts(genome, 2, 0)
    many = transpiled_metrics(genome, info, shots=1000, samples=50)
    assert few.ops == many.ops and few.duration_s == many.duration_s
    assert many.predicted_qpu_s > few.predicted_qpu_s  # type: ignore[operator]
    assert info.genome_counts(genome) is info.genome_counts(genome)
    info.clear_counts()
    assert not info.has_counts(genome, 1, 0)
    assert few.target == "fake_torino"


def test_aer_counts_are_the_logical_circuit(aer: TargetInfo) -> None:
    """Aer runs the circuit as built: 2**n - 2 CX of the amplitude tree + depth x pairs."""
    for n, topology in itertools.product((2, 3, 4, 5), ("linear", "circular")):
        genome = Genome(n, "amplitude", "cz", topology, 2, ("ry", "rx"))
        pairs = n - 1 if topology == "linear" or n == 2 else n
        m = transpiled_metrics(genome, aer)
        assert m.two_qubit_gates == 2**n - 2 + 2 * pairs
        assert m.ops.get("cx", 0) == 2**n - 2


def test_amplitude_embedding_shows_its_hardware_cost(fez: TargetInfo) -> None:
    """Two-qubit counts of amplitude genomes roughly double per qubit, whatever their FLOPs."""
    for structure in ("cx-linear-ry", "cz-circular-rx.ry"):
        amplitude = [
            transpiled_metrics(Genome.parse(f"q{n}-amplitude-{structure}"), fez)
            for n in (3, 4, 5, 6)
        ]
        two_qubit = [m.two_qubit_gates for m in amplitude]
        for small, large in itertools.pairwise(two_qubit):
            assert 1.4 <= large / small <= 3.0, (structure, two_qubit)
        for n, m in zip((4, 5, 6), amplitude[1:], strict=True):
            angle = Genome.parse(f"q{n}-angle-{structure}")
            amp = Genome.parse(f"q{n}-amplitude-{structure}")
            # fewer FLOPs than angle embedding (2**n to initialise the state), far more gates
            assert quantum_flops_formula(amp) < quantum_flops_formula(angle)
            assert m.two_qubit_gates > 2 * transpiled_metrics(angle, fez).two_qubit_gates


def test_one_large_amplitude_genome(fez: TargetInfo) -> None:
    six = transpiled_metrics(Genome.parse("q6-amplitude-cx-linear-ry"), fez)
    eight = transpiled_metrics(Genome.parse("q8-amplitude-cx-linear-ry"), fez)
    assert 3.0 <= eight.two_qubit_gates / six.two_qubit_gates <= 6.0
    assert eight.two_qubit_gates >= 2**8 - 2


def test_target_names() -> None:
    names = ibm_target_names()
    for name in ("fake_fez", "fake_torino", "fake_marrakesh", "fake_kingston", "fake_manila"):
        assert name in names
    assert all(n.startswith("fake_") and n == n.lower() for n in names)
    assert DEFAULT_OPTIMIZATION_LEVEL == 1


@pytest.mark.parametrize("name", ["fake_fes", "ibm_fez", "", "aer_simulatorx"])
def test_an_unknown_target_is_one_clear_line(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        TargetInfo.load(name)
    message = str(info.value)
    assert "\n" not in message
    assert f"Got {name!r} instead." in message
    assert "'ibm-target'" in message and "fake_fez" in message and "ibm_target_names()" in message
    if name == "fake_fes":
        assert "Did you mean 'fake_fez'?" in message


def test_aer_is_not_an_ibm_target(metrics_cache: MetricsCache) -> None:
    with pytest.raises(ConfigError, match="timed IBM target"):
        metrics_cache.metrics(
            Genome.parse("q2-angle-cx-linear-rx"), 4, 3, n_train=10, epochs=1, target="aer"
        )


def test_a_genome_larger_than_the_target_is_one_clear_line() -> None:
    manila = TargetInfo.load("fake_manila")
    genome = Genome.parse("q6-angle-cx-linear-rx")
    with pytest.raises(ConfigError) as info:
        transpiled_metrics(genome, manila)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, FaqnasError)
    assert "at most 5 qubits" in message and "(6 qubits)" in message
    assert "'q6-angle-cx-linear-rx'" in message and "'fake_manila'" in message
    assert transpiled_metrics(Genome.parse("q5-angle-cx-linear-rx"), manila).two_qubit_gates >= 4


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"optimization_level": 4}, "optimization_level"),
        ({"optimization_level": True}, "optimization_level"),
        ({"seed_transpiler": -1}, "seed_transpiler"),
        ({"shots": 0}, "shots"),
        ({"samples": 0}, "samples"),
        ({"rep_delay_s": 1.0}, "rep_delay_s"),
    ],
)
def test_bad_settings_are_rejected(fez: TargetInfo, kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError, match=f"'{name}'"):
        transpiled_metrics(Genome.parse("q2-angle-cx-linear-rx"), fez, **kwargs)  # type: ignore[arg-type]


def test_transpiled_metrics_validate_and_round_trip(fez: TargetInfo) -> None:
    m = transpiled_metrics(Genome.parse("q3-angle-cz-linear-rz"), fez)
    assert TranspiledMetrics.from_dict(m.to_dict()) == m
    data = m.to_dict()
    for key, bad in (("size", -1), ("ops", {"cz": -2}), ("duration_s", float("nan"))):
        with pytest.raises(ConfigError, match=f"'{key}'"):
            TranspiledMetrics.from_dict({**data, key: bad})
    with pytest.raises(ConfigError, match="add up to size"):
        TranspiledMetrics.from_dict({**data, "size": data["size"] + 1})
    with pytest.raises(ConfigError, match="'transpiled'"):
        TranspiledMetrics.from_dict({"target": "fake_fez"})
