"""The declared constraints: one validator, one message shape, the records check through it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.engines import ENGINES
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.evaluation.config import DEVICES
from faqnas_qiskit.limits import (
    CONSTRAINTS,
    OPTION_BOUNDS,
    OPTION_CHOICES,
    Bound,
    Choice,
    check,
    words,
)
from faqnas_qiskit.search.config import STRATEGIES, SearchConfig


def test_every_constraint_is_declared_once_with_a_fix() -> None:
    declared: list[Bound | Choice] = [*OPTION_BOUNDS, *OPTION_CHOICES]
    names = [c.option for c in declared]
    assert len(names) == len(set(names)) == len(CONSTRAINTS)
    assert all(c.fix.endswith(".") for c in CONSTRAINTS.values())


def test_the_word_sets_are_the_tables() -> None:
    assert STRATEGIES == words("strategy") == ("nsga2", "surrogate", "random", "exhaustive")
    assert ENGINES == words("engine") == ("statevector", "aer")
    assert DEVICES == words("device") == ("cpu", "cuda", "auto")
    with pytest.raises(KeyError):
        words("epochs")


@pytest.mark.parametrize("bound", OPTION_BOUNDS, ids=lambda b: b.option)
def test_the_validator_writes_rule_value_and_fix(bound: Bound) -> None:
    with pytest.raises(ConfigError) as info:
        check(bound.option, "x")
    message = str(info.value)
    assert message.startswith(f"The '{bound.option}' option must be ")
    assert "Got 'x' instead." in message and message.endswith(bound.fix)


def test_a_cap_binds_the_command_line_not_the_library() -> None:
    check("lr", 1e30)  # a diverging training is the caller's to ask for
    with pytest.raises(ConfigError, match="at most 10"):
        CONSTRAINTS["lr"].check(1e30)
    with pytest.raises(ConfigError, match=r"a finite number greater than 0\. Got nan"):
        check("lr", float("nan"))
    with pytest.raises(ConfigError, match=r"from 0 to 1\. Got 1\.5"):  # a probability is no cap
        check("crossover-prob", 1.5)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: TrainingConfig(epochs=0), "'epochs' option must be an integer of at least 1"),
        (lambda: TrainingConfig(lr=-1.0), "'lr' option must be a finite number greater than 0"),
        (lambda: TrainingConfig(engine="gpu"), "'engine' option must be one of statevector, aer"),
        (lambda: SearchConfig(generations=0), "'generations' option"),
        (lambda: SearchConfig(mutation_prob=2.0), "'mutation-prob' option must be"),
        (lambda: SearchConfig(budget=0), "'budget' option"),
        (lambda: SearchConfig(seed=-1), "'seed' option"),
        (lambda: SearchConfig(strategy="anneal"), "one of nsga2, surrogate, random, exhaustive"),
    ],
)
def test_the_records_check_through_the_table(make: Callable[[], object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        make()


@pytest.mark.parametrize("choice", OPTION_CHOICES, ids=lambda c: c.option)
def test_a_word_outside_a_choice_is_one_line_exit_2(
    choice: Choice, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", "--genome", "q2-angle-cx-linear-ry", "--no-metrics"]
    if choice.option == "strategy":
        argv = ["search", "--store", "/nonexistent-dir/s.db"]
    assert main([*argv, f"--{choice.option}", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{choice.option}' option" in err
    assert "Got 'nosuch'" in err and choice.fix in err


def test_a_caller_can_tighten_a_bound_to_its_own_maximum() -> None:
    check("shots", 2_000_000)  # predicted QPU seconds of a search: no hardware limit
    with pytest.raises(ConfigError, match=r"an integer from 1 to 1000000\. Got 2000000"):
        check("shots", 2_000_000, high=1_000_000)  # a backend's most shots
    with pytest.raises(KeyError):
        check("engine", "aer", high=1)


def test_code_is_told_its_parameter_not_the_option() -> None:
    with pytest.raises(ConfigError) as info:
        check("seed-transpiler", -1, parameter="seed_transpiler")
    assert str(info.value).startswith("The 'seed_transpiler' parameter must be an integer of")
    check("seed-transpiler", 2**40, parameter="seed_transpiler")  # the CLI's cap only


def test_numpy_integers_are_the_numbers_they_are_and_big_ones_are_compared_exactly() -> None:
    import numpy as np

    from faqnas_qiskit.evaluation import TrainingConfig
    from faqnas_qiskit.limits import check
    from faqnas_qiskit.search import SearchConfig

    assert SearchConfig(seed=np.int64(3), population=np.int64(4)).seed == 3
    assert TrainingConfig(epochs=np.int32(2)).epochs == 2
    check("seed", 2**63 - 1)
    for bad in (2**63, np.uint64(2**63), np.bool_(True), True, np.float64("nan")):
        with pytest.raises(ConfigError, match="'seed' option"):
            check("seed", bad)
