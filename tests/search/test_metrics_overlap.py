"""Cold candidates' metrics computed in a side process while the generation trains (issue 17).

References are independent of the code under test: serial runs whose metrics come from a fresh
in-process ``MetricsCache`` (no side process, no persistent cache), and the store's rows as
written by those runs.
"""

from __future__ import annotations

import json
import logging
import multiprocessing.context
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from faqnas_qiskit.data import Dataset, load_dataset
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.metrics import (
    AER_TARGET,
    DEFAULT_AER_OPTIMIZATION_LEVEL,
    CostCache,
    MetricsCache,
    MetricsRecipe,
)
from faqnas_qiskit.search import (
    CandidateOutcome,
    CandidateTask,
    SearchConfig,
    SearchRunner,
    SerialEvaluator,
    StoreCachedMetrics,
    search_metrics,
)
from faqnas_qiskit.search.metrics_overlap import GenerationMetrics
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import ResultsStore

CONFIG = SearchConfig(
    dataset="iris",
    seed=3,
    space=SearchSpace(qubits=(2, 3), depths=(1, 2), rotations=("rx", "ry")),
    population=5,
    generations=2,
    training=TrainingConfig(epochs=1, lr=0.03),
)


@pytest.fixture(scope="module")
def iris() -> Dataset:
    return load_dataset("iris", seed=CONFIG.seed)


