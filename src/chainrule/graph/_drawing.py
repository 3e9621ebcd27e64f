"""The drawable model of a computational graph: nodes with text lines, and edges.

The graph is bipartite, as on the blackboard: tensor boxes (inputs, constants, intermediates,
the output) feed op nodes, and each op node feeds the tensor it made. Both renderers (DOT text and
the built-in SVG layout) read only this model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..ops._registry import Op
from ._walk import fmt_settings, fmt_shape, fmt_value, is_freed, walk

KINDS = ("input", "constant", "tensor", "output", "op", "freed")
"""Node kinds: a leaf that requires grad, a constant operand, an intermediate tensor, the tensor
that was drawn, an op, and an op whose saved values ``backward()`` released."""

# argument names shown on the edges of ops whose operand order matters
_ARG_NAMES = {
    "linear": ("x", "W", "b"),
    "matmul": ("a", "b"),
    "sub": ("a", "b"),
    "div": ("a", "b"),
    "pow": ("base", "exponent"),
    "where": ("condition", "a", "b"),
    "cross_entropy": ("logits", "target"),
    "binary_cross_entropy_with_logits": ("logits", "target"),
}
_COMMUTATIVE = {"add", "mul", "maximum", "minimum"}


@dataclass(frozen=True)
class Node:
    """One box of the drawing: ``id`` (DOT name), ``kind`` (one of ``KINDS``), text ``lines``."""

    id: str
    kind: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Edge:
    """An arrow from node ``src`` to node ``dst``, with an optional argument name."""

    src: str
    dst: str
    label: str = ""


@dataclass(frozen=True)
class Options:
    """What the tensor boxes show."""

    show_values: bool = True
    show_grads: bool = True
    max_value_size: int = 6
    precision: int = 4


_DTYPE_NAMES: dict[Any, str] = {}


def _dtype_name(dtype: Any) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


class _Builder:
    """Turns the tensors below a root into nodes and edges, in topological order."""

    def __init__(self, names: dict[int, str], grads: Mapping[int, Any], opts: Options) -> None:
        self.names, self.grads, self.opts = names, grads, opts
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.node_of: dict[int, str] = {}  # tensor id (or constant array id) -> node id
        self.keep: list[Any] = []  # constants whose id is used as a key stay alive meanwhile

    def add(self, kind: str, lines: list[str]) -> str:
        nid = f"n{len(self.nodes)}"
        self.nodes.append(Node(nid, kind, tuple(lines)))
        return nid

    def value_lines(self, data: Any, grad: Any) -> list[str]:
        o = self.opts
        lines = []
        if o.show_values:
            lines.append(f"value {fmt_value(data, o.max_value_size, o.precision)}")
        if o.show_grads and grad is not None:
            lines.append(f"grad {fmt_value(grad, o.max_value_size, o.precision)}")
        return lines

    def tensor(self, t: Tensor, kind: str, title: str | None) -> str:
        name = self.names.get(id(t), title)
        grad = self.grads.get(id(t))
        if grad is None and t._op is None and t.grad is not None:
            grad = t.grad.data
        lines = [name] if name else []
        lines.append(f"{fmt_shape(t.shape)} {_dtype_name(t.data.dtype)}")
        nid = self.add(kind, lines + self.value_lines(t.data, grad))
        self.node_of[id(t)] = nid
        return nid

    def constant(self, x: Any) -> str:
        if isinstance(x, np.ndarray):
            if id(x) in self.node_of:
                return self.node_of[id(x)]
            self.keep.append(x)
            name = self.names.get(id(x), "constant")
            lines = [name, f"{fmt_shape(x.shape)} {x.dtype}"]
            lines += self.value_lines(x, None) if self.opts.show_values else []
            nid = self.add("constant", lines)
            self.node_of[id(x)] = nid
            return nid
        return self.add("constant", [fmt_value(x, 1, self.opts.precision)])

    def op(self, t: Tensor, op: Op) -> str:
        """The node of ``op``, the op that computed ``t``, with edges from its inputs."""
        name = op.name
        parents, inputs = t._parents, t._inputs
        if is_freed(t) or parents is None or inputs is None:
            return self.add("freed", [name, "freed by backward()", "(use retain_graph=True)"])
        # constants first, so that the node list stays in topological order
        srcs = [
            (i, self.node_of[id(p)] if p is not None else self.constant(x))
            for i, (p, x) in enumerate(zip(parents, inputs))
            if p is not None or x is not None  # None: an absent optional argument (bias)
        ]
        settings = fmt_settings(t._kw)
        op_id = self.add("op", [name, settings] if settings else [name])
        labelled = len(srcs) > 1 and name not in _COMMUTATIVE
        arg_names = _ARG_NAMES.get(name, ())
        for i, src in srcs:
            label = (arg_names[i] if i < len(arg_names) else str(i)) if labelled else ""
            self.edges.append(Edge(src, op_id, label))
        return op_id


def build(
    root: Tensor,
    names: dict[int, str],
    grads: Mapping[int, Any],
    opts: Options,
    max_nodes: int | None,
) -> tuple[list[Node], list[Edge], int]:
    """Nodes, edges and the number of freed ops of the graph below ``root``."""
    order = walk(root)
    n_ops = sum(t._op is not None for t in order)
    if max_nodes is not None and len(order) + n_ops > max_nodes:
        raise ValueError(
            f"graph: the graph below this tensor has at least {len(order) + n_ops} nodes "
            f"({n_ops} ops), more than max_nodes={max_nodes} that a drawing stays readable at; "
            f"pass max_nodes=None to draw it anyway, or draw a smaller part of it"
        )
    b = _Builder(names, grads, opts)
    freed = 0
    for t in order:
        is_root = t is root
        if t._op is None:
            kind = "input" if t.requires_grad else "constant"
            b.tensor(t, kind, "output" if is_root else ("leaf" if t.requires_grad else "constant"))
            continue
        op_id = b.op(t, t._op)
        freed += is_freed(t)
        out_id = b.tensor(t, "output" if is_root else "tensor", "output" if is_root else None)
        b.edges.append(Edge(op_id, out_id))
    if max_nodes is not None and len(b.nodes) > max_nodes:
        raise ValueError(
            f"graph: the graph below this tensor has {len(b.nodes)} nodes (with its constants), "
            f"more than max_nodes={max_nodes}; pass max_nodes=None to draw it anyway"
        )
    return b.nodes, b.edges, freed
