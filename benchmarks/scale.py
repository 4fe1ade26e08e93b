"""How a candidate's cost grows: wall time and peak memory against training rows and qubits.

Each cell trains and scores one candidate (``evaluate_genome``: paper settings, Adam lr 0.003,
batch 64, float32, one torch thread as in a search) on ``rows`` training rows, ``rows / 6``
validation and ``rows / 6`` test rows (MNIST's 60,000 / 10,000 proportion), float64 features.
By default the data is synthetic, of MNIST's shape: 784 standard-normal features, 10 balanced
classes (time and memory do not depend on the pixel values). With ``--data-dir DIR`` (the MNIST
IDX files, as ``faqnas search --dataset mnist --data-dir DIR`` reads them) the cells use real
MNIST rows instead: a seeded random subsample of the 70,000 images (train and t10k files
together) of the cell's size, pixels / 255 standardised with the cell's training rows'
statistics; a cell that needs more rows than the files hold (60,000 + 2 x 10,000 > 70,000)
takes the rest again from a second pass of the same permutation. If the files do not load, the
run says why and uses synthetic data. The header says which data was used. Grid: rows 1k, 5k,
20k, 60k x qubits 2, 6, 10 x angle and amplitude embedding, one run each, each cell in its own
subprocess so that its peak RSS is its own.

Training runs ``--epochs`` epochs (default 1: every epoch does the same work, so the paper's 5
epochs cost 5 times the measured training time; the projection below multiplies).

Printed:

* per cell: training seconds (per epoch), scoring seconds (train + val + test rows, in chunks of
  1,024), the process's RSS once warm (imports, and one training of the genome on 64 rows:
  the interpreter, torch and qiskit, and with ``--data-dir`` the raw uint8 images as read,
  before the dataset exists),
  its peak RSS, and the peak above that baseline against the dataset's own size (its six
  arrays) plus the model (parameters and Adam's two moments);
* the growth law: per genome, a least-squares line of training time against rows with its R^2
  and slope (microseconds per row-epoch), and the slope's growth with qubits;
* the projected wall time of a paper-budget search on full MNIST (42,000 training rows of the
  60/20/20 split, 70,000 rows scored, 5 epochs, population 20, 8 generations: 160 candidates,
  the 6 measured genomes in turn) on 1, 2 and 16 cores and on a 64-worker Dask cluster: each
  generation's 20 candidates are scheduled longest first on the workers, the generation ends
  with its last candidate (the search waits for the whole generation).

Run (about 3 minutes on 2 idle cores):

    python benchmarks/scale.py
    python benchmarks/scale.py --rows 1000,5000 --qubits 2,6   # a quick look
    python benchmarks/scale.py --data-dir ~/mnist               # real MNIST rows
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from faqnas_qiskit.data import RawData

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info  # noqa: E402

MNIST_TRAIN_ROWS = 42_000  # 60/20/20 split of MNIST's 70,000 images (DESIGN §4)
MNIST_SCORED_ROWS = 70_000
PAPER_EPOCHS = 5
PAPER_POPULATION = 20
PAPER_GENERATIONS = 8
CLUSTER_WORKERS = 64


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def load_mnist(data_dir: str) -> RawData:
    """The MNIST IDX files in ``data_dir`` as ``faqnas_qiskit.data`` reads them (DataError if
    they are missing or corrupt)."""
    from faqnas_qiskit.data import load_raw

    return load_raw("mnist", data_dir=data_dir)


def _real_splits(raw: RawData, rows: int, rng: np.random.Generator) -> dict[str, npt.NDArray[Any]]:
    """``rows`` / ``rows // 6`` / ``rows // 6`` real rows of ``raw``: a random permutation (a
    second pass of it where the cell needs more rows than ``raw`` has), pixels scaled and
    standardised with the training rows' statistics, built in chunks so that no full-size
    temporary enters the peak."""
    sizes = {"train": rows, "val": rows // 6, "test": rows // 6}
    order = rng.permutation(raw.n_samples)
    take = np.resize(order, sum(sizes.values()))  # repeats ``order`` when more rows are needed
    chunk = 1024
    splits: dict[str, npt.NDArray[Any]] = {}
    start = 0
    for split, n in sizes.items():
        index = take[start : start + n]
        start += n
        x = np.empty((n, raw.n_features))
        for i in range(0, n, chunk):
            x[i : i + chunk] = raw.features[index[i : i + chunk]]
        x /= raw.feature_scale
        splits[f"x_{split}"] = x
        splits[f"y_{split}"] = raw.labels[index]
    train = splits["x_train"]
    mean = train.mean(axis=0)
    square = np.zeros(raw.n_features)
    for i in range(0, rows, chunk):
        square += ((train[i : i + chunk] - mean) ** 2).sum(axis=0)
    std = np.sqrt(square / rows)
    std[std == 0] = 1.0  # a constant pixel is centred and divided by 1, as in the loader
    for split in sizes:
        for i in range(0, sizes[split], chunk):
            part = splits[f"x_{split}"][i : i + chunk]
            part -= mean
            part /= std
    return splits


def cell(
    rows: int, qubits: int, embedding: str, epochs: int, data_dir: str | None = None
) -> dict[str, float]:
    """One measurement, run in a fresh process (``--cell``); real MNIST rows from ``data_dir``
    if given, else synthetic ones."""
    import torch

    from faqnas_qiskit.data import Dataset
    from faqnas_qiskit.evaluation import TrainingConfig, evaluate_genome
    from faqnas_qiskit.space import Genome

    torch.set_num_threads(1)
    genome = Genome.parse(f"q{qubits}-{embedding}-cx-linear-ry.ry")
    rng = np.random.default_rng(0)
    raw = load_mnist(data_dir) if data_dir else None
    features = raw.n_features if raw is not None else 784
    class_names = raw.class_names if raw is not None else tuple("0123456789")
    # warm up as a search process is warm: imports, circuit compilation, torch's first calls
    tiny = {f"x_{s}": rng.standard_normal((64, features)) for s in ("train", "val", "test")}
    tiny |= {f"y_{s}": np.arange(64, dtype=np.int64) % 10 for s in ("train", "val", "test")}
    warm = Dataset(name="warm-up", class_names=class_names, **tiny)
    evaluate_genome(genome, warm, TrainingConfig(epochs=1), seed=1)
    del warm, tiny
    baseline = _rss_bytes()
    if raw is not None:
        splits = _real_splits(raw, rows, rng)
        name = "mnist-subsample"
    else:
        splits = {}
        for split, n in (("train", rows), ("val", rows // 6), ("test", rows // 6)):
            x = np.empty((n, 784))
            rng.standard_normal(out=x)  # in place: no temporaries in the peak
            splits[f"x_{split}"] = x
            splits[f"y_{split}"] = np.arange(n, dtype=np.int64) % 10
        name = "synthetic-mnist"
    data = Dataset(name=name, class_names=class_names, **splits)
    data_bytes = sum(a.nbytes for a in splits.values())
    started = time.perf_counter()
    record, model = evaluate_genome(genome, data, TrainingConfig(epochs=epochs), seed=0)
    wall = time.perf_counter() - started
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {
        "rows": rows,
        "qubits": qubits,
        "embedding": embedding,
        "data": name,
        "train_s": record.train_time_s / epochs,
        "eval_s": record.eval_time_s,
        "wall_s": wall,
        "scored_rows": rows + 2 * (rows // 6),
        "baseline_mb": baseline / 1e6,
        "peak_mb": peak / 1e6,
        "data_mb": data_bytes / 1e6,
        "model_mb": 3 * params / 1e6,  # parameters + Adam's two moments
    }


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares line ``y = a + b x``: ``(a, b, R^2)``."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    b, a = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (a + b * x)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return float(a), float(b), 1.0 - residual / total if total > 0 else 1.0


def makespan(times: list[float], workers: int) -> float:
    """Longest-first list scheduling of ``times`` on ``workers``: when the last one finishes."""
    loads = [0.0] * workers
    for t in sorted(times, reverse=True):
        loads[loads.index(min(loads))] += t
    return max(loads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,5000,20000,60000")
    parser.add_argument("--qubits", default="2,6,10")
    parser.add_argument("--embeddings", default="angle,amplitude")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--data-dir",
        help="directory of the MNIST IDX files: real rows instead of synthetic ones "
        "(synthetic if they do not load)",
    )
    parser.add_argument("--cell", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the cells to this file")
    args = parser.parse_args(argv)
    if args.cell:
        rows, qubits, embedding = args.cell.split(",")
        print(json.dumps(cell(int(rows), int(qubits), embedding, args.epochs, args.data_dir)))
        return 0

    info = machine_info()
    print("machine:", "; ".join(f"{k} {v}" for k, v in info.items()))
    data_dir = None
    synthetic = "synthetic, MNIST's shape (784 standard-normal features, 10 balanced classes)"
    if args.data_dir:
        from faqnas_qiskit.errors import FaqnasError

        try:
            raw = load_mnist(args.data_dir)
        except FaqnasError as exc:
            print(f"data: {synthetic}, because the MNIST files did not load: {exc}")
        else:
            data_dir = args.data_dir
            print(
                f"data: real MNIST from {data_dir} ({raw.n_samples} images, {raw.n_features} "
                f"features), a random subsample per cell; a cell of more than {raw.n_samples} "
                f"rows (train + val + test) uses some images twice"
            )
            del raw
    else:
        print(f"data: {synthetic}; --data-dir DIR for real MNIST rows")
    rows_grid = [int(r) for r in args.rows.split(",")]
    genomes = [(int(q), e) for e in args.embeddings.split(",") for q in args.qubits.split(",")]
    cells = []
    started = time.perf_counter()
    print(
        f"\n{'genome':24s} {'rows':>6s} {'train s/ep':>10s} {'score s':>8s} {'base MB':>8s} "
        f"{'peak MB':>8s} {'above':>7s} {'data+model':>10s} {'ratio':>6s}"
    )
    for qubits, embedding in genomes:
        for rows in rows_grid:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--cell",
                    f"{rows},{qubits},{embedding}",
                    "--epochs",
                    str(args.epochs),
                    *(["--data-dir", data_dir] if data_dir else []),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            c = json.loads(out.strip().splitlines()[-1])
            cells.append(c)
            above = c["peak_mb"] - c["baseline_mb"]
            own = c["data_mb"] + c["model_mb"]
            print(
                f"q{qubits}-{embedding:21s} {rows:6d} {c['train_s']:10.2f} {c['eval_s']:8.2f} "
                f"{c['baseline_mb']:8.0f} {c['peak_mb']:8.0f} {above:7.0f} {own:10.0f} "
                f"{above / own:6.2f}",
                flush=True,
            )
    print(f"\ncells done in {time.perf_counter() - started:.0f} s")

    print("\ngrowth in rows (training time per epoch = a + b * rows):")
    print(
        f"{'genome':24s} {'b (us/row-epoch)':>16s} {'a (s)':>7s} {'R^2':>8s} {'score us/row':>12s}"
    )
    per_genome = {}
    for qubits, embedding in genomes:
        mine = [c for c in cells if c["qubits"] == qubits and c["embedding"] == embedding]
        a, b, r2 = fit([c["rows"] for c in mine], [c["train_s"] for c in mine])
        _, s, _ = fit([c["scored_rows"] for c in mine], [c["eval_s"] for c in mine])
        per_genome[(qubits, embedding)] = (a, b, s)
        print(f"q{qubits}-{embedding:21s} {b * 1e6:16.1f} {a:7.3f} {r2:8.5f} {s * 1e6:12.1f}")
    for embedding in args.embeddings.split(","):
        slopes = [(q, per_genome[(q, e)][1]) for q, e in genomes if e == embedding]
        if len(slopes) < 2:
            print(f"growth in qubits ({embedding}): needs two qubit counts")
            continue
        steps = ", ".join(
            f"{q0}->{q1} qubits x{b1 / b0:.2f}" for (q0, b0), (q1, b1) in itertools.pairwise(slopes)
        )
        print(f"growth in qubits ({embedding}, slope b): {steps}")

    candidate = {
        g: PAPER_EPOCHS * (a + b * MNIST_TRAIN_ROWS) + s * MNIST_SCORED_ROWS
        for g, (a, b, s) in per_genome.items()
    }
    generation = [list(candidate.values())[i % len(candidate)] for i in range(PAPER_POPULATION)]
    print(
        f"\nprojected paper-budget search on full MNIST ({MNIST_TRAIN_ROWS} train rows, "
        f"{PAPER_EPOCHS} epochs, {PAPER_POPULATION} x {PAPER_GENERATIONS} = "
        f"{PAPER_POPULATION * PAPER_GENERATIONS} candidates, one thread each, no cache hits):"
    )
    print("  per candidate: " + ", ".join(f"q{q}-{e} {t:.0f} s" for (q, e), t in candidate.items()))
    for label, workers in (
        ("1 core", 1),
        ("2 cores", 2),
        ("16 cores", 16),
        (f"Dask, {CLUSTER_WORKERS} workers", CLUSTER_WORKERS),
    ):
        total = PAPER_GENERATIONS * makespan(generation, workers)
        print(f"  {label:20s} {total / 3600:7.2f} h")
    at_max = [c for c in cells if c["rows"] == max(rows_grid)]
    worst = max(
        at_max, key=lambda c: (c["peak_mb"] - c["baseline_mb"]) / (c["data_mb"] + c["model_mb"])
    )
    ratio = (worst["peak_mb"] - worst["baseline_mb"]) / (worst["data_mb"] + worst["model_mb"])
    print(
        f"\npeak memory of a {max(rows_grid)}-row evaluation, worst cell "
        f"(q{worst['qubits']}-{worst['embedding']}): {worst['peak_mb'] - worst['baseline_mb']:.0f} "
        f"MB above the {worst['baseline_mb']:.0f} MB of the warm process, against "
        f"{worst['data_mb']:.0f} MB of data + {worst['model_mb']:.1f} MB of model: "
        f"{ratio:.2f}x ({'within' if ratio <= 2 else 'NOT within'} 2x)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(cells, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
