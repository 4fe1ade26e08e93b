"""The kernel's hand-written (adjoint) backward pass against autograd and finite differences."""

from __future__ import annotations

import pytest
import torch

from faqnas_qiskit.engines.hqnn_adjoint import run_plan_adjoint
from faqnas_qiskit.engines.hqnn_kernel import plan_weights, run_plan
from faqnas_qiskit.space import Genome

KEYS = [
    "q2-angle-cx-linear-rz",
    "q2-amplitude-cz-circular-rx.ry",
    "q3-angle-cz-circular-ry.rx.rz",
    "q4-angle-cx-circular-rx.ry.rz.rx",
    "q4-amplitude-cx-linear-rz.rz",
    "q5-amplitude-cz-circular-ry.rx.ry",
    "q6-angle-cz-linear-rx.rz.ry.rx",
    "q7-angle-cx-circular-ry",
    "q8-amplitude-cz-circular-rx.rx.rz.ry",
]


def _inputs(
    genomes: list[Genome], models: int, batch: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    first = genomes[0]
    width = first.n_qubits if first.embedding == "angle" else 2**first.n_qubits
    depth = max(g.depth for g in genomes)
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(models, batch, width, generator=gen, dtype=torch.float64) * 2
    weights = torch.rand(models, depth, first.n_qubits, generator=gen, dtype=torch.float64) * 6 - 3
    per_model = genomes if len(genomes) == models else genomes * models
    for k, genome in enumerate(per_model):
        weights[k, genome.depth :] = 0.0  # padded layers hold zeros
    return features, weights


def _values_and_gradients(
    adjoint: bool, genomes: list[Genome], models: int, dense: bool, zero_row: bool = False
) -> list[torch.Tensor]:
    features, weights = _inputs(genomes, models, 5, seed=11)
    if zero_row:
        features[0, 1] = 0.0
    features.requires_grad_(True)
    weights.requires_grad_(True)
    plan = plan_weights(genomes, torch.float64, "cpu")
    if adjoint:
        z = run_plan_adjoint(plan, features, weights, dense)
    else:
        z = run_plan(plan, features, weights, dense=dense)
    cotangent = torch.randn(z.shape, generator=torch.Generator().manual_seed(4), dtype=z.dtype)
    (z * cotangent).sum().backward()
    assert features.grad is not None and weights.grad is not None
    return [z.detach(), features.grad, weights.grad]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("models", [1, 3])
def test_adjoint_backward_equals_autograd(key: str, dense: bool, models: int) -> None:
    genome = Genome.parse(key)
    zero_row = genome.embedding == "amplitude"  # |0...0> and a zero gradient for that row
    got = _values_and_gradients(True, [genome], models, dense, zero_row)
    want = _values_and_gradients(False, [genome], models, dense, zero_row)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
    if zero_row:
        assert torch.all(got[1][0, 1] == 0)


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("embedding", ["angle", "amplitude"])
def test_padded_population_gradients_equal_autograd(dense: bool, embedding: str) -> None:
    keys = [f"q4-{embedding}-cx-linear-ry.ry", f"q4-{embedding}-cz-circular-rx.rz.ry.rx"]
    keys.append(f"q4-{embedding}-cx-circular-rz")
    genomes = [Genome.parse(k) for k in keys]
    got = _values_and_gradients(True, genomes, 3, dense)
    want = _values_and_gradients(False, genomes, 3, dense)
    for a, b in zip(got, want, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
    # a padded layer's weights get exactly zero gradient: they stay 0 under Adam
    assert torch.all(got[2][0, 2:] == 0) and torch.all(got[2][2, 1:] == 0)


@pytest.mark.parametrize(
    ("key", "dense"),
    [
        ("q3-angle-cx-circular-ry.rz", True),
        ("q3-angle-cz-linear-rx.ry", False),
        ("q2-amplitude-cx-linear-ry.rx", True),
        ("q3-amplitude-cz-circular-rz.ry", False),
    ],
)
def test_adjoint_gradients_match_finite_differences(key: str, dense: bool) -> None:
    genome = Genome.parse(key)
    features, weights = _inputs([genome], 2, 3, seed=5)
    plan = plan_weights([genome], torch.float64, "cpu")
    features.requires_grad_(True)
    weights.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda f, w: run_plan_adjoint(plan, f, w, dense), (features, weights), eps=1e-6, atol=1e-7
    )


def test_float32_inputs_keep_float32_and_weights_get_their_own_dtype() -> None:
    genome = Genome.parse("q4-angle-cx-linear-ry.ry")
    plan = plan_weights([genome], torch.float32, "cpu")
    features = torch.randn(1, 8, 4, requires_grad=True)
    weights = torch.rand(1, 2, 4, dtype=torch.float64, requires_grad=True)
    z = run_plan_adjoint(plan, features, weights, True)
    z.sum().backward()
    assert z.dtype == torch.float32 and features.grad is not None and weights.grad is not None
    assert features.grad.dtype == torch.float32 and weights.grad.dtype == torch.float64
