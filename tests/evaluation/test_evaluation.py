from __future__ import annotations

import dataclasses

import pytest

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.evaluation import EvaluationRecord, TrainingConfig, derive_seed, evaluate_genome
from faqnas_qiskit.space import Genome

_TIMES = ("train_time_s", "eval_time_s")


def _without_times(record: EvaluationRecord) -> dict[str, object]:
    return {k: v for k, v in record.to_dict().items() if k not in (*_TIMES, "wall_time_s")}


def test_same_seed_same_record() -> None:
    data = load_dataset("iris", seed=3)
    genome = Genome.parse("q3-amplitude-cz-circular-ry.rx")
    config = TrainingConfig(epochs=3)
    a, _ = evaluate_genome(genome, data, config, seed=3)
    b, _ = evaluate_genome(genome, data, config, seed=3)
    c, _ = evaluate_genome(genome, data, config, seed=4)
    assert _without_times(a) == _without_times(b)
    assert a.loss_per_epoch != c.loss_per_epoch
    assert [f.name for f in dataclasses.fields(a) if f.name not in _TIMES]  # fields exist
    assert a.n_train == 90 and len(a.loss_per_epoch) == 3
    assert a.params_quantum == 6 and a.params_classical == 4 * 8 + 8 + 3 * 3 + 3
    assert EvaluationRecord.from_dict(a.to_dict()) == a


def test_iris_trains_to_high_validation_accuracy() -> None:
    data = load_dataset("iris", seed=0)
    config = TrainingConfig(epochs=60, lr=0.03)
    record, _ = evaluate_genome(Genome.parse("q4-angle-cx-linear-ry.ry"), data, config, seed=0)
    assert record.val_accuracy >= 0.9
    assert record.loss_per_epoch[-1] < record.loss_per_epoch[0] / 3


def test_default_config_is_the_papers() -> None:
    config = TrainingConfig()
    assert (config.epochs, config.lr, config.batch_size, config.engine) == (
        5,
        0.003,
        64,
        "statevector",
    )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"batch_size": 0}, "batch-size"),
        ({"engine": "x"}, "engine"),
    ],
)
def test_config_validation(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError, match=f"The '{name}' option must be"):
        TrainingConfig(**kwargs)  # type: ignore[arg-type]


def test_derived_seeds_are_stable_and_distinct() -> None:
    assert derive_seed(0, "q4-angle-cx-linear-ry") == derive_seed(0, "q4-angle-cx-linear-ry")
    seeds = {derive_seed(s, k) for s in range(3) for k in ("a", "b", "weights")}
    assert len(seeds) == 9
    assert all(0 <= s < 2**63 for s in seeds)
