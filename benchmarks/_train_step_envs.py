"""The peers' virtual environments of ``train_step.py --peers``: created once, then reused.

Each peer library gets its own environment under ``benchmarks/out/envs/NAME`` (ignored by git),
so that its pinned dependencies (TorchQuantum 0.1.8 wants qiskit < 1; the project wants
qiskit >= 2) never meet ours. Every environment installs ``torch==2.13.0`` first: on this kind
of machine that is the CPU build on disk, while a plain ``torch`` requirement pulls a CUDA build
of several GB; later steps repeat the pin, so that no dependency lifts it. An environment is
reused when its marker file records the same install steps; otherwise it is deleted and
created again.

TorchQuantum 0.1.8 pins qiskit < 1 and would pull tensorflow and a CUDA torch, so it is installed
with ``--no-deps`` plus what its import needs, and an import-only stand-in for torchvision (its
dataset modules import torchvision at import time; the benchmark never loads a data set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

ENVS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "envs")
MARKER_FILE = "faqnas-benchmark-env.json"
TORCH = "torch==2.13.0"


@dataclass(frozen=True)
class EnvSpec:
    """How to build one environment.

    Attributes:
        name: Folder name under the environments' directory.
        steps: ``pip install`` argument lists, run in order (``TORCH`` first).
        torchvision_stub: Write the import-only torchvision stand-in into site-packages.
    """

    name: str
    steps: tuple[tuple[str, ...], ...]
    torchvision_stub: bool = False

    def marker(self) -> dict[str, object]:
        return {
            "steps": [list(step) for step in self.steps],
            "torchvision_stub": self.torchvision_stub,
            "python": sys.version.split()[0],
        }


ENV_SPECS: dict[str, EnvSpec] = {
    "tensorcircuit": EnvSpec(
        "tensorcircuit",
        (
            (TORCH,),
            (TORCH, "tensorcircuit-ng==1.10.0", "jax==0.10.2", "jaxlib==0.10.2", "optax==0.2.8"),
        ),
    ),
    "torchquantum": EnvSpec(
        "torchquantum",
        (
            (TORCH,),
            ("--no-deps", "torchquantum==0.1.8"),
            (
                TORCH,  # torchpack or torchdiffeq would otherwise lift torch to the newest allowed
                "numpy<2",
                "qiskit==0.46.3",
                "qiskit-aer==0.12.2",
                "qiskit-ibm-runtime==0.20.0",
                "setuptools<81",
                "torchpack",
                "opt_einsum",
                "matplotlib",
                "pathos",
                "torchdiffeq",
            ),
        ),
        torchvision_stub=True,
    ),
    "pennylane": EnvSpec("pennylane", ((TORCH,), (TORCH, "pennylane==0.45.1"))),
}

# the environment of each peer engine; None: the project's own (this Python)
ENGINE_ENV: dict[str, str | None] = {
    "ours": None,
    "tc-jax": "tensorcircuit",
    "tc-torch": "tensorcircuit",
    "tq-dynamic": "torchquantum",
    "tq-static": "torchquantum",
    "pennylane": "pennylane",
}

_TORCHVISION_STUB: dict[str, str] = {
    "__init__.py": (
        '"""Import-only stand-in for torchvision (faqnas-qiskit train_step benchmark).\n\n'
        "TorchQuantum's dataset modules import torchvision; the benchmark loads no data set.\n"
        '"""\n\nfrom . import datasets, transforms\n\n__version__ = "0.0.0+stub"\n'
    ),
    "datasets/__init__.py": (
        '"""Stand-in: no data sets."""\n\n\nclass VisionDataset:\n'
        "    def __init__(self, *args, **kwargs):\n"
        '        raise RuntimeError("torchvision stand-in: no data sets")\n\n\n'
        "MNIST = FashionMNIST = CIFAR10 = VisionDataset\n"
    ),
    "datasets/utils.py": (
        "def download_url(*args, **kwargs):\n"
        '    raise RuntimeError("torchvision stand-in: no downloads")\n'
    ),
    "transforms/__init__.py": (
        '"""Stand-in: names only."""\n\nimport enum\n\n\nclass InterpolationMode(enum.Enum):\n'
        '    NEAREST = "nearest"\n    BILINEAR = "bilinear"\n    BICUBIC = "bicubic"\n'
    ),
}


def env_python(name: str, root: str = ENVS_DIR) -> str:
    """The Python of environment ``name``."""
    return os.path.join(root, name, "bin", "python")


def engine_python(engine: str, root: str = ENVS_DIR) -> str:
    """The Python that runs ``engine``'s cells."""
    name = ENGINE_ENV[engine]
    return sys.executable if name is None else env_python(name, root)


def _is_current(spec: EnvSpec, path: str) -> bool:
    try:
        with open(os.path.join(path, MARKER_FILE), encoding="utf-8") as handle:
            recorded = json.load(handle)
    except (OSError, ValueError):
        return False
    return recorded == spec.marker() and os.path.exists(os.path.join(path, "bin", "python"))


def _write_stub(python: str) -> None:
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for relative, text in _TORCHVISION_STUB.items():
        target = os.path.join(site, "torchvision", relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)


def ensure_env(spec: EnvSpec, root: str = ENVS_DIR, log: Callable[[str], None] = print) -> str:
    """Create environment ``spec`` under ``root`` unless a current one is there.

    Args:
        spec: What to install.
        root: The environments' directory.
        log: Progress lines.

    Returns:
        Its Python.

    Raises:
        subprocess.CalledProcessError: When ``venv`` or a ``pip install`` step fails (the
            environment is left without its marker, so the next run starts it again).
    """
    path = os.path.join(root, spec.name)
    python = env_python(spec.name, root)
    if _is_current(spec, path):
        log(f"environment {spec.name}: reused ({path})")
        return python
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(root, exist_ok=True)
    log(f"environment {spec.name}: creating {path}")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", path], check=True)
    for step in spec.steps:
        log(f"environment {spec.name}: pip install {' '.join(step)}")
        subprocess.run(
            [python, "-m", "pip", "install", "--disable-pip-version-check", "-q", *step],
            check=True,
        )
    if spec.torchvision_stub:
        _write_stub(python)
    with open(os.path.join(path, MARKER_FILE), "w", encoding="utf-8") as handle:
        json.dump(spec.marker(), handle, indent=2)
    return python


def ensure_envs(
    engines: list[str], root: str = ENVS_DIR, log: Callable[[str], None] = print
) -> dict[str, str]:
    """The Python of each engine, creating the environments they need."""
    pythons: dict[str, str] = {}
    for engine in engines:
        name = ENGINE_ENV[engine]
        if name is not None and env_python(name, root) not in pythons.values():
            ensure_env(ENV_SPECS[name], root, log)
        pythons[engine] = engine_python(engine, root)
    return pythons
