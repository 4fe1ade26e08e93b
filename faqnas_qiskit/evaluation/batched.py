"""Several HQNN trainings of one qubit count and embedding as one batched computation.

The engine behind repeats (DESIGN §4.1) and population batching: M *models* (a model is one
repeat of one candidate) stack their parameters along a leading model dimension through the
pre-layer, the quantum kernel (one dense unitary or layer stack per model, shallower networks
padded with identity layers) and the post-layer. Each model keeps its own initial weights, batch
order and train/validation split; the loss is the sum of the models' mean NLL losses, so the
gradient of model k's parameters is that of its own loss, and one Adam over the stacked
parameters is M independent Adams (Adam is elementwise). :func:`train_batched` runs the steps
with the hand-written trainer (:func:`~faqnas_qiskit.evaluation.fused.fused_trainer`);
:class:`BatchedHQNN` is the same model as a torch module differentiated by autograd (the
reference it is checked against). Model k's result equals training it alone
(:func:`~faqnas_qiskit.evaluation.evaluate_genome`) up to the order of floating-point operations
(tested in float64 to 1e-8).
"""

from __future__ import annotations

import io
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from faqnas_qiskit.circuits import effective_weights
from faqnas_qiskit.data import SPLITS, Dataset
from faqnas_qiskit.data.splits import repeat_rows
from faqnas_qiskit.engines.hqnn_kernel import WeightPlan, plan_weights, run_plan
from faqnas_qiskit.evaluation.config import TrainingConfig, resolve_device
from faqnas_qiskit.evaluation.fused import fused_trainer, load_trained
from faqnas_qiskit.evaluation.record import EvaluationRecord
from faqnas_qiskit.evaluation.train import finite_loss_message, repeat_seeds, split_tensors
from faqnas_qiskit.models import HQNN, InitialParameters, build_model, initial_parameters
from faqnas_qiskit.space import Genome

__all__ = [
    "BatchedHQNN",
    "ModelSpec",
    "RepeatResult",
    "state_bytes",
    "train_batched",
]

#: Rows per model scored per forward pass (bounded memory whatever the split's size).
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


@dataclass(frozen=True)
class ModelSpec:
    """One training of a batched computation: repeat ``repeat`` of ``genome`` with ``seed``."""

    genome: Genome
    seed: int
    repeat: int


def state_bytes(model: nn.Module) -> bytes:
    """The state dict on the CPU, loadable on any machine whatever device trained it."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


class BatchedHQNN(nn.Module):
    """M HQNNs of one qubit count and embedding with stacked parameters, run as one model.

    Args:
        genomes: Each model's architecture (same qubit count and embedding; depths may differ).
        initial: Each model's initial parameters (same widths).
        dtype: ``torch.float32`` or ``torch.float64``.

    Attributes:
        pre_weight: Shape (M, m, n_features).
        pre_bias: Shape (M, m).
        quantum_weight: Circuit weights, shape (M, L * n), L the deepest model's depth; a
            shallower model's weights come first (order of ``hqnn.weight_params``) and its
            padded entries stay 0 (their layers have a zero generator, so a zero gradient).
        post_weight: Shape (M, n_classes, n).
        post_bias: Shape (M, n_classes).
    """

    def __init__(
        self, genomes: Sequence[Genome], initial: Sequence[InitialParameters], dtype: torch.dtype
    ) -> None:
        super().__init__()
        self.genomes = tuple(genomes)
        self.n_qubits = genomes[0].n_qubits
        self.depth = max(g.depth for g in genomes)
        self._plans: dict[tuple[str, torch.dtype], WeightPlan] = {}

        def stacked(name: str) -> nn.Parameter:
            return nn.Parameter(torch.stack([getattr(p, name) for p in initial]).to(dtype))

        self.pre_weight = stacked("pre_weight")
        self.pre_bias = stacked("pre_bias")
        quantum = torch.zeros(len(initial), self.depth * self.n_qubits, dtype=dtype)
        for k, params in enumerate(initial):
            quantum[k, : params.quantum.shape[0]] = params.quantum.to(dtype)
        self.quantum_weight = nn.Parameter(quantum)
        self.post_weight = stacked("post_weight")
        self.post_bias = stacked("post_bias")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities, shape (M, batch, n_classes), from features (M, batch, n_features)."""
        hidden = torch.baddbmm(self.pre_bias.unsqueeze(1), x, self.pre_weight.transpose(1, 2))
        key = (str(hidden.device), hidden.dtype)
        if key not in self._plans:
            self._plans[key] = plan_weights(self.genomes, hidden.dtype, hidden.device)
        plan = self._plans[key]
        theta = self.quantum_weight.reshape(-1, self.depth, self.n_qubits)
        z = run_plan(plan, hidden, theta)
        logits = torch.baddbmm(self.post_bias.unsqueeze(1), z, self.post_weight.transpose(1, 2))
        return torch.log_softmax(logits, dim=-1)

    def load_into(self, model: HQNN, index: int) -> HQNN:
        """Copy model ``index``'s parameters into ``model`` (its genome and widths)."""
        with torch.no_grad():
            model.pre.weight.copy_(self.pre_weight[index])
            model.pre.bias.copy_(self.pre_bias[index])
            width = model.quantum.weight.shape[0]
            model.quantum.weight.copy_(self.quantum_weight[index, :width])
            model.post.weight.copy_(self.post_weight[index])
            model.post.bias.copy_(self.post_bias[index])
        return model


