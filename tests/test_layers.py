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


# --- the layer table of docs/architecture.md, checked against every import of the package ---

ARCHITECTURE = ROOT.parents[1] / "docs" / "architecture.md"


def layer_table() -> dict[str, int]:
    """Each unit (a top-level module or a subpackage, as ``ops`` or ``_tensor``; the package's
    own ``__init__`` as ``chainrule``) and its layer number, read from the table in
    docs/architecture.md."""
    layers: dict[str, int] = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0][:1].isdigit():
            continue
        number = int(cells[0].split()[0])
        for name in cells[1].split("`")[1::2]:
            unit = "chainrule" if name == "__init__.py" else name.removesuffix("/")
            unit = unit.removesuffix(".py")
            assert unit not in layers, f"{name} stands in two rows of the layer table"
            layers[unit] = number
    return layers


def unit_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if len(parts) > 1:
        return parts[0]
    return "chainrule" if parts[0] == "__init__.py" else parts[0].removesuffix(".py")


def runtime_imports(path: Path) -> set[str]:
    """The chainrule modules a file imports when it runs: every import outside
    ``if TYPE_CHECKING:`` blocks (function-local ones included), as module names; a name
    imported from a package resolves to its submodule when there is one."""
    package = ".".join(("chainrule",) + path.parent.relative_to(ROOT).parts)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "chainrule")
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            if module.split(".")[0] != "chainrule":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if module_file(sub) is not None else module)
    return found


def module_file(module: str) -> Path | None:
    parts = module.split(".")[1:]
    for candidate in (
        ROOT.joinpath(*parts, "__init__.py"),
        ROOT.joinpath(*parts[:-1], f"{parts[-1]}.py") if parts else None,
    ):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


SOURCES = sorted(ROOT.rglob("*.py"))


def test_every_module_has_a_layer_and_every_row_a_module():
    layers = layer_table()
    units = {unit_of(path) for path in SOURCES}
    assert sorted(units - set(layers)) == [], "modules missing from docs/architecture.md's table"
    assert sorted(set(layers) - units) == [], "rows of the table naming no module"


def upward_imports(path: Path, layers: dict[str, int]) -> list[str]:
    """The modules ``path`` imports from a layer above its own."""
    own = layers[unit_of(path)]
    return sorted(
        module
        for module in runtime_imports(path)
        if (target := module_file(module)) is not None and layers[unit_of(target)] > own
    )


def find_circle(graph: dict[Path, set[Path]]) -> list[Path]:
    """One circle of the import graph (its files, the first repeated at the end), or []."""
    state: dict[Path, int] = {}  # 1: on the current path, 2: done
    stack: list[Path] = []

    def visit(path: Path) -> list[Path]:
        state[path] = 1
        stack.append(path)
        for target in sorted(graph.get(path, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (circle := visit(target)):
                return circle
        stack.pop()
        state[path] = 2
        return []

    for path in sorted(graph):
        if path not in state and (circle := visit(path)):
            return circle
    return []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_downward(path):
    layers = layer_table()
    upward = upward_imports(path, layers)
    assert not upward, (
        f"{path.relative_to(ROOT)} (layer {layers[unit_of(path)]}) imports {upward} from a "
        f"layer above it"
    )


def test_no_import_circles():
    graph = {
        path: {t for m in runtime_imports(path) if (t := module_file(m)) is not None} - {path}
        for path in SOURCES
    }
    circle = find_circle(graph)
    assert not circle, "import circle: " + " -> ".join(str(p.relative_to(ROOT)) for p in circle)


def test_the_checks_find_an_upward_import_and_a_circle():
    layers = layer_table()
    assert layers["ops"] < layers["nn"] < layers["train"] < layers["app"]
    found = runtime_imports(ROOT / "app" / "_model.py")
    assert {"chainrule.nn", "chainrule.train", "chainrule.app._files"} <= found
    # the same file, were train/ placed above the application, imports upward
    moved = {**layers, "train": layers["app"] + 1}
    assert "chainrule.train" in upward_imports(ROOT / "app" / "_model.py", moved)
    a, b, c = (ROOT / n for n in ("a.py", "b.py", "c.py"))
    assert find_circle({a: {b}, b: {c}, c: {a}}) == [a, b, c, a]
    assert find_circle({a: {b, c}, b: {c}, c: set()}) == []


@pytest.mark.parametrize(
    "path", [p for p in SOURCES if unit_of(p) != "train"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_module_outside_train_imports_its_private_modules(path):
    private = sorted(m for m in imported_modules(path) if m.startswith("chainrule.train._"))
    assert not private, (
        f"{path.relative_to(ROOT)} imports {private}: use what chainrule.train exports"
    )
