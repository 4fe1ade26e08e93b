"""Train one genome on a dataset and score it into an :class:`EvaluationRecord`."""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.data import Dataset, repeat_split
from faqnas_qiskit.errors import FaqnasError
from faqnas_qiskit.evaluation.config import TrainingConfig
from faqnas_qiskit.evaluation.record import EvaluationRecord
from faqnas_qiskit.models import HQNN, build_model
from faqnas_qiskit.space import Genome

__all__ = [
    "TrainingError",
    "accuracy",
    "derive_seed",
    "evaluate_genome",
    "repeat_seeds",
    "train_model",
]

_EVAL_BATCH = 1024


class TrainingError(FaqnasError):
    """Training produced a non-finite loss."""


def derive_seed(seed: int, *labels: str | int) -> int:
    """A 63-bit seed derived from ``seed`` and labels, independent of call order.

    Used for per-candidate seeds (run seed + canonical key) and for the streams of one
    evaluation (initial weights, batch order).
    """
    words = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF]
    for label in labels:
        data = str(label).encode()
        words.extend(
            int.from_bytes(data[i : i + 4].ljust(4, b"\0"), "little")
            for i in range(0, len(data), 4)
        )
        words.append(len(data))
    return int(
        np.random.SeedSequence(words).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1
    )


def repeat_seeds(seed: int, repeat: int) -> tuple[int, int]:
    """Seeds of the initial weights and of the batch order of one repeat (DESIGN §4.1).

    Repeat 0 keeps the labels of a single evaluation, so stores written before repeats serve
    it; repeat r > 0 adds r to the labels.

    Returns:
        ``(weights_seed, batches_seed)``.
    """
    if repeat == 0:
        return derive_seed(seed, "weights"), derive_seed(seed, "batches")
    return derive_seed(seed, "weights", repeat), derive_seed(seed, "batches", repeat)


def accuracy(model: HQNN, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows of ``x`` (batch, n_features) whose arg-max class equals ``y`` (batch,)."""
    if x.shape[0] == 0:
        return 0.0
    correct = 0
    with torch.no_grad():
        for start in range(0, x.shape[0], _EVAL_BATCH):
            logits = model(x[start : start + _EVAL_BATCH])
            correct += int((logits.argmax(dim=1) == y[start : start + _EVAL_BATCH]).sum())
    return correct / x.shape[0]


def _tensor(array: npt.NDArray[np.float64], dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(array, dtype=dtype)  # copies: dataset arrays are read-only


def train_model(
    model: HQNN,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainingConfig,
    generator: torch.Generator,
) -> list[float]:
    """Train ``model`` in place with Adam and NLL loss.

    Args:
        model: The HQNN.
        x: Training features, shape (n, n_features).
        y: Class indices, shape (n,).
        config: Epochs, learning rate, batch size.
        generator: Source of the batch order.

    Returns:
        Mean training loss of each epoch, nats.

    Raises:
        TrainingError: If a batch loss is not finite.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    n = x.shape[0]
    losses = []
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            optimiser.zero_grad()
            loss = functional.nll_loss(model(x[batch]), y[batch])
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingError(
                    f"Training of {model.genome} must keep a finite loss. Got {value} at epoch "
                    f"{epoch + 1} instead. Lower --lr or check the data for extreme values."
                )
            loss.backward()
            optimiser.step()
            total += value * batch.shape[0]
        losses.append(total / n)
    model.eval()
    return losses


def evaluate_genome(
    genome: Genome,
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    seed: int = 0,
    metrics: dict[str, object] | None = None,
    repeat: int = 0,
    split_seed: int | None = None,
) -> tuple[EvaluationRecord, HQNN]:
    """Train ``genome`` on ``dataset`` and score it on the three splits.

    Deterministic: the same arguments give the same record (apart from wall times). This is the
    one-repeat-at-a-time reference that :func:`~faqnas_qiskit.evaluation.evaluate_repeats`
    batches.

    Args:
        genome: The architecture.
        dataset: Split, standardised data (repeat 0's split).
        config: Training configuration (defaults: the paper's).
        seed: The candidate's seed: initial weights and batch order (:func:`repeat_seeds`).
        metrics: Cost metrics to attach to the record.
        repeat: Repeat index; r > 0 trains on :func:`~faqnas_qiskit.data.repeat_split`.
        split_seed: The dataset's split seed, from which repeat r's split is drawn (default:
            ``seed``, as in ``faqnas evaluate`` where one seed is both).

    Returns:
        The record and the trained model.
    """
    config = config or TrainingConfig()
    dtype = torch.float64 if config.double else torch.float32
    dataset = repeat_split(dataset, seed=seed if split_seed is None else split_seed, repeat=repeat)
    weights_seed, batches_seed = repeat_seeds(seed, repeat)
    model = build_model(
        genome,
        dataset.n_features,
        dataset.n_classes,
        engine=config.engine,
        seed=weights_seed,
    ).to(dtype)
    generator = torch.Generator().manual_seed(batches_seed)
    x_train, y_train = _tensor(dataset.x_train, dtype), torch.tensor(dataset.y_train)
    started = time.perf_counter()
    losses = train_model(model, x_train, y_train, config, generator)
    trained = time.perf_counter()
    train_acc = accuracy(model, x_train, y_train)
    val_acc = accuracy(model, _tensor(dataset.x_val, dtype), torch.tensor(dataset.y_val))
    test_acc = accuracy(model, _tensor(dataset.x_test, dtype), torch.tensor(dataset.y_test))
    scored = time.perf_counter()
    record = EvaluationRecord(
        genome=genome.key,
        dataset=dataset.name,
        training=config,
        seed=seed,
        train_accuracy=train_acc,
        val_accuracy=val_acc,
        test_accuracy=test_acc,
        loss_per_epoch=tuple(losses),
        params_classical=model.n_params_classical,
        params_quantum=model.n_params_quantum,
        n_train=int(x_train.shape[0]),
        train_time_s=trained - started,
        eval_time_s=scored - trained,
        metrics=dict(metrics or {}),
        repeat=repeat,
        params_quantum_effective=effective_weights(genome),
    )
    return record, model
