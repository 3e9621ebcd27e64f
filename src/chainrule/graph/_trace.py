"""``trace(loss)``: the backward pass written out node by node, and layer by layer.

The trace runs ``backward`` itself, with a gradient hook on every tensor of the graph, so that the
gradient of the loss with respect to *every* node is captured (the engine stores gradients on
leaves only). The graph is kept (``retain_graph=True``) and every leaf's ``.grad`` is put back as it
was, so tracing changes nothing the user can see: ``loss.backward()`` afterwards behaves as if
the trace had never run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .._autodiff import backward, register_hook
from .._tensor import Tensor
from ..ops.fused import LinearCall
from ._trace_tables import layers_markdown, nodes_markdown
from ._view import Graph
from ._walk import consumers, fmt_array, fmt_number, fmt_settings, is_freed, resolve_names, walk

ACTIVATIONS = frozenset(
    {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax", "log_softmax"}
)
"""Ops recognised as a layer's activation when they alone consume a ``linear`` op's output."""


@dataclass(frozen=True)
class TraceRow:
    """One node of the graph, in forward order.

    ``value`` and ``grad`` (the gradient of the loss with respect to the node, ``None`` when no
    gradient reached it) have shape ``shape``. ``role`` is ``"x"``, ``"W"``, ``"b"``, ``"z"``
    (pre-activation), ``"a"`` (activation) for the nodes of ``layer``, ``"loss"`` for the root.
    """

    step: int
    name: str
    op: str
    args: tuple[str, ...]
    settings: str
    shape: tuple[int, ...]
    dtype: str
    value: np.ndarray
    grad: np.ndarray | None
    layer: int | None = None
    role: str = ""

    @property
    def expression(self) -> str:
        """How the node was computed: ``linear(x, W1, b1)``; ``input`` or ``parameter`` for
        leaves (a parameter is a leaf used as a layer's weight or bias)."""
        if self.op == "leaf":
            return "parameter" if self.role in ("W", "b") else "input"
        args = list(self.args) + ([self.settings] if self.settings else [])
        return f"{self.op}({', '.join(args)})"


@dataclass(frozen=True)
class LayerTrace:
    """One dense layer ``a = activation(z)``, ``z = a_prev · W + b`` (``linear``), with its
    backward quantities: ``delta`` δ = ∂loss/∂z, ``weight_grad`` = a_prevᵀ·δ, ``bias_grad`` = Σ δ.

    Shapes: ``input`` (batch, in), ``z``/``output``/``delta`` (batch, out), ``weight`` (in, out),
    ``bias`` (out,); as recorded (a 1-D input gives 1-D ones).
    """

    index: int
    activation: str
    input: np.ndarray
    z: np.ndarray
    output: np.ndarray
    delta: np.ndarray | None
    weight: np.ndarray
    weight_grad: np.ndarray | None
    bias: np.ndarray | None
    bias_grad: np.ndarray | None
    names: dict[str, str]  # role -> node name: "x", "W", "b", "z", "a"


class Trace:
    """The nodes of a graph with their values and the gradients of the loss (see ``trace``).

    Attributes
    ----------
    rows : list of TraceRow
        Every tensor of the graph, inputs first, the loss last.
    layers : list of LayerTrace
        One entry per ``linear`` op, in forward order (empty when there is none).
    loss : float
        The loss value.
    grads_by_id : dict
        Captured gradients by tensor identity (``draw`` uses them).
    """

    def __init__(
        self,
        root: Tensor,
        order: list[Tensor],
        grads: dict[int, np.ndarray],
        names: dict[int, str],
    ) -> None:
        self.root = root
        self._order = order  # keeps the tensors, hence their ids, alive
        self.grads_by_id = grads
        self.loss = float(np.asarray(root.data).reshape(-1)[0])
        self._names = _auto_names(root, order, names)  # by id of tensors and constant arrays
        self.layers, roles = _find_layers(order, grads, self._names)
        self.rows = [self._row(k + 1, t, roles.get(id(t))) for k, t in enumerate(order)]

    def _row(self, step: int, t: Tensor, role: tuple[int, str] | None) -> TraceRow:
        args: tuple[str, ...] = ()
        settings = ""
        if t._op is not None:
            args = tuple(
                self._names[id(p)] if p is not None else self._constant(x)
                for p, x in zip(t._parents or (), t._inputs or ())
                if p is not None or x is not None
            )
            settings = fmt_settings(t._kw)
        layer, r = role if role else (None, "")
        return TraceRow(
            step=step,
            name=self._names[id(t)],
            op="leaf" if t._op is None else t._op.name,
            args=args,
            settings=settings,
            shape=tuple(t.shape),
            dtype=str(t.dtype),
            value=np.array(t.data, copy=True),
            grad=self.grads_by_id.get(id(t)),
            layer=layer,
            role="loss" if t is self.root else r,
        )

    def _constant(self, x: Any) -> str:
        if id(x) in self._names:
            return self._names[id(x)]
        if np.ndim(x) == 0:
            return fmt_number(np.asarray(x).item(), 4)
        return fmt_array(x) if np.size(x) <= 4 else f"constant{np.shape(x)}"

    @property
    def names(self) -> dict[str, Tensor]:
        """Every node's name (given or made up: W1, z1, a1, v7, loss) to its tensor."""
        return {self._names[id(t)]: t for t in self._order}

    def grad(self, tensor: Tensor) -> np.ndarray:
        """The gradient of the loss with respect to ``tensor`` (a node of the traced graph)."""
        g = self.grads_by_id.get(id(tensor))
        if g is None:
            raise KeyError(
                "Trace.grad: this tensor is not a node of the traced graph (or no gradient "
                "reached it)"
            )
        return g

    def draw(self, **options: Any) -> Graph:
        """The ``Graph`` of the traced loss with every node's gradient and the trace's names."""
        options.setdefault("names", self.names)
        return Graph(self.root, grads=self, **options)

    def to_markdown(self, max_value_size: int = 8, precision: int = 4) -> str:
        """The trace as Markdown: the node table, then (for dense layers) the layer table and
        the backward pass written layer by layer, as on a blackboard."""
        parts = [nodes_markdown(self, max_value_size, precision)]
        if self.layers:
            parts.append(layers_markdown(self, max_value_size, precision))
        return "\n\n".join(parts) + "\n"

    def to_dataframe(self, kind: str = "nodes") -> Any:
        """A pandas DataFrame of the rows (``kind="nodes"``) or of the layers (``"layers"``)."""
        if kind not in ("nodes", "layers"):
            raise ValueError(f"Trace.to_dataframe: kind must be 'nodes' or 'layers', got {kind!r}")
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Trace.to_dataframe needs pandas, which is not installed (pip install pandas); "
                "without it use .rows, .layers or .to_markdown()"
            ) from None
        if kind == "layers":
            cols = [f.name for f in fields(LayerTrace) if f.name != "names"]
            records = [{c: getattr(layer, c) for c in cols} for layer in self.layers]
            return pd.DataFrame.from_records(records, columns=cols).set_index("index")
        cols = [f.name for f in fields(TraceRow)]
        records = [
            {"expression": r.expression, **{c: getattr(r, c) for c in cols}} for r in self.rows
        ]
        return pd.DataFrame.from_records(records, columns=["expression", *cols]).set_index("step")

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        return self.to_markdown()

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def trace(loss: Tensor, *, names: dict[str, Tensor] | None = None) -> Trace:
    """Runs the backward pass of ``loss`` and records every node's value and gradient.

    Parameters
    ----------
    loss : Tensor
        A one-element tensor whose graph is intact (not yet consumed by ``backward()``).
    names : mapping of str to Tensor, optional
        Names for tensors, e.g. ``{"x": x}``. Others are named for their role in a dense layer
        (``W1``, ``b1``, ``z1`` = linear output, ``a1`` = activation), ``loss``, ``x`` for an
        unnamed input, and ``v<step>`` for the rest.

    Returns
    -------
    Trace
        Rows in forward (topological) order; layers for networks of ``linear`` ops.

    Notes
    -----
    Nothing is accumulated: each leaf's ``.grad`` is restored to what it was (``None`` or the
    same tensor, unchanged), and the graph is retained, so ``loss.backward()`` still works.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"trace: expected a Tensor, got {type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(
            f"trace: the loss must have one element, got shape {tuple(loss.shape)}; reduce it "
            f"first, e.g. trace(loss.sum()) or trace(loss.mean())"
        )
    if not loss.requires_grad:
        raise ValueError(
            "trace: the loss does not require grad, so there is no graph to trace: none of the "
            "tensors it was computed from has requires_grad=True, or it was made under no_grad()"
        )
    by_name = resolve_names(names, "trace")
    order = walk(loss)
    for t in order:
        if t._op is not None and is_freed(t):
            raise RuntimeError(
                f"trace: the graph was freed by an earlier backward() (op '{t._op.name}' no "
                f"longer holds its saved values); trace before calling backward(), or pass "
                f"retain_graph=True to backward()"
            )
    return Trace(loss, order, _capture(loss, order), by_name)


def _capture(loss: Tensor, order: list[Tensor]) -> dict[int, np.ndarray]:
    """Every node's gradient, by hooks; leaves' ``.grad`` are restored afterwards."""
    grads: dict[int, np.ndarray] = {}

    def hook_for(key: int) -> Callable[[Any], None]:
        def hook(g: Any) -> None:
            grads[key] = np.array(getattr(g, "data", g), copy=True)

        return hook

    leaves = [t for t in order if t._op is None]
    saved = [leaf.grad for leaf in leaves]
    handles = []
    try:
        for t in order:
            handles.append(register_hook(t, hook_for(id(t))))
        for leaf in leaves:
            leaf.grad = None  # else backward would add into the user's .grad in place
        backward(loss, retain_graph=True)
    finally:
        for h in handles:
            h.remove()
        for leaf, g in zip(leaves, saved):
            leaf.grad = g
    return grads


_Parents = tuple[Tensor | None, Tensor | None, Tensor | None]


def _linear_call(t: Tensor) -> tuple[LinearCall, _Parents] | None:
    """For a node made by the fused ``linear`` op, its public metadata and the tensors it took
    as x, W and b (None: a constant, or no bias); None for other nodes."""
    op = t._op
    if op is None or op.name != "linear":
        return None
    xp, wp, bp = ((t._parents or ()) + (None, None, None))[:3]
    return LinearCall(*(t._inputs or ()), **(t._kw or {})), (xp, wp, bp)


def _auto_names(root: Tensor, order: list[Tensor], given: dict[int, str]) -> dict[int, str]:
    """Given names, then layer roles (W1, b1, z1, a1), ``loss``, ``x``, and ``v<step>``."""
    names = dict(given)
    uses = consumers(order)
    k = 0
    for t in order:
        found = _linear_call(t)
        if found is None:
            continue
        call, parents = found
        k += 1
        names.setdefault(id(t), f"a{k}" if call.activation else f"z{k}")
        if k == 1 and parents[0] is None and "x" not in names.values():
            names.setdefault(id(call.x), "x")  # a constant input: the data
        act = _activation_of(t, call, uses)
        if act is not None:
            names.setdefault(id(act), f"a{k}")
        for p, prefix in zip(parents[1:], "Wb"):
            if p is not None:
                names.setdefault(id(p), f"{prefix}{k}")
    names.setdefault(id(root), "loss")
    leaves = [t for t in order if t._op is None and id(t) not in names]
    one = len(leaves) == 1 and "x" not in names.values()
    for j, t in enumerate(leaves, 1):
        names[id(t)] = "x" if one else f"x{j}"
    for step, t in enumerate(order, 1):
        names.setdefault(id(t), f"v{step}")
    return names


def _activation_of(z: Tensor, call: LinearCall, uses: dict[int, list[Tensor]]) -> Tensor | None:
    """The activation applied to a linear op's output, if that is its only consumer (None for
    a fused layer, ``linear(..., activation=...)``, whose output is already the activation)."""
    if call.activation:
        return None
    after = uses.get(id(z), [])
    if len(after) == 1:
        op = after[0]._op
        if op is not None and op.name in ACTIVATIONS and len(after[0]._parents or ()) == 1:
            return after[0]
    return None


def _find_layers(
    order: list[Tensor], grads: dict[int, np.ndarray], names: dict[int, str]
) -> tuple[list[LayerTrace], dict[int, tuple[int, str]]]:
    """A ``LayerTrace`` per linear op, and each layer node's (layer, role)."""
    uses = consumers(order)
    layers: list[LayerTrace] = []
    roles: dict[int, tuple[int, str]] = {}
    for z in order:
        found = _linear_call(z)
        if found is None:
            continue
        call, (xp, wp, bp) = found
        k = len(layers) + 1
        act = _activation_of(z, call, uses)
        a = act if act is not None else z
        node_roles = ((xp, "x"), (wp, "W"), (bp, "b"), (z, "a" if call.activation else "z"))
        for t, role in (*node_roles, (act, "a")):
            if t is not None and id(t) not in roles and not (role == "x" and t._op is not None):
                roles[id(t)] = (k, role)
        layer_names = {"z": f"z{k}" if call.activation else names[id(z)], "a": names[id(a)]}
        for t, x, role in ((xp, call.x, "x"), (wp, call.weight, "W"), (bp, call.bias, "b")):
            name = names.get(id(t) if t is not None else id(x))
            if name is not None:
                layer_names[role] = name
        layers.append(_layer(k, z, found, a, act, grads, layer_names))
    return layers, roles


