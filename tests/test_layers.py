"""Layers import downward: what a file imports, read from its source (function-local imports
and ``if TYPE_CHECKING:`` blocks included), never reaches a layer above it or the file that
imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chainrule

ROOT = Path(chainrule.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module (and ``module.name``) a source file imports, anywhere in it, with
    relative imports resolved against its package."""
    package = ".".join(("chainrule",) + path.parent.relative_to(ROOT).parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_imported_modules_resolves_relative_and_local_imports():
    path = ROOT / "plot" / "_models.py"
    found = imported_modules(path)
    assert {"chainrule.plot._figure", "chainrule._numerics", "matplotlib.colors"} <= found


ABOVE_PLOT = tuple(
    f"chainrule.{name}"
    for name in ("train", "estimators", "report", "app", "cli", "bench", "export", "distributed")
)


@pytest.mark.parametrize("path", sorted((ROOT / "plot").glob("*.py")), ids=lambda p: p.name)
def test_plot_imports_nothing_above_it(path):
    upward = sorted(m for m in imported_modules(path) if m.startswith(ABOVE_PLOT))
    assert not upward, f"plot/{path.name} imports {upward}: plot/ draws plain data"


@pytest.mark.parametrize(
    "lower, upper",
    [
        ("graph/_trace_tables.py", "chainrule.graph._trace"),
        ("nn/_state_dict.py", "chainrule.nn._module"),
    ],
)
def test_helpers_do_not_import_the_module_that_calls_them(lower, upper):
    found = imported_modules(ROOT / lower)
    assert not any(m == upper or m.startswith(upper + ".") for m in found), (
        f"{lower} imports {upper}, which imports it: a circle"
    )
