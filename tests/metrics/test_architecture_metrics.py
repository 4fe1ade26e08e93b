"""ArchitectureMetrics, architecture_metrics, MetricsCache and metrics_function."""

from __future__ import annotations

import json

import pytest

from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.metrics import (
    ArchitectureMetrics,
    MetricsCache,
    MetricsSettings,
    TargetInfo,
    architecture_metrics,
    count_flops,
    flops_and_params,
    flops_formulas_hold,
    metrics_function,
    training_flops_formula,
    transpiled_metrics,
)
from faqnas_qiskit.metrics.architecture import FORMULA_PROBES
from faqnas_qiskit.models import build_model
from faqnas_qiskit.space import Genome

KEYS = {
    "quantum_flops",
    "classical_flops",
    "training_flops",
    "params_quantum",
    "params_classical",
    "transpiled",
    "transpiled_aer",
}
TRANSPILED_KEYS = {
    "target",
    "optimization_level",
    "seed_transpiler",
    "ops",
    "size",
    "depth",
    "two_qubit_gates",
    "two_qubit_depth",
    "duration_s",
    "predicted_qpu_s",
}


def test_record_keys_and_json_round_trip(metrics_cache: MetricsCache) -> None:
    genome = Genome.parse("q3-amplitude-cz-circular-ry.rx")
    m = metrics_cache.metrics(genome, 4, 3, n_train=90, epochs=5, samples=30)
    data = json.loads(json.dumps(m.to_dict()))
    assert set(data) == KEYS
    assert set(data["transpiled"]) == TRANSPILED_KEYS == set(data["transpiled_aer"])
    assert data["transpiled"]["target"] == "fake_fez" and data["transpiled_aer"]["target"] == "aer"
    assert data["transpiled_aer"]["duration_s"] is None
    assert data["transpiled_aer"]["predicted_qpu_s"] is None
    assert data["transpiled"]["predicted_qpu_s"] > 2.0
    assert ArchitectureMetrics.from_dict(data) == m


@pytest.mark.parametrize(
    ("text", "n_features", "n_classes"),
    [("q4-angle-cz-circular-ry.rx", 4, 3), ("q3-amplitude-cx-linear-rz", 13, 3)],
)
def test_values_match_independent_sources(
    metrics_cache: MetricsCache, fez: TargetInfo, text: str, n_features: int, n_classes: int
) -> None:
    genome = Genome.parse(text)
    m = metrics_cache.metrics(genome, n_features, n_classes, n_train=120, epochs=5)
    model = build_model(genome, n_features, n_classes, seed=0)
    assert m.params_quantum == model.n_params_quantum
    assert m.params_classical == model.n_params_classical
    profiled = count_flops(genome, n_features, n_classes)
    assert (m.quantum_flops, m.classical_flops) == (profiled.quantum, profiled.classical)
    assert m.training_flops == profiled.training * 120 * 5
    assert m.transpiled == transpiled_metrics(genome, fez)


def test_the_profiler_path_gives_the_same_record(fez: TargetInfo, aer: TargetInfo) -> None:
    genome = Genome.parse("q3-angle-cx-circular-rz.ry")
    common = {"n_train": 50, "epochs": 2, "target": fez, "aer_target": aer}
    fast = architecture_metrics(genome, 4, 3, **common)  # type: ignore[arg-type]
    slow = architecture_metrics(genome, 4, 3, count_with_profiler=True, **common)  # type: ignore[arg-type]
    assert fast == slow


def test_the_cache_computes_once_per_key_and_settings(metrics_cache: MetricsCache) -> None:
    genome = Genome.parse("q2-angle-cz-linear-rz")
    before = len(metrics_cache)
    first = metrics_cache.metrics(genome, 4, 3, n_train=90, epochs=5)
    assert metrics_cache.metrics(genome, 4, 3, n_train=90, epochs=5) is first
    # inactive rotation slots do not make another network
    padded = Genome(2, "angle", "cz", "linear", 1, ("rz", "ry", "ry", "rx"))
    assert metrics_cache.metrics(padded, 4, 3, n_train=90, epochs=5) is first
    assert metrics_cache.metrics(genome, 4, 3, n_train=90, epochs=5, target="FakeFez") is first
    assert len(metrics_cache) == before + 1
    other = metrics_cache.metrics(genome, 4, 3, n_train=90, epochs=5, shots=4096)
    assert other is not first and len(metrics_cache) == before + 2
    assert other.transpiled.predicted_qpu_s > first.transpiled.predicted_qpu_s  # type: ignore[operator]
    assert metrics_cache.metrics(genome, 4, 3, n_train=90, epochs=6).training_flops == (
        training_flops_formula(genome, 4, 3) * 90 * 6
    )


