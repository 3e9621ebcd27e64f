"""The documentation covers what it promises: an API page for every public package, every
example and tutorial in the gallery in sphinx-gallery's format, and an op table that lists every
registered op with its rules' own source. These read the docs' sources and the generators in
docs/_ext (pure Python); the full Sphinx build runs in CI (``make -C docs html-fast``)."""

from __future__ import annotations

import ast
import pkgutil
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule.ops import REGISTRY, defop, unregister

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import api_pages  # noqa: E402
import op_table  # noqa: E402

# Packages that are not part of the library's Python API, and why.
NOT_DOCUMENTED = {
    "bench": "the benchmark workloads behind `chainrule bench`",
    "report": "the HTML page of a run, drawn by the application from a finished run's record",
}


def public_packages() -> list[str]:
    """chainrule's subpackages whose names do not start with an underscore."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(chainrule.__path__)
        if m.ispkg and not m.name.startswith("_")
    )


def gallery_conf() -> dict:
    """``sphinx_gallery_conf`` as docs/conf.py sets it (read without running Sphinx)."""
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "sphinx_gallery_conf":
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py sets no sphinx_gallery_conf")


@pytest.mark.parametrize(
    "package", [p for p in public_packages() if p not in NOT_DOCUMENTED] + ["chainrule"]
)
def test_every_public_package_has_an_api_page_in_the_toctree(package):
    page = DOCS / "api" / f"{package}.rst"
    module = package if package == "chainrule" else f"chainrule.{package}"
    assert page.exists(), f"{module} has no API page docs/api/{package}.rst"
    assert f".. chainrule-api:: {module}" in page.read_text(encoding="utf-8"), (
        f"docs/api/{package}.rst does not document {module} with the chainrule-api directive"
    )
    index = (DOCS / "api" / "index.rst").read_text(encoding="utf-8")
    assert re.search(rf"^   {package}$", index, re.MULTILINE), f"api/index.rst omits {package}"


def test_the_undocumented_packages_exist():
    missing = set(NOT_DOCUMENTED) - set(public_packages())
    assert not missing, f"NOT_DOCUMENTED names packages that are gone: {sorted(missing)}"


@pytest.mark.parametrize(
    "module", ["chainrule", "chainrule.nn", "chainrule.train", "chainrule.ops"]
)
def test_an_api_page_documents_every_exported_name(module):
    import importlib

    package = importlib.import_module(module)
    text = "\n".join(api_pages.api_rst(module))
    for name in api_pages.public_names(package):
        obj = getattr(package, name)
        if isinstance(obj, type(np)):
            continue  # a submodule: its own section where the page asks for it
        if api_pages.is_registered_op(obj):
            assert f"``{name}``" in text, f"{module}'s page does not list the op {name}"
        else:
            assert re.search(rf"^\.\. auto\w+:: {re.escape(name)}$", text, re.MULTILINE), (
                f"{module}'s page does not document {name}"
            )


def test_api_page_submodules_get_their_own_section():
    text = "\n".join(api_pages.api_rst("chainrule.nn", ("functional", "init")))
    assert ".. automodule:: chainrule.nn.functional" in text
    assert ".. autofunction:: kaiming_normal_" in text


def test_bars_are_escaped_outside_literals_and_tables():
    lines = ["|input − target|, reduced", "``a | b`` and |x|", "| a | b |", "+---+---+"]
    api_pages.escape_bars(lines)
    assert lines == [
        r"\|input − target\|, reduced",
        r"``a | b`` and \|x\|",
        "| a | b |",
        "+---+---+",
    ]


def test_op_table_lists_every_registered_op_with_its_rules():
    text = "\n".join(op_table.op_table_rst())
    missing = [name for name in REGISTRY if f".. _op-{name}:" not in text]
    assert not missing, f"the op table leaves out {missing}"
    rows = {row["name"]: row for row in op_table.op_rows()}
    assert rows["exp"]["vjp"] == ["lambda g, out, x: g * out"]
    assert rows["exp"]["jvp"] == ["lambda t, out, x: t * out"]
    assert rows["exp"]["forward"] == "np.exp"
    # two lambdas on one line: each row shows its own
    assert rows["remainder"]["vjp"][1] == "lambda g, out, a, b: -g * np.floor(a / b)"
    assert rows["softmax"]["vjp"][0].startswith("def _softmax_vjp(g, out, x, *, axis=-1):")
    assert "# where slope = lambda" in rows["square"]["vjp"][0], "a closure's function is shown"
    assert rows["where"]["vjp"][0] == "not differentiable"
    unreadable = [
        (name, text)
        for name, row in rows.items()
        for text in [*row["vjp"], *row["jvp"], row["forward"]]
        if text.startswith("<") or "<lambda>" in text
    ]
    assert not unreadable, f"rules shown without their source: {unreadable}"


def test_op_table_follows_the_registry():
    """A newly registered op is on the page at once, with its rules as written."""
    defop(
        "docs_test_cube",
        lambda x: x**3,
        vjp=lambda g, out, x: g * 3 * x**2,
        jvp=lambda t, out, x: t * 3 * x**2,
        public=False,
    )
    try:
        text = "\n".join(op_table.op_table_rst())
        assert ".. _op-docs_test_cube:" in text
        assert "lambda g, out, x: g * 3 * x**2" in text and "lambda t, out, x: t * 3 * x**2" in text
    finally:
        unregister("docs_test_cube")
    assert ".. _op-docs_test_cube:" not in "\n".join(op_table.op_table_rst())


def _scripts(folder: Path) -> list[Path]:
    return sorted(folder.glob("[0-9]*.py"))


@pytest.mark.parametrize(
    "script",
    _scripts(ROOT / "examples") + _scripts(DOCS / "tutorials"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_example_and_tutorial_is_a_gallery_page(script):
    conf = gallery_conf()
    path = str(script)
    assert re.search(conf["filename_pattern"], path), f"{script.name} is not run by the gallery"
    assert not re.search(conf["ignore_pattern"], path), f"{script.name} is ignored by the gallery"
    folder = "../examples" if script.parent.name == "examples" else "tutorials"
    assert folder in conf["examples_dirs"], f"{script.parent} is not a gallery folder"
    assert (script.parent / "GALLERY_HEADER.rst").exists(), f"{script.parent} has no header"
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")), clean=True)
    assert docstring, f"{script.name} starts with no docstring"
    title, underline = docstring.splitlines()[:2]
    assert title.strip() and set(underline) == {"="} and len(underline) >= len(title), (
        f"{script.name}: sphinx-gallery needs a title underlined with '=' at the top, "
        f"got {title!r} / {underline!r}"
    )


def test_tutorial_helpers_are_not_gallery_pages():
    conf = gallery_conf()
    assert re.search(conf["ignore_pattern"], str(DOCS / "tutorials" / "_examples.py"))


def test_architecture_page_is_in_the_site():
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    assert re.search(r"^   architecture$", index, re.MULTILINE), "index.rst omits architecture"
    assert (DOCS / "architecture.md").exists()
