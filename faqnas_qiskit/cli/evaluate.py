"""``faqnas evaluate``: train and score one architecture."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.options import (
    add_cache_option,
    add_data_options,
    add_metrics_options,
    add_training_options,
    data_dir,
    dataset_spec,
    metrics_cache,
    set_threads,
    training_config,
)
from faqnas_qiskit.cli.output import print_json
from faqnas_qiskit.limits import check_repeats

if TYPE_CHECKING:  # the command loads the metrics when it runs, not at --help
    from faqnas_qiskit.metrics import ArchitectureMetrics

__all__ = ["COMMAND"]


def _add_arguments(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument("--genome", required=True, help="e.g. q4-angle-cz-circular-ry.rx")
    add_data_options(evaluate)
    add_training_options(evaluate)
    add_metrics_options(evaluate)
    evaluate.add_argument(
        "--no-metrics", action="store_true", help="skip the cost metrics (FLOPs, transpiled counts)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    add_cache_option(evaluate)


def _run(args: argparse.Namespace) -> int:
    from faqnas_qiskit.data import load_dataset
    from faqnas_qiskit.evaluation import (
        AccuracyStats,
        TrainingError,
        evaluate_repeats,
    )
    from faqnas_qiskit.space import Genome

    genome = Genome.parse(args.genome)
    check_repeats(args.repeats)
    config = training_config(args)
    set_threads(args.threads)
    dataset = load_dataset(
        dataset_spec(args),
        seed=args.seed,
        data_dir=data_dir(args),
        target=args.target,
        max_train=args.max_train,
    )
    computed: ArchitectureMetrics | None = None
    if not args.no_metrics:
        computed = metrics_cache(args).metrics(
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
    metrics: dict[str, Any] = {} if computed is None else computed.to_dict()
    results = evaluate_repeats(genome, dataset, config, seed=args.seed, repeats=range(args.repeats))
    failed = next((r for r in results if r.record is None), None)
    if failed is not None:
        raise TrainingError(f"Repeat {failed.repeat} of {genome.key} failed: {failed.error}")
    records = [r.record for r in results if r.record is not None]
    record = records[0]
    val = AccuracyStats.of([r.val_accuracy for r in records])
    test = AccuracyStats.of([r.test_accuracy for r in records])
    if args.json:
        print_json(
            {
                **record.to_dict(),
                "metrics": metrics,  # as when records carried them; and flat, below
                **metrics,
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
        )
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
    if computed is not None:
        ibm = computed.transpiled
        print(
            f"  FLOPs      quantum {computed.quantum_flops:,}, classical "
            f"{computed.classical_flops:,}, total "
            f"{computed.quantum_flops + computed.classical_flops:,} per sample; "
            f"training {computed.training_flops:,}"
        )
        print(
            f"  {ibm.target:<10s} {ibm.two_qubit_gates} two-qubit gates, "
            f"depth {ibm.depth}; "
            f"{ibm.predicted_qpu_s:.2f} QPU s predicted for the test split at {args.shots} shots"
        )
    wall = sum(r.wall_time_s for r in records)
    print(
        f"  wall time  {wall:.2f} s for {len(records)} repeat{'s' if len(records) > 1 else ''} "
        f"(train {sum(r.train_time_s for r in records):.2f} s, "
        f"scoring {sum(r.eval_time_s for r in records):.2f} s)"
    )
    return 0


COMMAND = Command(
    name="evaluate",
    help="train and score one architecture",
    description=(
        "Train one architecture on a dataset's training split (stratified 60/20/20 split "
        "from --seed, standardised on the training split) and print its accuracies."
    ),
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=True,
)
