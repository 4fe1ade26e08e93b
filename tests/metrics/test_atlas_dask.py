"""``faqnas atlas --scheduler``: the atlas computed on a Dask cluster (an in-process one here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.metrics import CostCache, atlas_networks, fill_atlas
from faqnas_qiskit.space import SearchSpace

distributed = pytest.importorskip("distributed")

SUB = ["--qubits", "2", "--depth", "1", "--rotations", "ry,rz"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """One worker with two threads: chunks run concurrently in one process (thread safety)."""
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as running:
        yield running


def _strip(entry: Any) -> dict[str, Any]:
    return {**entry.to_dict(), "compute_s": 0}


def test_fill_on_a_cluster_equals_fill_in_process(tmp_path: Path, cluster: Any) -> None:
    genomes = atlas_networks(SearchSpace(qubits=(2, 3), depths=(1,), rotations=("rx", "ry")))
    with (
        CostCache(tmp_path / "here.db") as here,
        CostCache(tmp_path / "dask.db") as there,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        fill_atlas(genomes, here, target="fake_fez")
        done: list[tuple[int, int]] = []
        summary = fill_atlas(
            genomes,
            there,
            target="fake_fez",
            client=client,
            chunk=3,
            progress=lambda d, t: done.append((d, t)),
        )
        assert summary.computed == len(genomes) and done[-1] == (len(genomes), len(genomes))
        for target, level in (("fake_fez", 1), ("aer", 1)):
            assert [_strip(e) for e in here.entries(target, level, 0)] == [
                _strip(e) for e in there.entries(target, level, 0)
            ]
        again = fill_atlas(genomes, there, target="fake_fez", client=client)
        assert (again.computed, again.cached) == (0, len(genomes))


def test_atlas_command_on_a_scheduler(
    tmp_path: Path, cluster: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = str(tmp_path / "m.db")
    address = cluster.scheduler_address
    assert main(["atlas", "--cache", cache, "--scheduler", address, *SUB]) == 0
    out = capsys.readouterr().out
    assert "16 computed" in out and f"on the Dask cluster at {address}" in out
    assert main(["atlas", "--cache", cache, "--scheduler", address, *SUB, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["computed"], summary["cached"]) == (0, 16)


@pytest.mark.parametrize(
    ("scheduler", "needle"),
    [("tcp://127.0.0.1:1", "No Dask scheduler answered"), ("nonsense://x", "'scheduler' option")],
)
def test_unreachable_or_malformed_scheduler_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scheduler: str, needle: str
) -> None:
    argv = ["atlas", "--cache", str(tmp_path / "m.db"), "--scheduler", scheduler, *SUB]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with CostCache(tmp_path / "m.db") as cache:
        assert not cache.keys("fake_fez", 1, 0)  # nothing computed elsewhere


def test_workers_and_scheduler_exclude_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["atlas", "--cache", str(tmp_path / "m.db"), "--workers", "2", "--scheduler", "x", *SUB]
    assert main(argv) == 2
    assert "not allowed with" in capsys.readouterr().err
