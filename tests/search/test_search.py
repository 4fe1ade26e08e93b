from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from faqnas_qiskit.data import Dataset, load_dataset
from faqnas_qiskit.errors import ConfigError, GenomeError
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.search import (
    WORST,
    CandidateOutcome,
    CandidateTask,
    SearchConfig,
    SearchRunner,
    SerialEvaluator,
    hypervolume,
    load_run,
    non_dominated,
    parse_objectives,
    run_candidate,
)
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import ResultsStore


def formula_flops(genome: Genome) -> dict[str, Any]:
    """A stand-in metrics provider: DESIGN §5's reference-mode F_Q, from the test's own formula."""
    n, dim = genome.n_qubits, 2**genome.n_qubits
    pairs = n - 1 if genome.topology == "linear" or n == 2 else n
    embedding = n * 4 * dim if genome.embedding == "angle" else dim
    return {
        "quantum_flops": embedding
        + genome.depth * (n * 4 * dim + pairs * 8 * dim)
        + dim
        + 2 * n * dim
    }


SMALL = SearchConfig(
    dataset="iris",
    seed=5,
    space=SearchSpace(qubits=(2, 3), depths=(1, 2), rotations=("rx", "ry")),
    population=6,
    generations=3,
    training=TrainingConfig(epochs=2, lr=0.03),
)


@pytest.fixture(scope="module")
def iris() -> Dataset:
    return load_dataset("iris", seed=5)


def _run(path: Path, config: SearchConfig, data: Dataset, evaluator: Any = None) -> Any:
    with ResultsStore(path) as store:
        runner = SearchRunner(store, evaluator or SerialEvaluator(data), formula_flops, data.name)
        return runner.start(config)


def _stored(path: Path) -> list[tuple[Any, ...]]:
    with ResultsStore(path, create=False) as store:
        rows = []
        for e in store.evaluations():
            record = {k: v for k, v in (e.record or {}).items() if not k.endswith("time_s")}
            rows.append((e.key, e.seed, e.status, sorted(record.items()), e.training))
        return sorted(rows)


def test_same_seed_same_front_and_evaluations(tmp_path: Path, iris: Dataset) -> None:
    a = _run(tmp_path / "a.db", SMALL, iris)
    b = _run(tmp_path / "b.db", SMALL, iris)
    assert [c.key for c in a.front] == [c.key for c in b.front]
    assert [c.objectives for c in a.front] == [c.objectives for c in b.front]
    assert _stored(tmp_path / "a.db") == _stored(tmp_path / "b.db")
    assert len(a.generations) <= 3
    # front: non-dominated among everything the run evaluated
    ok = [c for c in a.candidates if c.ok]
    expected = {ok[i].key for i in non_dominated([c.objectives for c in ok])}
    assert {c.key for c in a.front} == expected


def test_resume_replays_without_training(tmp_path: Path, iris: Dataset) -> None:
    path = tmp_path / "s.db"
    first = _run(path, SMALL, iris)
    with ResultsStore(path) as store:
        count = store.count_evaluations()
        again = SearchRunner(store, SerialEvaluator(iris), formula_flops, iris.name).resume(
            first.run_id
        )
        assert store.count_evaluations() == count
    assert again.trained == 0
    assert [c.key for c in again.front] == [c.key for c in first.front]
    with ResultsStore(path, create=False) as store:
        run, _, candidates, front = load_run(store, first.run_id)
    assert run.status == "finished"
    assert [c.key for c in front] == [c.key for c in first.front]
    assert len(candidates) == len(first.candidates)


def test_second_run_with_same_seed_hits_the_cache(tmp_path: Path, iris: Dataset) -> None:
    path = tmp_path / "s.db"
    first = _run(path, SMALL, iris)
    second = _run(path, SMALL, iris)
    assert first.run_id != second.run_id
    assert second.trained == 0
    assert sum(g.cache_hits for g in second.generations) == sum(
        g.evaluated for g in second.generations
    )