def _layer(
    k: int,
    z: Tensor,
    found: tuple[LinearCall, _Parents],
    a: Tensor,
    act: Tensor | None,
    grads: dict[int, np.ndarray],
    names: dict[str, str],
) -> LayerTrace:
    """Layer ``k`` made by the linear node ``z`` (``found``: its metadata and parents), with
    its output ``a`` (``z`` itself when fused) and activation node ``act``."""
    call, (_, wp, bp) = found
    g = grads.get(id(z))
    if call.activation:  # one node for z and a: z is recomputed, δ is ∂loss/∂a ⊙ act'(z)
        activation, z_value = call.activation, np.array(call.z)
        delta = None if g is None else call.delta(g, z.data)
    else:
        activation = act._op.name if act is not None and act._op is not None else "identity"
        z_value, delta = np.array(z.data, copy=True), g
    return LayerTrace(
        index=k,
        activation=activation,
        input=np.array(call.x, copy=True),
        z=z_value,
        output=np.array(a.data, copy=True),
        delta=delta,
        weight=np.array(call.weight, copy=True),
        weight_grad=grads.get(id(wp)) if wp is not None else None,
        bias=None if call.bias is None else np.array(call.bias, copy=True),
        bias_grad=grads.get(id(bp)) if bp is not None else None,
        names=names,
    )