def _stored(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every evaluation and cached-metrics row, timings and ids left out (they differ per run)."""
    db = sqlite3.connect(path)
    try:
        evaluations = []
        for key, seed, status, error, record, metrics, weights in db.execute(
            "SELECT e.key, e.seed, e.status, e.error, e.record, m.metrics, e.weights "
            "FROM evaluations e JOIN architecture_metrics m "
            "ON m.key = e.key AND m.settings = e.metrics_settings ORDER BY e.id"
        ):
            fields = json.loads(record) if record else {}
            timed = {k for k in fields if k.endswith("time_s")}
            kept = sorted(
                (k, json.dumps(v, sort_keys=True)) for k, v in fields.items() if k not in timed
            )
            evaluations.append((key, seed, status, error, kept, metrics, weights))
        metrics_rows = sorted(db.execute("SELECT key, settings, metrics FROM architecture_metrics"))
    finally:
        db.close()
    return {"evaluations": evaluations, "architecture_metrics": metrics_rows}


class _AfterCostRows:
    """Trains each batch only once the side process has put its genomes' rows in the cache.

    So that the metrics of the run under test arrive from the side process before the outcomes
    need them (a search never waits for them; this test evaluator does, to exercise that path).
    """

    def __init__(self, data: Dataset, cache: Path, timeout_s: float = 180.0) -> None:
        self.inner = SerialEvaluator(data)
        self.cache = cache
        self.timeout_s = timeout_s

    def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
        wanted = {t.key for t in tasks}
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            with CostCache(self.cache) as cache:
                have = cache.keys("fake_fez", 1, 0) & cache.keys(
                    AER_TARGET, DEFAULT_AER_OPTIMIZATION_LEVEL, 0
                )
            if wanted <= have:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # the answers follow the rows through a pipe
        yield from self.inner.map(tasks)

    def close(self) -> None:
        self.inner.close()


def _serial_reference(path: Path, data: Dataset) -> Any:
    compute, settings = search_metrics(CONFIG, data, cache=MetricsCache())
    with ResultsStore(path) as store:
        runner = SearchRunner(
            store,
            SerialEvaluator(data),
            StoreCachedMetrics(store, compute, settings),
            data.name,
            overlap_metrics=False,
        )
        return runner.start(CONFIG)


@pytest.mark.slow
def test_overlapped_metrics_and_store_equal_serial(tmp_path: Path, iris: Dataset) -> None:
    serial = _serial_reference(tmp_path / "serial.db", iris)
    cache_path = tmp_path / "metrics.db"
    compute, settings = search_metrics(
        CONFIG, iris, cache=MetricsCache(persistent=CostCache(cache_path))
    )
    with ResultsStore(tmp_path / "overlap.db") as store:
        runner = SearchRunner(
            store,
            _AfterCostRows(iris, cache_path),
            StoreCachedMetrics(store, compute, settings),
            iris.name,
            overlap_metrics=True,
        )
        overlapped = runner.start(CONFIG)
        received = runner.generation_metrics.received
    assert received == overlapped.trained > 0  # every metric came from the side process
    assert [c.key for c in overlapped.front] == [c.key for c in serial.front]
    assert [c.objectives for c in overlapped.front] == [c.objectives for c in serial.front]
    assert _stored(tmp_path / "overlap.db") == _stored(tmp_path / "serial.db")


@pytest.mark.slow
def test_overlapped_run_interrupted_then_resumed_retrains_nothing(
    tmp_path: Path, iris: Dataset
) -> None:
    """Outcomes are stored the moment they arrive, metrics attached: a resume trains the rest."""
    _serial_reference(tmp_path / "serial.db", iris)

    class Interrupting(SerialEvaluator):
        def __init__(self, data: Dataset, after: int) -> None:
            super().__init__(data)
            self.left = after

        def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
            for outcome in super().map(tasks):
                if self.left == 0:
                    raise KeyboardInterrupt
                self.left -= 1
                yield outcome

    path = tmp_path / "overlap.db"
    cache = MetricsCache(persistent=CostCache(tmp_path / "metrics.db"))
    compute, settings = search_metrics(CONFIG, iris, cache=cache)
    with ResultsStore(path) as store:
        metrics = StoreCachedMetrics(store, compute, settings)
        runner = SearchRunner(
            store, Interrupting(iris, 3), metrics, iris.name, overlap_metrics=True
        )
        with pytest.raises(KeyboardInterrupt):
            runner.start(CONFIG)
        run_id = store.list_runs()[-1].id
        assert len(store.evaluations()) == 3
    with ResultsStore(path) as store:
        metrics = StoreCachedMetrics(store, compute, settings)
        runner = SearchRunner(
            store, SerialEvaluator(iris), metrics, iris.name, overlap_metrics=True
        )
        resumed = runner.resume(run_id)
    total = len(_stored(tmp_path / "serial.db")["evaluations"])
    assert resumed.trained == total - 3
    assert _stored(path) == _stored(tmp_path / "serial.db")


@pytest.mark.slow
def test_a_warm_atlas_starts_no_side_process(tmp_path: Path, iris: Dataset) -> None:
    """Every network in the machine's cost atlas: metrics are lookups, nothing to overlap."""
    from faqnas_qiskit.metrics import atlas_networks, fill_atlas

    _serial_reference(tmp_path / "serial.db", iris)
    with CostCache(tmp_path / "metrics.db") as rows:
        fill_atlas(atlas_networks(CONFIG.space), rows, target="fake_fez")
    compute, settings = search_metrics(
        CONFIG, iris, cache=MetricsCache(persistent=CostCache(tmp_path / "metrics.db"))
    )
    with ResultsStore(tmp_path / "warm.db") as store:
        runner = SearchRunner(
            store,
            SerialEvaluator(iris),
            StoreCachedMetrics(store, compute, settings),
            iris.name,
            overlap_metrics=True,
        )
        result = runner.start(CONFIG)
        assert runner.generation_metrics.started == 0
    assert result.trained > 0
    assert _stored(tmp_path / "warm.db") == _stored(tmp_path / "serial.db")


def test_side_process_that_cannot_start_falls_back_with_one_warning(
    tmp_path: Path, iris: Dataset, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    serial = _serial_reference(tmp_path / "serial.db", iris)

    def refuse(self: Any) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    compute, settings = search_metrics(CONFIG, iris, cache=MetricsCache())
    with caplog.at_level(logging.WARNING), ResultsStore(tmp_path / "overlap.db") as store:
        runner = SearchRunner(
            store,
            SerialEvaluator(iris),
            StoreCachedMetrics(store, compute, settings),
            iris.name,
            overlap_metrics=True,
        )
        result = runner.start(CONFIG)
        assert not runner.generation_metrics.overlapping  # serial for the rest of the run
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "no more processes" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    assert result.trained == serial.trained
    assert _stored(tmp_path / "overlap.db") == _stored(tmp_path / "serial.db")


def test_side_process_failing_on_a_genome_falls_back_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A side process that fails (an unknown target there) is turned off; metrics come here."""
    calls: list[str] = []

    class Provider:
        def __call__(self, genome: Genome) -> dict[str, Any]:
            calls.append(genome.key)
            return {"key": genome.key}

        def cached(self, genome: Genome) -> dict[str, Any] | None:
            return None

        def remember(self, genome: Genome, metrics: dict[str, Any]) -> None:
            raise AssertionError("nothing comes from a failed side process")

        @property
        def recipe(self) -> MetricsRecipe:
            from faqnas_qiskit.metrics import MetricsSettings

            settings = MetricsSettings(
                n_features=4, n_classes=3, n_train=90, epochs=1, target="fake_nowhere"
            )
            return MetricsRecipe(settings=settings)

    genomes = [Genome.parse("q2-angle-cx-linear-ry"), Genome.parse("q3-angle-cz-linear-rx")]
    metrics = GenerationMetrics(Provider(), overlap=True)
    with caplog.at_level(logging.WARNING):
        metrics.prepare(genomes)
        assert metrics._side is not None
        assert not metrics._side.wait(180.0)  # it reports the failure and stops
        got = [metrics.collect(g) for g in genomes]
        metrics.prepare([Genome.parse("q2-amplitude-cx-linear-rx")])  # serial from now on
    metrics.close()
    assert got == [{"key": g.key} for g in genomes]
    assert calls == [g.key for g in genomes] + ["q2-amplitude-cx-linear-rx"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "fake_nowhere" in warnings[0], warnings


def test_overlap_only_where_it_can_pay(
    iris: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faqnas_qiskit.metrics import background

    with ResultsStore(tmp_path / "s.db") as store:
        compute, settings = search_metrics(CONFIG, iris)
        transpiling = StoreCachedMetrics(store, compute, settings)
        flops, flops_settings = search_metrics(CONFIG, iris, transpile=False)
        cheap = StoreCachedMetrics(store, flops, flops_settings)
        monkeypatch.setattr(background, "usable_cores", lambda: 2)
        assert GenerationMetrics(transpiling).overlapping
        assert not GenerationMetrics(transpiling, overlap=False).overlapping
        assert not GenerationMetrics(cheap, overlap=True).overlapping  # microseconds each
        assert not GenerationMetrics(lambda g: {}, overlap=True).overlapping  # no recipe
        monkeypatch.setattr(background, "usable_cores", lambda: 1)
        assert not GenerationMetrics(transpiling).overlapping
        assert GenerationMetrics(transpiling, overlap=True).overlapping


def test_tasks_sent_to_workers_carry_no_metrics(tmp_path: Path, iris: Dataset) -> None:
    """The metrics stay on the coordinator: no task a worker is sent and no outcome it sends
    back holds them, and the store keeps them once per architecture however many runs and
    repeats refer to them."""
    import dataclasses
    import pickle

    marker = "cost-metrics-stay-here"

    def provider(genome: Genome) -> dict[str, Any]:
        return {"quantum_flops": 100 * genome.n_qubits + genome.depth, "marker": marker}

    sent: list[bytes] = []

    class Spy(SerialEvaluator):
        """Serial evaluation that keeps every task and outcome as a worker would see them."""

        def map(self, tasks: Sequence[CandidateTask]) -> Iterator[CandidateOutcome]:
            sent.extend(pickle.dumps(t) for t in tasks)
            for outcome in super().map(tasks):
                sent.append(pickle.dumps(outcome))
                yield outcome

    space = SearchSpace(
        qubits=(2,), entanglers=("cx",), topologies=("linear",), depths=(1,), rotations=("rx", "ry")
    )
    path = tmp_path / "s.db"
    with ResultsStore(path) as store:
        for seed in (3, 4):  # two runs: other seeds, the same architectures
            config = SearchConfig(
                dataset="iris",
                seed=seed,
                strategy="exhaustive",
                space=space,
                population=2,
                generations=1,
                repeats=2,
                training=TrainingConfig(epochs=1),
            )
            SearchRunner(store, Spy(iris), provider, iris.name).start(config)
        evaluations = store.evaluations()
        keys = {e.key for e in evaluations}
        assert len(evaluations) > len(keys) and all(len(e.repeats) == 1 for e in evaluations)
        for e in evaluations:
            assert e.costs.to_dict() == provider(Genome.parse(e.key))  # stored with them
    assert sent and not any(marker.encode() in message for message in sent)
    for kind in (CandidateTask, CandidateOutcome):  # nor could they
        assert not any("metrics" in f.name for f in dataclasses.fields(kind))
    con = sqlite3.connect(path)
    try:
        per_key = dict(con.execute("SELECT key, count(*) FROM architecture_metrics GROUP BY key"))
        assert per_key == dict.fromkeys(keys, 1)
        records = [r for (r,) in con.execute("SELECT record FROM evaluations")]
        records += [r for (r,) in con.execute("SELECT record FROM repeats")]
        assert not any(marker in r or '"metrics"' in r for r in records)
    finally:
        con.close()
