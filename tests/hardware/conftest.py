"""Fixtures of the hardware tests: a small trained run, a fake IBM device, a fake cloud."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from qiskit.providers import BackendV2

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.hardware import (
    BackendAdapter,
    BackendProfile,
    IBMCredentials,
    ProgressEvent,
    ReevaluationRequest,
    ReevaluationResult,
    RuntimeGateway,
    make_adapter,
    reevaluate,
)
from faqnas_qiskit.search import SearchConfig, SearchRunner, SerialEvaluator
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import ResultsStore
from tests.hardware.stand_ins import FakeCloud

#: Three angle-embedded 2-qubit networks: quick to train and to simulate.
SPACE = SearchSpace(
    qubits=(2,), depths=(1,), entanglers=("cz",), embeddings=("angle",), topologies=("linear",)
)
CONFIG = SearchConfig(
    dataset="iris",
    seed=3,
    strategy="exhaustive",
    space=SPACE,
    population=3,
    training=TrainingConfig(epochs=5, lr=0.03),
)


def flops_stand_in(genome: Genome) -> dict[str, Any]:
    """A stand-in metrics provider (the search only needs F_Q to rank)."""
    n, dim = genome.n_qubits, 2**genome.n_qubits
    return {"quantum_flops": n * 4 * dim + genome.depth * (n * 4 * dim + (n - 1) * 8 * dim)}


@dataclass(frozen=True)
class StoredRun:
    """A trained run in a store file (copied per test)."""

    path: Path
    run_id: str
    keys: tuple[str, ...]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> StoredRun:
    path = tmp_path_factory.mktemp("hardware") / "template.db"
    data = load_dataset(CONFIG.dataset, seed=CONFIG.seed)
    with ResultsStore(path) as store:
        result = SearchRunner(store, SerialEvaluator(data), flops_stand_in, data.name).start(CONFIG)
    keys = tuple(c.key for c in result.candidates if c.ok)
    assert len(keys) == 3
    return StoredRun(path, result.run_id, keys)


@pytest.fixture
def store(trained_run: StoredRun, tmp_path: Path) -> Iterator[ResultsStore]:
    path = tmp_path / "faqnas.db"
    shutil.copy(trained_run.path, path)
    with ResultsStore(path, create=False) as opened:
        yield opened


@pytest.fixture(scope="session")
def fake_fez() -> BackendV2:
    from qiskit_ibm_runtime.fake_provider import FakeFez

    return FakeFez()


@pytest.fixture
def cloud(fake_fez: BackendV2) -> FakeCloud:
    """A fresh fake IBM Quantum whose device is FakeFez."""
    return FakeCloud(device=fake_fez)


def reevaluate_run(
    store: ResultsStore,
    run_id: str,
    profile: BackendProfile | str | Path,
    *,
    service: Any = None,
    credentials: IBMCredentials | None = None,
    connect: Callable[[IBMCredentials], RuntimeGateway] | None = None,
    adapter: BackendAdapter | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    **options: Any,
) -> ReevaluationResult:
    """``reevaluate`` as the CLI wires it: a request, and an adapter connected as given."""
    request = ReevaluationRequest(run_id, profile, **options)
    if adapter is None and (service, credentials, connect) != (None, None, None):
        adapter = make_adapter(
            request.profile, service=service, credentials=credentials, connect=connect
        )
    return reevaluate(request, store, adapter, progress=progress)