class _FailingEvaluator:
    """Serial evaluation, except that one key raises inside the task."""

    def __init__(self, data: Dataset, bad: str) -> None:
        self.data, self.bad = data, bad

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        for task in tasks:
            if task.key == self.bad:
                broken = CandidateTask(task.key, task.seed, TrainingConfig(epochs=1, lr=1e308))
                yield run_candidate(broken, self.data)
            else:
                yield run_candidate(task, self.data)

    def close(self) -> None:
        pass


def test_failed_candidate_is_stored_and_scores_worst(tmp_path: Path, iris: Dataset) -> None:
    config = SearchConfig(
        dataset="iris",
        seed=1,
        strategy="exhaustive",
        space=SearchSpace(qubits=(2,), depths=(1,), embeddings=("angle",)),
        population=4,
        training=TrainingConfig(epochs=1),
    )
    bad = "q2-angle-cx-linear-rx"
    result = _run(tmp_path / "s.db", config, iris, _FailingEvaluator(iris, bad))
    failed = [c for c in result.candidates if not c.ok]
    assert [c.key for c in failed] == [bad]
    assert failed[0].objectives == (WORST, WORST)
    assert failed[0].evaluation.error is not None and "Error" in failed[0].evaluation.error
    assert bad not in {c.key for c in result.front}
    assert len(result.candidates) == 12 and result.generations[0].failures == 1


class _KillingEvaluator:
    """Serial evaluation, except that one key comes back as Dask's bounded-retry failure."""

    def __init__(self, data: Dataset, doomed: str) -> None:
        self.data, self.doomed = data, doomed

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        for task in tasks:
            if task.key == self.doomed:
                error = "KilledWorker: 4 workers died while evaluating this candidate"
                yield CandidateOutcome.failed(task, error, 0.1)
            else:
                yield run_candidate(task, self.data)

    def close(self) -> None:
        pass


def test_resume_retrains_a_candidate_whose_workers_died(tmp_path: Path, iris: Dataset) -> None:
    clean = _run(tmp_path / "clean.db", SMALL, iris)
    doomed = clean.front[0].key  # without it the run takes another path
    path = tmp_path / "s.db"
    hit = _run(path, SMALL, iris, _KillingEvaluator(iris, doomed))
    assert doomed not in {c.key for c in hit.front}
    with ResultsStore(path) as store:
        (before,) = [e for e in store.evaluations() if e.key == doomed]
        assert before.status == "failed" and before.error.startswith("KilledWorker: ")  # type: ignore[union-attr]
        runner = SearchRunner(store, SerialEvaluator(iris), formula_flops, iris.name)
        resumed = runner.resume(hit.run_id)
        (after,) = [e for e in store.evaluations() if e.key == doomed]
        generations = [(g.members, g.front) for g in store.generations(hit.run_id)]
    assert after.ok and after.id == before.id
    assert resumed.trained >= 1
    assert [(c.key, c.objectives) for c in resumed.front] == [
        (c.key, c.objectives) for c in clean.front
    ]
    with ResultsStore(tmp_path / "clean.db", create=False) as store:
        assert generations == [(g.members, g.front) for g in store.generations(clean.run_id)]
    # every evaluation of the clean run, the retrained one included, is stored alike (the
    # failed path may have added evaluations of its own)
    stored = _stored(path)
    assert all(row in stored for row in _stored(tmp_path / "clean.db"))


def test_exhaustive_front_is_the_true_front(tmp_path: Path, iris: Dataset) -> None:
    space = SearchSpace(qubits=(2,), depths=(1,), entanglers=("cz",))
    config = SearchConfig(
        dataset="iris",
        seed=2,
        strategy="exhaustive",
        space=space,
        population=5,
        training=TrainingConfig(epochs=1),
    )
    result = _run(tmp_path / "s.db", config, iris)
    assert len(result.candidates) == space.n_networks == 12
    points = np.array([c.objectives for c in result.candidates])
    best = {result.candidates[i].key for i in non_dominated(points)}
    assert {c.key for c in result.front} == best


