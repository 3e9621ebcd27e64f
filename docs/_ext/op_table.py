"""``.. chainrule-op-table::``: every registered op with its forward function and rules.

Rendered from ``chainrule.ops.REGISTRY`` at build time, with the rules' own source text (read by
``inspect``), so the page cannot drift from the code: an op added, removed or changed is on the
next build as it is in its table.
"""

from __future__ import annotations

import ast
import dis
import inspect
import textwrap
from collections.abc import Callable
from types import CodeType


def _same_code(a: CodeType, b: CodeType) -> bool:
    """Whether two code objects compute the same thing: the same names, in the same order, and
    the same operators and constants (how a global is loaded may differ between compilers)."""

    def steps(code: CodeType) -> list[str]:
        kept = ("LOAD_FAST", "LOAD_CONST", "BINARY_OP", "UNARY_NEGATIVE", "COMPARE_OP")
        return [f"{i.opname} {i.argrepr}" for i in dis.get_instructions(code) if i.opname in kept]

    return (a.co_names, a.co_varnames, steps(a)) == (b.co_names, b.co_varnames, steps(b))


def _lambda_source(fn: Callable) -> str | None:
    """The text of lambda ``fn`` alone, out of the (possibly several) lambdas on its lines."""
    try:
        lines, start = inspect.findsource(fn)
    except (OSError, TypeError):
        return None
    code = fn.__code__
    tree = ast.parse("".join(lines))
    source = "".join(lines)
    candidates = [
        n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno
    ]
    for node in candidates:
        text = ast.get_source_segment(source, node)
        if text is None:
            continue
        outer = compile(ast.Expression(node), "<rule>", "eval")
        compiled = next(c for c in outer.co_consts if isinstance(c, CodeType))
        if len(candidates) == 1 or _same_code(compiled, code):
            return " ".join(text.split())
    return None


def rule_source(fn: object) -> str:
    """A rule as written in its op file: a lambda's expression or a function's definition,
    followed by the functions it closes over (``slope = ...`` for the pointwise ops)."""
    from chainrule.ops import LINEAR, MULTILINEAR

    if fn is None:
        return "not differentiable"
    if fn is LINEAR:
        return "LINEAR  # the op applied to the input tangents"
    if fn is MULTILINEAR:
        return "MULTILINEAR  # the op with each input replaced by its tangent, summed"
    if not callable(fn):
        return repr(fn)
    if getattr(fn, "__qualname__", "").startswith("_no_rule."):
        return "not differentiable"
    if getattr(fn, "__name__", "") == "<lambda>":
        text = _lambda_source(fn) or repr(fn)
    else:
        try:
            text = textwrap.dedent(inspect.getsource(fn)).rstrip()
        except (OSError, TypeError):
            text = getattr(fn, "__qualname__", repr(fn))
    closure = getattr(fn, "__closure__", None) or ()
    for name, cell in zip(fn.__code__.co_freevars, closure):
        value = cell.cell_contents
        if inspect.isfunction(value):
            text += f"\n# where {name} = {rule_source(value)}"
    return text


def forward_name(fn: object) -> str:
    """The forward function's name: ``np.exp`` for NumPy's, the lambda's text otherwise."""
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", repr(fn))
    if module.startswith("numpy.linalg"):
        return f"np.linalg.{name}"
    if module == "numpy" or module.startswith("numpy.") or type(fn).__name__ == "ufunc":
        return f"np.{name}"
    if name == "<lambda>":
        return _lambda_source(fn) or name  # type: ignore[arg-type]
    return name


def op_rows() -> list[dict[str, object]]:
    """One row per registered op, in registration order, grouped by the file that defines it."""
    from chainrule.ops import REGISTRY

    rows = []
    for name, op in REGISTRY.items():
        rules = [op.vjp] if (op.variadic or op.joint) else list(op.vjp)
        jvps = [op.jvp] if not isinstance(op.jvp, tuple) else list(op.jvp)
        rows.append(
            {
                "name": name,
                "family": op.fn.__module__.rsplit(".", 1)[-1],
                "forward": forward_name(op.forward),
                "vjp": [rule_source(r) for r in rules],
                "jvp": [rule_source(r) for r in jvps],
                "kind": "variadic" if op.variadic else "joint" if op.joint else "",
            }
        )
    return rows


def _cell(rules: list[str], label: str) -> list[str]:
    """Lines of a table cell holding each rule as a Python code block, under ``label``."""
    lines: list[str] = []
    for i, text in enumerate(rules):
        lines += [f"*{label}*" + (f", input {i}:" if len(rules) > 1 else ":"), ""]
        lines += [".. code-block:: python", ""]
        lines += ["   " + line for line in text.splitlines()] + [""]
    return lines


def op_table_rst() -> list[str]:
    """The reStructuredText of the op table: one section and one list-table per op family."""
    rows = op_rows()
    families = list(dict.fromkeys(r["family"] for r in rows))
    lines = [
        f"{len(rows)} registered ops in {len(families)} files. A rule is called as "
        "``rule(g, out, *inputs, **settings)`` (reverse: ``g`` is the cotangent of the output) or "
        "``rule(t, out, *inputs, **settings)`` (forward: ``t`` the tangent of that input).",
        "",
    ]
    for family in families:
        title = f"``ops/{family}.py``"
        lines += [title, "-" * len(title), ""]
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 20 80", ""]
        lines += ["   * - op, forward", "     - reverse rule, forward rule"]
        for row in (r for r in rows if r["family"] == family):
            kind = f" ({row['kind']})" if row["kind"] else ""
            lines += [f"   * - .. _op-{row['name']}:", "", f"       **{row['name']}**{kind}", ""]
            lines += [f"       ``{row['forward']}``"]
            cell = _cell(row["vjp"], "reverse") + _cell(row["jvp"], "forward")  # type: ignore[arg-type]
            lines += ["     - " + cell[0]] + [("       " + c) if c else "" for c in cell[1:]]
        lines.append("")
    return lines


def setup(app):
    """Registers ``chainrule-op-table`` (Sphinx is imported here, so that the functions above
    can be tested without it)."""
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    class OpTable(SphinxDirective):
        """Renders :func:`op_table_rst`."""

        def run(self) -> list[nodes.Node]:
            content = StringList(op_table_rst(), source=self.get_source_info()[0])
            node = nodes.section()
            nested_parse_with_titles(self.state, content, node)
            return node.children

    app.add_directive("chainrule-op-table", OpTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
