"""The metrics side process: same values as in-process, never fatal, deaf to Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faqnas_qiskit.metrics import (
    BackgroundMetrics,
    CostCache,
    MetricsCache,
    MetricsRecipe,
    MetricsSettings,
    metrics_function,
)
from faqnas_qiskit.space import Genome

GENOMES = [
    Genome.parse(key)
    for key in (
        "q2-angle-cx-linear-ry",
        "q3-amplitude-cz-circular-rx.ry",
        "q4-angle-cz-circular-rz.ry",
        "q5-amplitude-cx-linear-ry.rz.rx",
        "q6-angle-cx-linear-rx",
    )
]
SETTINGS = {"n_features": 4, "n_classes": 3, "n_train": 90, "epochs": 5, "samples": 30}


def test_recipe_rebuilds_an_equal_function(tmp_path: Path) -> None:
    cache = CostCache(tmp_path / "m.db", versions={"qiskit": "9.9", "qiskit-ibm-runtime": "1"})
    function = metrics_function(**SETTINGS, cache=MetricsCache(persistent=cache))
    recipe = function.recipe
    assert recipe.cache_path == str(tmp_path / "m.db")
    assert dict(recipe.cache_versions or ()) == dict(cache.versions)  # a simulated upgrade stays
    rebuilt = recipe.build()
    assert rebuilt.settings == function.settings and rebuilt.transpile
    assert rebuilt.cache.persistent is not None
    assert dict(rebuilt.cache.persistent.versions) == dict(cache.versions)
    no_cache = metrics_function(**SETTINGS, transpile=False).recipe
    assert no_cache.cache_path is None and not no_cache.transpile


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [False, True])
def test_side_process_values_equal_in_process_values(tmp_path: Path, persistent: bool) -> None:
    """Reference: a fresh in-process MetricsCache with no persistent cache."""
    reference = metrics_function(**SETTINGS, cache=MetricsCache())
    expected = {g.key: reference(g) for g in GENOMES}
    cache = MetricsCache(persistent=CostCache(tmp_path / "m.db")) if persistent else None
    side = BackgroundMetrics(metrics_function(**SETTINGS, cache=cache).recipe)
    try:
        side.submit(GENOMES[:3])
        side.submit(GENOMES)  # those asked for already are not asked again
        assert side.wait(180.0), side.problem
        got = {g.key: side.result(g) for g in GENOMES}
        assert side.result(GENOMES[0]) is None  # taken once
    finally:
        side.close()
    assert got == expected
    if persistent:  # the side process filled the machine's cache
        with CostCache(tmp_path / "m.db") as filled:
            assert {g.key for g in GENOMES} <= filled.keys("fake_fez", 1, 0)


@pytest.mark.slow
def test_killed_side_process_turns_off_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    side = BackgroundMetrics(metrics_function(**SETTINGS).recipe)
    try:
        side.submit(GENOMES[:1])
        assert side.wait(180.0), side.problem
        pid = side.pid
        assert pid is not None
        with caplog.at_level(logging.WARNING):
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while side.usable and time.monotonic() < deadline:
                assert side.result(GENOMES[1]) is None
                time.sleep(0.05)
            assert side.result(GENOMES[0]) is None  # dropped with the process
            side.submit(GENOMES[1:])  # ignored once turned off
            assert side.pid is None
    finally:
        side.close()
    assert not side.usable
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "exited" in warnings[0], warnings


@pytest.mark.slow
def test_side_process_ignores_ctrl_c_and_yields_the_cpu() -> None:
    """Ctrl-C reaches every process of the terminal's group; the caller alone handles it. The
    side process runs 10 nice steps below the caller, on what training leaves of the CPU."""
    settings = MetricsSettings(n_features=4, n_classes=3, n_train=90, epochs=5)
    side = BackgroundMetrics(MetricsRecipe(settings=settings, transpile=False))
    try:
        side.submit(GENOMES[:1])
        pid = side.pid
        assert pid is not None
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, ours + 10)
        os.kill(pid, signal.SIGINT)  # while it starts up (imports)
        assert side.wait(180.0), side.problem
        os.kill(pid, signal.SIGINT)  # while it waits for work
        side.submit(GENOMES[1:2])
        assert side.wait(60.0), side.problem
        assert side.result(GENOMES[1]) is not None
    finally:
        side.close()


@pytest.mark.slow
def test_ctrl_c_while_the_side_process_starts_is_raised_once_it_has_started(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Interrupted half-way, a child reads a truncated start-up message and prints a traceback;
    the interrupt is held until the child has started, then raised (and close() stops it)."""
    from multiprocessing.context import SpawnProcess

    original = SpawnProcess.start

    def ctrl_c_then_start(self: SpawnProcess) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C as the child starts
        original(self)

    monkeypatch.setattr(SpawnProcess, "start", ctrl_c_then_start)
    settings = MetricsSettings(n_features=4, n_classes=3, n_train=90, epochs=5)
    side = BackgroundMetrics(MetricsRecipe(settings=settings, transpile=False))
    with pytest.raises(KeyboardInterrupt):
        side.submit(GENOMES[:1])
    pid = side.pid
    assert pid is not None  # it did start, and is known, so that close() stops it
    side.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert "Traceback" not in capfd.readouterr().err


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_side_process_exits_when_its_parent_is_killed_while_it_starts(tmp_path: Path) -> None:
    """kill -9 of the caller during the side process's imports: it must not live on."""
    script = (
        "import sys\n"
        "from faqnas_qiskit.metrics import BackgroundMetrics, MetricsRecipe, MetricsSettings\n"
        "from faqnas_qiskit.space import Genome\n"
        "settings = MetricsSettings(n_features=4, n_classes=3, n_train=90, epochs=5)\n"
        "side = BackgroundMetrics(MetricsRecipe(settings=settings, transpile=False))\n"
        "side.submit([Genome.parse('q2-angle-cx-linear-ry')])\n"
        "print(side.pid, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert caller.stdout is not None
    pid = int(caller.stdout.readline())
    caller.kill()  # at once: the side process is still importing qiskit and torch
    caller.wait()
    try:
        deadline = time.monotonic() + 60
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(pid)
    finally:
        if _running(pid):  # this test started it: do not leave it behind
            os.kill(pid, signal.SIGKILL)


def test_cached_metrics_are_a_lookup_or_nothing(tmp_path: Path) -> None:
    """``MetricsFunction.cached``: None for a network the cost cache lacks (nothing computed),
    the same values as a fresh computation once its rows are there."""
    from faqnas_qiskit.metrics import fill_atlas

    genome = GENOMES[1]
    with CostCache(tmp_path / "m.db") as rows:
        function = metrics_function(**SETTINGS, cache=MetricsCache(persistent=rows))
        assert function.cached(genome) is None
        assert not rows.keys("fake_fez", 1, 0)  # a miss computes nothing
        fill_atlas([genome], rows, target="fake_fez")
        found = function.cached(genome)
    assert found == metrics_function(**SETTINGS, cache=MetricsCache())(genome)
    assert metrics_function(**SETTINGS).cached(genome) is None  # no persistent cache
    flops_only = metrics_function(**SETTINGS, transpile=False)
    assert flops_only.cached(genome) == flops_only(genome)
