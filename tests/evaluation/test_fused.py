"""The hand-written trainers against autograd with torch.optim.Adam (the reference)."""

from __future__ import annotations

import pytest
import torch

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import TrainingConfig, TrainingError, train_model
from faqnas_qiskit.evaluation.batched import BatchedHQNN
from faqnas_qiskit.evaluation.fused import FusedHQNN, NumpyHQNN, fused_trainer
from faqnas_qiskit.evaluation.train import split_tensors
from faqnas_qiskit.models import build_model, initial_parameters
from faqnas_qiskit.space import Genome

F, C = 6, 3


def _reference_steps(
    genomes: list[Genome], steps: int, alive_from: int | None = None
) -> tuple[torch.Tensor, list[torch.Tensor], list[tuple[torch.Tensor, torch.Tensor]]]:
    """Autograd + torch.optim.Adam on the stacked model: final flat parameters, losses."""
    initial = [initial_parameters(g, F, C, seed=7 + k) for k, g in enumerate(genomes)]
    model = BatchedHQNN(genomes, initial, torch.float64)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(3)
    batches = []
    losses = []
    for step in range(steps):
        x = torch.randn(len(genomes), 24, F, generator=gen, dtype=torch.float64) * 1.5
        y = torch.randint(0, C, (len(genomes), 24), generator=gen)
        batches.append((x, y))
        optimiser.zero_grad()
        logp = model(x)
        per_model = -torch.gather(logp, 2, y.unsqueeze(-1)).squeeze(-1).mean(1)
        losses.append(per_model.detach())
        alive = torch.ones(len(genomes), dtype=torch.bool)
        if alive_from is not None and step >= alive_from:
            alive[0] = False
        per_model[alive].sum().backward()
        optimiser.step()
    params = (
        model.pre_weight,
        model.pre_bias,
        model.quantum_weight,
        model.post_weight,
        model.post_bias,
    )
    flat = torch.cat([p.detach().reshape(len(genomes), -1) for p in params], dim=1)
    return flat, losses, batches


