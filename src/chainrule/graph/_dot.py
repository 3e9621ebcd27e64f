"""Graphviz DOT text of the drawable model, and the look of each node kind."""

from __future__ import annotations

from ._drawing import Edge, Node

# kind: (shape, fill, border, dashed, bold); shared with the built-in SVG renderer
STYLES = {
    "input": ("box", "#cfe3ff", "#1f5fbf", False, True),
    "constant": ("box", "#eeeeee", "#888888", True, False),
    "tensor": ("box", "#ffffff", "#444444", False, False),
    "output": ("box", "#d6f5d6", "#2e7d32", False, True),
    "op": ("ellipse", "#fff4cc", "#b58900", False, False),
    "freed": ("ellipse", "#ffe0e0", "#c62828", True, False),
}
RANKDIRS = ("TB", "LR", "BT", "RL")


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes, quotes and newlines escaped."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", "").replace("\n", "\\n") + '"'


def _kind_attrs(kind: str) -> str:
    shape, fill, border, dashed, bold = STYLES[kind]
    style = ",".join(["filled"] + (["dashed"] if dashed else []) + (["bold"] if bold else []))
    return (
        f"shape={shape}, style={quote(style)}, fillcolor={quote(fill)}, color={quote(border)}, "
        f"class={quote(kind)}"
    )


_KIND_ATTRS = {kind: _kind_attrs(kind) for kind in STYLES}


def node_attrs(node: Node) -> str:
    return f"label={quote(chr(10).join(node.lines))}, {_KIND_ATTRS[node.kind]}"


def to_dot_text(nodes: list[Node], edges: list[Edge], rankdir: str = "TB") -> str:
    """The DOT text: one statement per node, then one per edge."""
    lines = [
        "digraph chainrule {",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", nodesep=0.3, ranksep=0.4];',
        '  node [fontname="Helvetica", fontsize=11, margin="0.12,0.06"];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]
    lines += [f"  {n.id} [{node_attrs(n)}];" for n in nodes]
    for e in edges:
        attrs = f" [label={quote(e.label)}]" if e.label else ""
        lines.append(f"  {e.src} -> {e.dst}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"
