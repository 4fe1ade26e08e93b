"""Hostile input and a hostile world: no stale results, no tracebacks, no runaway inputs.

The bad-input suite is generated from the declared option bounds (``OPTION_BOUNDS``): every
numeric option of every subcommand gets values just outside its range and non-finite ones,
and each must give one line on stderr naming the option, the value and a fix, exit status 2,
and leave the store's bytes unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from faqnas_qiskit.cli import build_parser, main
from faqnas_qiskit.limits import OPTION_BOUNDS, Bound
from faqnas_qiskit.store import ResultsStore
from tests.stores import count_evaluations

TINY = [
    "--qubits", "2", "--depth", "1", "--embedding", "angle", "--population", "3",
    "--generations", "1", "--epochs", "1",
]  # fmt: skip

# the smallest valid command line of each subcommand that has numeric options
BASE = {
    "evaluate": ["evaluate", "--genome", "q2-angle-cx-linear-ry", "--no-metrics"],
    "inspect": ["inspect", "--genome", "q2-angle-cx-linear-ry"],
    "search": ["search", *TINY],
    "hardware": ["hardware", "rnothing1", "--backend", "fake_fez", "--dry-run"],
    "atlas": [
        "atlas", "--qubits", "2", "--depth", "1", "--embedding", "angle", "--entangler", "cx",
        "--topology", "linear", "--rotations", "ry",
    ],
}  # fmt: skip
# where each command keeps what it writes: that file's bytes must not change
WRITES = {"search": "--store", "hardware": "--store", "atlas": "--cache"}


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _options(command: str) -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest for a in action.choices[command]._actions}
    return set()


def _bad_values(bound: Bound) -> list[str]:
    below = bound.low if bound.low_open else bound.low - (1 if bound.integer else 0.5)
    above = bound.high + 1 if bound.integer else bound.high * 2 + 1
    values = [below, above]
    if bound.integer:
        values.append(2**63)  # past SQLite's INTEGER
    else:
        values += [float("nan"), float("inf")]
    return [str(int(v)) if bound.integer else repr(float(v)) for v in values]


NUMERIC = [
    (command, bound, value)
    for command in BASE
    for bound in OPTION_BOUNDS
    if bound.dest in _options(command)
    for value in _bad_values(bound)
]
CASES = [pytest.param(c, b, v, id=f"{c}--{b.option}={v}") for c, b, v in NUMERIC]


def test_every_numeric_option_of_every_command_is_bounded() -> None:
    parser = build_parser()
    declared = {b.dest for b in OPTION_BOUNDS}
    covered = {(command, bound.dest) for command, bound, _ in NUMERIC}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for option in sub._actions:
                    if option.type in (int, float):
                        assert option.dest in declared, f"{name} --{option.dest}"
                        assert (name, option.dest) in covered, f"{name} --{option.dest}"


@pytest.mark.parametrize(("command", "bound", "value"), CASES)
def test_out_of_range_option_is_one_line_exit_2_and_store_untouched(
    command: str, bound: Bound, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()  # what seeding the store printed
    before = _digest(store)
    argv = [*BASE[command], f"--{bound.option}", value]
    if command in WRITES:
        argv += [WRITES[command], str(store)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"'{bound.option}'" in err and "Got" in err and "Pass" in err
    assert _digest(store) == before


# ---------------------------------------------------------------------- options that take words
# The bad values of every option that takes words, as data: (value, what the one line must
# contain). Every such option also gets the empty value (and the line must name the option). An
# option missing here fails test_every_option_that_takes_words_is_declared: a new option declares
# its bad values (an empty tuple where any non-empty word is valid, e.g. a folder to write to).
WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (("", "Got ''"), ("rnosuch", "'rnosuch'")),  # the positional RUN
    "genome": (
        ("q٣-angle-cx-linear-ry", "qubits part"),
        ("q4-angle-cx-linear-" + "ry." * 40_000 + "ry", "characters"),
        ("q4-angle-cz-circular-ry.rq", "rotations part"),
    ),
    "dataset": (("nosuch", "'dataset'"), ("csv:/nonexistent.csv", "nonexistent.csv")),
    "data-dir": (("/nonexistent-dir", "'data-dir'"),),
    "target": (("nosuch", "'target'"),),  # iris has no columns to name
    "engine": (("gpu", "'engine'"),),
    "device": (("tpu", "'device'"),),
    "ibm-target": (("fake_nowhere", "'ibm-target'"),),
    "cache": (),  # any file path: a new cache is made there
    "store": (("newdir/", "not a folder"), ("/dev/null", "regular file")),
    "resume": (("rnosuch", "'rnosuch'"),),
    "objectives": (("flops", "'objectives'"), ("flops,error,flops", "'objectives'")),
    "strategy": (("genetic", "'strategy'"),),
    "qubits": (("٣", "'qubits'"), ("1-3", "'qubits'"), ("99999999999999999999", "'qubits'")),
    "depth": (("5", "'depth'"),),
    "embedding": (("basis", "'embedding'"),),
    "entangler": (("cy", "'entangler'"),),
    "topology": (("star", "'topology'"),),
    "rotations": (("rq", "'rotations'"),),
    "scheduler": (("bad::addr", "'scheduler'"), ("nonsense://host:1", "'scheduler'")),
    "compare": (("rnosuch", "'rnosuch'"),),
    "out": (),  # any folder name
    "backend": (("nosuch", "'backend'"),),
    "account": (),  # needs an IBM profile: test_a_saved_account_named_must_exist
}

WORD_BASE = {  # RUN: the seeded store's run
    **BASE,
    "evaluate": ["evaluate", "--genome", "q2-angle-cx-linear-ry", "--epochs", "1"],  # metrics on
    "hardware": ["hardware", "RUN", "--backend", "fake_fez", "--dry-run"],
    "runs": ["runs"],
    "front": ["front", "RUN"],
    "report": ["report", "RUN"],
}


def _word_options(command: str) -> list[argparse.Action]:
    """The options of ``command`` that take words (not numbers, not flags, not --help)."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [
                a
                for a in action.choices[command]._actions
                if a.nargs != 0 and a.type is None and a.dest != "help"
            ]
    return []


