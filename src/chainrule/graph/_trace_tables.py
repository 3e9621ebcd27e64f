"""The trace written out in Markdown, the way a teacher lays backpropagation out on a board:
first the forward pass node by node with each gradient beside it, then the dense layers, then
the backward pass from the loss down to the first layer with the formula behind each number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ._walk import fmt_number, fmt_shape, fmt_value


# What the tables read of a trace (``_trace.Trace``, ``TraceRow``, ``LayerTrace`` have it):
# described here, so that the tables need not import the module that calls them.
class _Row(Protocol):
    @property
    def step(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def expression(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def value(self) -> np.ndarray: ...
    @property
    def grad(self) -> np.ndarray | None: ...


class _Layer(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def activation(self) -> str: ...
    @property
    def input(self) -> np.ndarray: ...
    @property
    def z(self) -> np.ndarray: ...
    @property
    def output(self) -> np.ndarray: ...
    @property
    def delta(self) -> np.ndarray | None: ...
    @property
    def weight_grad(self) -> np.ndarray | None: ...
    @property
    def bias_grad(self) -> np.ndarray | None: ...
    @property
    def names(self) -> dict[str, str]: ...


class _Trace(Protocol):
    @property
    def loss(self) -> float: ...
    @property
    def rows(self) -> Sequence[_Row]: ...
    @property
    def layers(self) -> Sequence[_Layer]: ...


_ELEMENTWISE = {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], align: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def nodes_markdown(tr: _Trace, max_value_size: int, precision: int) -> str:
    """Every node in forward order with its value and ∂loss/∂node."""

    def fmt(a: Any) -> str:
        return "—" if a is None else fmt_value(a, max_value_size, precision)

    rows = [
        [str(r.step), r.name, r.expression, fmt_shape(r.shape), fmt(r.value), fmt(r.grad)]
        for r in tr.rows
    ]
    intro = (
        f"**Backprop trace**: loss = {fmt_number(tr.loss, precision)}; {len(tr.rows)} nodes in "
        f"forward order. The forward pass fills *value* from the top row down; the backward "
        f"pass fills *∂loss/∂node* (the gradient of the loss with respect to that node) from "
        f"the bottom row up."
    )
    header = ["step", "node", "computed as", "shape", "value", "∂loss/∂node"]
    return intro + "\n\n" + _table(header, ["---:", "---", "---", "---", "---", "---"], rows)


def _per_sample(a: np.ndarray | None) -> tuple[np.ndarray | None, bool]:
    """A batch of one as its single row (the blackboard writes vectors)."""
    if a is not None and a.ndim >= 2 and a.shape[0] == 1:
        return a[0], True
    return a, False


def _delta_formula(layers: Sequence[_Layer], i: int) -> str:
    """How δ of layer i follows from the layer above it."""
    layer = layers[i]
    plain = f"∂loss/∂{layer.names['z']}"
    if i + 1 == len(layers):
        return plain
    nxt = layers[i + 1]
    if nxt.names.get("x") != layer.names["a"] or "W" not in nxt.names:
        return plain
    back = f"δ{nxt.index} · {nxt.names['W']}ᵀ"
    if layer.activation == "identity":
        return back
    if layer.activation in _ELEMENTWISE:
        return f"({back}) ⊙ {layer.activation}'({layer.names['z']})"
    return plain


def layers_markdown(tr: _Trace, max_value_size: int, precision: int) -> str:
    """The layer table and the backward pass, layer by layer from the last."""
    squeezed = False

    def fmt(a: Any, per_sample: bool = False) -> str:
        nonlocal squeezed
        if a is None:
            return "—"
        if per_sample:
            a, s = _per_sample(a)
            squeezed |= s
        return fmt_value(a, max_value_size, precision)

    rows = [
        [
            str(layer.index),
            layer.activation,
            fmt(layer.input, True),
            fmt(layer.z, True),
            fmt(layer.output, True),
            fmt(layer.delta, True),
            fmt(layer.weight_grad),
            fmt(layer.bias_grad),
        ]
        for layer in tr.layers
    ]
    note = "; a batch of one is shown as a vector" if squeezed else ""
    intro = (
        f"**Dense layers**: z = a_prev · W + b, a = activation(z), δ = ∂loss/∂z (the delta), "
        f"∂loss/∂W = a_prevᵀ · δ, ∂loss/∂b = Σ δ over the batch{note}."
    )
    header = ["layer", "activation", "input a_prev", "z", "output a", "δ = ∂loss/∂z"]
    header += ["∂loss/∂W", "∂loss/∂b"]
    table = _table(header, ["---:"] + ["---"] * 7, rows)
    steps = []
    for i in range(len(tr.layers) - 1, -1, -1):
        layer, k = tr.layers[i], tr.layers[i].index
        n = layer.names
        parts = [f"δ{k} = {_delta_formula(tr.layers, i)} = {fmt(layer.delta, True)}"]
        if layer.weight_grad is not None:
            x = n.get("x", "a_prev")
            parts.append(f"∂loss/∂{n['W']} = {x}ᵀ · δ{k} = {fmt(layer.weight_grad)}")
        if layer.bias_grad is not None:
            parts.append(f"∂loss/∂{n['b']} = Σ δ{k} = {fmt(layer.bias_grad)}")
        steps.append(f"- layer {k}: " + "; ".join(parts))
    backward = "**Backward pass**, from the loss down to the first layer:\n\n" + "\n".join(steps)
    return intro + "\n\n" + table + "\n\n" + backward
