"""Filling the cost atlas (DESIGN §5.2): every network's genome-level cost on a target.

:func:`fill_atlas` computes the :class:`~faqnas_qiskit.metrics.cost_entry.CostEntry` rows of the
networks the cache lacks, on the IBM target and on Aer, in this process, on local worker
processes or on a Dask cluster, and writes each chunk of results the moment it arrives (one
transaction), so a run killed at any moment resumes where it stopped. The worker-side functions
(:func:`_compute_chunk` and its per-worker targets) are here too.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any

from faqnas_qiskit.errors import ConfigError, FaqnasError, invalid
from faqnas_qiskit.limits import check
from faqnas_qiskit.metrics.background import exit_with_parent
from faqnas_qiskit.metrics.cache import CostCache, compute_entry, entry_from_dict
from faqnas_qiskit.metrics.transpiled import AER_TARGET, DEFAULT_AER_OPTIMIZATION_LEVEL, TargetInfo
from faqnas_qiskit.space import Genome, SearchSpace

__all__ = ["FillSummary", "atlas_networks", "fill_atlas"]


def atlas_networks(space: SearchSpace | None = None, *, exclude_dead: bool = False) -> list[Genome]:
    """Every distinct network of ``space`` (8,640 for the full space), canonical genomes.

    Args:
        space: The (sub-)space; the whole space when None.
        exclude_dead: Leave out networks without an effective quantum weight.
    """
    networks = list((space or SearchSpace()).networks())
    if exclude_dead:
        from faqnas_qiskit.circuits import has_live_weights

        networks = [g for g in networks if has_live_weights(g)]
    return networks


@dataclass(frozen=True)
class FillSummary:
    """What one :func:`fill_atlas` call did.

    Attributes:
        target: Target name.
        total: Networks asked for.
        cached: Networks whose rows were in the cache already.
        computed: Networks computed (and written) by this call.
        too_large: Networks with more qubits than the target (skipped).
        wall_s: Wall time of the call, seconds.
        compute_s: Sum of the per-network compute times, seconds (over all workers).
    """

    target: str
    total: int
    cached: int
    computed: int
    too_large: int
    wall_s: float
    compute_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; keys are the attribute names."""
        return asdict(self)


# A worker's targets, loaded once per worker thread (pass managers are slow to build, and a
# TargetInfo is not thread-safe: a Dask worker runs several tasks at once in threads). Only
# workers touch it; the caller's process passes its own dictionary.
_WORKER = threading.local()


def _worker_targets() -> dict[str, TargetInfo]:
    targets: dict[str, TargetInfo] | None = getattr(_WORKER, "targets", None)
    if targets is None:
        targets = _WORKER.targets = {}
    return targets


def _worker_init(parent: int) -> None:
    """Exit a worker when its parent dies (kill -9 gives the parent no chance to stop it)."""
    exit_with_parent(parent)


def _compute_chunk(
    keys: Sequence[str],
    target: str,
    level: int,
    seed: int,
    aer_level: int,
    targets: dict[str, TargetInfo] | None = None,
) -> list[dict[str, Any]]:
    """Rows (JSON form) of ``keys`` on ``target`` and on Aer (in a worker: its own targets)."""
    from faqnas_qiskit.circuits import build_circuit

    loaded = _worker_targets() if targets is None else targets
    for name in (target, AER_TARGET):
        if name not in loaded:
            loaded[name] = TargetInfo.load(name)
    ibm, aer = loaded[target], loaded[AER_TARGET]
    out = []
    for key in keys:
        genome = Genome.parse(key)
        circuit = build_circuit(genome).circuit
        for info, lvl in ((ibm, level), (aer, aer_level)):
            entry = compute_entry(
                genome, info, optimization_level=lvl, seed_transpiler=seed, circuit=circuit
            )
            out.append(entry.to_dict())
        # counts are in the cache now: a long atlas must not grow the worker's memory
        ibm.clear_counts()
        aer.clear_counts()
    return out


def _require_usable(cache: CostCache) -> None:
    """Refuse, in one line, a cost cache that cannot be written (before or while filling)."""
    if not cache.usable:
        raise ConfigError(
            invalid(
                "cache",
                "a writable SQLite file",
                str(cache.path),
                f"{cache.problem}. Pass --cache PATH to a writable place.",
                what="option",
            )
        )