def _name(action: argparse.Action) -> str:
    return max(action.option_strings, key=len).lstrip("-") if action.option_strings else action.dest


WORD_CASES = [
    pytest.param(command, action, value, needle, id=f"{command}-{_name(action)}={value[:24]!r}")
    for command in WORD_BASE
    for action in _word_options(command)
    for value, needle in (
        ()
        if not action.option_strings
        else (("", f"'{_name(action)}'"), (" ", f"'{_name(action)}'"))
    )
    + WORDS.get(_name(action), ())
]


def test_every_option_that_takes_words_is_declared() -> None:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            assert set(action.choices) - set(WORD_BASE) == {"backends"}  # it takes no words
            for name in action.choices:
                for option in _word_options(name):
                    assert _name(option) in WORDS, f"{name} {_name(option)}: declare its bad words"


@pytest.mark.parametrize(("command", "action", "value", "needle"), WORD_CASES)
def test_bad_word_is_one_line_exit_2_and_store_untouched(
    command: str,
    action: argparse.Action,
    value: str,
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a default (./faqnas.db, faqnas-report-RUN) would land here
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()  # what seeding the store printed
    before = _digest(store)
    with ResultsStore(store) as db:
        (run,) = db.list_runs()
    argv = [run.id if word == "RUN" else word for word in WORD_BASE[command]]
    if not action.option_strings:  # the positional RUN
        argv[1] = value
    else:
        argv += [max(action.option_strings, key=len), value]
    if command in ("search", "hardware", "runs", "front", "report") and action.dest != "store":
        argv += ["--store", str(store)]
    if command in ("atlas", "evaluate", "inspect", "search") and action.dest != "cache":
        argv += ["--cache", str(tmp_path / "cache.db")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) < 1000, err
    assert needle in err and "Got" in err, err
    assert _digest(store) == before
    made = {p.name for p in tmp_path.iterdir() if not p.name.startswith("cache.db")}
    assert made == {"s.db"}  # no store, report or folder made (the metrics cache may be)


@pytest.mark.parametrize("command", ["search", "atlas"])
@pytest.mark.parametrize("address", ["bad::addr", "tcp://host", "nonsense://host:1"])
def test_a_malformed_scheduler_address_never_reaches_dask(
    command: str,
    address: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # distributed.Client given such an address raises, then its __del__ prints a traceback
    # ten seconds later, after our one line: the address is refused before any Client exists
    import distributed

    made: list[str] = []
    monkeypatch.setattr(distributed, "Client", lambda address, **_: made.append(address))
    argv = [*BASE[command], "--scheduler", address, "--cache", str(tmp_path / "c.db")]
    code = main([*argv, "--store", str(tmp_path / "s.db")] if command == "search" else argv)
    err = capsys.readouterr().err
    assert code == 2 and "'scheduler'" in err and err.count("\n") == 1, err
    assert made == []
    assert not (tmp_path / "s.db").exists()


_SEEDED: list[str] = []


def _seeded_store() -> str:
    """A store with one finished run, built once per session (copied by each test)."""
    if not _SEEDED:
        import tempfile

        path = Path(tempfile.mkdtemp()) / "seed.db"
        assert main(["search", *TINY, "--store", str(path), "--json"]) == 0
        _SEEDED.append(str(path))
    return _SEEDED[0]


# --------------------------------------------------------------------------- stale results
def _write_csv(path: Path, rows: int, classes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = rng.integers(0, classes, size=rows)
    path.write_text(
        "a,b,c,y\n" + "".join(f"{r[0]},{r[1]},{r[2]},c{k}\n" for r, k in zip(x, y, strict=True))
    )


def test_a_replaced_csv_is_trained_again_and_a_run_checks_its_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data.csv"
    store = tmp_path / "s.db"
    _write_csv(data, 60, 3, seed=0)
    monkeypatch.chdir(tmp_path)
    argv = ["search", "--dataset", "csv:data.csv", "--target", "y", *TINY, "--store", "s.db"]
    assert main([*argv, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    _write_csv(data, 90, 2, seed=1)  # other data under the same (relative) path
    assert main([*argv, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["trained"] == second["candidates"] > 0  # no stale cache hit
    assert first["front"] != second["front"]
    with ResultsStore(store) as db:
        configs = [r.config for r in db.list_runs()]
    assert all(Path(c["dataset"][len("csv:") :]).is_absolute() for c in configs)
    # resuming the first run from elsewhere finds the file, sees it changed, says so
    monkeypatch.chdir("/")
    before = _digest(store)
    code = main(["search", "--resume", first["run"], "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2 and "changed" in err and err.count("\n") == 1
    assert _digest(store) == before


# -------------------------------------------------------------------------------- stores
@pytest.mark.parametrize(
    ("store", "needle"),
    [("", "'store'"), ("newdir/", "not a folder"), ("/dev/null", "regular file")],
)
def test_store_paths_that_cannot_hold_a_database(
    store: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    code = main(["search", *TINY, "--store", store])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not (tmp_path / "newdir").exists() and not (tmp_path / "faqnas.db").exists()


def test_a_damaged_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()  # what seeding the store printed
    with ResultsStore(store) as db:
        (run,) = db.list_runs()
    raw = bytearray(store.read_bytes())
    page = 4096
    for offset in range(page, len(raw), page):  # every page but the header: garbage
        raw[offset : offset + 64] = b"\xff" * 64
    store.write_bytes(bytes(raw))
    for argv in (["front", run.id], ["runs"], ["search", "--resume", run.id]):
        code = main([*argv, "--store", str(store)])
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err


def test_a_run_whose_process_died_reads_as_interrupted(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with ResultsStore(tmp_path / "s.db") as db:
        run_id = db.create_run(dataset="iris", seed=0, config={}, versions={})
        assert db.get_run(run_id).status == "running"  # this process owns it
        db._db.execute("UPDATE run_owners SET pid = ?", (dead.pid,))
        assert db.get_run(run_id).status == "interrupted"
        assert [r.status for r in db.list_runs()] == ["interrupted"]


# ------------------------------------------------------------------------ real processes
LONGER = [
    "--qubits", "2-4", "--depth", "1-2", "--population", "6", "--generations", "4",
    "--epochs", "3", "--stagnation", "9",
]  # fmt: skip


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "faqnas_qiskit", "search", *LONGER, "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while count_evaluations(store) < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "--resume r" in err and "Traceback" not in err
    con = sqlite3.connect(store)
    (status,) = con.execute("SELECT status FROM runs").fetchone()
    con.close()
    assert status == "interrupted"


@pytest.mark.slow
def test_a_closed_pipe_does_not_stop_the_search(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "faqnas_qiskit", "search", *LONGER, "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # like `| head -1`
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    con = sqlite3.connect(store)
    (status,) = con.execute("SELECT status FROM runs").fetchone()
    (generations,) = con.execute("SELECT count(*) FROM generations").fetchone()
    con.close()
    assert status == "finished" and generations == 4


# --------------------------------------------------------------------------------- words
def test_report_without_matplotlib_writes_everything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()  # what seeding the store printed
    with ResultsStore(store) as db:
        (run,) = db.list_runs()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    out = tmp_path / "report"
    assert main(["report", run.id, "--store", str(store), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "faqnas-qiskit[plots]" in said
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "report.md", "front.csv", "front.json"} <= names
    assert not any(n.endswith(".png") for n in names)
    md = (out / "report.md").read_text()
    assert "pip install 'faqnas-qiskit[plots]'" in md  # as it can be copied, not &#x27;


def test_report_markdown_escapes_html_from_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "<img src=x onerror=alert(1)>.csv"
    _write_csv(data, 60, 3, seed=2)
    store = str(tmp_path / "s.db")
    argv = ["search", "--dataset", f"csv:{data}", "--target", "y", *TINY, "--store", store]
    assert main([*argv, "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run"]
    assert main(["report", run_id, "--store", store, "--out", str(tmp_path / "r")]) == 0
    md = (tmp_path / "r" / "report.md").read_text()
    assert "<img" not in md and "&lt;img" in md
    assert "&#x27;" not in md and "&quot;" not in md  # quotes need no escaping in Markdown


def test_inspect_target_is_the_csv_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "t.csv"
    _write_csv(data, 60, 3, seed=3)
    argv = ["inspect", "--genome", "q2-angle-cx-linear-ry", "--dataset", f"csv:{data}"]
    assert main([*argv, "--target", "y", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_classes"] == 3
    assert main([*argv, "--target", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "nosuch" in err and err.count("\n") == 1


def test_resume_refuses_options_that_contradict_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()  # what seeding the store printed
    with ResultsStore(store) as db:
        (run,) = db.list_runs()
    before = _digest(store)
    code = main(
        ["search", "--resume", run.id, "--epochs", "9", "--seed", "4", "--store", str(store)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--epochs" in err and "--seed" in err and err.count("\n") == 1
    assert _digest(store) == before
    # the run's own values, and where it runs, are fine
    assert main(["search", "--resume", run.id, "--epochs", "1", "--threads", "1", "--store",
                 str(store), "--json"]) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["evaluate", "--genome", "q٣-angle-cx-linear-ry"], "qubits part"),
        (["search", "--qubits", "٣"], "'qubits'"),
        (["search", "--dataset", ""], "'dataset'"),
        (["search", "--strategy", "genetic"], "Pass --strategy"),
        (["search", "--population", "1"], "Pass --population"),
        (["evaluate", "--genome", "q4-angle-cx-linear-" + "ry." * 40_000 + "ry"], "characters"),
    ],
)
def test_bad_words(
    argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--store", str(tmp_path / "s.db")] if argv[0] == "search" else ["--no-metrics"]
    code = main([*argv, *extra])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1 and len(err) < 600
    assert not (tmp_path / "s.db").exists()


def test_unknown_flag_points_to_the_subcommands_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--nosuch"]) == 2
    err = capsys.readouterr().err
    assert "faqnas search --help" in err and err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.parametrize("delay", [1.0, 3.0, 5.0])
def test_ctrl_c_while_local_workers_start_is_one_line(delay: float, tmp_path: Path) -> None:
    # a signal during the interpreter's own start-up (before any of our code runs) kills any
    # Python program; warm the module caches first so the delay falls in the command's own work
    subprocess.run(
        [sys.executable, "-c", "import faqnas_qiskit.cli, torch, qiskit, distributed"], check=True
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "faqnas_qiskit", "search", *LONGER, "--workers", "2",
         "--store", str(tmp_path / "s.db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # finished before the signal: nothing to check
        return
    assert proc.returncode == 130
    assert len(err.strip().splitlines()) == 1, err


def test_a_saved_account_named_must_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no saved accounts here
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()
    with ResultsStore(store) as db:
        (run,) = db.list_runs()
    argv = ["hardware", run.id, "--backend", "ibm_fez", "--dry-run", "--store", str(store)]
    assert main([*argv, "--account", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "'nosuch'" in err and "'account'" in err and err.count("\n") == 1


def test_a_token_without_network_is_one_line_that_names_the_network(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    import qiskit_ibm_runtime

    class Offline:  # what QiskitRuntimeService does without a network: warn, then fail
        def __init__(self, **_: object) -> None:
            logging.getLogger("qiskit_ibm_runtime.qiskit_runtime_service").warning(
                "Loading account with the given token. A saved account will not be used."
            )
            raise ConnectionError("Max retries exceeded: Temporary failure in name resolution")

    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", Offline)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "planted-token-5f3a")
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()
    with ResultsStore(store) as db:
        (run,) = db.list_runs()
    before = _digest(store)
    code = main(["hardware", run.id, "--backend", "ibm_fez", "--dry-run", "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "network" in err and "planted-token-5f3a" not in err
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert _digest(store) == before


def test_profile_limits_are_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "huge.toml"
    profile.write_text('adapter = "fake"\nbackend = "fake_fez"\n[limits]\nmax_qubits = 100000\n')
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()
    with ResultsStore(store) as db:
        (run,) = db.list_runs()
    code = main(["hardware", run.id, "--backend", str(profile), "--dry-run", "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2 and "max_qubits" in err and "100000" in err and err.count("\n") == 1


def test_a_read_only_store_says_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # as root the sandbox writes read-only files anyway: the OS's answer is simulated
    store = tmp_path / "s.db"
    store.write_bytes(Path(_seeded_store()).read_bytes())
    capsys.readouterr()
    before = _digest(store)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if mode == os.W_OK else real_access(path, mode)
    )
    for argv in (["runs"], ["search", *TINY]):
        code = main([*argv, "--store", str(store)])
        err = capsys.readouterr().err
        assert code == 2 and "read-only" in err and err.count("\n") == 1
        assert "not a database" not in err
    assert _digest(store) == before