def test_metrics_function_for_the_search(metrics_cache: MetricsCache) -> None:
    compute = metrics_function(
        n_features=4, n_classes=3, n_train=90, epochs=5, samples=30, cache=metrics_cache
    )
    genome = Genome.parse("q3-angle-cx-linear-ry")
    data = compute(genome)
    assert set(data) == KEYS
    assert data["transpiled"]["two_qubit_gates"] >= 2
    assert compute(genome) == data


def test_metrics_function_fails_early_on_a_bad_target() -> None:
    with pytest.raises(ConfigError, match="fake_fez"):
        metrics_function(n_features=4, n_classes=3, n_train=90, epochs=5, target="fake_nowhere")


def test_the_formula_check_and_its_probes() -> None:
    assert flops_formulas_hold(4, 3)
    probes = [Genome.parse(p) for p in FORMULA_PROBES]
    assert {g.embedding for g in probes} == {"angle", "amplitude"}
    assert {g.entangler for g in probes} == {"cx", "cz"}
    assert {g.topology for g in probes} == {"linear", "circular"}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_features": 0}, "n_features"),
        ({"n_classes": 1}, "n_classes"),
        ({"n_train": 0}, "n_train"),
        ({"epochs": 0}, "epochs"),
        ({"shots": 0}, "shots"),
        ({"samples": -1}, "samples"),
        ({"optimization_level": 5}, "optimization_level"),
        ({"aer_optimization_level": -1}, "aer_optimization_level"),
        ({"seed_transpiler": 1.5}, "seed_transpiler"),
        ({"overhead_s": -2.0}, "overhead_s"),
        ({"target": ""}, "target"),
    ],
)
def test_settings_validate_themselves(kwargs: dict[str, object], name: str) -> None:
    base: dict[str, object] = {"n_features": 4, "n_classes": 3, "n_train": 10, "epochs": 1}
    with pytest.raises(ConfigError) as info:
        MetricsSettings(**{**base, **kwargs})  # type: ignore[arg-type]
    assert f"'{name}'" in str(info.value) and "\n" not in str(info.value)


def test_records_validate_themselves(metrics_cache: MetricsCache) -> None:
    m = metrics_cache.metrics(Genome.parse("q2-angle-cx-linear-rx"), 4, 3, n_train=9, epochs=1)
    data = m.to_dict()
    for key, bad in (("quantum_flops", 0), ("training_flops", -1), ("params_quantum", 1.5)):
        with pytest.raises(ConfigError, match=f"'{key}'"):
            ArchitectureMetrics.from_dict({**data, key: bad})
    with pytest.raises(ConfigError, match="transpiled_aer"):
        ArchitectureMetrics.from_dict({k: v for k, v in data.items() if k != "transpiled_aer"})
    assert m.params == m.params_quantum + m.params_classical


def test_flops_only_metrics_match_the_full_record(metrics_cache: MetricsCache) -> None:
    genome = Genome.parse("q5-amplitude-cz-linear-rx.rz")
    full = metrics_cache.metrics(genome, 4, 3, n_train=90, epochs=5).to_dict()
    counts = flops_and_params(genome, 4, 3, n_train=90, epochs=5)
    assert counts == {k: v for k, v in full.items() if not k.startswith("transpiled")}
    compute = metrics_function(
        n_features=4, n_classes=3, n_train=90, epochs=5, transpile=False, cache=metrics_cache
    )
    assert compute(genome) == {**counts, "transpiled": None, "transpiled_aer": None}
