"""``faqnas search``: search architectures, storing every evaluation as it finishes."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.cli.cluster import quiet_dask
from faqnas_qiskit.cli.command import Command, Parser
from faqnas_qiskit.cli.options import (
    add_cache_option,
    add_data_options,
    add_store_option,
    add_subspace_options,
    add_training_options,
    check_threads,
    data_dir,
    dataset_spec,
    metrics_cache,
    space,
    store_path,
    training_config,
)
from faqnas_qiskit.cli.output import print_front, print_json, search_progress
from faqnas_qiskit.errors import ClusterError, ConfigError, invalid
from faqnas_qiskit.limits import check

if TYPE_CHECKING:
    from faqnas_qiskit.search import Evaluator, SearchConfig

__all__ = ["COMMAND", "RESUME_MAY_CHANGE"]

RESUME_MAY_CHANGE = (
    "workers", "scheduler", "threads", "json", "store", "debug", "resume", "serial_metrics",
)  # fmt: skip
"""Options of ``faqnas search`` that may differ on ``--resume``: where and how it runs, not
what it computes."""

_MAY_CHANGE_TEXT = ", ".join(
    "--" + o.replace("_", "-")
    for o in RESUME_MAY_CHANGE
    if o not in ("json", "store", "debug", "resume")
)
"""The options a user may change on ``--resume``, as the help and the refusal name them."""


def _add_arguments(search: argparse.ArgumentParser) -> None:
    add_store_option(search)
    search.add_argument(
        "--resume",
        metavar="RUN",
        help=(
            "continue an interrupted run with its stored settings (only "
            f"{_MAY_CHANGE_TEXT} may change)"
        ),
    )
    algo = search.add_argument_group("search (defaults: the FAQNAS paper's)")
    algo.add_argument(
        "--objectives",
        default="flops,error",
        help="flops,error (default), total_flops,error (F_Q + F_C), flops,error,params "
        "(effective parameters), error (FLOPs-agnostic baseline), 2q,error or qpu,error "
        "(hardware-aware)",
    )
    algo.add_argument(
        "--strategy",
        default="nsga2",
        help="nsga2 (the paper's, default), surrogate (NSGA-II with offspring pre-screened by a "
        "model of accuracy), random or exhaustive",
    )
    algo.add_argument("--population", type=int, default=20, help="population size (default: 20)")
    algo.add_argument(
        "--generations", type=int, default=8, help="at most N generations (default: 8)"
    )
    algo.add_argument(
        "--stagnation",
        type=int,
        default=2,
        help="stop when the front is unchanged N generations (default: 2)",
    )
    algo.add_argument(
        "--budget",
        type=int,
        help=(
            "most networks to evaluate: random search draws this many (default: population x "
            "generations), NSGA-II stops when it reaches it"
        ),
    )
    algo.add_argument(
        "--crossover-prob",
        type=float,
        default=0.8,
        help="uniform crossover probability (default: 0.8)",
    )
    algo.add_argument(
        "--mutation-prob",
        type=float,
        default=0.2,
        help="per-gene resampling probability (default: 0.2)",
    )
    algo.add_argument(
        "--population-batching",
        action="store_true",
        help="train a generation's candidates of one qubit count and embedding together, as "
        "one batched computation (faster on small circuits; each keeps its own seeds; float32 "
        "digits depend on the group, so its results are cached apart)",
    )
    add_subspace_options(search, "sub-space (default: the whole space, 23,328 gene vectors)")
    hw = search.add_argument_group("cost metrics")
    hw.add_argument(
        "--ibm-target",
        default="fake_fez",
        help="IBM target (fake backend) of the transpiled counts (default: fake_fez)",
    )
    hw.add_argument(
        "--shots", type=int, default=1024, help="shots per circuit for predicted QPU seconds"
    )
    hw.add_argument(
        "--serial-metrics",
        action="store_true",
        help="compute cold candidates' metrics before each training, not in a side process "
        "beside it (faster when another job holds the other cores; same results)",
    )
    par = search.add_argument_group("parallelism (default: in-process)")
    where = par.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, help="evaluate on N local worker processes (dask.distributed)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="evaluate on an existing Dask cluster"
    )
    add_data_options(search)
    add_training_options(search)
    search.add_argument("--json", action="store_true", help="print the final front as JSON")
    add_cache_option(search)


def _search_config(args: argparse.Namespace) -> SearchConfig:
    """The SearchConfig that ``faqnas search`` options describe (a new run)."""
    from faqnas_qiskit.search import SearchConfig, parse_objectives

    return SearchConfig(
        dataset=dataset_spec(args),
        seed=args.seed,
        objectives=parse_objectives(args.objectives),
        strategy=args.strategy,
        space=space(args),
        population=args.population,
        generations=args.generations,
        stagnation=args.stagnation,
        crossover_prob=args.crossover_prob,
        mutation_prob=args.mutation_prob,
        budget=args.budget,
        training=training_config(args),
        max_train=args.max_train,
        target_column=args.target,
        data_dir=data_dir(args),
        metrics_target=args.ibm_target,
        shots=args.shots,
        repeats=args.repeats,
        exclude_dead=args.exclude_dead,
        population_batching=args.population_batching,
    )


def _check_resume_device(requested: str, stored: str, run_id: str) -> None:
    """A resumed run trains where it started (the device is part of its stored results' key)."""
    from faqnas_qiskit.evaluation import resolve_device

    if requested != "cpu" and resolve_device(requested) != stored:
        raise ConfigError(
            invalid(
                "device",
                f"{stored}, where run {run_id} trained (the device is part of its results' key)",
                requested,
                "Drop --device, or start a new search on that device.",
                what="option",
            )
        )
    resolve_device(stored)  # a CUDA run resumed on a machine without CUDA: one line, here


def _check_resume_options(args: argparse.Namespace, stored: SearchConfig) -> None:
    """Refuse options given with ``--resume`` that contradict the stored run, naming them."""
    search = Parser(prog="faqnas search")
    _add_arguments(search)
    given = [
        action
        for action in search._actions
        if action.dest not in (*RESUME_MAY_CHANGE, "help", "dataset")
        and getattr(args, action.dest, None) != action.default
    ]
    if not given:
        return
    requested = _search_config(args).to_dict()
    current = stored.to_dict()
    fields = {
        "seed": ("seed",), "objectives": ("objectives",), "strategy": ("strategy",),
        "population": ("population",), "generations": ("generations",),
        "stagnation": ("stagnation",), "crossover_prob": ("crossover_prob",),
        "mutation_prob": ("mutation_prob",), "budget": ("budget",),
        "epochs": ("training", "epochs"), "lr": ("training", "lr"),
        "batch_size": ("training", "batch_size"), "engine": ("training", "engine"),
        "double": ("training", "double"), "max_train": ("max_train",),
        "target": ("target_column",), "data_dir": ("data_dir",),
        "ibm_target": ("metrics_target",), "shots": ("shots",), "repeats": ("repeats",),
        "exclude_dead": ("exclude_dead",), "qubits": ("space", "qubits"),
        "population_batching": ("population_batching",),
        "depth": ("space", "depths"), "embedding": ("space", "embeddings"),
        "entangler": ("space", "entanglers"), "topology": ("space", "topologies"),
        "rotations": ("space", "rotations"),
    }  # fmt: skip

    def pick(config: dict[str, Any], path: tuple[str, ...]) -> Any:
        for part in path:
            config = config[part]
        return config

    # fail closed: an option this table does not know (a new one) is refused until it is added
    checked_elsewhere = ("cache", "no_cache", "device")
    clashes = [
        f"--{action.dest.replace('_', '-')}"
        for action in given
        if action.dest not in checked_elsewhere
        and (
            action.dest not in fields
            or pick(requested, fields[action.dest]) != pick(current, fields[action.dest])
        )
    ]
    if clashes:
        raise ConfigError(
            invalid(
                "resume",
                "given without options that change what the run computes",
                f"{', '.join(clashes)} with --resume",
                "A run resumes with its stored settings: drop them, or start a new search "
                f"with them. Only {_MAY_CHANGE_TEXT} may "
                "change.",
                what="option",
            )
        )


def _run(args: argparse.Namespace) -> int:
    from faqnas_qiskit.search import (
        SearchConfig,
        SerialEvaluator,
        StoreCachedMetrics,
        front_rows,
        search_metrics,
    )
    from faqnas_qiskit.search.api import prepare_search, run_search
    from faqnas_qiskit.store import ResultsStore

    path = store_path(args)
    check_threads(args.threads)  # the evaluators set it per task, on whichever process trains
    store: ResultsStore | None
    if args.resume:
        store = ResultsStore(path, create=False)
        try:
            run = store.get_run(args.resume)
            config = run.config_as(SearchConfig)
            if args.dataset is not None and dataset_spec(args) != config.dataset:
                raise ConfigError(
                    f"The run to resume must belong to the dataset given. Got run {run.id!r} of "
                    f"dataset {config.dataset!r}, and --dataset {args.dataset!r}. Drop "
                    "--dataset, or resume a run of that dataset (see 'faqnas runs')."
                )
            _check_resume_options(args, config)
            _check_resume_device(args.device, config.training.device, run.id)
        except BaseException:
            store.close()
            raise
    else:
        config = _search_config(args)
        store = None
    # on --resume: also checks the data did not change; a new run records what its data was
    config, dataset = prepare_search(config)
    # checks the target; nothing stored yet
    compute, settings = search_metrics(config, dataset, cache=metrics_cache(args))
    evaluator: Evaluator = SerialEvaluator(dataset, torch_threads=args.threads)
    if args.workers is not None or args.scheduler is not None:
        from faqnas_qiskit.search.distributed import DaskEvaluator

        if not args.debug:
            quiet_dask()

        if args.workers is not None:
            check("workers", args.workers)
            evaluator = DaskEvaluator.local(
                dataset, workers=args.workers, torch_threads=args.threads
            )
        else:
            evaluator = DaskEvaluator.connect(dataset, args.scheduler, torch_threads=args.threads)
    if store is None:
        store = ResultsStore(path, create=True)
    # the evaluator is closed (local workers stopped) however the search ends
    with store, contextlib.closing(evaluator):
        run_id = args.resume
        try:
            result = run_search(
                config,
                store,
                dataset=dataset,
                evaluator=evaluator,
                observer=search_progress(path, quiet=args.json),
                metrics=StoreCachedMetrics(store, compute, settings),
                overlap_metrics=False if args.serial_metrics else None,
                resume=args.resume,
            )
        except ClusterError as exc:
            runs = store.list_runs()
            run_id = run_id or (runs[-1].id if runs else "RUN")
            where = f"--workers {args.workers}" if args.workers else f"--scheduler {args.scheduler}"
            raise ClusterError(
                f"{exc} Resume with: faqnas search --resume {run_id} --store {path} {where}"
            ) from exc
        except KeyboardInterrupt:
            runs = store.list_runs()
            run_id = run_id or (runs[-1].id if runs else "RUN")
            print(
                f"faqnas: interrupted; finished evaluations are stored. Resume with: "
                f"faqnas search --resume {run_id} --store {path}",
                file=sys.stderr,
            )
            return 130
        rows = front_rows(result.front)
        if args.json:
            print_json(
                {
                    "run": result.run_id,
                    "front": rows,
                    "candidates": len(result.candidates),
                    "trained": result.trained,
                    "generations": len(result.generations),
                    "stopped_early": result.stopped_early,
                    "wall_time_s": result.wall_s,
                    "repeats": config.repeats,
                    "variance": result.variance.to_dict(),
                }
            )
            return 0
        stop = "stopped early (front unchanged)" if result.stopped_early else "finished"
        print(
            f"{stop}: {len(result.candidates)} candidates, {result.trained} trained, "
            f"{result.wall_s:.1f} s. Front of run {result.run_id}:"
        )
        print_front(rows, result.variance)
    return 0


COMMAND = Command(
    name="search",
    help="search architectures (NSGA-II over accuracy and quantum FLOPs)",
    description=(
        "Search the space with NSGA-II (pymoo) for the trade-off between validation "
        "accuracy and quantum FLOPs, storing every evaluation in a SQLite store the moment "
        "it finishes. The run id is printed first; resume an interrupted run with --resume."
    ),
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=True,
)
