"""Repeated evaluation of one genome, the repeats trained as one batched computation (DESIGN §4.1).

Repeat r of a candidate is exactly :func:`~faqnas_qiskit.evaluation.evaluate_genome` with
``repeat=r``: its own initial weights, batch order and train/validation split. Trained together,
the K repeats stack their parameters along a leading replica dimension through the pre-layer,
the quantum engine and the post-layer; each replica draws its own batch order; the loss is the
sum of the replicas' mean NLL losses, so the gradient of replica r's parameters is that of its
own loss and one Adam over the stacked parameters is K independent Adams (Adam is elementwise).
The result equals training the repeats one after another, up to the order of floating-point
operations (tested in float64 to 1e-8).
"""

from __future__ import annotations

import io
import math
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from faqnas_qiskit.circuits import build_circuit, effective_weights
from faqnas_qiskit.data import SPLITS, Dataset
from faqnas_qiskit.data.splits import repeat_rows
from faqnas_qiskit.engines import HQNNSimulator
from faqnas_qiskit.evaluation.config import TrainingConfig, resolve_device
from faqnas_qiskit.evaluation.record import EvaluationRecord
from faqnas_qiskit.evaluation.train import evaluate_genome, repeat_seeds, split_tensors
from faqnas_qiskit.limits import MAX_REPEATS
from faqnas_qiskit.models import HQNN, InitialParameters, build_model, initial_parameters
from faqnas_qiskit.space import Genome

__all__ = ["MAX_REPEATS", "RepeatResult", "ReplicaHQNN", "evaluate_repeats"]


#: Rows per replica scored per forward pass (bounded memory whatever the split's size).
_EVAL_BATCH = 1024


@dataclass(frozen=True)
class RepeatResult:
    """One repeat of a candidate: a record, or the error that ended it, never both.

    Attributes:
        repeat: Repeat index.
        record: The evaluation record when training succeeded.
        error: ``"<Type>: <message>"`` when it failed.
        weights: ``torch.save`` bytes of the trained HQNN state dict, or None.
    """

    repeat: int
    record: EvaluationRecord | None
    error: str | None
    weights: bytes | None


def _state_bytes(model: nn.Module) -> bytes:
    """The state dict on the CPU, loadable on any machine whatever device trained it."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


class ReplicaHQNN(nn.Module):
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
        super().__init__()
        self.genome = genome
        self.simulator = HQNNSimulator(build_circuit(genome))

        def stacked(name: str) -> nn.Parameter:
            return nn.Parameter(torch.stack([getattr(p, name) for p in initial]).to(dtype))

        self.pre_weight = stacked("pre_weight")
        self.pre_bias = stacked("pre_bias")
        self.quantum_weight = stacked("quantum")
        self.post_weight = stacked("post_weight")
        self.post_bias = stacked("post_bias")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities, shape (R, batch, n_classes), from features (R, batch, n_features)."""
        hidden = torch.baddbmm(self.pre_bias.unsqueeze(1), x, self.pre_weight.transpose(1, 2))
        z = self.simulator.replicated_expectations(hidden, self.quantum_weight)
        logits = torch.baddbmm(self.post_bias.unsqueeze(1), z, self.post_weight.transpose(1, 2))
        return torch.log_softmax(logits, dim=-1)

    def load_into(self, model: HQNN, replica: int) -> HQNN:
        """Copy replica ``replica``'s parameters into ``model`` (same genome and widths)."""
        with torch.no_grad():
            model.pre.weight.copy_(self.pre_weight[replica])
            model.pre.bias.copy_(self.pre_bias[replica])
            model.quantum.weight.copy_(self.quantum_weight[replica])
            model.post.weight.copy_(self.post_weight[replica])
            model.post.bias.copy_(self.post_bias[replica])
        return model


