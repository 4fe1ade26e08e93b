"""The store's hardware re-evaluation jobs (one row per architecture, backend, shots, samples).

A job's row is written ``planned`` before anything is submitted, gets the provider's job id the
moment the job is accepted (``submitted``) and ends ``done`` (its HardwareRecord JSON) or
``failed`` (its error): an interruption at any point loses no paid work.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from faqnas_qiskit.store.codec import Encodable, encode
from faqnas_qiskit.store.rows import HardwareJobRow, canonical_json, hardware_row
from faqnas_qiskit.store.schema import LEGACY_SAMPLES, Database
from faqnas_qiskit.store.states import HardwareJobStatus

__all__ = ["HardwareJobStore"]


class HardwareJobStore(Database):
    """The hardware jobs of a store (:class:`~faqnas_qiskit.store.ResultsStore` is one)."""

    def hardware_job(
        self, run_id: str, backend: str, key: str, shots: int, samples: int = 0
    ) -> HardwareJobRow | None:
        """The re-evaluation of ``key`` from ``run_id`` on ``backend`` at ``shots``, if any.

        ``samples`` is the number of test samples asked for (0: the whole test split). A row
        recorded before samples were part of the key (:data:`LEGACY_SAMPLES`) answers any
        request when no row matches exactly.
        """
        row = self._db.execute(
            "SELECT * FROM hardware_jobs WHERE run_id = ? AND backend = ? AND key = ? AND "
            "shots = ? AND samples IN (?, ?) ORDER BY samples = ? DESC LIMIT 1",
            (run_id, backend, key, shots, samples, LEGACY_SAMPLES, samples),
        ).fetchone()
        return None if row is None else hardware_row(row)

    def plan_hardware_job(
        self,
        *,
        run_id: str,
        backend: str,
        profile: dict[str, Any],
        key: str,
        evaluation_id: int,
        shots: int,
        samples: int = 0,
    ) -> HardwareJobRow:
        """Write a ``planned`` row (or return the existing one) before anything is submitted.

        ``profile`` must hold no secrets: it is stored as given. ``samples``: test samples
        asked for, 0 for the whole test split.
        """
        existing = self.hardware_job(run_id, backend, key, shots, samples)
        if existing is not None:
            return existing
        now = time.time()
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO hardware_jobs (run_id, backend, profile, key, "
                "evaluation_id, shots, samples, job_id, status, error, result, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL, ?, ?)",
                (
                    run_id,
                    backend,
                    canonical_json(profile),
                    key,
                    evaluation_id,
                    shots,
                    samples,
                    HardwareJobStatus.PLANNED.value,
                    now,
                    now,
                ),
            )
        row = self.hardware_job(run_id, backend, key, shots, samples)
        assert row is not None
        return row

    def mark_hardware_submitted(self, job_row_id: int, job_id: str) -> None:
        """Store the provider's job id the moment the job is accepted (never pay twice)."""
        with self._transaction():
            self._db.execute(
                "UPDATE hardware_jobs SET job_id = ?, status = ?, updated_at = ? WHERE id = ?",
                (job_id, HardwareJobStatus.SUBMITTED.value, time.time(), job_row_id),
            )

    def finish_hardware_job(
        self,
        job_row_id: int,
        *,
        result: Encodable | Mapping[str, Any] | None,
        error: str | None,
    ) -> None:
        """Record the outcome: ``done`` with a result (a ``HardwareRecord``, stored as its
        ``to_dict()``, or that form), or ``failed`` with an error."""
        status = HardwareJobStatus.DONE if result is not None else HardwareJobStatus.FAILED
        with self._transaction():
            self._db.execute(
                "UPDATE hardware_jobs SET status = ?, result = ?, error = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    status.value,
                    None if result is None else canonical_json(encode(result)),
                    error,
                    time.time(),
                    job_row_id,
                ),
            )

    def hardware_jobs(self, run_id: str | None = None) -> list[HardwareJobRow]:
        """Hardware re-evaluations (of one run, or all), oldest first."""
        if run_id is None:
            rows = self._db.execute("SELECT * FROM hardware_jobs ORDER BY id")
        else:
            rows = self._db.execute(
                "SELECT * FROM hardware_jobs WHERE run_id = ? ORDER BY id", (run_id,)
            )
        return [hardware_row(r) for r in rows]
