"""Repeated evaluation (DESIGN §4.1): splits, batched replicas, uncertainty, variance share."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from faqnas_qiskit.circuits import build_circuit
from faqnas_qiskit.data import Dataset, load_dataset, repeat_split
from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.evaluation import (
    AccuracyStats,
    TrainingConfig,
    evaluate_genome,
    evaluate_repeats,
    variance_share,
)
from faqnas_qiskit.space import Genome, SearchSpace
from tests.reference import reference_state, reference_z


def _state(weights: bytes) -> dict[str, torch.Tensor]:
    loaded: dict[str, torch.Tensor] = torch.load(io.BytesIO(weights), weights_only=True)
    return loaded


# ------------------------------------------------------------------------------------- splits
def test_repeat_split_keeps_test_rows_and_sizes_and_draws_a_new_stratified_split() -> None:
    base = load_dataset("wine", seed=4)
    again = repeat_split(base, seed=4, repeat=2)
    other = repeat_split(base, seed=4, repeat=3)
    assert repeat_split(base, seed=4, repeat=0) is base
    assert np.array_equal(again.x_val, repeat_split(base, seed=4, repeat=2).x_val)  # seeded
    assert not np.array_equal(again.y_val, other.y_val) or not np.allclose(again.x_val, other.x_val)
    for split in ("train", "val", "test"):
        assert getattr(again, f"x_{split}").shape == getattr(base, f"x_{split}").shape
    assert np.array_equal(again.y_test, base.y_test)
    # the test rows are the same rows, standardised with the new train split: an affine map
    # of each feature of base.x_test, with the train split at mean 0 and std 1
    slope = again.x_test.std(axis=0) / base.x_test.std(axis=0)
    assert np.allclose(again.x_test, (base.x_test - base.x_test.mean(axis=0)) * slope
                       + again.x_test.mean(axis=0))  # fmt: skip
    assert np.allclose(again.x_train.mean(axis=0), 0) and np.allclose(again.x_train.std(axis=0), 1)
    # train and val partition the pooled non-test rows (compare rows after undoing the scaling)
    pool_labels = np.sort(np.concatenate([base.y_train, base.y_val]))
    assert np.array_equal(np.sort(np.concatenate([again.y_train, again.y_val])), pool_labels)
    # stratified: every class's share in val is within one sample of the pool's
    pool_counts = np.bincount(pool_labels)
    val_counts = np.bincount(again.y_val, minlength=pool_counts.size)
    expected = pool_counts * base.y_val.size / pool_labels.size
    assert np.all(np.abs(val_counts - expected) <= 1)


# -------------------------------------------------------------------------- replica engine
@pytest.mark.parametrize(
    "key",
    [
        "q2-angle-cx-linear-rz",
        "q3-angle-cz-circular-ry.rx",
        "q4-amplitude-cx-circular-rx.ry.rz",
        "q5-amplitude-cz-linear-ry.rz",
        "q6-angle-cx-circular-rx.rx.ry.rz",
        "q7-amplitude-cx-linear-ry",
    ],
)
def test_replicated_expectations_match_the_dense_reference(key: str) -> None:
    genome = Genome.parse(key)
    simulator = HQNNSimulator(build_circuit(genome))
    gen = torch.Generator().manual_seed(7)
    width = genome.n_qubits if genome.embedding == "angle" else 2**genome.n_qubits
    features = torch.randn(3, 4, width, generator=gen, dtype=torch.float64)
    weights = torch.randn(3, genome.n_weights, generator=gen, dtype=torch.float64)
    out = simulator.replicated_expectations(features, weights)
    assert out.shape == (3, 4, genome.n_qubits)
    for r in range(3):
        for b in range(4):
            state = reference_state(genome, features[r, b].numpy(), weights[r].numpy())
            assert np.allclose(out[r, b].numpy(), reference_z(state), atol=1e-12)


# -------------------------------------------------------------------------- batched training
def _random_genomes(count: int, seed: int) -> list[Genome]:
    space = SearchSpace(qubits=(2, 3, 4, 5))
    rng = np.random.default_rng(seed)
    out: dict[str, Genome] = {}
    for embedding in ("angle", "amplitude"):
        while sum(g.embedding == embedding for g in out.values()) < count:
            genome = space.decode(space.sample_vectors(1, rng)[0])
            if genome.embedding == embedding:
                out.setdefault(genome.key, genome.canonical())
    return list(out.values())


@pytest.mark.parametrize("genome", _random_genomes(3, seed=21), ids=str)
def test_batched_repeats_equal_sequential_repeats_in_float64(genome: Genome) -> None:
    data = load_dataset("iris", seed=5)
    config = TrainingConfig(epochs=3, lr=0.05, batch_size=32, double=True)
    batched = evaluate_repeats(genome, data, config, seed=17, split_seed=5, repeats=range(4))
    for result in batched:
        assert result.record is not None and result.weights is not None
        reference, model = evaluate_genome(
            genome, data, config, seed=17, repeat=result.repeat, split_seed=5
        )
        record = result.record
        assert record.repeat == reference.repeat == result.repeat
        assert np.allclose(record.loss_per_epoch, reference.loss_per_epoch, rtol=0, atol=1e-8)
        for name in ("train_accuracy", "val_accuracy", "test_accuracy"):
            assert getattr(record, name) == getattr(reference, name)
        trained = _state(result.weights)
        for name, tensor in model.state_dict().items():
            assert torch.allclose(trained[name], tensor, rtol=0, atol=1e-8), name
    # the repeats are different draws: their losses differ
    assert len({r.record.loss_per_epoch for r in batched if r.record}) == 4


def test_repeat_zero_is_the_single_evaluation_of_before() -> None:
    data = load_dataset("iris", seed=0)
    genome = Genome.parse("q3-angle-cx-linear-ry.rx")
    single, _ = evaluate_genome(genome, data, TrainingConfig(epochs=2), seed=9)
    (only,) = evaluate_repeats(genome, data, TrainingConfig(epochs=2), seed=9, repeats=(0,))
    assert only.record is not None
    assert only.record.loss_per_epoch == single.loss_per_epoch
    assert only.record.val_accuracy == single.val_accuracy


def test_diverging_repeats_are_failed_results_not_crashes() -> None:
    data = load_dataset("iris", seed=0)
    genome = Genome.parse("q2-angle-cx-linear-ry")
    results = evaluate_repeats(
        genome, data, TrainingConfig(epochs=2, lr=1e30), seed=1, repeats=range(3)
    )
    assert all(r.record is None and "finite loss" in (r.error or "") for r in results)


# ------------------------------------------------------------------------------- statistics
def test_accuracy_stats_against_a_hand_computed_case() -> None:
    stats = AccuracyStats.of([0.6, 0.7, 0.8])
    assert stats.mean == pytest.approx(0.7) and stats.sd == pytest.approx(0.1)
    half = 4.302652729911275 * 0.1 / math.sqrt(3)  # t(0.975, 2) from a table
    assert stats.ci_low == pytest.approx(0.7 - half) and stats.ci_high == pytest.approx(0.7 + half)
    one = AccuracyStats.of([0.5])
    assert one.sd is None and one.ci_low is None and one.describe() == "0.500 (1)"


def test_variance_share_against_hand_computed_cases() -> None:
    # balanced: means 1.5 and 3.5, grand 2.5; MSB = 2 * (1 + 1) / 1 = 4, MSW = 4 * 0.25 / 2 = 0.5
    assert variance_share([[1, 2], [3, 4]]) == pytest.approx((4 - 0.5) / (4 + 0.5))
    # unbalanced: sizes 2, 3; N = 5, n0 = (5 - 13/5) / 1 = 2.4; means 1, 5, grand 3.4;
    # MSB = 2 * 2.4**2 + 3 * 1.6**2 = 19.2; MSW = (0 + 0 + 1 + 0 + 1) / 3 = 2/3
    expected = (19.2 - 2 / 3) / (19.2 + 1.4 * 2 / 3)
    assert variance_share([[1, 1], [4, 5, 6]]) == pytest.approx(expected)
    assert variance_share([[1, 2], [1, 2]]) == 0.0  # between-group share clipped at 0
    assert variance_share([[0.5, 0.5], [0.5, 0.5]]) is None  # no variance at all
    assert variance_share([[0.5, 0.6]]) is None  # one group


def test_variance_share_is_near_zero_when_labels_ignore_the_features() -> None:
    rng = np.random.default_rng(3)
    n = 150

    def block(rows: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(size=(rows, 4)), rng.integers(0, 3, size=rows).astype(np.int64)

    (xt, yt), (xv, yv), (xs, ys) = block(n), block(50), block(50)
    data = Dataset("noise", xt, yt, xv, yv, xs, ys, ("a", "b", "c"))
    config = TrainingConfig(epochs=2, lr=0.05)
    genomes = _random_genomes(6, seed=8)
    groups = []
    for i, genome in enumerate(genomes):
        results = evaluate_repeats(genome, data, config, seed=i, split_seed=3, repeats=range(4))
        groups.append([r.record.val_accuracy for r in results if r.record is not None])
    share = variance_share(groups)
    assert share is not None and share < 0.2, share
