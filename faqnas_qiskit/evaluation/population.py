"""Population batching: the candidates of one generation trained together (issue 21).

Candidates that share the qubit count and the embedding, and all their repeats, train as one
batched computation (:func:`~faqnas_qiskit.evaluation.batched.train_batched`): each keeps its own
seed, initial weights, batch order, split and optimiser state, and a different rotation,
entangler, topology or depth is a different dense unitary (or layer stack) per model, shallower
networks padded with identity layers. Each candidate's results equal training it alone with
:func:`~faqnas_qiskit.evaluation.evaluate_repeats` up to the order of floating-point operations
(tested in float64 to 1e-8).

The groups are a pure function of the members and their order: a run that hands the same
generation to :func:`evaluate_population` gets the same groups whatever the scheduling. In
float32 a model's last digits may depend on the group it trains in (batched kernels may round
differently from single ones), so a run must use one evaluation mode throughout.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from faqnas_qiskit.data import Dataset
from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.evaluation.batched import ModelSpec, RepeatResult, train_batched
from faqnas_qiskit.evaluation.config import TrainingConfig
from faqnas_qiskit.evaluation.repeats import evaluate_repeats
from faqnas_qiskit.space import Genome

log = logging.getLogger(__name__)

__all__ = ["PopulationMember", "evaluate_population", "population_groups"]

#: Models (candidate repeats) trained in one batched computation at most: bounds the memory
#: of a group (M x batch x 2**n amplitudes, M dense unitaries) whatever the population size.
MAX_GROUP_MODELS = 64


@dataclass(frozen=True)
class PopulationMember:
    """One candidate of a generation.

    Attributes:
        genome: The architecture.
        seed: The candidate's seed (initial weights, batch orders).
        repeats: Distinct repeat indices to train, each >= 0.
    """

    genome: Genome
    seed: int
    repeats: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if not self.repeats or len(set(self.repeats)) != len(self.repeats):
            raise ConfigError(
                invalid("repeats", "distinct repeat indices, at least one", self.repeats)
            )
        if min(self.repeats) < 0:
            raise ConfigError(invalid("repeats", "indices >= 0", self.repeats))


def population_groups(
    members: Sequence[PopulationMember], max_models: int = MAX_GROUP_MODELS
) -> list[list[int]]:
    """Member indices grouped by (qubit count, embedding), in order of first appearance.

    A group holds at most ``max_models`` models (repeats); a larger one is cut, in member order,
    into consecutive groups. A member is never split across groups.

    Args:
        members: The generation, in the run's order.
        max_models: Upper bound on the repeats trained in one group (>= 1).

    Returns:
        Lists of indices into ``members``; every index appears once.
    """
    if max_models < 1:
        raise ConfigError(invalid("max_models", "at least 1", max_models))
    by_kind: dict[tuple[int, str], list[int]] = {}
    for index, member in enumerate(members):
        kind = (member.genome.n_qubits, member.genome.embedding)
        by_kind.setdefault(kind, []).append(index)
    groups: list[list[int]] = []
    for indices in by_kind.values():
        current: list[int] = []
        size = 0
        for index in indices:
            width = len(members[index].repeats)
            if current and size + width > max_models:
                groups.append(current)
                current, size = [], 0
            current.append(index)
            size += width
        groups.append(current)
    return groups


def _alone(
    member: PopulationMember, dataset: Dataset, config: TrainingConfig, split_seed: int
) -> list[RepeatResult]:
    return evaluate_repeats(
        member.genome,
        dataset,
        config,
        seed=member.seed,
        split_seed=split_seed,
        repeats=member.repeats,
    )


def evaluate_population(
    members: Sequence[PopulationMember],
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    split_seed: int = 0,
    max_models: int = MAX_GROUP_MODELS,
) -> list[list[RepeatResult]]:
    """Train and score every member's repeats, each group as one batched computation.

    On an engine other than the statevector engine the members train one by one. A group whose
    batched computation fails as a whole (not a non-finite loss, which fails its model alone)
    is trained again member by member, so every member gets the result it would get alone.

    Args:
        members: The generation's candidates, in the run's order.
        dataset: The loaded dataset (repeat 0's split).
        config: Training configuration (defaults: the paper's).
        split_seed: The dataset's split seed, from which repeat r > 0 draws its split.
        max_models: At most this many repeats in one batched computation.

    Returns:
        One list per member (in the order of ``members``) of one result per repeat (in the
        order of its ``repeats``).
    """
    config = config or TrainingConfig()
    results: list[list[RepeatResult]] = [[] for _ in members]
    if config.engine != "statevector":
        return [_alone(m, dataset, config, split_seed) for m in members]
    for group in population_groups(members, max_models):
        specs = [
            ModelSpec(members[i].genome, members[i].seed, r)
            for i in group
            for r in members[i].repeats
        ]
        try:
            trained = train_batched(specs, dataset, split_seed, config)
        except Exception as exc:  # any failure of the batch: train each member alone
            # said, not silent: a failing batched path costs every group its speed-up
            log.warning(
                "population batch of %d networks (%d qubits, %s) failed (%s: %s); training "
                "them one by one",
                len(group),
                members[group[0]].genome.n_qubits,
                members[group[0]].genome.embedding,
                type(exc).__name__,
                exc,
            )
            for i in group:
                results[i] = _alone(members[i], dataset, config, split_seed)
            continue
        position = 0
        for i in group:
            count = len(members[i].repeats)
            results[i] = trained[position : position + count]
            position += count
    return results