def _trained(
    cls: type[FusedHQNN],
    genomes: list[Genome],
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    alive_from: int | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    initial = [initial_parameters(g, F, C, seed=7 + k) for k, g in enumerate(genomes)]
    trainer = cls(genomes, initial, torch.float64, "cpu", 0.05)
    losses = []
    for step, (x, y) in enumerate(batches):
        losses.append(trainer.loss(x, y))
        alive = None
        if alive_from is not None and step >= alive_from:
            alive = torch.ones(len(genomes), dtype=torch.bool)
            alive[0] = False
        trainer.step(alive)
    return trainer.flat.clone(), losses


CASES = [
    ["q2-angle-cx-linear-rz"],
    ["q3-amplitude-cz-circular-rx.ry"],
    ["q4-angle-cx-circular-rx.ry.rz.rx"],
    ["q5-amplitude-cx-linear-ry.rz"],
    ["q4-angle-cx-linear-ry.ry", "q4-angle-cz-circular-rx.rz.ry.rx", "q4-angle-cx-circular-rz"],
    ["q3-amplitude-cx-linear-ry", "q3-amplitude-cz-linear-rx.rz.ry"],
]


@pytest.mark.parametrize("keys", CASES, ids=lambda k: "+".join(k))
@pytest.mark.parametrize("cls", [FusedHQNN, NumpyHQNN], ids=["torch", "numpy"])
def test_trainer_equals_autograd_with_adam_in_float64(
    keys: list[str], cls: type[FusedHQNN]
) -> None:
    genomes = [Genome.parse(k) for k in keys]
    want, want_losses, batches = _reference_steps(genomes, 25)
    got, got_losses = _trained(cls, genomes, batches)
    assert torch.allclose(got, want, rtol=0, atol=1e-8)
    for a, b in zip(got_losses, want_losses, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "keys", [["q6-angle-cz-linear-rx.rz.ry.rx"], ["q7-amplitude-cx-circular-ry"]]
)
def test_layered_trainer_equals_autograd_with_adam_in_float64(keys: list[str]) -> None:
    genomes = [Genome.parse(k) for k in keys] * 2  # two replicas
    want, _, batches = _reference_steps(genomes, 8)
    got, _ = _trained(FusedHQNN, genomes, batches)
    assert torch.allclose(got, want, rtol=0, atol=1e-8)


@pytest.mark.parametrize("cls", [FusedHQNN, NumpyHQNN], ids=["torch", "numpy"])
def test_a_model_left_out_gets_no_gradient_but_adam_still_moves_it(cls: type[FusedHQNN]) -> None:
    genomes = [Genome.parse("q3-angle-cx-linear-ry.rx")] * 2
    want, _, batches = _reference_steps(genomes, 12, alive_from=6)
    got, _ = _trained(cls, genomes, batches, alive_from=6)
    assert torch.allclose(got, want, rtol=0, atol=1e-8)


def test_the_fastest_trainer_is_chosen_by_size_and_device() -> None:
    small, large = Genome.parse("q5-angle-cx-linear-ry"), Genome.parse("q6-angle-cx-linear-ry")
    for genome, kind in ((small, NumpyHQNN), (large, FusedHQNN)):
        initial = [initial_parameters(genome, F, C, seed=0)]
        trainer = fused_trainer([genome], initial, torch.float32, "cpu", 0.01)
        assert type(trainer) is kind


@pytest.mark.parametrize("key", ["q3-angle-cz-circular-ry.rx", "q6-amplitude-cx-linear-rz.ry"])
def test_train_model_fused_equals_the_autograd_loop(key: str) -> None:
    data = load_dataset("iris", seed=1)
    genome = Genome.parse(key)
    config = TrainingConfig(epochs=3, lr=0.05, batch_size=16, double=True)
    x, y = split_tensors(data, "train", torch.float64)
    runs = []
    for fused in (True, False):
        model = build_model(genome, data.n_features, data.n_classes, seed=4).double()
        losses = train_model(model, x, y, config, torch.Generator().manual_seed(9), fused=fused)
        runs.append((losses, model.state_dict()))
    (fused_losses, fused_state), (ref_losses, ref_state) = runs
    assert fused_losses == pytest.approx(ref_losses, abs=1e-10)
    for name, tensor in ref_state.items():
        assert torch.allclose(fused_state[name], tensor, rtol=0, atol=1e-8), name


def test_a_diverging_training_fails_at_the_same_epoch_as_the_reference() -> None:
    data = load_dataset("iris", seed=0)
    genome = Genome.parse("q2-angle-cx-linear-rx")
    config = TrainingConfig(epochs=3, lr=1e30)
    x, y = split_tensors(data, "train", torch.float32)
    messages = []
    for fused in (True, False):
        model = build_model(genome, data.n_features, data.n_classes, seed=0)
        with pytest.raises(TrainingError) as caught:
            train_model(model, x, y, config, torch.Generator().manual_seed(0), fused=fused)
        messages.append(str(caught.value).split(" Got ")[1].split(" instead")[0])
    assert messages[0].split(" at ")[1] == messages[1].split(" at ")[1]  # same epoch


@pytest.mark.parametrize("key", ["q4-angle-cx-linear-ry.ry", "q5-amplitude-cz-circular-rx.ry"])
def test_float32_training_stays_within_rounding_of_the_reference(key: str) -> None:
    data = load_dataset("iris", seed=2)
    genome = Genome.parse(key)
    config = TrainingConfig(epochs=5, lr=0.03, batch_size=16)
    x, y = split_tensors(data, "train", torch.float32)
    runs = []
    for fused in (True, False):
        model = build_model(genome, data.n_features, data.n_classes, seed=4)
        losses = train_model(model, x, y, config, torch.Generator().manual_seed(9), fused=fused)
        runs.append((losses, model))
    (fused_losses, fused_model), (ref_losses, ref_model) = runs
    assert fused_losses == pytest.approx(ref_losses, rel=1e-4)
    assert fused_losses[-1] < fused_losses[0]  # it trains
    with torch.no_grad():
        assert torch.allclose(fused_model(x), ref_model(x), atol=1e-4)
