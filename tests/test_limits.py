"""The declared constraints: one validator, one message shape, the records check through it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.data.splits import (
    SPLIT_PARAMETERS,
    check_split_options,
    repeat_rows,
    repeat_split,
    split_indices,
    stratified_subsample,
)
from faqnas_qiskit.engines import ENGINES
from faqnas_qiskit.errors import ConfigError, FaqnasError
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.evaluation.config import DEVICES, TRAINING_FIELDS, TRAINING_RULES
from faqnas_qiskit.hardware.errors import ProfileError
from faqnas_qiskit.hardware.profiles import (
    LIMITS_FIELDS,
    PROFILE_FIELDS,
    PROFILE_RULES,
    BackendProfile,
    Limits,
)
from faqnas_qiskit.hardware.record import (
    HARDWARE_RECORD_FIELDS,
    HARDWARE_RECORD_RULES,
    HardwareRecord,
)
from faqnas_qiskit.limits import (
    CONSTRAINTS,
    OPTION_BOUNDS,
    OPTION_CHOICES,
    Bound,
    Choice,
    Constraint,
    Counts,
    Fields,
    Instance,
    Relation,
    Text,
    check,
    check_fields,
    words,
)
from faqnas_qiskit.metrics.cost_entry import (
    COST_ENTRY_FIELDS,
    COST_ENTRY_RULES,
    CostEntry,
)
from faqnas_qiskit.metrics.flops import FLOP_COUNTS_FIELDS, FlopCounts
from faqnas_qiskit.metrics.qpu_time import QPU_TIME_PARAMETERS, predicted_qpu_seconds
from faqnas_qiskit.metrics.records import (
    ARCHITECTURE_METRICS_FIELDS,
    ArchitectureMetrics,
)
from faqnas_qiskit.metrics.transpiled import (
    TRANSPILED_FIELDS,
    TRANSPILED_RULES,
    TranspiledMetrics,
)
from faqnas_qiskit.search.config import SEARCH_FIELDS, SEARCH_RULES, STRATEGIES, SearchConfig


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


# --- records and functions: every declared field and rule generates its bad inputs -----------

TRANSPILED: dict[str, Any] = {
    "target": "fake_fez",
    "optimization_level": 1,
    "seed_transpiler": 0,
    "ops": {"cz": 1, "rz": 2},
    "size": 3,
    "depth": 3,
    "two_qubit_gates": 1,
    "two_qubit_depth": 1,
    "duration_s": 1e-6,
    "predicted_qpu_s": 2.5,
}
#: A valid instance of each record, as keyword arguments; the bad inputs change one field.
GOOD: dict[type, dict[str, Any]] = {
    HardwareRecord: {
        "run_id": "r1",
        "genome": "q2-angle-cz-linear-ry",
        "evaluation_id": 1,
        "profile": "aer",
        "adapter": "aer",
        "backend": "aer_simulator",
        "shots": 8,
        "n_samples": 3,
        "job_ids": ("j1",),
        "physical_qubits": (0, 1),
        "two_qubit_gates": 1,
        "two_qubit_depth": 1,
        "depth": 3,
        "size": 5,
        "accuracy": 0.5,
        "simulator_accuracy": 1.0,
    },
    TranspiledMetrics: TRANSPILED,
    ArchitectureMetrics: {
        "quantum_flops": 100,
        "classical_flops": 10,
        "training_flops": 1000,
        "params_quantum": 2,
        "params_classical": 5,
        "transpiled": TranspiledMetrics(**TRANSPILED),
        "aer": TranspiledMetrics(**{**TRANSPILED, "target": "aer", "duration_s": None}),
    },
    CostEntry: {
        "genome": "q2-angle-cz-linear-ry",
        "target": "fake_fez",
        "optimization_level": 1,
        "seed_transpiler": 0,
        "quantum_flops": 100,
        "params_quantum": 2,
        "params_quantum_effective": 2,
        "ops": {"cz": 1, "ry": 2},
        "size": 3,
        "depth": 3,
        "two_qubit_gates": 1,
        "two_qubit_depth": 1,
        "duration_s": 1e-6,
        "init_s": 0.0,
        "measure_s": 1e-6,
        "rep_delay_s": 2.5e-4,
        "rep_delay_range_s": (0.0, 5e-4),
    },
    BackendProfile: {
        "name": "my_heron",
        "adapter": "ibm_runtime",
        "backend": "ibm_fez",
        "snapshot": "fake_fez",
        "source": "/profiles/my_heron.toml",
    },
    FlopCounts: {"quantum": 100, "classical": 10, "training": 1000},
    SearchConfig: {},
    TrainingConfig: {},
}
#: Each record's table of fields, and the error kind it raises.
TABLES: list[tuple[type, Fields, type[FaqnasError]]] = [
    (HardwareRecord, HARDWARE_RECORD_FIELDS, FaqnasError),
    (TranspiledMetrics, TRANSPILED_FIELDS, ConfigError),
    (ArchitectureMetrics, ARCHITECTURE_METRICS_FIELDS, ConfigError),
    (CostEntry, COST_ENTRY_FIELDS, ConfigError),
    (FlopCounts, FLOP_COUNTS_FIELDS, ConfigError),
    (BackendProfile, PROFILE_FIELDS, ProfileError),
    (SearchConfig, SEARCH_FIELDS, ConfigError),
    (TrainingConfig, TRAINING_FIELDS, ConfigError),
]
RULES: list[tuple[type, tuple[Relation[Any], ...]]] = [
    (HardwareRecord, HARDWARE_RECORD_RULES),
    (TranspiledMetrics, TRANSPILED_RULES),
    (CostEntry, COST_ENTRY_RULES),
    (BackendProfile, PROFILE_RULES),
    (SearchConfig, SEARCH_RULES),
    (TrainingConfig, TRAINING_RULES),
]


def bad_values(constraint: Constraint) -> list[object]:
    """Values the declaration refuses (the library's check: a command line's cap is no rule)."""
    values: list[object] = [] if constraint.optional else [None]
    if isinstance(constraint, Bound):
        values += ["x", True, float("nan")]
        values.append(constraint.low if constraint.low_open else constraint.low - 1)
        if constraint.integer:
            values.append(constraint.low + 1.5)
        if not math.isinf(constraint.high) and not constraint.cap:
            values.append(constraint.high + 1)
    elif isinstance(constraint, Choice):
        values += ["nosuch", 3]
    elif isinstance(constraint, Text):
        one: list[object] = [3] + ([] if constraint.empty else [""])
        if constraint.pattern:
            one.append("Not A Name!")
        values += [(), "j1", *[(v,) for v in one]] if constraint.many else one
    elif isinstance(constraint, Counts):
        values += ["x", {"cz": -1}, {"cz": 1.5}, {3: 1}]
    else:
        assert isinstance(constraint, Instance)
        values += ["x", {}]
    return values


def _field_cases() -> list[Any]:
    return [
        pytest.param(kind, table, error, c, value, id=f"{kind.__name__}.{c.option}={value!r}")
        for kind, table, error in TABLES
        for c in table.constraints
        for value in bad_values(c)
    ]


@pytest.mark.parametrize(("kind", "table", "error", "constraint", "value"), _field_cases())
def test_every_declared_field_refuses_its_bad_inputs(
    kind: type, table: Fields, error: type[FaqnasError], constraint: Constraint, value: object
) -> None:
    good = GOOD[kind]
    kind(**good)  # the base is valid
    with pytest.raises(error) as info:
        kind(**{**good, constraint.dest: value})
    message = str(info.value)
    what = table.what
    if "source" in good:
        what = f"{what} of {good['source']}"
    rule = constraint.rule_of(capped=False)  # the library's rule: a command line's cap is none
    assert message.startswith(f"The '{constraint.option}' {what} must be {rule}.")
    assert " Got " in message and message.endswith(constraint.fix) and constraint.fix
    assert "\n" not in message


def _rule_cases() -> list[Any]:
    return [
        pytest.param(kind, rule, id=f"{kind.__name__}:{rule.name}:{sorted(rule.breaks)}")
        for kind, rules in RULES
        for rule in rules
        if rule.breaks
    ]


@pytest.mark.parametrize(("kind", "rule"), _rule_cases())
def test_every_declared_rule_refuses_what_breaks_it(kind: type, rule: Relation[Any]) -> None:
    good = GOOD[kind]
    with pytest.raises(FaqnasError) as info:
        kind(**{**good, **rule.breaks})
    message = str(info.value)
    what = rule.what if "source" not in good else f"{rule.what} of {good['source']}"
    assert message.startswith(f"The '{rule.name}' {what} must be ")
    assert " Got " in message and message.endswith(rule.fix) and rule.fix


def test_every_rule_but_a_guard_declares_what_breaks_it() -> None:
    unbreakable = [(kind.__name__, r.name) for kind, rules in RULES for r in rules if not r.breaks]
    # the whole space has 8,640 networks: no config can ask an exhaustive search over more
    assert unbreakable == [("SearchConfig", "strategy")]


def test_the_records_keep_their_checked_fields_plain() -> None:
    record = HardwareRecord(
        **{**GOOD[HardwareRecord], "shots": np.int64(8), "accuracy": 1, "ops": {"cz": np.int32(2)}}
    )
    assert type(record.shots) is int and type(record.accuracy) is float
    assert record.ops == {"cz": 2} and type(record.ops["cz"]) is int
    assert check_fields(HARDWARE_RECORD_FIELDS, record)["job_ids"] == ("j1",)


@pytest.mark.parametrize(
    "value", [v for v in bad_values(LIMITS_FIELDS["limits.max_qubits"]) if v is not None]
)
def test_a_profiles_limits_name_their_table(value: object) -> None:
    with pytest.raises(ProfileError, match=r"^The 'limits\.max_qubits' field of the profile"):
        Limits(max_qubits=value)  # type: ignore[arg-type]
    assert Limits(max_qpu_seconds=30).max_qpu_seconds == 30.0


_IRIS = np.repeat(np.arange(3), 10)


def _qpu_time(name: str) -> Callable[[object], object]:
    """``predicted_qpu_seconds`` with ``name`` set to the value (valid times otherwise)."""

    def call(value: object) -> object:
        times: dict[str, Any] = {"duration_s": 1e-6, name: value}
        return predicted_qpu_seconds(samples=1, shots=1, **times)

    return call


#: How each declared parameter of a function reaches it.
CALLS: dict[str, Callable[[object], object]] = {
    "seed": lambda v: split_indices(_IRIS, seed=v),  # type: ignore[arg-type]
    "max_train": lambda v: check_split_options(0, v),
    "repeat": lambda v: repeat_split(load_dataset("iris", seed=0), seed=0, repeat=v),  # type: ignore[arg-type]
    "n": lambda v: stratified_subsample(_IRIS, v, rng=np.random.default_rng(0)),  # type: ignore[arg-type]
    **{name: _qpu_time(name) for name in QPU_TIME_PARAMETERS.names},
}


def _parameter_cases() -> list[Any]:
    return [
        pytest.param(table, c, value, id=f"{table.record}.{c.option}={value!r}")
        for table in (SPLIT_PARAMETERS, QPU_TIME_PARAMETERS)
        for c in table.constraints
        for value in bad_values(c)
    ]


@pytest.mark.parametrize(("table", "constraint", "value"), _parameter_cases())
def test_every_declared_parameter_refuses_its_bad_inputs(
    table: Fields, constraint: Constraint, value: object
) -> None:
    with pytest.raises(ConfigError) as info:
        CALLS[constraint.option](value)
    message = str(info.value)
    assert message.startswith(f"The '{constraint.option}' parameter must be ")
    assert " Got " in message and message.endswith(constraint.fix) and constraint.fix


def test_a_function_can_tighten_a_declared_bound() -> None:
    with pytest.raises(ConfigError, match=r"'n' parameter must be an integer from 3 to 30\."):
        stratified_subsample(_IRIS, 2, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"'repeat' parameter must be an integer of at least 1"):
        repeat_rows(load_dataset("iris", seed=0), seed=0, repeat=0)
    assert check_split_options(np.int64(2), None) == (2, None)


def test_declarations_are_data_the_records_name() -> None:
    declared: Mapping[type, Fields] = {kind: table for kind, table, _ in TABLES}
    for kind, table in declared.items():
        fields = set(kind.__dataclass_fields__)  # type: ignore[attr-defined]
        assert {c.dest for c in table.constraints} <= fields, kind
        assert len(table.names) == len(set(table.names)), kind
