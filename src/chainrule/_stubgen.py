"""Writes what is generated from the op registry, so that an op is written only where it is
defined (and in its sample cases):

* the imports (under ``TYPE_CHECKING``) and ``__all__`` of the public op functions in
  ``chainrule/ops/__init__.py`` and ``chainrule/__init__.py``, between ``BEGIN GENERATED``
  and ``END GENERATED`` lines: at run time the functions come from the registry itself, so a
  stale block never breaks ``import chainrule``; type checkers and readers see the names;
* ``chainrule/_tensor_api.pyi``: Tensor's methods and operators as type checkers see them
  (they are bound at import time from ``_tensor_methods.METHODS`` and ``_dispatch.PROTOCOL``).

Run ``python -m chainrule._stubgen`` after adding, renaming or exporting an op; with
``--check`` it writes nothing and exits 1 when a file is out of date (the test suite runs it).
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import RemovableHandle, Tensor
from ._dispatch import PROTOCOL
from ._tensor_methods import METHODS
from ._tensor_shape import SortResult
from .ops import PUBLIC

ROOT = Path(__file__).parent
STUB = ROOT / "_tensor_api.pyi"
COMMAND = "python -m chainrule._stubgen"

# names an annotation may use in the stub (others become Any)
_KNOWN = {
    "Any", "ArrayLike", "Callable", "DTypeLike", "None", "RemovableHandle", "Sequence",
    "SortResult", "Tensor", "bool", "dict", "float", "int", "list", "str", "tuple",
}  # fmt: skip
_BUILTINS = {"bool", "dict", "float", "int", "list", "str", "tuple"}
_HEADER = f"""\
# Generated from the op registry by `{COMMAND}`: do not edit.
# Tensor's methods and operators as type checkers see them. chainrule._tensor_methods and
# chainrule._dispatch bind them at import time; Tensor inherits this class only while type
# checking. `__eq__`/`__ne__` compare elementwise and return a Tensor, as torch's do, which
# object's signature (returning bool) cannot express: hence their `type: ignore[override]`.
import builtins
from collections.abc import Callable, Sequence
from typing import Any

from numpy.typing import ArrayLike, DTypeLike

{{classes}}

