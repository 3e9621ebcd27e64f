"""``.. chainrule-api:: chainrule.nn``: a package's reference page, made from its ``__all__``.

The page lists what the package exports, in the order of ``__all__``, so that a name added to or
removed from a package shows up here on the next build without anyone editing the page. Classes
get ``autoclass`` with their public members, functions ``autofunction``, other values
``autodata``; the submodules named in ``:submodules:`` get their own section. Registered ops
(``cr.exp``, ``cr.matmul``...) are listed by name and linked to the op table, which shows their
rules.
"""

from __future__ import annotations

import importlib
import inspect
import re
from types import ModuleType


def is_registered_op(obj: object) -> bool:
    """Whether ``obj`` is the function of an op in ``chainrule.ops.REGISTRY``."""
    from chainrule.ops import REGISTRY

    op = getattr(obj, "op", None)
    return op is not None and REGISTRY.get(getattr(op, "name", None)) is op


def public_names(module: ModuleType) -> list[str]:
    """The names a package exports: its ``__all__``, in order, without duplicates."""
    names = getattr(module, "__all__", None)
    if names is None:
        raise ValueError(f"chainrule-api: {module.__name__} has no __all__ to document")
    return list(dict.fromkeys(names))


def api_rst(module_name: str, submodules: tuple[str, ...] = ()) -> list[str]:
    """The reStructuredText of one package's reference: its docstring, then every public name."""
    module = importlib.import_module(module_name)
    lines = [f".. automodule:: {module_name}", "   :no-members:", ""]
    lines += [f".. currentmodule:: {module_name}", ""]
    ops, entries = [], []
    for name in public_names(module):
        obj = getattr(module, name)
        if isinstance(obj, ModuleType):
            continue  # submodules: documented in their own section when asked for
        if is_registered_op(obj):
            ops.append(name)
        elif inspect.isclass(obj):
            entries += [f".. autoclass:: {name}", "   :members:", "   :show-inheritance:", ""]
        elif callable(obj):
            entries += [f".. autofunction:: {name}", ""]
        else:
            entries += [f".. autodata:: {name}", "   :no-value:", ""]
    documented = [e.split(":: ")[1] for e in entries if e.startswith(".. auto")]
    if documented:
        lines += [".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in documented] + [""]
    if ops:
        lines += [
            f"Primitives (registered ops; their forward function, reverse rule and forward rule "
            f"are in :doc:`/api/ops`): {', '.join(f'``{n}``' for n in ops)}.",
            "",
        ]
    lines += entries
    for sub in submodules:
        full = f"{module_name}.{sub}"
        lines += [f"``{full}``", "-" * (len(full) + 4), ""]
        lines += api_rst(full)
        lines += [f".. currentmodule:: {module_name}", ""]
    return lines


_LITERAL = re.compile(r"(``.*?``)")


def escape_bars(lines: list[str]) -> None:
    """Escapes ``|`` outside inline literals and tables, in place: chainrule's docstrings write
    absolute values and norms as ``|x|``, which reStructuredText would read as a substitution."""
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith(("+-", "+=", "| ")) or (text[:1] == "|" and text[-1:] in "|+"):
            continue  # a table row or a line block
        parts = _LITERAL.split(line)
        parts[::2] = [p.replace("|", "\\|") for p in parts[::2]]
        lines[i] = "".join(parts)


def _process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    if what == "data" and lines and "\n".join(lines).strip() == inspect.getdoc(type(obj)):
        lines.clear()  # a value without a doc comment: not its type's docstring (dict's...)
    escape_bars(lines)


def _skip_member(app, what, name, obj, skip, options) -> bool | None:
    """Leaves out what chainrule does not define: scikit-learn's metadata-routing methods
    (``set_fit_request``...), made on every estimator class and documented by scikit-learn."""
    if str(getattr(obj, "__module__", "") or "").startswith("sklearn."):
        return True
    return None


def setup(app):
    """Registers ``chainrule-api`` and the docstring hooks (Sphinx is imported here, so that the
    functions above can be tested without it)."""
    from docutils import nodes
    from docutils.parsers.rst import directives
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    class ChainruleAPI(SphinxDirective):
        """Renders :func:`api_rst` for the module named as the argument."""

        required_arguments = 1
        option_spec = {"submodules": directives.unchanged}

        def run(self) -> list[nodes.Node]:
            submodules = tuple(self.options.get("submodules", "").split())
            lines = api_rst(self.arguments[0], submodules)
            content = StringList(lines, source=self.get_source_info()[0])
            node = nodes.section() if submodules else nodes.container()
            nested_parse_with_titles(self.state, content, node)
            return node.children

    app.add_directive("chainrule-api", ChainruleAPI)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("autodoc-skip-member", _skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
