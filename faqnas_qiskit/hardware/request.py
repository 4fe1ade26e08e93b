"""What a re-evaluation is asked to do: one frozen, validated request (no I/O but the profile)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from faqnas_qiskit.hardware.profiles import MAX_SHOTS, BackendProfile, load_profile
from faqnas_qiskit.limits import check

__all__ = ["ReevaluationRequest"]


@dataclass(frozen=True)
class ReevaluationRequest:
    """A re-evaluation of a run's trained architectures on a backend profile.

    Attributes:
        run_id: The search run.
        profile: A :class:`BackendProfile`; a shipped profile name or a profile file path is
            loaded on creation.
        keys: Genomes to re-evaluate (canonical strings); None: the run's Pareto front.
        shots: Shots per circuit execution; None: the profile's.
        samples: Evaluate the first ``samples`` test samples only; None: the whole test split.
        max_qpu_seconds: Budget of predicted QPU seconds for the jobs this call submits;
            None: the profile's ``limits.max_qpu_seconds``.
        dry_run: Preflight only: return the plan and its predicted cost, submit and store
            nothing. Hardware without credentials is planned on the profile's snapshot.
        resume: Fetch jobs submitted by an earlier call (by their stored ids) instead of
            refusing; wait for the running ones.
        retry_failed: Submit again the architectures whose stored job failed.
        timeout_s: Stop waiting after this many seconds; unfinished jobs stay stored as
            submitted and come back as pending. None waits until every job is final.
        poll_interval_s: Seconds between status checks; None: the adapter's (5 on hardware,
            0.01 locally).

    Raises:
        ProfileError: Unknown or invalid profile.
        ConfigError: ``shots``, ``samples`` or ``max_qpu_seconds`` out of range.
    """

    run_id: str
    profile: BackendProfile
    keys: tuple[str, ...] | None = None
    shots: int | None = None
    samples: int | None = None
    max_qpu_seconds: float | None = None
    dry_run: bool = False
    resume: bool = False
    retry_failed: bool = False
    timeout_s: float | None = None
    poll_interval_s: float | None = None

    def __init__(
        self,
        run_id: str,
        profile: BackendProfile | str | os.PathLike[str],
        *,
        keys: Sequence[str] | None = None,
        shots: int | None = None,
        samples: int | None = None,
        max_qpu_seconds: float | None = None,
        dry_run: bool = False,
        resume: bool = False,
        retry_failed: bool = False,
        timeout_s: float | None = None,
        poll_interval_s: float | None = None,
    ) -> None:
        if not isinstance(profile, BackendProfile):
            profile = load_profile(profile)
        _check_options(shots, samples, max_qpu_seconds)
        values = {
            "run_id": run_id,
            "profile": profile,
            "keys": None if keys is None else tuple(keys),
            "shots": shots,
            "samples": samples,
            "max_qpu_seconds": max_qpu_seconds,
            "dry_run": dry_run,
            "resume": resume,
            "retry_failed": retry_failed,
            "timeout_s": timeout_s,
            "poll_interval_s": poll_interval_s,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def shots_or_default(self) -> int:
        """Shots per circuit execution: the request's, else the profile's."""
        return self.profile.shots if self.shots is None else self.shots


def _check_options(shots: int | None, samples: int | None, max_qpu_seconds: float | None) -> None:
    # the declared constraints (faqnas_qiskit.limits); shots also within what a backend takes
    if shots is not None:
        check("shots", shots, high=MAX_SHOTS)
    if samples is not None:
        check("samples", samples)
    if max_qpu_seconds is not None:
        check("max-qpu-seconds", max_qpu_seconds)
