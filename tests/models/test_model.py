from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit_machine_learning.connectors import TorchConnector

from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.models import build_model
from faqnas_qiskit.space import Genome
from tests.reference import reference_state, reference_z


@pytest.mark.parametrize("text", ["q4-angle-cz-circular-ry.rx", "q3-amplitude-cx-linear-rz.ry"])
def test_structure_and_forward_against_reference(text: str) -> None:
    genome = Genome.parse(text)
    model = build_model(genome, 5, 3, seed=3).double()
    assert isinstance(model.quantum, TorchConnector)
    assert model.pre.in_features == 5 and model.pre.out_features == genome.n_inputs
    assert model.post.in_features == genome.n_qubits and model.post.out_features == 3
    assert model.n_params_quantum == genome.n_weights
    assert (
        model.n_params_classical == 5 * genome.n_inputs + genome.n_inputs + genome.n_qubits * 3 + 3
    )
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = model(x)
    assert out.shape == (4, 3)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(4, dtype=torch.float64))
    # the weight vector is ordered as weight_params: by layer, then by qubit
    with torch.no_grad():
        features = model.pre(x).numpy()
        w = model.quantum.weight.numpy()
        z = np.array([reference_z(reference_state(genome, f, w)) for f in features])
        want = torch.log_softmax(model.post(torch.tensor(z)), dim=1)
    assert torch.allclose(out, want, atol=1e-10)


def test_same_outputs_on_aer_with_the_same_weights() -> None:
    genome = Genome.parse("q5-angle-cx-circular-ry.rz")
    fast = build_model(genome, 4, 3, engine="statevector", seed=11).double()
    aer = build_model(genome, 4, 3, engine="aer", seed=11).double()
    aer.load_state_dict(fast.state_dict())
    x = torch.randn(6, 4, dtype=torch.float64)
    with torch.no_grad():
        assert float((fast(x) - aer(x)).abs().max()) < 1e-6


@pytest.mark.parametrize("engine", ["statevector", "aer"])
@pytest.mark.parametrize("text", ["q3-angle-cz-circular-rx.ry", "q2-amplitude-cx-linear-ry.rz"])
def test_gradients_match_central_differences(engine: str, text: str) -> None:
    genome = Genome.parse(text)
    model = build_model(genome, 3, 2, engine=engine, seed=5).double()
    x = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 1])

    def loss() -> torch.Tensor:
        return torch.nn.functional.nll_loss(model(x), y)

    model.zero_grad()
    loss().backward()
    eps = 1e-6
    for name in ("pre.weight", "quantum.weight"):
        param = dict(model.named_parameters())[name]
        assert param.grad is not None
        analytic = param.grad.clone().reshape(-1)
        flat = param.data.view(-1)
        for i in range(0, flat.numel(), max(1, flat.numel() // 6)):
            old = float(flat[i])
            with torch.no_grad():
                flat[i] = old + eps
                up = float(loss())
                flat[i] = old - eps
                down = float(loss())
                flat[i] = old
            assert abs((up - down) / (2 * eps) - float(analytic[i])) < 1e-6, (name, i)


def test_seeded_initialisation() -> None:
    genome = Genome.parse("q4-angle-cz-linear-ry")
    a, b, c = (build_model(genome, 4, 3, seed=s) for s in (1, 1, 2))
    for (_, pa), (_, pb), (_, pc) in zip(
        a.named_parameters(), b.named_parameters(), c.named_parameters(), strict=True
    ):
        assert torch.equal(pa, pb)
        assert not torch.equal(pa, pc)
    assert float(a.quantum.weight.detach().abs().max()) <= 1.0


def test_bad_model_arguments() -> None:
    genome = Genome.parse("q2-angle-cz-linear-ry")
    with pytest.raises(ConfigError, match="engine"):
        build_model(genome, 4, 3, engine="gpu")
    with pytest.raises(ConfigError, match="n_classes"):
        build_model(genome, 4, 1)


def test_initial_weights_ignore_the_global_default_dtype() -> None:
    genome = Genome.parse("q3-angle-cz-linear-ry")
    before = build_model(genome, 4, 3, seed=9).state_dict()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        after = build_model(genome, 4, 3, seed=9).state_dict()
    finally:
        torch.set_default_dtype(previous)
    for name, tensor in before.items():
        assert torch.equal(tensor, after[name].to(tensor.dtype)), name
