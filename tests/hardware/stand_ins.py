"""Stand-ins for the network boundary to IBM Quantum (the RuntimeGateway protocol).

The stand-in hands out a fake IBM backend as the device, accepts submissions (computing the
results with Qiskit's ``BackendEstimatorV2`` on an ideal ``AerSimulator``, the engine of
qiskit-ibm-runtime's local testing mode), reports scripted job states, returns jobs by id and
their usage. A :class:`FakeCloud` outlives its gateways, as IBM's servers outlive a client process.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from qiskit.primitives import BackendEstimatorV2
from qiskit.providers import BackendV2
from qiskit_aer import AerSimulator


class FakeJob:
    """A job of the fake cloud: scripted states, a result, a usage."""

    def __init__(
        self, job_id: str, result: Any, states: Sequence[str], usage: float, cloud: FakeCloud
    ) -> None:
        self._id = job_id
        self._result = result
        self._states = list(states)
        self._usage = usage
        self._cloud = cloud
        self.status_calls = 0

    def job_id(self) -> str:
        return self._id

    def status(self) -> str:
        self.status_calls += 1
        self._cloud.status_calls += 1
        if self._cloud.interrupt_on_status:
            self._cloud.interrupt_on_status = False
            raise KeyboardInterrupt
        if len(self._states) > 1:
            return self._states.pop(0)
        return self._states[0]

    def result(self) -> Any:
        if self._states[-1] != "DONE":
            raise RuntimeError(f"job {self._id} failed")
        return self._result

    def usage(self) -> float:
        return self._usage

    def error_message(self) -> str:
        return (
            "Error code 1517; the device was recalibrating" if self._states[-1] == "ERROR" else ""
        )


@dataclass
class FakeCloud:
    """IBM's side: every job ever submitted, by id; what to fail; call counts."""

    device: BackendV2
    fail: set[str] = field(default_factory=set)
    usage_s: float = 1.25
    interrupt_on_status: bool = False
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    submissions: list[tuple[str, int, tuple[str, ...]]] = field(default_factory=list)
    fetches: list[str] = field(default_factory=list)
    searches: list[tuple[str, ...]] = field(default_factory=list)
    batches: int = 0
    status_calls: int = 0

    def gateway(self) -> FakeGateway:
        return FakeGateway(self)


def _precision(shots: int) -> float:
    precision = 1.0 / math.sqrt(shots)
    while math.ceil(1.0 / precision**2) > shots:
        precision = math.nextafter(precision, math.inf)
    return precision


class FakeGateway:
    """A client of the fake cloud, implementing the RuntimeGateway protocol."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.backend_names: list[str] = []

    def backend(self, name: str) -> BackendV2:
        self.backend_names.append(name)
        return self.cloud.device

    @contextmanager
    def _batch(self, backend: BackendV2) -> Iterator[Any]:
        self.cloud.batches += 1

        def submit(pubs: Sequence[Any], *, shots: int, tags: Sequence[str]) -> FakeJob:
            job_id = f"job-{len(self.cloud.jobs) + 1:03d}"
            self.cloud.submissions.append((job_id, shots, tuple(tags)))
            genome = next(t.split(":", 1)[1] for t in tags if t.startswith("genome:"))
            estimator = BackendEstimatorV2(
                backend=AerSimulator(),
                options={"default_precision": _precision(shots), "seed_simulator": 11},
            )
            result = estimator.run(list(pubs)).result()
            final = "ERROR" if genome in self.cloud.fail else "DONE"
            job = FakeJob(
                job_id, result, ["QUEUED", "RUNNING", final], self.cloud.usage_s, self.cloud
            )
            self.cloud.jobs[job_id] = job
            return job

        yield submit

    def batch(self, backend: BackendV2) -> Any:
        return self._batch(backend)

    def job(self, job_id: str) -> FakeJob:
        self.cloud.fetches.append(job_id)
        return self.cloud.jobs[job_id]

    def find_job(self, tags: Sequence[str], backend: str) -> str | None:
        self.cloud.searches.append(tuple(tags))
        matches = [j for j, _, t in self.cloud.submissions if set(tags) <= set(t)]
        return matches[-1] if matches else None