@dataclass(frozen=True, eq=False)
class _ModelData:
    """The models' splits as positions into the one copy of the data, standardised per batch.

    Model k trains on the split of its repeat r: positions in the pool of repeat 0's train rows
    followed by its validation rows (``repeat_rows``); its features are
    ``(x - mean[k]) / scale[k]`` of those rows, computed for each batch or scoring chunk, so the
    process holds the dataset once (``split_tensors``, shared with single evaluations) whatever
    M is. Repeat 0 has mean 0 and
    scale 1: its features are the loaded ones, exactly.

    Attributes:
        pool: Repeat 0's train and validation features, shapes (n_train0, f) and (n_val, f).
        test: Test features (n_test, f) and labels (n_test,).
        positions: Pool positions per split, ``"train"`` (M, n_train) and ``"val"`` (M, n_val).
        labels: Class indices per split, (M, rows).
        mean: Shape (M, 1, f); ``scale``: shape (M, 1, f).
        plain: Every model trains on repeat 0's split (mean 0, scale 1): its features are the
            loaded rows themselves, taken without the standardisation's arithmetic (the same
            numbers: ``(x - 0) / 1 == x``).
    """

    pool: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    positions: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]
    mean: torch.Tensor
    scale: torch.Tensor
    plain: bool

    def features(self, split: str, rows: torch.Tensor | slice) -> torch.Tensor:
        """Standardised features (M, b, f) of ``rows``: pool positions (M, b) for ``train`` and
        ``val``, a slice of the test rows for ``test``."""
        if split == "test":
            assert isinstance(rows, slice)
            x = self.test[0][rows].unsqueeze(0)
        else:
            positions = self.positions[split][:, rows] if isinstance(rows, slice) else rows
            first, second = self.pool
            n0 = first.shape[0]
            if self.plain:  # repeat 0's split: train rows in the first part, val in the second
                return first[positions] if split == "train" else second[positions - n0]
            in_first = (positions < n0).unsqueeze(-1)
            x = torch.where(
                in_first,
                first[positions.clamp(max=n0 - 1)],
                second[(positions - n0).clamp(min=0)],
            )
        if self.plain:  # the test rows, for every model
            return x.expand(self.mean.shape[0], -1, -1)
        return (x - self.mean) / self.scale

    def rows(self, split: str) -> int:
        """Rows of ``split`` (the same for every repeat)."""
        return int(self.test[0].shape[0] if split == "test" else self.positions[split].shape[1])

    def split_labels(self, split: str) -> torch.Tensor:
        """Class indices (M, rows) of ``split``."""
        if split == "test":
            return self.test[1].unsqueeze(0).expand(self.mean.shape[0], -1)
        return self.labels[split]


