"""The ``faqnas`` command. The only module that reads argv and the environment.

Every ``FaqnasError`` becomes one line on stderr and exit status 2 (``--debug`` shows the
traceback instead).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn, TextIO, cast

from faqnas_qiskit import __version__
from faqnas_qiskit.errors import ClusterError, ConfigError, FaqnasError, invalid
from faqnas_qiskit.limits import MAX_REPEATS, OPTION_BOUNDS, check_repeats

__all__ = ["main"]

log = logging.getLogger("faqnas_qiskit")

DATA_ENV = "FAQNAS_DATA"
STORE_ENV = "FAQNAS_STORE"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}. See '{self.prog} --help'.\n")


def _add_subspace_options(parser: argparse.ArgumentParser, title: str) -> None:
    sub = parser.add_argument_group(title)
    sub.add_argument("--qubits", help="e.g. 2-4 or 2,3,5")
    sub.add_argument("--depth", help="e.g. 1-2")
    sub.add_argument("--embedding", help="angle, amplitude or both (comma-separated)")
    sub.add_argument("--entangler", help="cx, cz or both")
    sub.add_argument("--topology", help="linear, circular or both")
    sub.add_argument("--rotations", help="allowed rotations, e.g. ry,rz")
    sub.add_argument(
        "--exclude-dead",
        action="store_true",
        help="leave out networks without a trainable quantum weight (all rotations rz)",
    )


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        help="iris, wine, breast_cancer, digits, mnist, fashion_mnist, or csv:PATH (default: iris)",
    )
    group.add_argument(
        "--data-dir",
        help=f"directory of the MNIST/Fashion-MNIST IDX files (default: ${DATA_ENV})",
    )
    group.add_argument("--target", help="target column of a csv:PATH dataset")
    group.add_argument("--max-train", type=int, help="subsample the training split to N samples")


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training (defaults: the FAQNAS paper's)")
    group.add_argument("--epochs", type=int, default=5, help="epochs (default: 5)")
    group.add_argument(
        "--lr", type=float, default=0.003, help="Adam learning rate (default: 0.003)"
    )
    group.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    group.add_argument(
        "--engine",
        default="statevector",
        help="statevector (fast, exact, default) or aer (Qiskit Aer EstimatorV2, parameter shift)",
    )
    group.add_argument("--double", action="store_true", help="train in float64/complex128")
    group.add_argument(
        "--device",
        default="cpu",
        help=(
            "cpu (default), cuda, or auto (cuda when torch sees a GPU): where model, engine and "
            "data live; results agree with cpu to float tolerance, and a cuda result is stored "
            "apart from the cpu one"
        ),
    )
    group.add_argument(
        "--repeats",
        type=int,
        default=1,
        help=(
            f"train each candidate K times (own weights, batch order and train/val split; "
            f"1-{MAX_REPEATS}; default: 1, the paper's) and report mean ± sd"
        ),
    )
    group.add_argument(
        "--seed", type=int, default=0, help="seed of split, weights, batches (default: 0)"
    )
    group.add_argument(
        "--threads",
        type=int,
        default=1,
        help=(
            "torch threads per evaluation (default: 1, as on --workers, so results are the "
            "same in every mode; more threads change the last digits)"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``faqnas`` argument parser."""
    parser = _Parser(
        prog="faqnas",
        description=(
            "FLOPs-aware hybrid quantum neural architecture search on Qiskit. Genomes are "
            "strings like q4-angle-cz-circular-ry.rx (qubits, embedding, entangler, topology, "
            "one rotation per layer)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"faqnas {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    evaluate = commands.add_parser(
        "evaluate",
        help="train and score one architecture",
        description=(
            "Train one architecture on a dataset's training split (stratified 60/20/20 split "
            "from --seed, standardised on the training split) and print its accuracies."
        ),
    )
    evaluate.add_argument("--genome", required=True, help="e.g. q4-angle-cz-circular-ry.rx")
    _add_data_options(evaluate)
    _add_training_options(evaluate)
    _add_metrics_options(evaluate)
    evaluate.add_argument(
        "--no-metrics", action="store_true", help="skip the cost metrics (FLOPs, transpiled counts)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    _add_cache_option(evaluate)
    evaluate.set_defaults(handler=_cmd_evaluate)

    inspect_ = commands.add_parser(
        "inspect",
        help="cost metrics of one architecture, without training it",
        description=(
            "Print the cost metrics of one architecture: quantum and classical FLOPs (torch "
            "profiler convention, one sample), training FLOPs, parameters, gate counts "
            "transpiled for Aer and an IBM target (a fake backend), the circuit's duration and "
            "the QPU seconds IBM's usage formula predicts. Layer widths come from --dataset, or "
            "from --features and --classes."
        ),
    )
    inspect_.add_argument("--genome", required=True, help="e.g. q4-angle-cz-circular-ry.rx")
    _add_data_options(inspect_)
    inspect_.add_argument("--features", type=int, help="input width (instead of --dataset)")
    inspect_.add_argument("--classes", type=int, help="number of classes (instead of --dataset)")
    inspect_.add_argument(
        "--train-samples",
        type=int,
        default=90,
        help="training samples with --features (default: 90)",
    )
    inspect_.add_argument("--seed", type=int, default=0, help="seed of the data split (default: 0)")
    inspect_.add_argument(
        "--epochs", type=int, default=5, help="epochs of training FLOPs (default: 5)"
    )
    _add_metrics_options(inspect_)
    inspect_.add_argument(
        "--samples",
        type=int,
        help="circuits run on the QPU (default: the test split's size, or 30)",
    )
    inspect_.add_argument(
        "--profile", action="store_true", help="count FLOPs with torch's profiler, not the formulas"
    )
    inspect_.add_argument("--draw", action="store_true", help="draw the circuit as text")
    inspect_.add_argument("--json", action="store_true", help="print one JSON object")
    _add_cache_option(inspect_)
    inspect_.set_defaults(handler=_cmd_inspect)

    search = commands.add_parser(
        "search",
        help="search architectures (NSGA-II over accuracy and quantum FLOPs)",
        description=(
            "Search the space with NSGA-II (pymoo) for the trade-off between validation "
            "accuracy and quantum FLOPs, storing every evaluation in a SQLite store the moment "
            "it finishes. The run id is printed first; resume an interrupted run with --resume."
        ),
    )
    _add_store_option(search)
    search.add_argument(
        "--resume",
        metavar="RUN",
        help=(
            "continue an interrupted run with its stored settings (only --workers, --scheduler "
            "and --threads may change)"
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
    _add_subspace_options(search, "sub-space (default: the whole space, 23,328 gene vectors)")
    hw = search.add_argument_group("cost metrics")
    hw.add_argument(
        "--ibm-target",
        default="fake_fez",
        help="IBM target (fake backend) of the transpiled counts (default: fake_fez)",
    )
    hw.add_argument(
        "--shots", type=int, default=1024, help="shots per circuit for predicted QPU seconds"
    )
    par = search.add_argument_group("parallelism (default: in-process)")
    where = par.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, help="evaluate on N local worker processes (dask.distributed)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="evaluate on an existing Dask cluster"
    )
    _add_data_options(search)
    _add_training_options(search)
    search.add_argument("--json", action="store_true", help="print the final front as JSON")
    _add_cache_option(search)
    search.set_defaults(handler=_cmd_search)

    runs = commands.add_parser(
        "runs", help="list the runs in the store", description="List the runs in the store."
    )
    _add_store_option(runs)
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(handler=_cmd_runs)

    front = commands.add_parser(
        "front",
        help="print a run's Pareto front",
        description="Print the Pareto front of a run: genome, accuracies, F_Q, F_C, parameters, "
        "two-qubit count and predicted QPU seconds.",
    )
    front.add_argument("run", metavar="RUN", help="run id (see 'faqnas runs')")
    _add_store_option(front)
    fmt = front.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    front.set_defaults(handler=_cmd_front)

    report = commands.add_parser(
        "report",
        help="write a run's report: HTML page, Markdown, PNG plots, CSV/JSON tables",
        description=(
            "Write DIR/report.html (one self-contained page), DIR/report.md, the plots as PNG "
            "and every table as CSV and JSON: the Pareto front, the FLOPs-aware front against "
            "baselines given with --compare, F_Q against two-qubit gates and QPU seconds with "
            "rank correlations, and accuracy on ideal simulation, noisy simulation and hardware."
        ),
    )
    report.add_argument("run", metavar="RUN", help="run id (see 'faqnas runs')")
    report.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="RUN2",
        help="baseline runs (e.g. --objectives error)",
    )
    report.add_argument("--out", help="output directory (default: faqnas-report-RUN)")
    _add_store_option(report)
    report.set_defaults(handler=_cmd_report)
    _add_hardware_parsers(commands)
    _add_atlas_parser(commands)
    return parser


def _add_metrics_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cost metrics")
    group.add_argument(
        "--ibm-target",
        dest="ibm_target",
        default="fake_fez",
        help="IBM target of the transpiled counts, a fake backend (default: fake_fez)",
    )
    group.add_argument(
        "--optimization-level", type=int, default=1, help="preset pass manager level (default: 1)"
    )
    group.add_argument(
        "--seed-transpiler", type=int, default=0, help="transpiler seed (default: 0)"
    )
    group.add_argument("--shots", type=int, default=1024, help="shots per circuit (default: 1024)")


def _add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help=f"SQLite results store (default: ${STORE_ENV} or ./faqnas.db)"
    )


def _data_dir(args: argparse.Namespace) -> str | None:
    """``--data-dir`` or ``$FAQNAS_DATA`` as an absolute path (a run resumes from anywhere)."""
    given = args.data_dir if args.data_dir is not None else os.environ.get(DATA_ENV)
    if given is None or given == "":
        if args.data_dir == "":
            raise ConfigError(
                invalid("data-dir", "a directory", "", "Pass --data-dir DIR.", what="option")
            )
        return None
    return os.path.abspath(os.path.expanduser(given))


def _dataset_spec(args: argparse.Namespace) -> str:
    """``--dataset`` (default iris); a ``csv:`` path made absolute, so that a run resumes, and
    its architectures re-evaluate, from any directory."""
    spec: str | None = args.dataset
    if spec is None:
        return "iris"
    if not spec.strip():
        raise ConfigError(
            invalid(
                "dataset",
                "a dataset name or csv:PATH",
                spec,
                "Pass e.g. --dataset iris, or leave --dataset out for the default (iris).",
                what="option",
            )
        )
    if spec.startswith("csv:") and spec[4:].strip():
        return "csv:" + os.path.abspath(os.path.expanduser(spec[4:].strip()))
    return spec


def _check_threads(threads: int) -> int:
    if threads < 1:
        raise ConfigError(
            invalid(
                "threads",
                "an integer of at least 1",
                threads,
                "Pass e.g. --threads 1 (the default).",
                what="option",
            )
        )
    return threads


def _set_threads(threads: int) -> None:
    _check_threads(threads)
    import torch

    torch.set_num_threads(threads)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from faqnas_qiskit.data import load_dataset
    from faqnas_qiskit.evaluation import (
        AccuracyStats,
        TrainingError,
        evaluate_repeats,
    )
    from faqnas_qiskit.space import Genome

    genome = Genome.parse(args.genome)
    check_repeats(args.repeats)
    config = _training_config(args)
    _set_threads(args.threads)
    dataset = load_dataset(
        _dataset_spec(args),
        seed=args.seed,
        data_dir=_data_dir(args),
        target=args.target,
        max_train=args.max_train,
    )
    metrics: dict[str, Any] = {}
    if not args.no_metrics:
        metrics = (
            _metrics_cache(args)
            .metrics(
                genome,
                dataset.n_features,
                dataset.n_classes,
                n_train=int(dataset.x_train.shape[0]),
                epochs=config.epochs,
                target=args.ibm_target,
                optimization_level=args.optimization_level,
                seed_transpiler=args.seed_transpiler,
                shots=args.shots,
                samples=int(dataset.x_test.shape[0]),
            )
            .to_dict()
        )
    results = evaluate_repeats(
        genome, dataset, config, seed=args.seed, repeats=range(args.repeats), metrics=metrics
    )
    failed = next((r for r in results if r.record is None), None)
    if failed is not None:
        raise TrainingError(f"Repeat {failed.repeat} of {genome.key} failed: {failed.error}")
    records = [r.record for r in results if r.record is not None]
    record = records[0]
    val = AccuracyStats.of([r.val_accuracy for r in records])
    test = AccuracyStats.of([r.test_accuracy for r in records])
    if args.json:
        out = {
            **record.to_dict(),
            **record.metrics,
            "repeats": [
                {
                    "repeat": r.repeat,
                    "train_accuracy": r.train_accuracy,
                    "val_accuracy": r.val_accuracy,
                    "test_accuracy": r.test_accuracy,
                    "loss_per_epoch": list(r.loss_per_epoch),
                }
                for r in records
            ],
            "val": val.to_dict(),
            "test": test.to_dict(),
        }
        print(json.dumps(out, sort_keys=True))
        return 0
    losses = record.loss_per_epoch
    print(f"{record.genome} on {record.dataset} (seed {record.seed}, {config.engine} engine)")
    print(
        f"  training   {config.epochs} epochs, Adam lr {config.lr:g}, batch {config.batch_size}, "
        f"{record.n_train} samples; loss {losses[0]:.4f} -> {losses[-1]:.4f}"
    )
    if len(records) == 1:
        print(
            f"  accuracy   train {record.train_accuracy:.4f}  val {record.val_accuracy:.4f}  "
            f"test {record.test_accuracy:.4f} (1 repeat: no uncertainty known; try --repeats 5)"
        )
    else:
        for name, stats in (("val", val), ("test", test)):
            assert stats.ci_low is not None and stats.ci_high is not None
            print(
                f"  {name + ' acc':<10s} {stats.describe()}, 95% CI [{stats.ci_low:.3f}, "
                f"{stats.ci_high:.3f}]; repeats {', '.join(f'{v:.3f}' for v in stats.values)}"
            )
    effective = record.params_quantum_effective
    dead = " (no trainable quantum weight)" if effective == 0 else ""
    print(
        f"  parameters {record.params_classical} classical, {record.params_quantum} quantum, "
        f"{effective} of them effective{dead}"
    )
    if metrics:
        ibm = metrics["transpiled"]
        total = metrics["quantum_flops"] + metrics["classical_flops"]
        print(
            f"  FLOPs      quantum {metrics['quantum_flops']:,}, classical "
            f"{metrics['classical_flops']:,}, total {total:,} per sample; "
            f"training {metrics['training_flops']:,}"
        )
        print(
            f"  {ibm['target']:<10s} {ibm['two_qubit_gates']} two-qubit gates, "
            f"depth {ibm['depth']}; "
            f"{ibm['predicted_qpu_s']:.2f} QPU s predicted for the test split at {args.shots} shots"
        )
    wall = sum(r.wall_time_s for r in records)
    print(
        f"  wall time  {wall:.2f} s for {len(records)} repeat{'s' if len(records) > 1 else ''} "
        f"(train {sum(r.train_time_s for r in records):.2f} s, "
        f"scoring {sum(r.eval_time_s for r in records):.2f} s)"
    )
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from faqnas_qiskit.circuits import build_circuit, effective_weights, genome_dead_weights
    from faqnas_qiskit.space import Genome

    genome = Genome.parse(args.genome)
    if args.features is not None or args.classes is not None:
        if args.dataset is not None or args.features is None or args.classes is None:
            raise ConfigError(
                "The 'features' and 'classes' options must be given together and without "
                f"--dataset. Got --features {args.features}, --classes {args.classes}, --dataset "
                f"{args.dataset} instead. Pass either --dataset NAME or --features F --classes C."
            )
        name, n_features, n_classes = "(given widths)", args.features, args.classes
        n_train, test_size = args.train_samples, 30
    else:
        from faqnas_qiskit.data import load_dataset

        dataset = load_dataset(
            _dataset_spec(args),
            seed=args.seed,
            data_dir=_data_dir(args),
            target=args.target,
            max_train=args.max_train,
        )
        name, n_features, n_classes = dataset.name, dataset.n_features, dataset.n_classes
        n_train, test_size = int(dataset.x_train.shape[0]), int(dataset.x_test.shape[0])
    samples = args.samples if args.samples is not None else test_size
    metrics = _metrics_cache(args).metrics(
        genome,
        n_features,
        n_classes,
        n_train=n_train,
        epochs=args.epochs,
        target=args.ibm_target,
        optimization_level=args.optimization_level,
        seed_transpiler=args.seed_transpiler,
        shots=args.shots,
        samples=samples,
        count_with_profiler=args.profile,
    )
    drawing = str(build_circuit(genome).circuit.draw(output="text", fold=-1)) if args.draw else None
    effective = effective_weights(genome)
    if args.json:
        out = {
            "genome": genome.key,
            "dataset": name,
            "n_features": n_features,
            "n_classes": n_classes,
            "n_train": n_train,
            "epochs": args.epochs,
            "shots": args.shots,
            "samples": samples,
            **metrics.to_dict(),
            "params_quantum_effective": effective,
            "dead_weights": sorted(genome_dead_weights(genome)),
        }
        if drawing is not None:
            out["circuit"] = drawing
        print(json.dumps(out, sort_keys=True))
        return 0
    ibm = metrics.transpiled
    print(
        f"{genome.key} on {name}: {n_features} features, {n_classes} classes, "
        f"{n_train} training samples"
    )
    print(
        f"  FLOPs       quantum {metrics.quantum_flops:,}, "
        f"classical {metrics.classical_flops:,} per "
        f"sample; training {metrics.training_flops:,} ({args.epochs} epochs)"
    )
    dead = " (no trainable quantum weight: a fixed feature map)" if effective == 0 else ""
    print(
        f"  parameters  {metrics.params_quantum} quantum ({effective} effective{dead}), "
        f"{metrics.params_classical} classical"
    )
    for counts in (metrics.aer, ibm):
        ops = ", ".join(f"{op} {count}" for op, count in counts.ops.items())
        print(
            f"  {counts.target:<11s} level {counts.optimization_level}, "
            f"seed {counts.seed_transpiler}: "
            f"{counts.size} ops ({ops}), depth {counts.depth}, 2q gates {counts.two_qubit_gates} "
            f"(2q depth {counts.two_qubit_depth})"
        )
    if ibm.duration_s is not None and ibm.predicted_qpu_s is not None:
        print(
            f"  QPU time    {ibm.duration_s * 1e6:.2f} us per shot on {ibm.target}; "
            f"{ibm.predicted_qpu_s:.2f} s predicted for {samples} samples x {args.shots} shots"
        )
    if drawing is not None:
        print(drawing)
    return 0


def _store_path(args: argparse.Namespace) -> str:
    """``--store``, else ``$FAQNAS_STORE``, else ``faqnas.db``; an empty ``--store`` is an error
    (the store checks the path), never a silent default."""
    if args.store is not None:
        return str(args.store)
    return os.environ.get(STORE_ENV) or "faqnas.db"


def _values(name: str, text: str | None, allowed: Sequence[object]) -> tuple[object, ...] | None:
    """``"2-4"`` or ``"2,3,5"`` (integers) or ``"cx,cz"`` (names) -> allowed values."""
    if text is None:
        return None
    numeric = all(isinstance(v, int) for v in allowed)
    values: list[object] = []

    def digits(word: str) -> bool:  # ASCII only: str.isdigit() also accepts '٣'
        return word.isascii() and word.isdigit() and len(word) <= 6

    for part in text.split(","):
        part = part.strip()
        if numeric and "-" in part:
            low, _, high = part.partition("-")
            if not (digits(low) and digits(high)):
                values.append(part)
                continue
            values.extend(range(int(low), int(high) + 1))
        elif numeric and digits(part):
            values.append(int(part))
        else:
            values.append(part)
    if not values or any(v not in allowed for v in values):
        shown = ", ".join(str(v) for v in allowed)
        raise ConfigError(
            invalid(
                name,
                f"values or ranges from {shown}",
                text,
                f"E.g. --{name} {allowed[0]}",
                what="option",
            )
        )
    return tuple(values)


def _space(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from faqnas_qiskit.space import (
        DEPTHS,
        EMBEDDINGS,
        ENTANGLERS,
        QUBITS,
        ROTATIONS,
        TOPOLOGIES,
        SearchSpace,
    )

    chosen = {
        "qubits": _values("qubits", args.qubits, QUBITS),
        "depths": _values("depth", args.depth, DEPTHS),
        "embeddings": _values("embedding", args.embedding, EMBEDDINGS),
        "entanglers": _values("entangler", args.entangler, ENTANGLERS),
        "topologies": _values("topology", args.topology, TOPOLOGIES),
        "rotations": _values("rotations", args.rotations, ROTATIONS),
    }
    given: dict[str, Any] = {k: v for k, v in chosen.items() if v is not None}
    return SearchSpace(**given)


def _progress(store_path: str, quiet: bool):  # type: ignore[no-untyped-def]
    from faqnas_qiskit.search import SearchObserver

    class Progress(_Progress, SearchObserver):
        pass

    return Progress(store_path, quiet)


class _Progress:
    """Search observer: run id first, a progress bar with ETA (on a terminal), a line per
    generation."""

    def __init__(self, store_path: str, quiet: bool) -> None:
        self.store_path = store_path
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.total = 0
        self.done = 0
        self.started = 0.0
        self.generations = 0

    def run_started(self, run_id: str, config, resumed: bool) -> None:  # type: ignore[no-untyped-def]
        self.generations = config.generations
        verb = "resuming" if resumed else "run"
        # with --json, stdout carries the JSON alone; the run id still comes first, on stderr
        out = sys.stderr if self.quiet else sys.stdout
        print(f"{verb} {run_id} (store {self.store_path})", file=out, flush=True)
        if not self.quiet:
            print(
                f"  {config.strategy} on {config.dataset}, "
                f"objectives {','.join(config.objectives)}, "
                f"space: {config.space.describe()}"
                f"{' without dead networks' if config.exclude_dead else ''}, seed {config.seed}, "
                f"{config.repeats} repeat{'s' if config.repeats > 1 else ''} per candidate",
                flush=True,
            )

    def generation_started(self, generation: int, total: int, cached: int) -> None:
        import time

        self.total, self.done, self.started = total, 0, time.perf_counter()

    def candidate_finished(self, outcome, cached: bool) -> None:  # type: ignore[no-untyped-def]
        import time

        self.done += 1
        if not self.tty:
            return
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r  [{bar}] {self.done}/{self.total} ETA {eta:5.1f} s ")
        sys.stderr.flush()

    def generation_finished(self, summary) -> None:  # type: ignore[no-untyped-def]
        if self.tty:
            sys.stderr.write("\r" + " " * 60 + "\r")
        if self.quiet:
            return
        best = "-" if summary.best_val_accuracy is None else f"{summary.best_val_accuracy:.3f}"
        lowest = "-" if summary.lowest_flops is None else f"{summary.lowest_flops:.4g}"
        print(
            f"  gen {summary.generation + 1}: {summary.evaluated} evaluated "
            f"({summary.trained} trained, {summary.cache_hits} cache hits, "
            f"{summary.failures} failed), "
            f"front {summary.front_size}, best val acc {best}, lowest F_Q {lowest}, "
            f"{summary.seconds:.1f} s",
            flush=True,
        )


def _fmt(value: object, spec: str) -> str:
    if value is None:
        return "-"
    return format(value, spec)


def _accuracy_cell(mean: object, sd: object) -> str:
    """``0.733±0.050``, or ``0.733`` when no standard deviation is known."""
    if mean is None:
        return "-"
    if sd is None:
        return format(mean, ".3f")
    return f"{mean:.3f}±{sd:.3f}"


def _print_front(rows: list[dict[str, object]], variance: Any = None) -> None:
    """The front as a table; ``variance`` (a VarianceSummary) adds the line on its noise."""
    header = (
        f"{'genome':37s} {'val acc':>11s} {'test acc':>11s} {'n':>2s} {'F_Q':>10s} "
        f"{'F_C':>8s} {'F_Q+F_C':>10s} {'params':>7s} {'2q gates':>8s} {'QPU s':>8s}"
    )
    print(header)
    dead = False
    for r in rows:
        mark = "*" if r.get("dead_quantum_layer") else ""
        dead = dead or bool(mark)
        print(
            f"{str(r['genome']) + mark:37s} {_accuracy_cell(r['val_accuracy'], r['val_sd']):>11s} "
            f"{_accuracy_cell(r['test_accuracy'], r['test_sd']):>11s} "
            f"{_fmt(r['repeats'], 'd'):>2s} "
            f"{_fmt(r['quantum_flops'], ',.0f'):>10s} {_fmt(r['classical_flops'], ',.0f'):>8s} "
            f"{_fmt(r['total_flops'], ',.0f'):>10s} "
            f"{_fmt(r['params'], 'd'):>7s} {_fmt(r['two_qubit_gates'], 'd'):>8s} "
            f"{_fmt(r['predicted_qpu_s'], '.2f'):>8s}"
        )
    spread = any(r.get("val_sd") is not None for r in rows)
    print(
        ("accuracies: mean±sd over n repeats" if spread else "accuracies: one evaluation each")
        + "; FLOPs per sample; params: classical + effective quantum weights"
    )
    if dead:
        print(
            "* no trainable quantum weight: every rotation's gradient is identically zero, so "
            "the quantum layer is a fixed feature map (try --exclude-dead)"
        )
    if variance is not None:
        print(variance.verdict)


def _csv_value(value: object) -> object:
    """Lists (per-repeat values, intervals) as ``;``-separated text in a CSV cell."""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def _training_config(args: argparse.Namespace) -> Any:
    """The TrainingConfig of the shared training options (``evaluate``, ``search``)."""
    from faqnas_qiskit.evaluation import TrainingConfig, resolve_device

    return TrainingConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        engine=args.engine,
        double=args.double,
        device=resolve_device(args.device),
    )


def _search_config(args: argparse.Namespace) -> Any:
    """The SearchConfig that ``faqnas search`` options describe (a new run)."""
    from faqnas_qiskit.search import SearchConfig, parse_objectives

    return SearchConfig(
        dataset=_dataset_spec(args),
        seed=args.seed,
        objectives=parse_objectives(args.objectives),
        strategy=args.strategy,
        space=_space(args),
        population=args.population,
        generations=args.generations,
        stagnation=args.stagnation,
        crossover_prob=args.crossover_prob,
        mutation_prob=args.mutation_prob,
        budget=args.budget,
        training=_training_config(args),
        max_train=args.max_train,
        target_column=args.target,
        data_dir=_data_dir(args),
        metrics_target=args.ibm_target,
        shots=args.shots,
        repeats=args.repeats,
        exclude_dead=args.exclude_dead,
    )


RESUME_MAY_CHANGE = ("workers", "scheduler", "threads", "json", "store", "debug", "resume")
"""Options of ``faqnas search`` that may differ on ``--resume``: where and how it runs, not
what it computes."""


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


def _check_resume_options(args: argparse.Namespace, stored: Any) -> None:
    """Refuse options given with ``--resume`` that contradict the stored run, naming them."""
    search = _subparsers(build_parser())["search"]
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
                f"with them. Only {', '.join('--' + o for o in RESUME_MAY_CHANGE[:3])} may "
                "change.",
                what="option",
            )
        )


def _cmd_search(args: argparse.Namespace) -> int:
    from faqnas_qiskit.search import (
        SearchConfig,
        SearchRunner,
        SerialEvaluator,
        StoreCachedMetrics,
        front_rows,
        search_metrics,
    )
    from faqnas_qiskit.store import ResultsStore

    store_path = _store_path(args)
    _check_threads(args.threads)  # the evaluators set it per task, on whichever process trains
    if args.resume:
        store = ResultsStore(store_path, create=False)
        try:
            run = store.get_run(args.resume)
            config = SearchConfig.from_dict(run.config)
            if args.dataset is not None and _dataset_spec(args) != config.dataset:
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
    dataset = config.load_data()  # on --resume: also checks the data did not change
    if store is None and config.file_backed:  # a new run records what its data was
        config = dataclasses.replace(config, data_fingerprint=dataset.fingerprint)
    # checks the target; nothing stored yet
    compute, settings = search_metrics(config, dataset, cache=_metrics_cache(args))
    evaluator: Any = SerialEvaluator(dataset, torch_threads=args.threads)
    if args.workers is not None or args.scheduler is not None:
        from faqnas_qiskit.search.distributed import DaskEvaluator

        if not args.debug:
            _quiet_dask()

        if args.workers is not None:
            if args.workers < 1:
                raise ConfigError(
                    invalid("workers", "an integer of at least 1", args.workers, what="option")
                )
            evaluator = DaskEvaluator.local(
                dataset, workers=args.workers, torch_threads=args.threads
            )
        else:
            evaluator = DaskEvaluator.connect(dataset, args.scheduler, torch_threads=args.threads)
    if store is None:
        store = ResultsStore(store_path, create=True)
    with store, _Closing(evaluator):
        runner = SearchRunner(
            store,
            evaluator,
            StoreCachedMetrics(store, compute, settings),
            dataset.name,
            _progress(store_path, quiet=args.json),
        )
        run_id = args.resume
        try:
            result = runner.resume(args.resume) if args.resume else runner.start(config)
        except ClusterError as exc:
            runs = store.list_runs()
            run_id = run_id or (runs[-1].id if runs else "RUN")
            where = f"--workers {args.workers}" if args.workers else f"--scheduler {args.scheduler}"
            raise ClusterError(
                f"{exc} Resume with: faqnas search --resume {run_id} --store {store_path} {where}"
            ) from exc
        except KeyboardInterrupt:
            runs = store.list_runs()
            run_id = run_id or (runs[-1].id if runs else "RUN")
            print(
                f"faqnas: interrupted; finished evaluations are stored. Resume with: "
                f"faqnas search --resume {run_id} --store {store_path}",
                file=sys.stderr,
            )
            return 130
        rows = front_rows(result.front)
        if args.json:
            out = {
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
            print(json.dumps(out, sort_keys=True))
            return 0
        stop = "stopped early (front unchanged)" if result.stopped_early else "finished"
        print(
            f"{stop}: {len(result.candidates)} candidates, {result.trained} trained, "
            f"{result.wall_s:.1f} s. Front of run {result.run_id}:"
        )
        _print_front(rows, result.variance)
    return 0


def _quiet_dask() -> None:
    """Silence dask.distributed's own logs: its errors reach the user as one ClusterError line.

    Dask configures some child loggers (``distributed.client`` among them) with their own
    levels, so the parent's level alone does not cover them.
    """
    names = [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    for name in ["distributed", *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


class _Closing:
    """Close an evaluator (stop local workers) however the search ends."""

    def __init__(self, evaluator: Any) -> None:
        self.evaluator = evaluator

    def __enter__(self) -> Any:
        return self.evaluator

    def __exit__(self, *exc: object) -> None:
        self.evaluator.close()


def _cmd_runs(args: argparse.Namespace) -> int:
    import datetime

    from faqnas_qiskit.store import ResultsStore

    with ResultsStore(_store_path(args), create=False) as store:
        runs = store.list_runs()
        counts = {r.id: len(store.generations(r.id)) for r in runs}
    if args.json:
        out = [
            {
                "id": r.id,
                "status": r.status,
                "dataset": r.dataset,
                "seed": r.seed,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "generations": counts[r.id],
                "config": r.config,
                "versions": r.versions,
            }
            for r in runs
        ]
        print(json.dumps(out, sort_keys=True))
        return 0
    print(
        f"{'run':10s} {'status':11s} {'dataset':14s} {'strategy':10s} {'objectives':18s} "
        f"{'gens':>4s}  created"
    )
    for r in runs:
        created = datetime.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M")
        print(
            f"{r.id:10s} {r.status:11s} {r.dataset:14s} {r.config.get('strategy', '?'):10s} "
            f"{','.join(r.config.get('objectives', [])):18s} {counts[r.id]:>4d}  {created}"
        )
    return 0


def _cmd_front(args: argparse.Namespace) -> int:
    import csv

    from faqnas_qiskit.search import VarianceSummary, front_rows, load_run
    from faqnas_qiskit.store import ResultsStore

    with ResultsStore(_store_path(args), create=False) as store:
        run, config, candidates, front = load_run(store, args.run)
    rows = front_rows(front)
    variance = VarianceSummary.of(candidates, config.repeats)
    if args.json:
        out = {
            "run": run.id,
            "status": run.status,
            "front": rows,
            "repeats": config.repeats,
            "variance": variance.to_dict(),
        }
        print(json.dumps(out, sort_keys=True))
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["genome"])
        writer.writeheader()
        writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
    else:
        print(
            f"run {run.id} ({run.status}) on {run.dataset}: {len(rows)} architectures on the "
            f"front, {config.repeats} repeat{'s' if config.repeats > 1 else ''} per candidate"
        )
        _print_front(rows, variance)
    return 0


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _cmd_report(args: argparse.Namespace) -> int:
    from faqnas_qiskit.report import build_report, snapshot, write_report
    from faqnas_qiskit.store import ResultsStore

    with ResultsStore(_store_path(args), create=False) as store:
        main_run = snapshot(store, args.run)
        baselines = [snapshot(store, other) for other in args.compare]
    data = build_report(main_run, baselines)
    out = args.out or f"faqnas-report-{main_run.run_id}"
    written = write_report(data, out)
    plots = sum(1 for name in written if name.endswith(".png"))
    print(f"wrote {written['html']} and {written['md']} ({plots} plots, tables as CSV and JSON)")
    for note in data.missing:
        print(f"  missing: {note}")
    if not any(name.endswith(".png") for name in written) and not _has_matplotlib():
        print(
            "  missing: the plots (matplotlib is not installed): "
            "pip install 'faqnas-qiskit[plots]' and write the report again."
        )
    return 0


TOKEN_ENV = "QISKIT_IBM_TOKEN"  # the names qiskit-ibm-runtime itself uses
INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
CHANNEL_ENV = "QISKIT_IBM_CHANNEL"


def _add_hardware_parsers(commands: Any) -> None:
    hardware = commands.add_parser(
        "hardware",
        help="re-evaluate a run's trained architectures on a simulator or IBM Quantum",
        description=(
            "Evaluate the trained architectures of a run (its Pareto front by default) forward-"
            "only on the test split on a backend profile: ideal Aer (aer), noisy simulation from "
            "a fake IBM backend (fake_fez, ...), or IBM Quantum hardware (ibm_fez, ...) in batch "
            "mode, one job per architecture. Preflight checks qubits, ISA, credentials and the "
            "predicted QPU seconds before anything is submitted; job ids are stored the moment "
            "a job is accepted, and --resume fetches them instead of paying twice. Hardware "
            f"reads ${TOKEN_ENV} (and ${INSTANCE_ENV}, ${CHANNEL_ENV}) or a saved Qiskit account."
        ),
    )
    hardware.add_argument("run", metavar="RUN", help="run id (see 'faqnas runs')")
    hardware.add_argument(
        "--backend",
        required=True,
        metavar="NAME",
        help="a profile from 'faqnas backends' (aer, fake_fez, ibm_fez, ...) or a .toml file",
    )
    which = hardware.add_mutually_exclusive_group()
    which.add_argument("--front", action="store_true", help="the run's Pareto front (default)")
    which.add_argument("--genome", nargs="+", metavar="G", help="these architectures of the run")
    hardware.add_argument("--shots", type=int, help="shots per circuit (default: the profile's)")
    hardware.add_argument(
        "--samples", type=int, help="first N test samples only (default: the whole test split)"
    )
    hardware.add_argument(
        "--max-qpu-seconds",
        type=float,
        metavar="S",
        help="budget of predicted QPU seconds for this call (default: the profile's limit)",
    )
    hardware.add_argument(
        "--dry-run", action="store_true", help="check and price the run; submit nothing"
    )
    hardware.add_argument(
        "--resume", action="store_true", help="fetch jobs submitted earlier by their stored ids"
    )
    hardware.add_argument(
        "--retry-failed", action="store_true", help="submit again the architectures that failed"
    )
    hardware.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="stop waiting after S seconds (jobs stay stored; --resume later)",
    )
    hardware.add_argument(
        "--account", metavar="NAME", help=f"a saved Qiskit account (instead of ${TOKEN_ENV})"
    )
    _add_store_option(hardware)
    hardware.add_argument("--json", action="store_true", help="print one JSON object")
    hardware.set_defaults(handler=_cmd_hardware)

    backends = commands.add_parser(
        "backends",
        help="list the backend profiles",
        description="List the shipped backend profiles (the files in backends/).",
    )
    backends.add_argument("--json", action="store_true", help="print JSON")
    backends.set_defaults(handler=_cmd_backends)


def _ibm_credentials(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Credentials from the environment (read here only); the token is hidden from every log."""
    from faqnas_qiskit.hardware import IBMCredentials, SecretFilter

    token = os.environ.get(TOKEN_ENV) or None
    if token is not None:
        # no log record of any library may show it, whichever handler writes it (qiskit-ibm-
        # runtime installs its own): scrub every record as it is made
        redact = SecretFilter(token)
        make_record = logging.getLogRecordFactory()

        def scrubbed(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            redact.filter(record)
            return record

        logging.setLogRecordFactory(scrubbed)
    use_token = token is not None and args.account is None
    return IBMCredentials(
        token=token if use_token else None,
        instance=os.environ.get(INSTANCE_ENV) or None,
        channel=os.environ.get(CHANNEL_ENV) or "ibm_quantum_platform",
        account=args.account,
        use_saved_account=not use_token and args.account is None,
    )


class _HardwareProgress:
    """One line per step of each architecture (silent with --json)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, event) -> None:  # type: ignore[no-untyped-def]
        if self.quiet or event.stage == "planned":
            return
        head = f"  [{event.index}/{event.total}] {event.key:32s} {event.stage:9s}"
        if event.record is not None:
            r = event.record
            print(
                f"{head} acc {r.accuracy:.3f} (statevector {r.simulator_accuracy:.3f}), "
                f"{r.two_qubit_gates} 2q gates, {r.wall_time_s:.1f} s",
                flush=True,
            )
        elif event.error is not None:
            print(f"{head} {event.error}", flush=True)
        else:
            print(f"{head} job {event.job_id}", flush=True)


def _print_plan(plan) -> None:  # type: ignore[no-untyped-def]
    source = {
        "snapshot": "calibration snapshot",
        "device": "live device",
        "simulator": "simulator",
    }.get(plan.target_source, plan.target_source)
    print(
        f"run {plan.run_id} on {plan.profile.name}: target {plan.target} ({source}), "
        f"{plan.n_samples} test samples x {plan.shots} shots"
    )
    if plan.profile.is_hardware and plan.credentials is None:
        print(f"  no IBM Quantum credentials: a real run needs ${TOKEN_ENV} or a saved account")
    print(
        f"{'genome':32s} {'action':>7s} {'qubits':>6s} {'2q':>4s} {'depth':>5s} "
        f"{'pred. QPU s':>11s}  job"
    )
    for item in plan.items:
        metrics = item.metrics
        print(
            f"{item.key:32s} {item.action:>7s} {item.n_qubits:>6d} "
            f"{_fmt(metrics and metrics.two_qubit_gates, 'd'):>4s} "
            f"{_fmt(metrics and metrics.depth, 'd'):>5s} "
            f"{_fmt(item.predicted_qpu_s, '.2f'):>11s}  {item.job_id or '-'}"
        )
    total, budget = plan.predicted_qpu_s, plan.max_qpu_seconds
    if total is not None:
        over = " - OVER BUDGET, a real run is refused" if budget and total > budget else ""
        print(f"predicted {total:.1f} QPU s to submit (budget {_fmt(budget, '.1f')} s){over}")


def _print_hardware(result) -> None:  # type: ignore[no-untyped-def]
    plan = result.plan
    print(
        f"\n{len(result.records)} re-evaluated on {plan.profile.name} ({plan.target}): "
        f"{result.submitted} submitted, {result.fetched} fetched, {result.reused} from the store"
    )
    print(
        f"{'genome':32s} {'acc':>5s} {'sv acc':>6s} {'2q':>4s} {'depth':>5s} "
        f"{'pred. QPU s':>11s} {'QPU s':>7s} {'wall s':>7s}  job"
    )
    for r in result.records:
        print(
            f"{r.genome:32s} {r.accuracy:5.3f} {r.simulator_accuracy:6.3f} "
            f"{r.two_qubit_gates:4d} {r.depth:5d} {_fmt(r.predicted_qpu_s, '.2f'):>11s} "
            f"{r.measured_qpu_s:7.2f} {r.wall_time_s:7.1f}  {','.join(r.job_ids)}"
        )
    if result.records:
        measured = sum(r.measured_qpu_s for r in result.records)
        where = "job.usage()" if result.records[0].on_qpu else "simulator: no QPU time"
        print(f"measured QPU s: {measured:.2f} ({where})")
    for failure in result.failures:
        print(f"FAILED {failure.key} (job {failure.job_id or '-'}): {failure.error}")
    if result.pending:
        print(f"still running: {', '.join(result.pending)}; run again with --resume")


def _cmd_hardware(args: argparse.Namespace) -> int:
    from faqnas_qiskit.hardware import load_profile, reevaluate
    from faqnas_qiskit.store import ResultsStore

    profile = load_profile(args.backend)
    credentials = _ibm_credentials(args) if profile.is_hardware else None
    if not args.debug:  # its warnings ("Loading account with the given token") are not ours
        logging.getLogger("qiskit_ibm_runtime").setLevel(logging.ERROR)
    with ResultsStore(_store_path(args), create=False) as store:
        try:
            result = reevaluate(
                store,
                args.run,
                profile,
                keys=args.genome,
                shots=args.shots,
                samples=args.samples,
                max_qpu_seconds=args.max_qpu_seconds,
                dry_run=args.dry_run,
                resume=args.resume,
                retry_failed=args.retry_failed,
                credentials=credentials,
                timeout_s=args.timeout,
                progress=_HardwareProgress(quiet=args.json),
            )
        except KeyboardInterrupt:
            print(
                "faqnas: submitted job ids are stored; run the same command with --resume",
                file=sys.stderr,
            )
            raise
    if args.json:
        print(json.dumps(result.to_dict(), sort_keys=True))
    elif result.dry_run:
        _print_plan(result.plan)
    else:
        _print_hardware(result)
    return 1 if result.failures else 0


def _cmd_backends(args: argparse.Namespace) -> int:
    from faqnas_qiskit.hardware import list_profiles

    profiles = list_profiles()
    if args.json:
        print(json.dumps([p.to_dict() for p in profiles], sort_keys=True))
        return 0
    print(
        f"{'name':16s} {'adapter':12s} {'backend':16s} {'shots':>6s} {'opt':>3s} "
        f"{'max q':>5s} {'max QPU s':>9s}  description"
    )
    for p in profiles:
        print(
            f"{p.name:16s} {p.adapter:12s} {p.backend:16s} {p.shots:6d} "
            f"{p.optimization_level:3d} {p.limits.max_qubits:5d} "
            f"{_fmt(p.limits.max_qpu_seconds, '.0f'):>9s}  {p.description}"
        )
    print("A path to a .toml file with the same fields works as --backend too.")
    return 0


CACHE_ENV = "FAQNAS_CACHE"


def _add_cache_option(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--cache",
        metavar="PATH",
        help=(
            f"the machine's metrics cache, a SQLite file shared by every store (default: "
            f"${CACHE_ENV}, else $XDG_CACHE_HOME/faqnas/metrics.db or ~/.cache/faqnas/metrics.db)"
        ),
    )
    where.add_argument(
        "--no-cache", action="store_true", help="compute every metric afresh, cache nothing"
    )


def _cost_cache(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The machine's cost cache of ``--cache`` / ``$FAQNAS_CACHE`` / the user's cache folder."""
    from faqnas_qiskit.metrics import CostCache, default_cache_path

    path = args.cache or default_cache_path(os.environ)
    return CostCache(os.path.expanduser(str(path)))


def _metrics_cache(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """A metrics cache over the machine's cost cache (none with ``--no-cache``)."""
    from faqnas_qiskit.metrics import MetricsCache

    if getattr(args, "no_cache", False):
        return MetricsCache()
    return MetricsCache(persistent=_cost_cache(args))


def _add_atlas_parser(commands: Any) -> None:
    atlas = commands.add_parser(
        "atlas",
        help="cost every network of the space on a target, or report how FLOPs rank that cost",
        description=(
            "Fill the machine's metrics cache with the genome-level cost of every network of "
            "the space (8,640) or of a sub-space on an IBM target (and on Aer): F_Q, effective "
            "parameters, transpiled counts, two-qubit depth, scheduled duration, QPU seconds "
            "per sample and shot. Resumable: a killed run continues where it stopped. With "
            "--report, write how well F_Q, F_Q + F_C and the parameter count rank two-qubit "
            "gates, two-qubit depth, duration and predicted QPU seconds (Spearman, Kendall), "
            "overall, by embedding and by qubit count, with plots, for every target given."
        ),
    )
    atlas.add_argument(
        "--ibm-target",
        help="fake IBM backend (default: fake_fez); with --report a comma-separated list "
        "(default: every target with an atlas)",
    )
    where = atlas.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1, help="local worker processes (default: 1)")
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="compute on an existing Dask cluster (its workers need faqnas-qiskit installed)",
    )
    atlas.add_argument(
        "--optimization-level", type=int, default=1, help="preset pass manager level (default: 1)"
    )
    atlas.add_argument(
        "--seed-transpiler", type=int, default=0, help="transpiler seed (default: 0)"
    )
    _add_cache_option(atlas)
    _add_subspace_options(atlas, "sub-space (default: the whole space, 8,640 networks)")
    report = atlas.add_argument_group("report")
    report.add_argument("--report", action="store_true", help="write the correlation report")
    report.add_argument("--out", help="report folder (default: faqnas-atlas)")
    report.add_argument("--features", type=int, default=4, help="input width for F_C (default: 4)")
    report.add_argument("--classes", type=int, default=3, help="classes for F_C (default: 3)")
    report.add_argument(
        "--samples", type=int, default=30, help="circuits per job for QPU seconds (default: 30)"
    )
    report.add_argument("--shots", type=int, default=1024, help="shots per circuit (default: 1024)")
    fmt = atlas.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the atlas (or report) as JSON")
    fmt.add_argument("--csv", action="store_true", help="print the atlas as CSV")
    atlas.set_defaults(handler=_cmd_atlas)


class _AtlasProgress:
    """A progress bar with ETA on a terminal (stderr); silent otherwise."""

    def __init__(self, target: str) -> None:
        import time

        self.target = target
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.clock = time.monotonic

    def __call__(self, done: int, total: int) -> None:
        if not self.tty or total == 0:
            return
        elapsed = self.clock() - self.started
        eta = elapsed / done * (total - done) if done else float("nan")
        width = 30
        filled = int(width * done / total)
        shown = "--:--" if eta != eta else f"{int(eta) // 60:d}:{int(eta) % 60:02d}"
        end = "\n" if done == total else ""
        print(
            f"\r{self.target} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"{done / total:4.0%} ETA {shown}",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def _dask_client(address: str, *, quiet: bool, timeout_s: float = 5.0) -> Any:
    """A ``distributed.Client`` of the Dask scheduler at ``address`` with at least one worker.

    Raises:
        ConfigError: For a malformed address, or without the dask extra.
        ClusterError: When no scheduler answers, or it has no worker within 30 s.
    """
    try:
        import distributed
    except ImportError as missing:
        raise ConfigError(
            "Computing on a Dask cluster (--scheduler) needs dask.distributed, which is not "
            f"installed ({missing}). Install it with: pip install 'faqnas-qiskit[dask]'."
        ) from None
    if quiet:
        _quiet_dask()
    fix = "Pass the address that 'dask scheduler' prints, e.g. --scheduler tcp://HOST:8786."
    try:
        client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            invalid(
                "scheduler", f"the address of a Dask scheduler ({exc})", address, fix, what="option"
            )
        ) from None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"No Dask scheduler answered at {address!r} within {timeout_s:g} s. Start one with "
            "'dask scheduler' (it prints its address) and workers with 'dask worker ADDRESS'."
        ) from exc
    try:
        client.wait_for_workers(1, timeout=30.0)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise ClusterError(
            f"The Dask scheduler at {address!r} must have at least one worker. Got none within "
            f"30 s. Start workers with 'dask worker {address}'."
        ) from exc
    return client


