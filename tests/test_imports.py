"""The import graph is honest: every pellucid module is imported by a plain ``import`` statement, so the layers
contract in pyproject.toml (checked by ``lint-imports``) sees every dependency between pellucid modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import pellucid
from pellucid import _extensions

SRC = Path(pellucid.__file__).parent

# Calls that import by a computed name, and where that is not a pellucid dependency:
# errors.require imports the optional *third-party* package its callers name; _model_files checks whether a class
# named inside a model file (data, not code) is on its trust list.
DYNAMIC_ALLOWED = {("errors.py", "require"), ("scoring/_model_files.py", "_is_trusted_class")}
# The top package is in no layer (it is the root); its lazy loader is declared to import-linter by the
# TYPE_CHECKING block that test_top_package_lazy_names_are_declared checks.
TOP_PACKAGE = "__init__.py"

_PELLUCID_BY_STRING = re.compile(r"""(import_module|__import__)\(\s*[fr]?["']pellucid\b""")


def dynamic_imports(source: str) -> list[tuple[str, str]]:
    """(enclosing function, first argument as source) of every ``import_module(...)`` / ``__import__(...)`` call
    whose argument is not a string literal naming a third-party module, plus every one naming a pellucid module."""
    tree = ast.parse(source)
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Call):
                callee = child.func
                name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", None)
                if name in ("import_module", "__import__") and child.args:
                    argument = child.args[0]
                    literal = isinstance(argument, ast.Constant) and isinstance(argument.value, str)
                    if not literal or argument.value.split(".")[0] == "pellucid":
                        found.append((function, ast.unparse(argument)))
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_the_checker_finds_string_imports_of_pellucid() -> None:
    code = (
        "import importlib\n"
        "def f(name):\n"
        "    importlib.import_module('pellucid.scoring')\n"
        "    importlib.import_module(name)\n"
        "    __import__('pellucid')\n"
        "    importlib.import_module('numba')\n"
    )
    assert dynamic_imports(code) == [("f", "'pellucid.scoring'"), ("f", "name"), ("f", "'pellucid'")]
    assert _PELLUCID_BY_STRING.search('x = importlib.import_module("pellucid.cli")')
    assert _PELLUCID_BY_STRING.search("__import__('pellucid')")
    assert not _PELLUCID_BY_STRING.search('importlib.import_module("numba")')


def test_no_pellucid_module_is_imported_by_name() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        source = path.read_text(encoding="utf-8")
        for match in _PELLUCID_BY_STRING.finditer(source):
            offenders.append(f"{relative}: {match.group(0)}")
        if relative == TOP_PACKAGE:
            continue
        for function, argument in dynamic_imports(source):
            if (relative, function) not in DYNAMIC_ALLOWED:
                offenders.append(f"{relative}:{function}: import by computed name {argument}")
    assert offenders == []


def test_top_package_lazy_names_are_declared() -> None:
    """Every module the top package loads lazily is also imported in its TYPE_CHECKING block (import-linter
    counts those imports), so the lazy loader hides no dependency."""
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    declared: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in ast.walk(node):
                if isinstance(statement, ast.ImportFrom):
                    declared.update((statement.module, alias.name) for alias in statement.names)
    assert declared, "the TYPE_CHECKING block is gone"
    lazy = {(module, name) for name, module in pellucid._LAZY.items()}
    assert lazy - declared == set()


def test_the_doors_up_are_wired_by_the_top_package() -> None:
    import pellucid.distributed
    import pellucid.scoring
    from pellucid.errors import ArgumentError
    from pellucid.explainers.base import backend_module

    assert _extensions.obtain("scoring") is pellucid.scoring
    assert backend_module("dask", {}) is pellucid.distributed
    with pytest.raises(ArgumentError, match=r"one of \['dask'\]; found 'spark'"):
        backend_module("spark", {})
    with pytest.raises(KeyError):
        _extensions.obtain("backend:spark")


def _layers_contract() -> dict:
    import tomllib

    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    config = pyproject["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return layers


def _layer_names(layers: dict) -> set[str]:
    return {name.strip() for layer in layers["layers"] for name in re.split(r"[|:]", layer)}


def test_the_layers_contract_is_strict() -> None:
    layers = _layers_contract()
    assert "ignore_imports" not in layers
    assert not any("(" in layer or ")" in layer for layer in layers["layers"]), "an optional layer hides a rename"


def test_every_pellucid_module_is_in_a_layer() -> None:
    """Each top-level module or package is named by a layer; a package split across layers (its modules sit at
    different heights) names each of its modules."""
    named = _layer_names(_layers_contract())
    missing = []
    for child in sorted(SRC.iterdir()):
        if child.name.startswith(".") or child.name == "__pycache__" or child.name == "__init__.py":
            continue
        if child.is_file() and child.suffix != ".py" or child.is_dir() and not (child / "__init__.py").exists():
            continue
        name = f"pellucid.{child.stem}"
        if name in named:
            continue
        if child.is_dir() and any(n.startswith(name + ".") for n in named):
            for module in sorted(child.iterdir()):
                if module.name in ("__init__.py", "__pycache__") or module.suffix not in (".py", ""):
                    continue
                if module.is_dir() and not (module / "__init__.py").exists():
                    continue
                if f"{name}.{module.stem}" not in named:
                    missing.append(f"{name}.{module.stem}")
            continue
        missing.append(name)
    assert missing == []


def test_the_layer_names_are_module_names() -> None:
    """The names parsed from the contract are module names, not whole layer strings."""
    named = _layer_names(_layers_contract())
    assert {"pellucid.explanation", "pellucid.explainers.base", "pellucid.errors", "pellucid.mimic.models"} <= named
    assert "pellucid.mimic" not in named and "pellucid" not in named


def test_the_architecture_page_shows_the_layers_in_order() -> None:
    page = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = page.split("```text", 1)[1].split("```", 1)[0]
    lines = [line.strip() for line in diagram.strip().splitlines() if not line.startswith("    ")]
    layers = _layers_contract()["layers"]
    assert len(lines) == len(layers)
    for line, layer in zip(lines, layers):
        assert line.split()[0] == re.split(r"\s*[|:]\s*", layer)[0], (line, layer)