@dataclass(frozen=True, eq=False)
class _ReplicaData:
    """The repeats' splits as positions into the one copy of the data, standardised per batch.

    Repeat r's rows are positions in the pool of repeat 0's train rows followed by its
    validation rows (``repeat_rows``); its features are ``(x - mean[r]) / scale[r]`` of those
    rows, computed for each batch or scoring chunk, so the process holds the dataset once
    (``split_tensors``, shared with single evaluations) whatever K is. Repeat 0 has mean 0 and
    scale 1: its features are the loaded ones, exactly.

    Attributes:
        pool: Repeat 0's train and validation features, shapes (n_train0, f) and (n_val, f).
        test: Test features (n_test, f) and labels (n_test,).
        positions: Pool positions per split, ``"train"`` (R, n_train) and ``"val"`` (R, n_val).
        labels: Class indices per split, (R, rows).
        mean: Shape (R, 1, f); ``scale``: shape (R, 1, f).
    """

    pool: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    positions: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]
    mean: torch.Tensor
    scale: torch.Tensor

    def features(self, split: str, rows: torch.Tensor | slice) -> torch.Tensor:
        """Standardised features (R, b, f) of ``rows``: pool positions (R, b) for ``train`` and
        ``val``, a slice of the test rows for ``test``."""
        if split == "test":
            assert isinstance(rows, slice)
            x = self.test[0][rows].unsqueeze(0)
        else:
            positions = self.positions[split][:, rows] if isinstance(rows, slice) else rows
            first, second = self.pool
            n0 = first.shape[0]
            in_first = (positions < n0).unsqueeze(-1)
            x = torch.where(
                in_first,
                first[positions.clamp(max=n0 - 1)],
                second[(positions - n0).clamp(min=0)],
            )
        return (x - self.mean) / self.scale

    def rows(self, split: str) -> int:
        """Rows of ``split`` (the same for every repeat)."""
        return int(self.test[0].shape[0] if split == "test" else self.positions[split].shape[1])

    def split_labels(self, split: str) -> torch.Tensor:
        """Class indices (R, rows) of ``split``."""
        if split == "test":
            return self.test[1].unsqueeze(0).expand(self.mean.shape[0], -1)
        return self.labels[split]


_REPLICA_DATA: weakref.WeakKeyDictionary[Dataset, tuple[tuple[object, ...], _ReplicaData]] = (
    weakref.WeakKeyDictionary()
)
"""Per loaded dataset, the repeats' positions and statistics of the latest (split seed,
repeats, dtype, device): built once per run and shared by its candidates (gone with the
dataset). They are small: the features themselves are ``split_tensors``."""


def _replica_data(
    base: Dataset, split_seed: int, repeats: Sequence[int], dtype: torch.dtype, device: str
) -> _ReplicaData:
    key = (split_seed, tuple(repeats), dtype, device)
    held = _REPLICA_DATA.get(base)
    if held is not None and held[0] == key:
        return held[1]
    x_train, y_train = split_tensors(base, "train", dtype, device)
    x_val, y_val = split_tensors(base, "val", dtype, device)
    n0, n_val, f = x_train.shape[0], x_val.shape[0], base.n_features
    y_pool = torch.cat((y_train, y_val))
    positions: dict[str, list[torch.Tensor]] = {"train": [], "val": []}
    means, scales = [], []
    for repeat in repeats:
        if repeat == 0:
            train = torch.arange(n0, device=device)
            val = torch.arange(n0, n0 + n_val, device=device)
            mean, scale = np.zeros(f), np.ones(f)
        else:
            drawn = repeat_rows(base, seed=split_seed, repeat=repeat)
            train = torch.as_tensor(drawn.train, device=device)
            val = torch.as_tensor(drawn.val, device=device)
            mean, scale = drawn.mean, drawn.scale
        positions["train"].append(train)
        positions["val"].append(val)
        means.append(torch.as_tensor(mean, dtype=dtype, device=device))
        scales.append(torch.as_tensor(scale, dtype=dtype, device=device))
    stacked = {split: torch.stack(rows) for split, rows in positions.items()}
    data = _ReplicaData(
        pool=(x_train, x_val),
        test=split_tensors(base, "test", dtype, device),
        positions=stacked,
        labels={split: y_pool[rows] for split, rows in stacked.items()},
        mean=torch.stack(means).unsqueeze(1),
        scale=torch.stack(scales).unsqueeze(1),
    )
    _REPLICA_DATA[base] = (key, data)
    return data


def _replica_accuracy(model: ReplicaHQNN, data: _ReplicaData, split: str) -> list[float]:
    """Per-replica accuracy on ``split``, scored in chunks of ``_EVAL_BATCH`` rows."""
    rows = data.rows(split)
    replicas = data.mean.shape[0]
    if rows == 0:
        return [0.0] * replicas
    labels = data.split_labels(split)
    correct = torch.zeros(replicas, dtype=torch.long, device=labels.device)
    with torch.no_grad():
        for start in range(0, rows, _EVAL_BATCH):
            chunk = slice(start, start + _EVAL_BATCH)
            logits = model(data.features(split, chunk))
            correct += (logits.argmax(dim=-1) == labels[:, chunk]).sum(dim=1)
    return [int(c) / rows for c in correct]


