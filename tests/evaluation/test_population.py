"""Population batching: a generation trained as batched groups equals training it one by one."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.evaluation import (
    PopulationMember,
    TrainingConfig,
    evaluate_population,
    evaluate_repeats,
    population_groups,
)
from faqnas_qiskit.evaluation import population as population_module
from faqnas_qiskit.space import Genome

GENERATION = [
    ("q3-angle-cx-linear-ry", 11, (0,)),
    ("q3-angle-cz-circular-rx.rz.ry.rx", 12, (0, 1)),
    ("q2-amplitude-cx-linear-rz.ry", 13, (0,)),
    ("q3-angle-cx-circular-rz.rx", 14, (2,)),
    ("q2-amplitude-cz-circular-rx", 15, (0, 1, 2)),
    ("q4-angle-cz-linear-ry.ry.rx", 16, (0,)),
]


def _members() -> list[PopulationMember]:
    return [PopulationMember(Genome.parse(key), seed, repeats) for key, seed, repeats in GENERATION]


def _state(weights: bytes) -> dict[str, torch.Tensor]:
    loaded: dict[str, torch.Tensor] = torch.load(io.BytesIO(weights), weights_only=True)
    return loaded


def test_population_equals_one_by_one_in_float64() -> None:
    data = load_dataset("iris", seed=5)
    config = TrainingConfig(epochs=2, lr=0.05, batch_size=32, double=True)
    members = _members()
    together = evaluate_population(members, data, config, split_seed=5)
    assert [len(r) for r in together] == [len(m.repeats) for m in members]
    for member, results in zip(members, together, strict=True):
        alone = evaluate_repeats(
            member.genome,
            data,
            config,
            seed=member.seed,
            split_seed=5,
            repeats=member.repeats,
        )
        for got, want in zip(results, alone, strict=True):
            assert got.record is not None and want.record is not None
            assert got.weights is not None and want.weights is not None
            assert got.repeat == want.repeat
            a, b = got.record, want.record
            assert (a.genome, a.seed, a.repeat) == (b.genome, b.seed, b.repeat)
            assert np.allclose(a.loss_per_epoch, b.loss_per_epoch, rtol=0, atol=1e-8)
            for name in ("train_accuracy", "val_accuracy", "test_accuracy"):
                assert getattr(a, name) == getattr(b, name)
            trained, reference = _state(got.weights), _state(want.weights)
            assert trained.keys() == reference.keys()
            for name, tensor in reference.items():
                assert trained[name].shape == tensor.shape
                assert torch.allclose(trained[name], tensor, rtol=0, atol=1e-8), name


def test_population_float32_is_deterministic() -> None:
    data = load_dataset("iris", seed=0)
    config = TrainingConfig(epochs=1)
    first = evaluate_population(_members(), data, config)
    second = evaluate_population(_members(), data, config)
    for a, b in zip(first, second, strict=True):
        assert [r.record.loss_per_epoch for r in a if r.record] == [
            r.record.loss_per_epoch for r in b if r.record
        ]


def test_groups_follow_qubits_and_embedding_in_order_of_appearance() -> None:
    members = _members()
    assert population_groups(members) == [[0, 1, 3], [2, 4], [5]]
    # at most 3 models a group: member 1 (2 repeats) starts a new group after member 0
    assert population_groups(members, max_models=3) == [[0, 1], [3], [2], [4], [5]]


def test_a_diverging_population_fails_as_each_member_fails_alone() -> None:
    data = load_dataset("iris", seed=0)
    config = TrainingConfig(epochs=2, lr=1e30)
    members = _members()[:2]
    together = evaluate_population(members, data, config)
    for member, results in zip(members, together, strict=True):
        alone = evaluate_repeats(
            member.genome, data, config, seed=member.seed, repeats=member.repeats
        )
        assert [r.error for r in results] == [r.error for r in alone]
        assert all(r.record is None and "finite loss" in (r.error or "") for r in results)


@pytest.mark.parametrize("repeats", [(), (1, 1), (-1,)])
def test_members_reject_bad_repeats(repeats: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="repeats"):
        PopulationMember(Genome.parse("q2-angle-cx-linear-rx"), 0, repeats)


@pytest.mark.parametrize("qubits", [3, 6])  # the NumPy trainer, the torch one
@pytest.mark.parametrize("repeats", [(0,), (0, 1)])
def test_a_healthy_population_trains_batched_not_one_by_one(
    qubits: int, repeats: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # evaluate_population falls back to one-by-one training when a batch fails; a failure in
    # the batched path itself (a shape, a dtype) must not hide behind that fallback
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was trained alone")

    monkeypatch.setattr(population_module, "_alone", refuse)
    data = load_dataset("iris", seed=0)
    members = [
        PopulationMember(Genome.parse(key), seed, repeats)
        for key, seed in (
            (f"q{qubits}-angle-cx-linear-ry.rx", 1),
            (f"q{qubits}-angle-cz-circular-rz", 2),
        )
    ]
    results = evaluate_population(members, data, TrainingConfig(epochs=1), split_seed=0)
    assert all(r.record is not None for member in results for r in member)


def test_a_failing_batch_is_said_and_its_members_train_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(population_module, "train_batched", broken)
    data = load_dataset("iris", seed=0)
    members = [PopulationMember(Genome.parse("q2-angle-cx-linear-ry"), 5, (0,))] * 2
    with caplog.at_level("WARNING", logger="faqnas_qiskit.evaluation.population"):
        results = evaluate_population(members, data, TrainingConfig(epochs=1), split_seed=0)
    assert all(r.record is not None for member in results for r in member)
    (record,) = caplog.records
    assert "2 networks (2 qubits, angle)" in record.getMessage()
    assert "RuntimeError: out of memory" in record.getMessage()