_MODEL_DATA: weakref.WeakKeyDictionary[Dataset, tuple[tuple[object, ...], _ModelData]] = (
    weakref.WeakKeyDictionary()
)
"""Per loaded dataset, the models' positions and statistics of the latest (split seed,
repeat of each model, dtype, device): built once per group and shared by its models (gone with
the dataset). They are small: the features themselves are ``split_tensors``."""


def _model_data(
    base: Dataset, split_seed: int, repeats: Sequence[int], dtype: torch.dtype, device: str
) -> _ModelData:
    key = (split_seed, tuple(repeats), dtype, device)
    held = _MODEL_DATA.get(base)
    if held is not None and held[0] == key:
        return held[1]
    drawn_rows = {r: repeat_rows(base, seed=split_seed, repeat=r) for r in set(repeats) if r}
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
            drawn = drawn_rows[repeat]
            train = torch.as_tensor(drawn.train, device=device)
            val = torch.as_tensor(drawn.val, device=device)
            mean, scale = drawn.mean, drawn.scale
        positions["train"].append(train)
        positions["val"].append(val)
        means.append(torch.as_tensor(mean, dtype=dtype, device=device))
        scales.append(torch.as_tensor(scale, dtype=dtype, device=device))
    stacked = {split: torch.stack(rows) for split, rows in positions.items()}
    data = _ModelData(
        pool=(x_train, x_val),
        test=split_tensors(base, "test", dtype, device),
        positions=stacked,
        labels={split: y_pool[rows] for split, rows in stacked.items()},
        mean=torch.stack(means).unsqueeze(1),
        scale=torch.stack(scales).unsqueeze(1),
        plain=not any(repeats),
    )
    _MODEL_DATA[base] = (key, data)
    return data


def _accuracy(
    model: Callable[[torch.Tensor], torch.Tensor], data: _ModelData, split: str
) -> list[float]:
    """Per-model accuracy on ``split``, scored in chunks of ``_EVAL_BATCH`` rows.

    ``model`` maps features (M, b, f) to log-probabilities (M, b, C).
    """
    rows = data.rows(split)
    models = data.mean.shape[0]
    if rows == 0:
        return [0.0] * models
    labels = data.split_labels(split)
    correct = torch.zeros(models, dtype=torch.long, device=labels.device)
    with torch.no_grad():
        for start in range(0, rows, _EVAL_BATCH):
            chunk = slice(start, start + _EVAL_BATCH)
            logits = model(data.features(split, chunk))
            correct += (logits.argmax(dim=-1) == labels[:, chunk]).sum(dim=1)
    return [int(c) / rows for c in correct]


_TEMPLATES: dict[tuple[object, ...], HQNN] = {}
"""Plain HQNNs by the shapes of their parameters: the templates of stored state dicts."""
_MAX_TEMPLATES = 64


def _template(
    genome: Genome,
    n_features: int,
    n_classes: int,
    config: TrainingConfig,
    dtype: torch.dtype,
    device: str,
) -> HQNN:
    """A plain HQNN with ``genome``'s parameter shapes, to hold a trained model's parameters
    for its stored state dict (what hardware loads). A state dict holds only the parameters,
    whose names and shapes depend on the widths, not on the gates: one template per shape
    serves every genome of that shape, so a search does not build a Qiskit QNN per network
    just to serialise its weights."""
    key: tuple[object, ...] = (genome.n_inputs, genome.n_weights, genome.n_qubits)
    key += (n_features, n_classes, config.engine, dtype, device)
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            _TEMPLATES.clear()
        _TEMPLATES[key] = build_model(genome, n_features, n_classes, engine=config.engine).to(
            device=device, dtype=dtype
        )
    return _TEMPLATES[key]