class TensorMethods:
"""


def _home(name: str, fn: Callable[..., Any]) -> str:
    """The module of ``chainrule.ops`` that defines ``fn`` and binds it as ``name``."""
    module = sys.modules.get(fn.__module__)
    package, _, attr = fn.__module__.rpartition(".")
    if package != "chainrule.ops" or getattr(module, name, None) is not fn:
        raise LookupError(
            f"public op function {name!r} is not bound under that name in the chainrule.ops "
            f"module that defines it ({fn.__module__}); bind it there, or give public=False"
        )
    return attr


def _imports(module_names: dict[str, list[str]]) -> str:
    out = []
    for module, names in module_names.items():
        lines = "".join(f"        {n},\n" for n in names)
        out.append(f"    from {module} import (\n{lines}    )\n")
    return "".join(out)


def _names(names: list[str]) -> str:
    return "__all__ += [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n"


def _generated_blocks() -> dict[Path, dict[str, str]]:
    """For each ``__init__.py``: the text of its generated ``imports`` and ``names`` blocks."""
    by_home: dict[str, list[str]] = {}
    for name in sorted(PUBLIC):
        by_home.setdefault(f".{_home(name, PUBLIC[name].fn)}", []).append(name)
    top = sorted(n for n, entry in PUBLIC.items() if entry.top_level)
    return {
        ROOT / "ops" / "__init__.py": {
            "imports": _imports(dict(sorted(by_home.items()))),
            "names": _names(sorted(PUBLIC)),
        },
        ROOT / "__init__.py": {"imports": _imports({".ops": top}), "names": _names(top)},
    }


def _fill(text: str, blocks: dict[str, str]) -> str:
    for kind, body in blocks.items():
        pattern = re.compile(
            rf"(# BEGIN GENERATED {kind}[^\n]*\n).*?([ \t]*# END GENERATED {kind}\n)", re.DOTALL
        )
        found = pattern.search(text)
        if found is None:
            raise LookupError(f"no 'BEGIN/END GENERATED {kind}' lines to fill")
        text = text[: found.end(1)] + body + text[found.start(2) :]
    return text


def _annotation(annotation: Any, methods: set[str]) -> str:
    """An annotation as the stub writes it: kept when every name in it is known there (a
    builtin type that a method shadows in the class body, as ``float``, as ``builtins.float``)."""
    if annotation is inspect.Parameter.empty:
        return "Any"
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    names = re.findall(r"[A-Za-z_][\w.]*", text)
    if not text or not all(n in _KNOWN for n in names):
        return "Any"
    shadowed = "|".join(sorted(_BUILTINS & methods))
    return re.sub(rf"\b({shadowed})\b", r"builtins.\1", text) if shadowed else text


def _params(fn: Callable[..., Any], methods: set[str]) -> tuple[list[str], str]:
    """A function's parameters (the first becoming ``self``) and return type, stub-style."""
    op = getattr(fn, "op", None)
    if op is not None:  # an op itself: its differentiable inputs are positional
        if op.variadic:
            return ["self", "*others: ArrayLike", "**settings: Any"], "Tensor"
        n = len(op.jvp) if op.joint else len(op.vjp)
        others = ["other"] if n == 2 else [f"x{i}" for i in range(1, n)]
        return ["self"] + [f"{x}: ArrayLike" for x in others], "Tensor"
    sig = inspect.signature(fn)
    params, star = [], False
    for i, p in enumerate(sig.parameters.values()):
        if i == 0:
            params.append("self")
            continue
        prefix = "*" if p.kind == p.VAR_POSITIONAL else "**" if p.kind == p.VAR_KEYWORD else ""
        if p.kind == p.KEYWORD_ONLY and not star:
            params.append("*")
        star = star or p.kind in (p.VAR_POSITIONAL, p.KEYWORD_ONLY)
        default = "" if p.default is p.empty else " = ..."
        params.append(f"{prefix}{p.name}: {_annotation(p.annotation, methods)}{default}")
    return params, _annotation(sig.return_annotation, methods)


def _method(name: str, fn: Any, methods: set[str]) -> str:
    if isinstance(fn, property):  # read as an attribute: only ``self``
        returns = _params(fn.fget, methods)[1] if fn.fget else "Any"
        return f"    @property\n    def {name}(self) -> {returns}: ...\n"
    params, returns = _params(fn, methods)
    ignore = "  # type: ignore[override]" if name in ("__eq__", "__ne__") else ""
    line = f"    def {name}({', '.join(params)}) -> {returns}: ...{ignore}"
    if len(line) <= 100:
        return line + "\n"
    inner = f"        {', '.join(params)}"
    if len(inner) <= 100:
        body = inner + "\n"
    else:
        body = "".join(f"        {p},\n" for p in params)
    return f"    def {name}(\n{body}    ) -> {returns}: ...{ignore}\n"


def render_stub() -> str:
    """The text of ``_tensor_api.pyi``."""
    table = {**METHODS, **PROTOCOL}
    # the classes that annotations name, imported from where they live now
    classes = "\n".join(
        f"from .{c.__module__.rpartition('.')[2]} import {c.__name__}"
        for c in sorted((RemovableHandle, SortResult, Tensor), key=lambda c: c.__module__)
    )
    methods = "".join(_method(name, table[name], set(table)) for name in sorted(table))
    return _HEADER.replace("{classes}", classes) + methods


def outdated() -> dict[Path, str]:
    """The generated files whose text differs from what the registry gives, with that text."""
    wanted = {STUB: render_stub()}
    for path, blocks in _generated_blocks().items():
        wanted[path] = _fill(path.read_text(), blocks)
    return {
        path: text for path, text in wanted.items() if not path.exists() or path.read_text() != text
    }


def main(argv: list[str]) -> int:
    stale = outdated()
    if "--check" in argv:
        for path in stale:
            print(f"out of date: {path} (run `{COMMAND}`)")
        return 1 if stale else 0
    for path, text in stale.items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