def _batched(
    genome: Genome,
    base: Dataset,
    split_seed: int,
    repeats: Sequence[int],
    config: TrainingConfig,
    seed: int,
    metrics: dict[str, object],
) -> list[RepeatResult]:
    device = resolve_device(config.device)
    dtype = torch.float64 if config.double else torch.float32
    initial = []
    generators = []
    for r in repeats:
        weights_seed, batches_seed = repeat_seeds(seed, r)
        initial.append(initial_parameters(genome, base.n_features, base.n_classes, weights_seed))
        generators.append(torch.Generator().manual_seed(batches_seed))
    replica = ReplicaHQNN(genome, initial, dtype).to(device)
    data = _replica_data(base, split_seed, repeats, dtype, device)
    n = data.rows("train")
    count = len(repeats)
    errors: list[str | None] = [None] * count
    losses: list[list[float]] = [[] for _ in repeats]
    # foreach: one kernel per step for all stacked tensors (the same elementwise Adam)
    optimiser = torch.optim.Adam(replica.parameters(), lr=config.lr, foreach=True)
    started = time.perf_counter()
    for epoch in range(config.epochs):
        # drawn on the CPU whatever the device: the batch orders do not depend on it
        orders = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)
        totals = torch.zeros(count, dtype=torch.float64)
        for start in range(0, n, config.batch_size):
            batch = orders[:, start : start + config.batch_size]  # (R, b)
            rows = torch.gather(data.positions["train"], 1, batch)  # pool positions
            xb = data.features("train", rows)
            yb = torch.gather(data.labels["train"], 1, batch)
            optimiser.zero_grad()
            logp = replica(xb)  # (R, b, C)
            per_replica = -torch.gather(logp, 2, yb.unsqueeze(-1)).squeeze(-1).mean(1)
            values = per_replica.detach().double().cpu()
            alive = torch.tensor([e is None for e in errors], device=device)
            for r in range(count):
                value = float(values[r])
                if errors[r] is None and not math.isfinite(value):
                    errors[r] = (
                        f"TrainingError: Training of {genome} must keep a finite loss. Got "
                        f"{value} at epoch {epoch + 1} instead. Lower --lr or check the data "
                        "for extreme values."
                    )
                    alive[r] = False
            if all(e is not None for e in errors):
                break
            per_replica[alive].sum().backward()
            optimiser.step()
            totals += values * batch.shape[1]
        for r in range(count):
            losses[r].append(float(totals[r]) / n)
        if all(e is not None for e in errors):
            break
    trained = time.perf_counter()
    replica.eval()
    accuracies = {split: _replica_accuracy(replica, data, split) for split in SPLITS}
    scored = time.perf_counter()
    # one plain HQNN as the template of the stored state dicts (what hardware re-evaluation loads)
    template = build_model(genome, base.n_features, base.n_classes, engine=config.engine).to(
        device=device, dtype=dtype
    )
    effective = effective_weights(genome)
    results = []
    for r, repeat in enumerate(repeats):
        if errors[r] is not None:
            results.append(RepeatResult(repeat, None, errors[r], None))
            continue
        model = replica.load_into(template, r)
        record = EvaluationRecord(
            genome=genome.key,
            dataset=base.name,
            training=config,
            seed=seed,
            train_accuracy=accuracies["train"][r],
            val_accuracy=accuracies["val"][r],
            test_accuracy=accuracies["test"][r],
            loss_per_epoch=tuple(losses[r]),
            params_classical=model.n_params_classical,
            params_quantum=model.n_params_quantum,
            n_train=n,
            train_time_s=(trained - started) / count,
            eval_time_s=(scored - trained) / count,
            metrics=dict(metrics),
            repeat=repeat,
            params_quantum_effective=effective,
        )
        results.append(RepeatResult(repeat, record, None, _state_bytes(model)))
    return results


def _one(
    genome: Genome,
    dataset: Dataset,
    config: TrainingConfig,
    seed: int,
    split_seed: int,
    repeat: int,
    metrics: dict[str, object],
) -> RepeatResult:
    try:
        record, model = evaluate_genome(
            genome,
            dataset,
            config,
            seed=seed,
            metrics=metrics,
            repeat=repeat,
            split_seed=split_seed,
        )
    except Exception as exc:  # a failed repeat is a result, not a crash
        return RepeatResult(repeat, None, f"{type(exc).__name__}: {exc}".replace("\n", " "), None)
    return RepeatResult(repeat, record, None, _state_bytes(model))


def evaluate_repeats(
    genome: Genome,
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    seed: int = 0,
    split_seed: int | None = None,
    repeats: Sequence[int] = (0,),
    metrics: dict[str, object] | None = None,
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
        metrics: Cost metrics to attach to every record.
        batched: Train the repeats as one batched computation (on the fast statevector engine;
            other engines always train them one after another).

    Returns:
        One result per repeat, in the order of ``repeats``.
    """
    config = config or TrainingConfig()
    split = seed if split_seed is None else split_seed
    metrics = dict(metrics or {})
    chosen = list(dict.fromkeys(int(r) for r in repeats))
    if not chosen:
        return []
    if batched and len(chosen) > 1 and config.engine == "statevector":
        try:
            return _batched(genome, dataset, split, chosen, config, seed, metrics)
        except Exception as exc:  # the whole batch failed: every repeat is a failed result
            message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            return [RepeatResult(r, None, message, None) for r in chosen]
    return [_one(genome, dataset, config, seed, split, r, metrics) for r in chosen]