def _cmd_atlas(args: argparse.Namespace) -> int:
    import csv

    from faqnas_qiskit.metrics import (
        atlas_networks,
        atlas_rows,
        build_atlas_report,
        canonical_target_name,
        fill_atlas,
        write_atlas_report,
    )
    from faqnas_qiskit.metrics.atlas import PROXIES

    cache = _cost_cache(args)
    if getattr(args, "no_cache", False) or not cache.usable:
        raise ConfigError(
            invalid(
                "cache",
                "a writable SQLite file (the atlas lives in it)",
                "none" if args.no_cache else str(cache.path),
                "Pass --cache PATH to a writable place.",
                what="option",
            )
        )
    level, seed = args.optimization_level, args.seed_transpiler
    if args.report:
        if args.ibm_target:
            names = [canonical_target_name(t) for t in args.ibm_target.split(",") if t.strip()]
        else:
            names = [t for t, lv, sd, _ in cache.targets() if (lv, sd) == (level, seed)]
            names = [t for t in names if t != "aer"]
        atlases = {}
        for name in names:
            entries = cache.entries(name, level, seed)
            if not entries:
                raise ConfigError(
                    invalid(
                        "ibm-target",
                        f"a target with an atlas at optimization level {level}, seed {seed}",
                        name,
                        f"Run 'faqnas atlas --ibm-target {name}' first.",
                        what="option",
                    )
                )
            atlases[name] = atlas_rows(
                entries,
                n_features=args.features,
                n_classes=args.classes,
                samples=args.samples,
                shots=args.shots,
            )
        if not atlases:
            raise ConfigError(
                invalid(
                    "ibm-target",
                    "a target with an atlas in the cache",
                    "none",
                    "Run 'faqnas atlas --ibm-target fake_fez' first.",
                    what="option",
                )
            )
        settings = {
            "features": args.features,
            "classes": args.classes,
            "samples": args.samples,
            "shots": args.shots,
            "optimization level": level,
            "seed": seed,
        }
        report = build_atlas_report(atlases, settings=settings)
        written = write_atlas_report(report, atlases, args.out or "faqnas-atlas")
        if args.json:
            print(json.dumps(report.to_dict(), sort_keys=True))
            return 0
        print(f"{'proxy':17s} {'cost':9s} " + " ".join(f"{t:>17s}" for t in report.targets))
        for proxy in PROXIES:
            for cost in ("2q gates", "2q depth", "duration", "QPU s"):
                cells = []
                for target in report.targets:
                    c = report.correlation(target, proxy, cost)
                    rho = "-" if c is None or c.spearman is None else f"{c.spearman:+.3f}"
                    tau = "-" if c is None or c.kendall is None else f"{c.kendall:+.3f}"
                    cells.append(f"{rho:>8s}/{tau:>8s}")
                print(f"{proxy:17s} {cost:9s} " + " ".join(cells))
        networks = ", ".join(f"{t} {n:,}" for t, n in report.networks.items())
        print(f"Spearman/Kendall over {networks} networks; wrote {written['md']}")
        return 0
    genomes = atlas_networks(_space(args), exclude_dead=args.exclude_dead)
    target = args.ibm_target or "fake_fez"
    with contextlib.ExitStack() as stack:
        client = None
        if args.scheduler is not None:
            client = _dask_client(args.scheduler, quiet=not args.debug)
            stack.callback(client.close)
        summary = fill_atlas(
            genomes,
            cache,
            target=target,
            optimization_level=level,
            seed_transpiler=seed,
            workers=args.workers,
            client=client,
            progress=None if args.json or args.csv else _AtlasProgress(target),
        )
    if args.json or args.csv:
        wanted = {g.key for g in genomes}
        rows = [
            e.to_dict() for e in cache.entries(summary.target, level, seed) if e.genome in wanted
        ]
        if args.json:
            print(json.dumps({"summary": summary.to_dict(), "networks": rows}, sort_keys=True))
            return 0
        fields = list(rows[0]) if rows else ["genome"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        writer.writerows(
            {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()}
            for r in rows
        )
        return 0
    where = (
        f"the Dask cluster at {args.scheduler}"
        if args.scheduler is not None
        else f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    )
    print(
        f"{summary.target}: {summary.total:,} networks, {summary.cached:,} already cached, "
        f"{summary.computed:,} computed in {summary.wall_s:.1f} s on {where}"
        + (f", {summary.too_large:,} too large for the target" if summary.too_large else "")
        + f"; cache {cache.path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``faqnas`` command.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on bad input, 130 on interrupt.
    """
    # torch's profiler (FLOPs metrics) logs every start and stop to stderr unless told not to
    os.environ.setdefault("KINETO_LOG_LEVEL", "99")
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # the subcommand's own usage, not the top level's
            command = _subparsers(parser).get(args.command or "", parser)
            command.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 2
    with _pipe_safe_stdout(), _sigterm_as_interrupt():
        try:
            for bound in OPTION_BOUNDS:  # every numeric option, before any work
                value = getattr(args, bound.dest, None)
                if value is not None:
                    bound.check(value)
            if args.command in _TORCH_COMMANDS:
                with _interrupt_deferred():
                    import torch  # noqa: F401
            return int(args.handler(args))
        except FaqnasError as exc:
            if args.debug:
                raise
            print(f"faqnas: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("faqnas: interrupted", file=sys.stderr)
            return 130
        except sqlite3.DatabaseError as exc:  # a damaged store read mid-command
            if args.debug:
                raise
            where = _store_path(args) if hasattr(args, "store") else "the store"
            print(
                f"faqnas: error: The store must be an intact faqnas database. Got {where!r}: "
                f"{exc}. Restore it from a copy or pass another --store.",
                file=sys.stderr,
            )
            return 2


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands' parsers by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


class _PipeSafe:
    """stdout that stops writing, instead of raising, once its reader has gone (``| head``).

    The command goes on (a search keeps training and storing); only its output is dropped.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self.stream.write(text))
            except BrokenPipeError:
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.broken = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def _pipe_safe_stdout() -> Iterator[None]:
    original = sys.stdout
    safe = _PipeSafe(original)
    sys.stdout = cast(TextIO, safe)
    try:
        yield
    finally:
        sys.stdout = original
        if safe.broken:
            # the interpreter's last flush must not raise either
            devnull = os.open(os.devnull, os.O_WRONLY)
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, original.fileno())
            os.close(devnull)


#: Commands that load torch. Ctrl-C while torch's C++ extension initialises aborts the process
#: (pybind11 cannot pass the KeyboardInterrupt on: "terminate called ..."), so it loads first,
#: with the interrupt held until it has.
_TORCH_COMMANDS = frozenset({"evaluate", "inspect", "search", "hardware", "atlas"})


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block is done, then raise it as KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a command as Ctrl-C does (a search marks its run interrupted)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def entry_point() -> NoReturn:
    """Console-script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C before main's own handling is in place
        print("faqnas: interrupted", file=sys.stderr)
        code = 130
    if code == 130:
        # interrupted: the one line is said; what libraries' exit handlers print while they
        # tear down half-started work (a Dask cluster interrupted while it starts) is not ours
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())
        os.close(devnull)
    sys.exit(code)