def fill_atlas(
    genomes: Iterable[Genome],
    cache: CostCache,
    *,
    target: str,
    optimization_level: int = 1,
    seed_transpiler: int = 0,
    aer_optimization_level: int = DEFAULT_AER_OPTIMIZATION_LEVEL,
    workers: int = 1,
    client: Any = None,
    chunk: int = 4,
    progress: Callable[[int, int], None] | None = None,
    shuffle_seed: int = 0,
) -> FillSummary:
    """Compute and store the rows the cache lacks for ``genomes`` on ``target`` (and on Aer).

    Networks are computed in a shuffled order (so that the progress's ETA is honest: cost
    grows steeply with qubits) and written chunk by chunk as they arrive, each chunk in one
    transaction: a process killed at any moment loses at most the chunks in flight, and the
    next call computes only what is missing.

    Args:
        genomes: The networks (canonical keys are used; duplicates count once).
        cache: The machine's cost cache; must be usable.
        target: Canonical IBM target name (``"fake_fez"``); loaded to check it exists.
        optimization_level: Preset pass manager level on the target.
        seed_transpiler: Seed of the pass managers.
        aer_optimization_level: Preset pass manager level on Aer.
        workers: Local worker processes; 1 computes in this process. Ignored with ``client``.
        client: A connected ``distributed.Client``: compute on its cluster's workers instead
            (each must have faqnas-qiskit and the same qiskit installed; rows are keyed by this
            process's versions). At most two chunks per worker thread are in flight.
        chunk: Networks per task sent to a worker.
        progress: Called with (done, to do) after each chunk is stored.
        shuffle_seed: Seed of the order of computation.

    Returns:
        What was done.

    Raises:
        ConfigError: For an unusable cache, an unknown target or bad settings.
        ClusterError: If the Dask cluster is lost or a worker cannot compute (the chunks
            stored before stay stored: run again to continue).
    """
    started = time.perf_counter()
    check("workers", workers)
    check("chunk", chunk)
    _require_usable(cache)
    info = TargetInfo.load(target)
    if info.name == AER_TARGET or not info.timed:
        raise ConfigError(
            invalid("ibm-target", "a timed IBM target such as 'fake_fez'", target, what="option")
        )
    target = info.name
    unique = list(dict.fromkeys(g.key for g in genomes))
    too_large = [k for k in unique if Genome.parse(k).n_qubits > info.num_qubits]
    fits = [k for k in unique if Genome.parse(k).n_qubits <= info.num_qubits]
    have = cache.keys(target, optimization_level, seed_transpiler) & cache.keys(
        AER_TARGET, aer_optimization_level, seed_transpiler
    )
    todo = [k for k in fits if k not in have]
    random.Random(shuffle_seed).shuffle(todo)
    chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    args = (target, optimization_level, seed_transpiler, aer_optimization_level)
    done = 0
    compute_s = 0.0
    if progress is not None:
        progress(0, len(todo))

    def store(rows: list[dict[str, Any]]) -> None:
        nonlocal done, compute_s
        entries = [entry_from_dict(r) for r in rows]
        cache.put_many(entries)
        _require_usable(cache)
        done += len(entries) // 2
        compute_s += sum(e.compute_s for e in entries)
        if progress is not None:
            progress(done, len(todo))

    if client is not None:
        _fill_on_cluster(client, chunks, args, store)
    elif workers == 1 or len(chunks) <= 1:
        here = {target: info}
        for keys in chunks:
            store(_compute_chunk(keys, *args, targets=here))
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
        ) as pool:
            pending: set[Future[list[dict[str, Any]]]] = set()
            queue = iter(chunks)
            try:
                for keys in queue:
                    pending.add(pool.submit(_compute_chunk, keys, *args))
                    if len(pending) >= 2 * workers:
                        break
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        store(future.result())
                        following = next(queue, None)
                        if following is not None:
                            pending.add(pool.submit(_compute_chunk, following, *args))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return FillSummary(
        target=target,
        total=len(unique),
        cached=len(fits) - len(todo),
        computed=done,
        too_large=len(too_large),
        wall_s=time.perf_counter() - started,
        compute_s=compute_s,
    )


def _fill_on_cluster(
    client: Any,
    chunks: Sequence[list[str]],
    args: tuple[str, int, int, int],
    store: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Compute ``chunks`` on a Dask cluster, storing each result as it arrives."""
    import distributed

    from faqnas_qiskit.errors import ClusterError

    if not chunks:
        return
    address = getattr(getattr(client, "scheduler", None), "address", "?")
    queue = iter(chunks)
    try:
        window = 2 * max(1, sum(client.nthreads().values()))
        first = [next(queue) for _ in range(min(window, len(chunks)))]
        running = distributed.as_completed(
            [client.submit(_compute_chunk, keys, *args, pure=False) for keys in first],
            loop=client.loop,
        )
        for future in running:
            rows = future.result()
            future.release()
            store(rows)
            following = next(queue, None)
            if following is not None:
                running.add(client.submit(_compute_chunk, following, *args, pure=False))
    except FaqnasError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise ClusterError(
            f"The atlas must be computed on the Dask cluster at {address}. Got "
            f"{type(exc).__name__}{': ' + text if text else ''} instead. Finished chunks are "
            "stored: check the scheduler and its workers, then run the same command again."
        ) from exc
