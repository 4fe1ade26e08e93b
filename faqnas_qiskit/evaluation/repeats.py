"""Repeated evaluation of one genome, the repeats trained as one batched computation (DESIGN §4.1).

Repeat r of a candidate is exactly :func:`~faqnas_qiskit.evaluation.evaluate_genome` with
``repeat=r``: its own initial weights, batch order and train/validation split. Trained together,
the K repeats stack their parameters along a leading replica dimension through the pre-layer,
the quantum engine and the post-layer; each replica draws its own batch order; the loss is the
sum of the replicas' mean NLL losses, so the gradient of replica r's parameters is that of its
own loss and one Adam over the stacked parameters is K independent Adams (Adam is elementwise;
the machinery is :mod:`~faqnas_qiskit.evaluation.batched`, shared with population batching).
The result equals training the repeats one after another, up to the order of floating-point
operations (tested in float64 to 1e-8).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.evaluation.batched import (
    BatchedHQNN,
    ModelSpec,
    RepeatResult,
    state_bytes,
    train_batched,
)
from faqnas_qiskit.evaluation.config import TrainingConfig
from faqnas_qiskit.evaluation.train import evaluate_genome
from faqnas_qiskit.limits import MAX_REPEATS
from faqnas_qiskit.models import InitialParameters
from faqnas_qiskit.space import Genome

__all__ = ["MAX_REPEATS", "RepeatResult", "ReplicaHQNN", "evaluate_repeats"]


class ReplicaHQNN(BatchedHQNN):
    """R HQNNs of one genome with stacked parameters, run as one batched model.

    Args:
        genome: The architecture.
        initial: Each replica's initial parameters (same widths).
        dtype: ``torch.float32`` or ``torch.float64``.

    Attributes:
        pre_weight: Shape (R, m, n_features).
        pre_bias: Shape (R, m).
        quantum_weight: Circuit weights, shape (R, depth * n).
        post_weight: Shape (R, n_classes, n).
        post_bias: Shape (R, n_classes).
    """

    def __init__(
        self, genome: Genome, initial: Sequence[InitialParameters], dtype: torch.dtype
    ) -> None:
        super().__init__([genome] * len(initial), initial, dtype)
        self.genome = genome


def _one(
    genome: Genome,
    dataset: Dataset,
    config: TrainingConfig,
    seed: int,
    split_seed: int,
    repeat: int,
) -> RepeatResult:
    try:
        record, model = evaluate_genome(
            genome,
            dataset,
            config,
            seed=seed,
            repeat=repeat,
            split_seed=split_seed,
        )
    except Exception as exc:  # a failed repeat is a result, not a crash
        return RepeatResult(repeat, None, f"{type(exc).__name__}: {exc}".replace("\n", " "), None)
    return RepeatResult(repeat, record, None, state_bytes(model))


def evaluate_repeats(
    genome: Genome,
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    seed: int = 0,
    split_seed: int | None = None,
    repeats: Sequence[int] = (0,),
    batched: bool = True,
) -> list[RepeatResult]:
    """Train and score repeats ``repeats`` of ``genome``; a failed repeat is a result.

    Args:
        genome: The architecture.
        dataset: The loaded dataset (repeat 0's split).
        config: Training configuration (defaults: the paper's).
        seed: The candidate's seed.
        split_seed: The dataset's split seed (default: ``seed``).
        repeats: Distinct repeat indices to train, each >= 0.
        batched: Train the repeats as one batched computation (on the fast statevector engine;
            other engines always train them one after another). A single repeat takes the same
            path: the same trainer as :func:`evaluate_genome` without building a Qiskit QNN
            for the network (its stored weights go through a template of its shapes), the
            same record (120 paper-budget trainings compared: equal losses and accuracies).

    Returns:
        One result per repeat, in the order of ``repeats``.
    """
    config = config or TrainingConfig()
    split = seed if split_seed is None else split_seed
    chosen = list(dict.fromkeys(int(r) for r in repeats))
    if not chosen:
        return []
    if batched and config.engine == "statevector":
        try:
            specs = [ModelSpec(genome, seed, r) for r in chosen]
            return train_batched(specs, dataset, split, config)
        except Exception as exc:  # the whole batch failed: every repeat is a failed result
            message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            return [RepeatResult(r, None, message, None) for r in chosen]
    return [_one(genome, dataset, config, seed, split, r) for r in chosen]
