"""Imports run only down the layer order that the README's Development section states.

Every module of the package is parsed (``ast``; nothing is imported) and each of its imports of
the package, at module level, inside a function or under ``TYPE_CHECKING``, is placed in a
layer. A module may import from its own layer and the layers before it, never after. The order
is read from the README itself, so that the README cannot drift from the code.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "faqnas_qiskit"
NAME = "faqnas_qiskit"


def _development_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Development")
    end = text.find("\n## ", start + 1)
    return " ".join(text[start : end if end != -1 else None].split())


def readme_layers() -> tuple[str, ...]:
    """The layers, lowest first: those "under every layer", then the chain of ``→``."""
    section = _development_section()
    under = re.search(r"Under every layer: (.*?\))\. ", section)
    chain = re.search(r"each importing only from those before it: (.*?\))\. ", section)
    assert under and chain, (
        "The README's Development section must state the layers as 'Layers, each importing "
        "only from those before it: `a` (...) → `b` ... . ... Under every layer: `x` (...) and "
        "`y` (...).'. Got neither sentence; restore them or update tests/test_layers.py."
    )
    base = re.findall(r"`(\w+)`", under.group(1))
    return (*base, *re.findall(r"`(\w+)`", chain.group(1)))


# ``python -m faqnas_qiskit`` sits above the command it runs
ENTRY = "__main__"


@dataclasses.dataclass(frozen=True)
class Import:
    """One import of the package: where it is, what it names, whether it runs at import time."""

    module: str  # dotted name of the importing module
    line: int
    target: str  # dotted name imported (``faqnas_qiskit.search.runner``)
    names: tuple[str, ...]  # for ``from X import a, b``: a, b
    eager: bool  # module level and not under ``if TYPE_CHECKING``


def module_name(path: Path) -> str:
    """``faqnas_qiskit/search/runner.py`` -> ``faqnas_qiskit.search.runner``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_imports(module: str, source: str, *, is_package: bool = False) -> list[Import]:
    """The imports of ``faqnas_qiskit`` in ``source``, the text of module ``module``."""
    found: list[Import] = []
    here = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST, eager: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == NAME:
                    found.append(Import(module, node.lineno, alias.name, (), eager))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] == NAME:
                names = tuple(alias.name for alias in node.names)
                found.append(Import(module, node.lineno, target, names, eager))
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                visit(child, False)  # read by the type checker only
            for child in node.orelse:
                visit(child, eager)
            return
        inside_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for child in ast.iter_child_nodes(node):
            visit(child, eager and not inside_function)

    visit(ast.parse(source), True)
    return found


