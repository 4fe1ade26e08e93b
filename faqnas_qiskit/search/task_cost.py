"""Relative training cost of candidates, to submit the longest tasks first.

Used by :class:`~faqnas_qiskit.search.distributed.DaskEvaluator` to order its submissions; only
comparisons between estimates are meaningful.
"""

from __future__ import annotations

from collections.abc import Sequence

from faqnas_qiskit.errors import GenomeError
from faqnas_qiskit.search.candidate import CandidateTask
from faqnas_qiskit.space import Genome

__all__ = ["estimated_cost"]

# Statevector training time per gate is a fixed overhead (Python, autograd bookkeeping) plus
# work proportional to the 2**n amplitudes; on the 2-core reference machine the two are equal
# near n = 6. Only the order of estimates matters.
_OVERHEAD_AMPLITUDES = 64.0


def estimated_cost(genome: Genome) -> float:
    """Relative training cost of a candidate, to submit the longest tasks first.

    The quantum layer dominates: ``n * (2 * depth + 1)`` gates (embedding, rotations,
    entanglers), each costing a fixed overhead plus work proportional to ``2**n`` amplitudes.
    Longest-first submission keeps one worker from finishing long after the others.

    Args:
        genome: The candidate's architecture.

    Returns:
        A unitless positive number; only comparisons between candidates are meaningful.
    """
    gates = genome.n_qubits * (2 * genome.depth + 1)
    return gates * (1.0 + 2**genome.n_qubits / _OVERHEAD_AMPLITUDES)


def _task_cost(task: CandidateTask) -> float:
    try:
        return estimated_cost(Genome.parse(task.key)) * len(task.repeats)
    except GenomeError:
        return 0.0


def _unit_cost(unit: Sequence[CandidateTask]) -> float:
    return sum(_task_cost(task) for task in unit)
