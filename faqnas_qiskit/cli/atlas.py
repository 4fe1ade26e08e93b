"""``faqnas atlas``: cost every network of the space on a target, or report how FLOPs rank
that cost."""

from __future__ import annotations

import argparse
import contextlib
import json

from faqnas_qiskit.cli.cluster import dask_client
from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.options import add_cache_option, add_subspace_options, cost_cache, space
from faqnas_qiskit.cli.output import AtlasProgress, print_json, write_csv
from faqnas_qiskit.errors import ConfigError, invalid

__all__ = ["COMMAND"]


def _add_arguments(atlas: argparse.ArgumentParser) -> None:
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
    add_cache_option(atlas)
    add_subspace_options(atlas, "sub-space (default: the whole space, 8,640 networks)")
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


def _json_cell(value: object) -> object:
    """Nested values (op counts, per-target settings) as JSON text in a CSV cell."""
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _run(args: argparse.Namespace) -> int:
    from faqnas_qiskit.metrics import (
        atlas_networks,
        atlas_rows,
        build_atlas_report,
        canonical_target_name,
        fill_atlas,
        write_atlas_report,
    )
    from faqnas_qiskit.metrics.atlas import PROXIES

    cache = cost_cache(args)
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
            print_json(report.to_dict())
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
    genomes = atlas_networks(space(args), exclude_dead=args.exclude_dead)
    target = args.ibm_target or "fake_fez"
    with contextlib.ExitStack() as stack:
        client = None
        if args.scheduler is not None:
            client = dask_client(args.scheduler, quiet=not args.debug)
            stack.callback(client.close)
        summary = fill_atlas(
            genomes,
            cache,
            target=target,
            optimization_level=level,
            seed_transpiler=seed,
            workers=args.workers,
            client=client,
            progress=None if args.json or args.csv else AtlasProgress(target),
        )
    if args.json or args.csv:
        wanted = {g.key for g in genomes}
        rows = [
            e.to_dict() for e in cache.entries(summary.target, level, seed) if e.genome in wanted
        ]
        if args.json:
            print_json({"summary": summary.to_dict(), "networks": rows})
            return 0
        write_csv(rows, _json_cell)
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


COMMAND = Command(
    name="atlas",
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
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=True,
)
