"""The machine's persistent cost cache: exactness, version keys, fallbacks, concurrency."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from faqnas_qiskit.metrics import (
    AER_TARGET,
    CostCache,
    CostEntry,
    MetricsCache,
    TargetInfo,
    architecture_metrics,
    atlas_networks,
    canonical_target_name,
    default_cache_path,
    fill_atlas,
    metrics_function,
    software_versions,
)
from faqnas_qiskit.space import Genome, SearchSpace

WIDTHS = {"n_features": 4, "n_classes": 3}
BUDGET = {"n_train": 90, "epochs": 5}


def _sample(n: int, seed: int) -> list[Genome]:
    networks = atlas_networks()
    rng = np.random.default_rng(seed)
    return [networks[i] for i in rng.choice(len(networks), size=n, replace=False)]


def _check_cached_equals_fresh(tmp_path: Path, genomes: list[Genome], targets: list[str]) -> None:
    path = tmp_path / "metrics.db"
    for target in targets:
        with CostCache(path) as cache:
            summary = fill_atlas(genomes, cache, target=target)
        assert summary.computed == len(genomes)
    aer = TargetInfo.load(AER_TARGET)
    for target in targets:
        fresh_target = TargetInfo.load(target)  # independent of every object the cache used
        with CostCache(path) as cache:
            warm = MetricsCache(persistent=cache, check_formulas=False)
            for i, genome in enumerate(genomes):
                shots, samples = (1024, 30) if i % 2 else (4000, 7)
                cached = warm.metrics(
                    genome, **WIDTHS, **BUDGET, target=target, shots=shots, samples=samples
                )
                fresh = architecture_metrics(
                    genome,
                    **WIDTHS,
                    **BUDGET,
                    target=fresh_target,
                    aer_target=aer,
                    shots=shots,
                    samples=samples,
                )
                assert cached == fresh, genome.key
                assert cached.to_dict() == fresh.to_dict()
            # everything came from the file: no target was ever loaded
            assert warm._targets == {}


def test_cached_metrics_equal_fresh_ones(tmp_path: Path) -> None:
    _check_cached_equals_fresh(tmp_path, _sample(12, seed=1), ["fake_fez", "fake_torino"])


@pytest.mark.slow
def test_cached_metrics_equal_fresh_ones_on_200_networks_and_two_targets(tmp_path: Path) -> None:
    _check_cached_equals_fresh(tmp_path, _sample(200, seed=17), ["fake_fez", "fake_torino"])


def test_a_row_round_trips_exactly(tmp_path: Path) -> None:
    genome = Genome.parse("q5-amplitude-cx-circular-ry.rz")
    info = TargetInfo.load("fake_fez")
    from faqnas_qiskit.metrics import compute_entry

    entry = compute_entry(genome, info, optimization_level=1, seed_transpiler=0)
    with CostCache(tmp_path / "m.db") as cache:
        cache.put(entry)
        back = cache.get(genome.key, "fake_fez", 1, 0)
    assert back == entry
    assert back is not None and back.counts == info.genome_counts(genome)
    # the slope of QPU seconds in samples x shots is the per-shot cost
    assert back.shot_s is not None
    one = back.predicted_qpu_s(samples=1, shots=1)
    many = back.predicted_qpu_s(samples=30, shots=1000)
    assert one is not None and many is not None
    assert many - one == pytest.approx(back.shot_s * (30_000 - 1), rel=1e-12)


def test_other_versions_never_serve_a_row(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    genome = Genome.parse("q3-angle-cz-linear-ry.rx")
    installed = software_versions()
    with CostCache(path, versions=installed) as cache:
        MetricsCache(persistent=cache).metrics(genome, **WIDTHS, **BUDGET)
        assert cache.get(genome.key, "fake_fez", 1, 0) is not None
        assert cache.get(genome.key, AER_TARGET, 1, 0) is not None
    upgraded = {**installed, "qiskit": installed["qiskit"] + ".post99"}
    with CostCache(path, versions=upgraded) as cache:
        assert cache.get(genome.key, "fake_fez", 1, 0) is None
        assert cache.get(genome.key, AER_TARGET, 1, 0) is None
        assert cache.targets() == []
        # a miss computes afresh and fills the cache under the new versions
        MetricsCache(persistent=cache).metrics(genome, **WIDTHS, **BUDGET)
        assert cache.get(genome.key, "fake_fez", 1, 0) is not None
    runtime = {**installed, "qiskit-ibm-runtime": "0.0.1"}
    with CostCache(path, versions=runtime) as cache:  # the fake backends' snapshots changed
        assert cache.get(genome.key, "fake_fez", 1, 0) is None
        assert cache.get(genome.key, AER_TARGET, 1, 0) is not None
    aer = {**installed, "qiskit-aer": "0.0.1"}
    with CostCache(path, versions=aer) as cache:
        assert cache.get(genome.key, "fake_fez", 1, 0) is not None
        assert cache.get(genome.key, AER_TARGET, 1, 0) is None
    with CostCache(path, versions=installed) as cache:  # the original rows are still there
        assert cache.get(genome.key, "fake_fez", 1, 0) is not None
        assert cache.get(genome.key, "fake_fez", 2, 0) is None  # other level: other key
        assert cache.get(genome.key, "fake_fez", 1, 7) is None  # other seed: other key


def test_a_corrupt_cache_falls_back_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "m.db"
    path.write_bytes(b"this is not a SQLite database" * 100)
    genome = Genome.parse("q2-angle-cx-linear-ry")
    with caplog.at_level(logging.WARNING, logger="faqnas_qiskit.metrics.cache"):
        cache = CostCache(path)
        got = MetricsCache(persistent=cache).metrics(genome, **WIDTHS, **BUDGET)
        MetricsCache(persistent=cache).metrics(
            Genome.parse("q3-angle-cx-linear-ry"), **WIDTHS, **BUDGET
        )
    assert not cache.usable
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "unusable" in warnings[0].getMessage()
    assert got == architecture_metrics(genome, **WIDTHS, **BUDGET)


def test_an_unwritable_cache_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache's folder should be")
    with caplog.at_level(logging.WARNING, logger="faqnas_qiskit.metrics.cache"):
        cache = CostCache(blocker / "faqnas" / "metrics.db")
    assert not cache.usable and cache.get("q2-angle-cx-linear-ry", "fake_fez", 1, 0) is None
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    compute = metrics_function(**WIDTHS, **BUDGET, cache=MetricsCache(persistent=cache))
    assert compute(Genome.parse("q2-angle-cx-linear-ry"))["transpiled"]["two_qubit_gates"] >= 1


def test_a_file_that_goes_bad_later_turns_the_cache_off(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    cache = CostCache(path)
    assert cache.usable
    assert cache._db is not None
    cache._db.execute("DROP TABLE costs")  # what a damaged file looks like to a query
    assert cache.get("q2-angle-cx-linear-ry", "fake_fez", 1, 0) is None
    assert not cache.usable


def test_default_cache_path() -> None:
    assert default_cache_path({"FAQNAS_CACHE": "/x/m.db", "XDG_CACHE_HOME": "/c"}) == Path(
        "/x/m.db"
    )
    assert default_cache_path({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path(
        "/c/faqnas/metrics.db"
    )
    # a relative XDG_CACHE_HOME is invalid by the XDG spec and ignored
    assert default_cache_path({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.cache/faqnas/metrics.db"
    )
    assert default_cache_path({"HOME": "/h"}) == Path("/h/.cache/faqnas/metrics.db")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("fake_fez", "fake_fez"), ("FakeFez", "fake_fez"), ("fake-Torino", "fake_torino")],
)
def test_canonical_target_names_match_loaded_ones(given: str, expected: str) -> None:
    assert canonical_target_name(given) == expected == TargetInfo.load(given).name
    assert canonical_target_name("AER") == AER_TARGET


def _entry(key: str, size: int) -> CostEntry:
    return CostEntry(
        genome=key,
        target="fake_fez",
        optimization_level=1,
        seed_transpiler=0,
        quantum_flops=100,
        params_quantum=2,
        params_quantum_effective=2,
        ops={"cz": 1, "rz": size - 1},
        size=size,
        depth=size,
        two_qubit_gates=1,
        two_qubit_depth=1,
        duration_s=1e-6,
        init_s=0.0,
        measure_s=1e-6,
        rep_delay_s=250e-6,
        rep_delay_range_s=(0.0, 5e-4),
    )


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    keys = [g.key for g in SearchSpace(qubits=(2, 3, 4), depths=(1, 2)).networks()]
    errors: list[BaseException] = []

    def writer(part: int) -> None:
        try:
            with CostCache(path) as cache:
                for i, key in enumerate(keys):
                    if i % 4 == part:
                        cache.put(_entry(key, 2 + i % 5))
                    cache.get(keys[(i * 7) % len(keys)], "fake_fez", 1, 0)
                assert cache.usable
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(part,)) for part in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with CostCache(path) as cache:
        assert cache.keys("fake_fez", 1, 0) == set(keys)
        assert cache.integrity_check() == "ok"
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_entries_validate_themselves() -> None:
    from faqnas_qiskit.errors import ConfigError

    good = _entry("q2-angle-cx-linear-ry", 3)
    for bad in (
        {"ops": {"cz": 1}},  # does not add up to size
        {"params_quantum_effective": 3},  # more effective than all
        {"duration_s": float("nan")},
        {"rep_delay_range_s": (1.0, 0.5)},
        {"optimization_level": 4},
    ):
        with pytest.raises(ConfigError, match="must be"):
            CostEntry(**{**good.__dict__, **bad})


def test_the_formula_check_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.db"
    genome = Genome.parse("q2-angle-cx-linear-ry")
    with CostCache(path) as cache:
        MetricsCache(persistent=cache).metrics(genome, **WIDTHS, **BUDGET)
        assert cache.formula_check(4, 3) is True
    import faqnas_qiskit.metrics.architecture as architecture

    def fail(*args: object) -> bool:
        raise AssertionError("the stored outcome should have been used")

    monkeypatch.setattr(architecture, "flops_formulas_hold", fail)
    with CostCache(path) as cache:
        MetricsCache(persistent=cache).metrics(genome, **WIDTHS, **BUDGET)


def test_a_search_reads_the_machine_cache_and_gets_the_same_metrics(tmp_path: Path) -> None:
    from faqnas_qiskit.data import load_dataset
    from faqnas_qiskit.search import SearchConfig, search_metrics

    config = SearchConfig(dataset="iris", seed=0)
    data = load_dataset("iris", seed=0)
    genomes = [Genome.parse(t) for t in ("q2-angle-cx-linear-ry", "q5-amplitude-cz-circular-rx")]
    plain, plain_settings = search_metrics(config, data)
    expected = [plain(g) for g in genomes]
    for _ in range(2):  # cold, then warm from the file in a new cache object
        with CostCache(tmp_path / "m.db") as cache:
            compute, settings = search_metrics(config, data, cache=MetricsCache(persistent=cache))
            assert settings == plain_settings  # the per-store cache key does not change
            assert [compute(g) for g in genomes] == expected
            assert cache.keys("fake_fez", 1, 0) == {g.key for g in genomes}
