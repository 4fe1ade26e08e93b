"""Train one genome on a dataset and score it into an :class:`EvaluationRecord`."""

from __future__ import annotations

import math
import time
import warnings
import weakref
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.data import Dataset, repeat_split
from faqnas_qiskit.errors import FaqnasError
from faqnas_qiskit.evaluation.config import TrainingConfig, resolve_device
from faqnas_qiskit.evaluation.fused import fused_trainer, load_trained
from faqnas_qiskit.evaluation.record import EvaluationRecord
from faqnas_qiskit.models import HQNN, InitialParameters, build_model
from faqnas_qiskit.space import Genome

__all__ = [
    "TrainingError",
    "accuracy",
    "derive_seed",
    "evaluate_genome",
    "repeat_seeds",
    "split_tensors",
    "train_model",
]

#: Rows scored per forward pass: bounds the scoring memory (1024 x 2**n amplitudes) whatever
#: the split's size.
_EVAL_BATCH = 1024

_TENSORS: weakref.WeakKeyDictionary[
    Dataset, dict[tuple[str, torch.dtype, str], tuple[torch.Tensor, torch.Tensor]]
] = weakref.WeakKeyDictionary()
"""Each loaded dataset's splits as tensors, per (split, dtype, device): every candidate of a run
trains on the same tensors, so a process holds one copy of the data (gone with the dataset)."""


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


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64}


def numpy_view(array: npt.NDArray[np.generic]) -> torch.Tensor:
    """A tensor sharing the memory of a (read-only) dataset array; never write into it.

    torch warns that it cannot mark a tensor read-only; nothing here writes into its inputs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(np.ascontiguousarray(array))


def _as_tensor(array: npt.NDArray[np.generic], dtype: torch.dtype, device: str) -> torch.Tensor:
    view = numpy_view(array)
    if device == "cpu" and array.dtype == _NUMPY_DTYPES.get(dtype):
        return view  # same dtype on the CPU: share the dataset's memory, no copy
    return view.to(device=device, dtype=dtype, copy=True)


def split_tensors(
    dataset: Dataset, split: str, dtype: torch.dtype, device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of ``dataset`` as tensors, converted once per process and then shared.

    Args:
        dataset: The loaded dataset.
        split: ``"train"``, ``"val"`` or ``"test"``.
        dtype: Feature dtype (``torch.float32`` or ``torch.float64``).
        device: ``"cpu"`` or ``"cuda"``.

    Returns:
        Features, shape (rows, n_features), and int64 class indices, shape (rows,), on
        ``device``. float64 features on the CPU share the dataset's (read-only) memory; treat
        both tensors as read-only.
    """
    cached = _TENSORS.setdefault(dataset, {})
    key = (split, dtype, device)
    if key not in cached:
        cached[key] = (
            _as_tensor(getattr(dataset, f"x_{split}"), dtype, device),
            _as_tensor(np.asarray(getattr(dataset, f"y_{split}")), torch.int64, device),
        )
    return cached[key]


