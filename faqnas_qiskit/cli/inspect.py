"""``faqnas inspect``: the cost metrics of one architecture, without training it."""

from __future__ import annotations

import argparse

from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.options import (
    add_cache_option,
    add_data_options,
    add_metrics_options,
    data_dir,
    dataset_spec,
    metrics_cache,
)
from faqnas_qiskit.cli.output import print_json
from faqnas_qiskit.errors import ConfigError

__all__ = ["COMMAND"]


def _add_arguments(inspect_: argparse.ArgumentParser) -> None:
    inspect_.add_argument("--genome", required=True, help="e.g. q4-angle-cz-circular-ry.rx")
    add_data_options(inspect_)
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
    add_metrics_options(inspect_)
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
    add_cache_option(inspect_)


def _run(args: argparse.Namespace) -> int:
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
            dataset_spec(args),
            seed=args.seed,
            data_dir=data_dir(args),
            target=args.target,
            max_train=args.max_train,
        )
        name, n_features, n_classes = dataset.name, dataset.n_features, dataset.n_classes
        n_train, test_size = int(dataset.x_train.shape[0]), int(dataset.x_test.shape[0])
    samples = args.samples if args.samples is not None else test_size
    metrics = metrics_cache(args).metrics(
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
            "total_flops": metrics.quantum_flops + metrics.classical_flops,
            "params_quantum_effective": effective,
            "dead_weights": sorted(genome_dead_weights(genome)),
        }
        if drawing is not None:
            out["circuit"] = drawing
        print_json(out)
        return 0
    ibm = metrics.transpiled
    print(
        f"{genome.key} on {name}: {n_features} features, {n_classes} classes, "
        f"{n_train} training samples"
    )
    print(
        f"  FLOPs       quantum {metrics.quantum_flops:,}, "
        f"classical {metrics.classical_flops:,}, "
        f"total {metrics.quantum_flops + metrics.classical_flops:,} per "
        f"sample; training {metrics.training_flops:,} ({args.epochs} epochs)"
    )
    dead = "; no trainable quantum weight: a fixed feature map" if effective == 0 else ""
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


COMMAND = Command(
    name="inspect",
    help="cost metrics of one architecture, without training it",
    description=(
        "Print the cost metrics of one architecture: quantum and classical FLOPs (torch "
        "profiler convention, one sample), training FLOPs, parameters, gate counts "
        "transpiled for Aer and an IBM target (a fake backend), the circuit's duration and "
        "the QPU seconds IBM's usage formula predicts. Layer widths come from --dataset, or "
        "from --features and --classes."
    ),
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=True,
)