def layer_of_module(module: str) -> str:
    """The layer a module of the package belongs to: its first name below the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else NAME


def layers_imported(imp: Import, layers: tuple[str, ...], root_lazy_top: str) -> list[str]:
    """The layers that ``imp`` loads.

    ``from faqnas_qiskit import space`` loads ``space``; the package root itself holds only the
    errors and the version eagerly (``errors``), and loads the rest of its names lazily from
    layers up to ``root_lazy_top``.
    """
    parts = imp.target.split(".")
    if len(parts) > 1:
        return [parts[1]]
    out = []
    for name in imp.names or ("__version__",):
        if name in layers:
            out.append(name)
        elif name == "__version__" or name in _root_eager_names():
            out.append(layers[0])
        else:
            out.append(root_lazy_top)
    return out


def _root_eager_names() -> set[str]:
    names: set[str] = set()
    for imp in package_imports(NAME, (PACKAGE / "__init__.py").read_text(), is_package=True):
        if imp.eager:
            names.update(imp.names)
    return names


def upward_imports(
    module: str, source: str, layers: tuple[str, ...], *, is_package: bool = False
) -> list[str]:
    """Each import in ``source`` of a layer after ``module``'s own, as ``module:line -> target``.

    The package root (its lazy names re-export lower layers) and ``__main__`` (the entry point,
    above everything) are placed by the caller; every other module's layer must be in
    ``layers``.
    """
    order = {name: i for i, name in enumerate(layers)}
    own = layer_of_module(module)
    assert own in order, (
        f"The module {module} must belong to a layer of the README's Development section. Got "
        f"layer {own!r}, which it does not name. Add it to the README's layer order."
    )
    root_lazy_top = _root_lazy_top(layers)
    wrong = []
    for imp in package_imports(module, source, is_package=is_package):
        for layer in layers_imported(imp, layers, root_lazy_top):
            if layer not in order or order[layer] > order[own]:
                wrong.append(f"{module}:{imp.line} imports {imp.target} (layer {layer!r})")
    return wrong


def _root_lazy_top(layers: tuple[str, ...]) -> str:
    """The highest layer that the package root loads lazily (in ``__getattr__``)."""
    order = {name: i for i, name in enumerate(layers)}
    source = (PACKAGE / "__init__.py").read_text()
    loaded = [
        layer
        for imp in package_imports(NAME, source, is_package=True)
        for layer in ([imp.target.split(".")[1]] if "." in imp.target else list(imp.names))
        if layer in order
    ]
    return max(loaded, key=order.__getitem__, default=layers[0])


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


# ------------------------------------------------------------------------------------- tests
def test_the_readme_states_the_layers_lowest_first() -> None:
    layers = readme_layers()
    assert layers[:2] == ("errors", "limits")
    assert layers[2] == "space" and layers[-1] == "cli"
    assert len(set(layers)) == len(layers)


def test_every_top_level_module_has_a_layer() -> None:
    layers = set(readme_layers())
    top = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()
    }
    unplaced = top - layers - {"__init__", ENTRY}
    assert not unplaced, (
        f"Every module of {NAME} must have a place in the README's layer order. Got "
        f"{sorted(unplaced)} without one. Add them to the Development section's layers."
    )


def test_imports_run_only_down_the_layers() -> None:
    layers = readme_layers()
    wrong: list[str] = []
    seen = 0
    for path in _modules():
        module = module_name(path)
        if module in (NAME, f"{NAME}.{ENTRY}"):
            continue  # placed by the two tests below
        source = path.read_text(encoding="utf-8")
        seen += len(package_imports(module, source, is_package=path.stem == "__init__"))
        wrong += upward_imports(module, source, layers, is_package=path.stem == "__init__")
    assert seen > 100  # the walk reads the package's imports (it has a few hundred)
    assert not wrong, "Imports must only run down the README's layers. Got:\n" + "\n".join(wrong)


def test_the_package_root_loads_only_the_errors_eagerly() -> None:
    # `faqnas --help` stays fast and `python -m faqnas_qiskit` reaches its own Ctrl-C handling
    source = (PACKAGE / "__init__.py").read_text()
    eager = [i.target for i in package_imports(NAME, source, is_package=True) if i.eager]
    assert eager and set(eager) == {f"{NAME}.errors"}, eager
    lazy = {i.target for i in package_imports(NAME, source, is_package=True) if not i.eager}
    assert all(layer_of_module(t) not in ("cli", ENTRY) for t in lazy), lazy


def test_the_entry_point_imports_only_the_command() -> None:
    source = (PACKAGE / f"{ENTRY}.py").read_text()
    targets = {i.target for i in package_imports(f"{NAME}.{ENTRY}", source)}
    assert targets == {f"{NAME}.cli"}


# the check itself must be able to fail: modules that import upward, in each form it reads
UPWARD = [
    ("faqnas_qiskit.store.sqlite", "from faqnas_qiskit.search import SearchRunner\n"),
    ("faqnas_qiskit.store.sqlite", "import faqnas_qiskit.search.runner\n"),
    ("faqnas_qiskit.store.sqlite", "def f():\n    from faqnas_qiskit.cli import main\n"),
    ("faqnas_qiskit.store.sqlite", "from ..report import build_report\n"),
    ("faqnas_qiskit.space.genome", "from faqnas_qiskit import circuits\n"),
    ("faqnas_qiskit.circuits.builder", "from faqnas_qiskit import build_model\n"),
    ("faqnas_qiskit.errors", "from faqnas_qiskit.limits import MAX_REPEATS\n"),
    (
        "faqnas_qiskit.metrics.flops",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from faqnas_qiskit.evaluation import TrainingConfig\n",
    ),
]


@pytest.mark.parametrize(("module", "source"), UPWARD)
def test_an_upward_import_is_caught(module: str, source: str) -> None:
    wrong = upward_imports(module, source, readme_layers())
    assert len(wrong) == 1 and wrong[0].startswith(f"{module}:"), wrong


DOWNWARD = [
    ("faqnas_qiskit.search.runner", "from faqnas_qiskit.store import ResultsStore\n"),
    ("faqnas_qiskit.search.runner", "from .results import front_rows\n"),
    ("faqnas_qiskit.metrics.cache", "from faqnas_qiskit import __version__\n"),
    ("faqnas_qiskit.space.genome", "from faqnas_qiskit.errors import GenomeError\n"),
    ("faqnas_qiskit.cli.app", "from faqnas_qiskit.report import build_report\n"),
]


@pytest.mark.parametrize(("module", "source"), DOWNWARD)
def test_a_downward_import_passes(module: str, source: str) -> None:
    assert upward_imports(module, source, readme_layers()) == []


def test_a_module_outside_the_layers_is_refused() -> None:
    with pytest.raises(AssertionError, match="must belong to a layer"):
        upward_imports("faqnas_qiskit.plugins.extra", "import os\n", readme_layers())


def test_help_loads_neither_torch_nor_qiskit() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from faqnas_qiskit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0 and main(['search', '--help']) == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'qiskit', 'numpy'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