def train_batched(
    specs: Sequence[ModelSpec],
    base: Dataset,
    split_seed: int,
    config: TrainingConfig,
) -> list[RepeatResult]:
    """Train and score ``specs`` (one qubit count and embedding) as one batched computation.

    Args:
        specs: The models: genome, candidate seed and repeat of each.
        base: The loaded dataset (repeat 0's split).
        split_seed: The dataset's split seed, from which repeat r > 0 draws its split.
        config: Training configuration (the statevector engine's).

    Returns:
        One result per model, in the order of ``specs``; a model whose loss stops being finite
        is a failed result and the others train on.
    """
    device = resolve_device(config.device)
    dtype = torch.float64 if config.double else torch.float32
    initial = []
    generators = []
    for spec in specs:
        weights_seed, batches_seed = repeat_seeds(spec.seed, spec.repeat)
        initial.append(
            initial_parameters(spec.genome, base.n_features, base.n_classes, weights_seed)
        )
        generators.append(torch.Generator().manual_seed(batches_seed))
    genomes = [spec.genome for spec in specs]
    trainer = fused_trainer(genomes, initial, dtype, device, config.lr)
    data = _model_data(base, split_seed, [spec.repeat for spec in specs], dtype, device)
    n = data.rows("train")
    count = len(specs)
    errors: list[str | None] = [None] * count
    losses: list[list[float]] = [[] for _ in specs]
    started = time.perf_counter()
    for epoch in range(config.epochs):
        # drawn on the CPU whatever the device: the batch orders do not depend on it
        orders = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)
        totals = torch.zeros(count, dtype=torch.float64)
        for start in range(0, n, config.batch_size):
            batch = orders[:, start : start + config.batch_size]  # (M, b)
            rows = torch.gather(data.positions["train"], 1, batch)  # pool positions
            xb = data.features("train", rows)
            yb = torch.gather(data.labels["train"], 1, batch)
            values = trainer.loss(xb, yb).detach().double().cpu()  # (M,)
            finite = torch.isfinite(values)
            if not bool(finite.all()):
                for k in range(count):
                    if errors[k] is None and not bool(finite[k]):
                        message = finite_loss_message(genomes[k], float(values[k]), epoch + 1)
                        errors[k] = f"TrainingError: {message}"
            if all(e is not None for e in errors):
                break
            alive = None
            if any(e is not None for e in errors):
                alive = torch.tensor([e is None for e in errors], device=device)
            trainer.step(alive)
            totals += values * batch.shape[1]
        for k in range(count):
            losses[k].append(float(totals[k]) / n)
        if all(e is not None for e in errors):
            break
    trained = time.perf_counter()
    with torch.no_grad():
        accuracies = {split: _accuracy(trainer.log_probs, data, split) for split in SPLITS}
    scored = time.perf_counter()
    results = []
    for k, spec in enumerate(specs):
        if errors[k] is not None:
            results.append(RepeatResult(spec.repeat, None, errors[k], None))
            continue
        genome = spec.genome
        template = _template(genome, base.n_features, base.n_classes, config, dtype, device)
        model = load_trained(trainer, template, k)
        record = EvaluationRecord(
            genome=genome.key,
            dataset=base.name,
            training=config,
            seed=spec.seed,
            train_accuracy=accuracies["train"][k],
            val_accuracy=accuracies["val"][k],
            test_accuracy=accuracies["test"][k],
            loss_per_epoch=tuple(losses[k]),
            params_classical=model.n_params_classical,
            params_quantum=model.n_params_quantum,
            n_train=n,
            train_time_s=(trained - started) / count,
            eval_time_s=(scored - trained) / count,
            repeat=spec.repeat,
            params_quantum_effective=effective_weights(genome),
        )
        results.append(RepeatResult(spec.repeat, record, None, state_bytes(model)))
    return results
