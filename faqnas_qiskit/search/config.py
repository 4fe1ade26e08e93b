"""Search configuration (frozen, validated) and objective definitions (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from faqnas_qiskit.circuits import effective_weights, has_live_weights
from faqnas_qiskit.data import CSV_PREFIX, Dataset, load_dataset
from faqnas_qiskit.errors import ConfigError, DataError, invalid
from faqnas_qiskit.evaluation import TrainingConfig
from faqnas_qiskit.limits import CONSTRAINTS, Fields, Relation, check_fields, check_rules, words
from faqnas_qiskit.space import Genome, SearchSpace
from faqnas_qiskit.store import CostFields, EvaluationFields, TextEnum, present

__all__ = [
    "OBJECTIVES",
    "SEARCH_FIELDS",
    "SEARCH_RULES",
    "STRATEGIES",
    "WORST",
    "Objective",
    "SearchConfig",
    "objective_values",
    "parse_objectives",
]

STRATEGIES: tuple[str, ...] = words("strategy")  # declared in limits.OPTION_CHOICES


class Objective(TextEnum):
    """An objective's name, as the user types it and the run's stored config holds it."""

    FLOPS = "flops"
    TOTAL_FLOPS = "total_flops"
    ERROR = "error"
    PARAMS = "params"
    TWO_QUBIT_GATES = "2q"
    QPU_SECONDS = "qpu"


# name -> what it minimises
OBJECTIVES: dict[Objective, str] = {
    Objective.FLOPS: "quantum FLOPs F_Q per sample",
    Objective.TOTAL_FLOPS: "quantum plus classical FLOPs F_Q + F_C per sample",
    Objective.ERROR: "1 - mean validation accuracy over the repeats",
    Objective.PARAMS: (
        "effective trainable parameters (classical + quantum weights that can train)"
    ),
    Objective.TWO_QUBIT_GATES: "two-qubit gates after transpilation for the target",
    Objective.QPU_SECONDS: "predicted QPU seconds on the target",
}
WORST = 1e30  # objective value of a failed candidate: worse than anything real
MAX_EXHAUSTIVE = 20000


def parse_objectives(text: str) -> tuple[Objective, ...]:
    """``"flops,error"`` -> ``("flops", "error")``.

    Raises:
        ConfigError: Unknown or repeated names, or no ``error`` objective.
    """
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    rule = f"a comma-separated subset of {', '.join(OBJECTIVES)} that includes error"
    fix = (
        "E.g. --objectives flops,error (default), total_flops,error, error (FLOPs-agnostic), "
        "2q,error or qpu,error."
    )
    if not names or len(set(names)) != len(names) or "error" not in names:
        raise ConfigError(invalid("objectives", rule, text, fix, what="option"))
    for name in names:
        if name not in OBJECTIVES:
            raise ConfigError(
                invalid("objectives", rule, text, f"{name!r} is unknown. {fix}", what="option")
            )
    return tuple(Objective(name) for name in names)


def objective_values(
    objectives: tuple[str, ...],
    record: EvaluationFields | Mapping[str, Any] | None,
    metrics: CostFields | Mapping[str, Any],
    *,
    val_accuracy: float | None = None,
) -> tuple[float, ...]:
    """Objective vector (all minimised) of one candidate; WORST everywhere for a failure.

    Args:
        objectives: Objective names.
        record: Repeat 0's EvaluationRecord as the store reads it (or its JSON form), or None
            for a failure.
        metrics: The architecture's cost metrics as the store reads them (or their JSON form).
        val_accuracy: The mean validation accuracy over the candidate's repeats (default:
            repeat 0's).

    Raises:
        StoreError: When an objective needs a field the record or the metrics lack.
    """
    if record is None:
        return tuple(WORST for _ in objectives)
    fields = record if isinstance(record, EvaluationFields) else EvaluationFields.read(record)
    costs = metrics if isinstance(metrics, CostFields) else CostFields.read(metrics)
    out = []
    for name in objectives:
        if name == Objective.ERROR:
            if val_accuracy is None:
                val_accuracy = present(fields.val_accuracy, "val_accuracy")
            out.append(1.0 - float(val_accuracy))
        elif name == Objective.FLOPS:
            out.append(float(present(costs.quantum_flops, "quantum_flops", "metrics")))
        elif name == Objective.TOTAL_FLOPS:
            out.append(float(present(costs.total_flops, "classical_flops", "metrics")))
        elif name == Objective.PARAMS:
            effective = fields.params_quantum_effective
            if effective is None:  # records stored before the dead-weight analysis
                effective = effective_weights(Genome.parse(present(fields.genome, "genome")))
            out.append(float(present(fields.params_classical, "params_classical") + effective))
        else:
            transpiled = present(costs.transpiled, "transpiled", "metrics")
            if name == Objective.TWO_QUBIT_GATES:
                gates = present(transpiled.two_qubit_gates, "two_qubit_gates", "metrics")
                out.append(float(gates))
            else:
                seconds = present(transpiled.predicted_qpu_s, "predicted_qpu_s", "metrics")
                out.append(float(seconds))
    return tuple(out)


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines a search's results; stored with the run.

    Attributes:
        dataset: Dataset spec (``iris``, ``mnist``, ``csv:PATH``...).
        seed: Run seed: data split, the algorithm's generator, per-candidate seeds.
        objectives: Objective names, all minimised (see :data:`OBJECTIVES`); strings are kept
            as :class:`Objective` members.
        strategy: ``nsga2`` (the paper's), ``surrogate`` (NSGA-II whose offspring are
            pre-screened by a model of accuracy, ``search/surrogate.py``), ``random`` (same
            budget) or ``exhaustive``.
        space: The (sub-)space searched.
        population: Population size (NSGA-II) and evaluations per generation.
        generations: Maximum number of generations, the initial population included.
        stagnation: Stop when the non-dominated set is unchanged for this many generations.
        crossover_prob: Probability that a mating pair is crossed over (uniform crossover).
        mutation_prob: Probability that each gene of a child is resampled.
        budget: Most networks evaluated: the number ``random`` draws (default population *
            generations); NSGA-II stops when it reaches it, evaluating only part of its last
            generation if needed (default: no limit besides ``generations``).
        training: Training configuration of every candidate.
        max_train: Training-split subsample size, or None.
        target_column: Target column of a CSV dataset.
        data_dir: Directory of IDX files (MNIST-like datasets).
        metrics_target: IBM target of the transpiled metrics (fake backend name).
        shots: Shots per circuit for predicted QPU seconds.
        repeats: Evaluations of each candidate (DESIGN §4.1), 1..``MAX_REPEATS``; the search
            optimises the mean validation accuracy over them.
        exclude_dead: Leave out networks whose quantum layer has no effective weight (every
            rotation's gradient identically zero, DESIGN §5.1).
        data_fingerprint: Content hash of the loaded dataset (``Dataset.fingerprint``) for
            datasets read from files (``csv:``, IDX), which can change under the same path; part
            of the cache key and checked whenever the run's data is loaded again. None for the
            bundled datasets (and runs stored before it was recorded).
        population_batching: Train the candidates of a generation that share the qubit count
            and embedding together, as one batched computation per group (issue 21; each keeps
            its own seed, weights, batch order and optimiser state). The groups are fixed by
            the run (its generations), never by scheduling, so a run stays a deterministic
            function of its configuration; in float32 a network's last digits depend on its
            group, so the setting is part of the results' cache key.
    """

    dataset: str = "iris"
    seed: int = 0
    objectives: tuple[str, ...] = ("flops", "error")
    strategy: str = "nsga2"
    space: SearchSpace = field(default_factory=SearchSpace)
    population: int = 20
    generations: int = 8
    stagnation: int = 2
    crossover_prob: float = 0.8
    mutation_prob: float = 0.2
    budget: int | None = None
    training: TrainingConfig = field(default_factory=TrainingConfig)
    max_train: int | None = None
    target_column: str | None = None
    data_dir: str | None = None
    metrics_target: str = "fake_fez"
    shots: int = 1024
    repeats: int = 1
    exclude_dead: bool = False
    data_fingerprint: str | None = None
    population_batching: bool = False

    def __post_init__(self) -> None:
        # user input and stored configs hold strings: keep the members
        object.__setattr__(self, "objectives", parse_objectives(",".join(self.objectives)))
        # the declared constraints (faqnas_qiskit.limits), then the rules between fields
        check_fields(SEARCH_FIELDS, self)
        check_rules(self, SEARCH_RULES)

    def admits(self, genome: Genome) -> bool:
        """Whether ``genome`` may be evaluated (``exclude_dead`` leaves out dead networks)."""
        return not self.exclude_dead or has_live_weights(genome)

    @property
    def evaluation_budget(self) -> int:
        """Evaluations of ``random`` (and the NSGA-II maximum): population * generations."""
        if self.strategy == "exhaustive":
            return sum(1 for g in self.space.networks() if self.admits(g))
        return self.budget or self.population * self.generations

    @property
    def file_backed(self) -> bool:
        """Whether the dataset is read from files that can change (``csv:``, MNIST-like IDX)."""
        name = self.dataset.strip().lower().replace("-", "_")
        return name.startswith(CSV_PREFIX) or name in ("mnist", "fashion_mnist")

    def load_data(self) -> Dataset:
        """The run's dataset: its split (seeded by the run seed), CSV target, IDX directory and
        training subsample, exactly as the search trained on it.

        Raises:
            DataError: If the dataset is unknown, its files are missing or malformed, or their
                content is not what the run recorded (``data_fingerprint``).
        """
        dataset = load_dataset(
            self.dataset,
            seed=self.seed,
            data_dir=self.data_dir,
            target=self.target_column,
            max_train=self.max_train,
        )
        if self.data_fingerprint is not None and dataset.fingerprint != self.data_fingerprint:
            raise DataError(
                invalid(
                    "dataset",
                    f"the content this run was trained on (fingerprint {self.data_fingerprint})",
                    f"{self.dataset} with fingerprint {dataset.fingerprint}",
                    "The file changed since the run: restore it, or start a new search on the "
                    "new data.",
                )
            )
        return dataset

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored with the run."""
        out = asdict(self)
        out["objectives"] = [str(name) for name in self.objectives]
        out["space"] = {name: list(getattr(self.space, name)) for name in _SPACE_FIELDS}
        out["training"] = self.training.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchConfig:
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        fields["objectives"] = tuple(fields["objectives"])
        fields["space"] = SearchSpace(**{k: tuple(v) for k, v in fields["space"].items()})
        fields["training"] = TrainingConfig.from_dict(fields["training"])
        return cls(**fields)


_SPACE_FIELDS = ("qubits", "embeddings", "entanglers", "topologies", "depths", "rotations")

SEARCH_FIELDS = Fields(
    "SearchConfig",
    (
        CONSTRAINTS["repeats"],
        CONSTRAINTS["strategy"],
        CONSTRAINTS["population"],
        CONSTRAINTS["seed"],
        CONSTRAINTS["generations"],
        CONSTRAINTS["stagnation"],
        CONSTRAINTS["shots"],
        replace(CONSTRAINTS["budget"], optional=True),
        replace(CONSTRAINTS["max-train"], optional=True),
        CONSTRAINTS["crossover-prob"],
        CONSTRAINTS["mutation-prob"],
    ),
    what="option",
)
"""The options a :class:`SearchConfig` holds, each checked against its declared constraint."""

SEARCH_RULES: tuple[Relation[SearchConfig], ...] = (
    Relation(
        "exclude-dead",
        holds=lambda c: not c.exclude_dead or any(has_live_weights(g) for g in c.space.networks()),
        rule=lambda c: (
            "used on a space that keeps at least one network with a trainable quantum weight"
        ),
        value=lambda c: (
            f"a space of {c.space.n_networks} networks, all without one ({c.space.describe()})"
        ),
        fix="Allow rotations other than rz (--rotations), or drop --exclude-dead.",
        breaks={"exclude_dead": True, "space": SearchSpace(rotations=("rz",))},
    ),
    Relation(
        "population",
        holds=lambda c: c.strategy not in ("nsga2", "surrogate") or c.population >= 2,
        rule=lambda c: f"at least 2 for {c.strategy}",
        value=lambda c: c.population,
        fix="Pass --population 2 or more (20 is the paper's), or --strategy random.",
        breaks={"population": 1},
    ),
    Relation(
        "objectives",
        holds=lambda c: c.strategy != "surrogate" or len(c.objectives) <= 2,
        rule=lambda c: (
            "error and at most one cost objective with --strategy surrogate (its "
            "screening is two-dimensional)"
        ),
        value=lambda c: ",".join(c.objectives),
        fix="Pass e.g. --objectives flops,error, or --strategy nsga2.",
        breaks={"strategy": "surrogate", "objectives": ("flops", "2q", "error")},
    ),
    # a guard: the whole space has 8,640 networks today, so no config breaks it yet
    Relation(
        "strategy",
        holds=lambda c: c.strategy != "exhaustive" or c.space.n_networks <= MAX_EXHAUSTIVE,
        rule=lambda c: f"used on a space of at most {MAX_EXHAUSTIVE} networks when exhaustive",
        value=lambda c: f"exhaustive over {c.space.n_networks} networks",
        fix="Restrict the space with --qubits, --depth, --embedding, ...",
    ),
)
"""The rules between a :class:`SearchConfig`'s fields, checked after :data:`SEARCH_FIELDS`."""