def test_random_search_budget(tmp_path: Path, iris: Dataset) -> None:
    config = SearchConfig(
        dataset="iris",
        seed=3,
        strategy="random",
        space=SMALL.space,
        population=4,
        budget=7,
        training=TrainingConfig(epochs=1),
    )
    result = _run(tmp_path / "s.db", config, iris)
    assert len({c.key for c in result.candidates}) == 7
    assert len(result.generations) == 2


def test_nsga2_stops_at_its_budget(tmp_path: Path, iris: Dataset) -> None:
    config = SearchConfig(
        dataset="iris",
        seed=3,
        space=SMALL.space,
        population=4,
        generations=8,
        stagnation=8,
        budget=10,
        training=TrainingConfig(epochs=1),
    )
    result = _run(tmp_path / "s.db", config, iris)
    assert result.trained == len(result.candidates) == 10  # each evaluation a new network
    assert [g.evaluated for g in result.generations] == [4, 4, 2]
    with ResultsStore(tmp_path / "s.db", create=False) as store:
        assert len(store.evaluations()) == 10
        resumed = SearchRunner(store, SerialEvaluator(iris), formula_flops, iris.name).resume(
            result.run_id
        )
    assert resumed.trained == 0 and [c.key for c in resumed.front] == [c.key for c in result.front]


def test_initial_population_is_population_distinct_networks() -> None:
    import numpy as np

    from faqnas_qiskit.search.operators import CanonicalSampling, GenomeProblem

    space = SearchSpace(qubits=(2,), depths=(1, 2))  # 96 networks
    problem = GenomeProblem(space, 2)
    rng = np.random.default_rng(0)
    for n in (20, 40, space.n_networks, space.n_networks + 10):
        vectors = CanonicalSampling(space)._do(problem, n, random_state=rng)
        keys = {space.decode(v).key for v in vectors}
        # 9 genes drawn uniformly repeat networks often here (inactive rotations of depth 1)
        assert len(keys) == len(vectors) == min(n, space.n_networks)


def test_stagnation_stops_early(tmp_path: Path, iris: Dataset) -> None:
    # a 4-network space: the front cannot change after the first generations
    space = SearchSpace(
        qubits=(2,), depths=(1,), entanglers=("cx",), topologies=("linear",), rotations=("ry",)
    )
    config = SearchConfig(
        dataset="iris",
        seed=0,
        space=space,
        population=2,
        generations=8,
        stagnation=2,
        training=TrainingConfig(epochs=1),
    )
    result = _run(tmp_path / "s.db", config, iris)
    assert result.stopped_early and len(result.generations) < 8


def test_hypervolume_by_hand() -> None:
    points = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5]])
    # staircase under reference (4, 4): 3*1 + 2*1 + 1*1 = 6, plus the dominated point adds nothing
    assert hypervolume(points, [4.0, 4.0]) == pytest.approx(6.0)
    assert hypervolume(points[:0], [4.0, 4.0]) == 0.0
    assert non_dominated(points) == [0, 1, 2]
    assert non_dominated([[1, 1], [1, 1], [2, 0]]) == [0, 2]


@pytest.mark.parametrize("text", ["", "flops", "flops,flops,error", "speed,error", "flops,,"])
def test_bad_objectives(text: str) -> None:
    with pytest.raises(ConfigError, match="'objectives' option"):
        parse_objectives(text)


def test_config_validation_and_round_trip() -> None:
    with pytest.raises(ConfigError, match="'strategy'"):
        SearchConfig(strategy="anneal")
    with pytest.raises(ConfigError, match="'population'"):
        SearchConfig(population=0)
    assert SearchConfig(strategy="exhaustive").evaluation_budget == 8640
    with pytest.raises(GenomeError):
        SearchSpace(qubits=())
    assert SearchConfig.from_dict(SMALL.to_dict()) == SMALL
