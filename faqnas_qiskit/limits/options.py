"""The declared constraints of the options of ``faqnas`` (and of a few Python parameters).

:data:`OPTION_BOUNDS` holds the ranges of the numeric options, :data:`OPTION_CHOICES` the words
of the options that take one of a fixed set; :data:`CONSTRAINTS` has both by option name.
"""

from __future__ import annotations

from faqnas_qiskit.limits.constraints import Bound, Choice, Constraint

__all__ = [
    "CONSTRAINTS",
    "MAX_REPEATS",
    "MAX_SEED",
    "MAX_SHOTS",
    "OPTION_BOUNDS",
    "OPTION_CHOICES",
]

MAX_REPEATS = 32
"""Most repeats of one candidate (``--repeats``): the replicas train as one computation in
memory, and 32 repeats already narrow the 95% interval to ±0.36 standard deviations."""

MAX_SEED = 2**63 - 1
"""Largest seed: seeds are stored as SQLite INTEGERs (signed 64-bit)."""

MAX_SHOTS = 1_000_000
"""Most shots per circuit a backend profile (and a re-evaluation) may ask for."""


OPTION_BOUNDS: tuple[Bound, ...] = (
    Bound("epochs", True, 1, 100_000, "Pass e.g. --epochs 5 (the paper's).", cap=True),
    Bound("lr", False, 0, 10, "Pass e.g. --lr 0.003 (the paper's).", low_open=True, cap=True),
    Bound("batch-size", True, 1, 1_000_000, "Pass e.g. --batch-size 64.", cap=True),
    Bound("seed", True, 0, MAX_SEED, "Pass e.g. --seed 0."),
    Bound(
        "threads",
        True,
        1,
        256,
        "Pass --threads 1 (the default) or up to your core count.",
        cap=True,
    ),
    Bound("repeats", True, 1, MAX_REPEATS, "Pass e.g. --repeats 5 (1 is the paper's)."),
    Bound(
        "max-train", True, 1, 100_000_000, "Pass e.g. --max-train 5000, or leave it out.", cap=True
    ),
    Bound("population", True, 1, 10_000, "Pass e.g. --population 20 (the paper's).", cap=True),
    Bound("generations", True, 1, 10_000, "Pass e.g. --generations 8 (the paper's).", cap=True),
    Bound("stagnation", True, 1, 10_000, "Pass e.g. --stagnation 2.", cap=True),
    Bound("budget", True, 1, 1_000_000, "Pass e.g. --budget 50, or leave it out.", cap=True),
    Bound("crossover-prob", False, 0, 1, "Pass a probability, e.g. --crossover-prob 0.8."),
    Bound("mutation-prob", False, 0, 1, "Pass a probability, e.g. --mutation-prob 0.2."),
    Bound("shots", True, 1, 10_000_000, "Pass e.g. --shots 1024.", cap=True),
    Bound("workers", True, 1, 1024, "Pass e.g. --workers 2 (one per core).", cap=True),
    Bound(
        "features", True, 1, 100_000, "Pass the dataset's input width, e.g. --features 4.", cap=True
    ),
    Bound("classes", True, 2, 100_000, "Pass the number of classes, e.g. --classes 3.", cap=True),
    Bound("train-samples", True, 1, 100_000_000, "Pass e.g. --train-samples 90.", cap=True),
    Bound("samples", True, 1, 10_000_000, "Pass e.g. --samples 30, or leave it out.", cap=True),
    Bound("measurement-bases", True, 1, 1000, "The Z readout needs 1.", cap=True),
    Bound("chunk", True, 1, 1_000_000, "Pass e.g. chunk=4 (the default).", cap=True),
    Bound("optimization-level", True, 0, 3, "Pass 0, 1 (the default), 2 or 3."),
    Bound("seed-transpiler", True, 0, 2**31 - 1, "Pass e.g. --seed-transpiler 0.", cap=True),
    Bound(
        "max-qpu-seconds",
        False,
        0,
        1e9,
        "Pass a budget in seconds, e.g. 60.",
        low_open=True,
        cap=True,
    ),
    Bound(
        "threads-per-worker",
        True,
        1,
        256,
        "Pass e.g. threads_per_worker=1 (one candidate per worker at a time).",
        cap=True,
    ),
    Bound("retries", True, 0, 1000, "Pass e.g. retries=3 (the default), or 0.", cap=True),
    Bound(
        "wait-for-workers",
        False,
        0,
        1e9,
        "Pass seconds to wait, e.g. wait_for_workers=60.",
        low_open=True,
        cap=True,
    ),
    Bound(
        "timeout",
        False,
        0,
        1e9,
        "Pass seconds to wait, e.g. --timeout 600.",
        low_open=True,
        cap=True,
    ),
)
"""Every numeric option of ``faqnas`` (an option a command does not have is skipped), and the
few numeric parameters of the Python API that no option sets (``threads-per-worker``,
``retries`` and ``wait-for-workers`` of ``DaskEvaluator``, ``measurement-bases`` of the QPU-time
model, ``chunk`` of the atlas fill)."""

OPTION_CHOICES: tuple[Choice, ...] = (
    Choice(
        "strategy",
        ("nsga2", "surrogate", "random", "exhaustive"),
        "Pass --strategy nsga2 (the paper's, the default), surrogate, random or exhaustive.",
    ),
    Choice("engine", ("statevector", "aer"), "Use --engine statevector or --engine aer."),
    Choice("device", ("cpu", "cuda", "auto"), "Use --device cpu, cuda or auto."),
)
"""Every option of ``faqnas`` that takes one of a fixed set of words."""

_DECLARED: tuple[Constraint, ...] = (*OPTION_BOUNDS, *OPTION_CHOICES)
CONSTRAINTS: dict[str, Constraint] = {c.option: c for c in _DECLARED}
"""Every declared constraint by its option name (``batch-size``, ``strategy``)."""