def train_model(
    model: HQNN,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainingConfig,
    generator: torch.Generator,
    *,
    fused: bool = True,
) -> list[float]:
    """Train ``model`` in place with Adam and NLL loss.

    Args:
        model: The HQNN, on the device of ``x``.
        x: Training features, shape (n, n_features).
        y: Class indices, shape (n,).
        config: Epochs, learning rate, batch size.
        generator: Source of the batch order (a CPU generator).
        fused: On the fast statevector engine, run each step with the hand-written trainer
            (:func:`~faqnas_qiskit.evaluation.fused.fused_trainer`: no autograd graph, NumPy on
            the CPU up to 5 qubits) and copy the trained parameters into ``model``. False, or
            another engine: autograd and ``torch.optim.Adam`` on ``model`` (the reference the
            trainer is checked against; equal up to the order of floating-point operations).

    Returns:
        Mean training loss of each epoch, nats.

    Raises:
        TrainingError: If a batch loss is not finite.
    """
    if fused and model.quantum.simulator is not None:
        return _train_fused(model, x, y, config, generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    pending: list[torch.Tensor] = []

    def loss(xb: torch.Tensor, yb: torch.Tensor) -> float:
        optimiser.zero_grad()
        pending[:] = [functional.nll_loss(model(xb), yb)]
        return float(pending[0].detach())

    def advance() -> None:
        pending[0].backward()
        optimiser.step()

    model.train()
    try:
        return _epochs(model.genome, x, y, config, generator, loss, advance)
    finally:
        model.eval()


def finite_loss_message(genome: Genome, value: float, epoch: int) -> str:
    """The refusal of a training whose loss stopped being finite (``epoch`` counts from 1)."""
    return (
        f"Training of {genome} must keep a finite loss. Got {value} at epoch {epoch} instead. "
        "Lower --lr or check the data for extreme values."
    )


def _epochs(
    genome: Genome,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainingConfig,
    generator: torch.Generator,
    loss: Callable[[torch.Tensor, torch.Tensor], float],
    advance: Callable[[], None],
) -> list[float]:
    """The training loop: per epoch a batch order drawn from ``generator``, per batch
    ``loss(xb, yb)`` (checked finite) then ``advance()`` (the optimiser's step).

    Returns:
        Mean training loss of each epoch, nats.

    Raises:
        TrainingError: If a batch loss is not finite.
    """
    n = x.shape[0]
    losses = []
    for epoch in range(config.epochs):
        # drawn on the CPU whatever the device: the batch order does not depend on it
        order = torch.randperm(n, generator=generator).to(x.device)
        total = 0.0
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            value = loss(x[batch], y[batch])
            if not math.isfinite(value):
                raise TrainingError(finite_loss_message(genome, value, epoch + 1))
            advance()
            total += value * batch.shape[0]
        losses.append(total / n)
    return losses


def _train_fused(
    model: HQNN,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainingConfig,
    generator: torch.Generator,
) -> list[float]:
    """:func:`train_model`'s loop on the hand-written trainer (same batches, same Adam)."""
    trainer = fused_trainer(
        [model.genome], [InitialParameters.of(model)], x.dtype, x.device, config.lr
    )

    def loss(xb: torch.Tensor, yb: torch.Tensor) -> float:
        return float(trainer.loss(xb.unsqueeze(0), yb.unsqueeze(0))[0])

    try:
        return _epochs(model.genome, x, y, config, generator, loss, trainer.step)
    finally:
        load_trained(trainer, model, 0)
        model.eval()


def evaluate_genome(
    genome: Genome,
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    seed: int = 0,
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
        repeat: Repeat index; r > 0 trains on :func:`~faqnas_qiskit.data.repeat_split`.
        split_seed: The dataset's split seed, from which repeat r's split is drawn (default:
            ``seed``, as in ``faqnas evaluate`` where one seed is both).

    Returns:
        The record and the trained model (on ``config.device``).

    Raises:
        ConfigError: If ``config.device`` is ``"cuda"`` and torch sees no CUDA GPU.
        TrainingError: If the loss stops being finite.
    """
    config = config or TrainingConfig()
    device = resolve_device(config.device)
    dtype = torch.float64 if config.double else torch.float32
    dataset = repeat_split(dataset, seed=seed if split_seed is None else split_seed, repeat=repeat)
    weights_seed, batches_seed = repeat_seeds(seed, repeat)
    model = build_model(
        genome,
        dataset.n_features,
        dataset.n_classes,
        engine=config.engine,
        seed=weights_seed,
    ).to(device=device, dtype=dtype)
    generator = torch.Generator().manual_seed(batches_seed)
    x_train, y_train = split_tensors(dataset, "train", dtype, device)
    started = time.perf_counter()
    losses = train_model(model, x_train, y_train, config, generator)
    trained = time.perf_counter()
    train_acc = accuracy(model, x_train, y_train)
    val_acc = accuracy(model, *split_tensors(dataset, "val", dtype, device))
    test_acc = accuracy(model, *split_tensors(dataset, "test", dtype, device))
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
        repeat=repeat,
        params_quantum_effective=effective_weights(genome),
    )
    return record, model
