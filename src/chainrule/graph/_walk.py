"""Iterative traversal of the recorded graph, and the small formatters the views share.

The walk never recurses (a chain of 100,000 ops is fine). A tensor made by an op whose saved
values were released by ``backward()`` (``_parents is None``) is reported as *freed*: nothing
below it can be reached any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._tensor import Tensor


def _parents(t: Tensor) -> tuple[Tensor, ...]:
    """The tensors ``t`` was computed from that take part in the graph (none for leaves)."""
    if t._op is None or t._parents is None:
        return ()
    return tuple(p for p in t._parents if p is not None)


def is_freed(t: Tensor) -> bool:
    """True for a tensor made by an op whose saved values ``backward()`` has released."""
    return t._op is not None and t._parents is None


def walk(root: Tensor) -> list[Tensor]:
    """Every tensor below ``root`` (root included), inputs before the ops that consume them.

    A depth-first post-order with an explicit stack, so the order is deterministic: the first
    argument's subgraph comes before the second's, and ``root`` is last.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"graph: expected a Tensor, got {type(root).__name__}")
    order: list[Tensor] = []
    seen = {id(root)}
    stack = [(root, iter(_parents(root)))]
    while stack:
        t, rest = stack[-1]
        for p in rest:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append((p, iter(_parents(p))))
                break
        else:
            stack.pop()
            order.append(t)
    return order


def consumers(order: list[Tensor]) -> dict[int, list[Tensor]]:
    """For each tensor id, the tensors whose op takes it as an input (each listed once)."""
    out: dict[int, list[Tensor]] = {}
    for t in order:
        for p in dict.fromkeys(_parents(t)):  # x * x consumes x once
            out.setdefault(id(p), []).append(t)
    return out


def resolve_names(names: Mapping[str, Tensor] | None, where: str) -> dict[int, str]:
    """``{"x": x}`` as ``{id(x): "x"}``, checking that every value is a tensor."""
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise TypeError(
            f"{where}: names must be a mapping from name to tensor, e.g. names={{'x': x}}, "
            f"got {type(names).__name__}"
        )
    out: dict[int, str] = {}
    for name, t in names.items():
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{where}: names[{name!r}] must be a Tensor, got {type(t).__name__}; "
                f"pass names as {{'x': x}} (name to tensor)"
            )
        out[id(t)] = str(name)
        if not t.requires_grad:  # ops record a constant operand as its array: label that too
            out[id(t.data)] = str(name)
    return out


def fmt_number(v: Any, precision: int) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    text = f"{v:.{precision}g}"
    return "0" if text == "-0" else text


def fmt_array(a: Any, precision: int = 4) -> str:
    """``[[1, 2.5], [3, 4]]``: one line, numbers to ``precision`` significant digits."""
    arr = np.asarray(a)
    if arr.ndim == 0:
        return fmt_number(arr.item(), precision)
    if arr.size == 0:
        return "[]"
    kind = arr.dtype.kind
    if kind == "f":
        fmt = lambda v: "0" if (t := f"{v:.{precision}g}") == "-0" else t  # noqa: E731
    else:
        fmt = str
    flat = [fmt(v) for v in arr.ravel().tolist()]
    # nest the flat list by the shape, innermost axis first (no recursion)
    for n in reversed(arr.shape[1:]):
        flat = ["[" + ", ".join(flat[i : i + n]) + "]" for i in range(0, len(flat), n)]
    return "[" + ", ".join(flat) + "]"


def fmt_summary(a: Any, precision: int = 4) -> str:
    """A large array in a few words: shape, mean and range."""
    arr = np.asarray(a)
    shape = f"{arr.size} values" if arr.ndim == 1 else "×".join(map(str, arr.shape))
    if arr.size == 0 or arr.dtype.kind not in "fiu":
        return f"{shape} array"
    f = lambda v: fmt_number(v, precision)  # noqa: E731
    return f"{shape}: mean {f(arr.mean())}, min {f(arr.min())}, max {f(arr.max())}"


def fmt_value(a: Any, max_size: int, precision: int = 4) -> str:
    """The array itself when it has at most ``max_size`` elements, else a summary."""
    if np.size(a) <= max_size:
        return fmt_array(a, precision)
    return fmt_summary(a, precision)


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "scalar" if shape == () else str(tuple(shape))


def fmt_settings(kw: Mapping[str, Any] | None, max_len: int = 24) -> str:
    """An op's static settings as ``axis=1, keepdims=True``; long values elided."""
    if not kw:
        return ""
    parts = []
    for k, v in kw.items():
        if v is None or v is False:
            continue  # defaults in every op here; they would only add noise
        text = fmt_array(v) if isinstance(v, np.ndarray) and v.size <= 6 else repr(v)
        if isinstance(v, np.ndarray) and v.size > 6:
            text = f"array{v.shape}"
        parts.append(f"{k}={text if len(text) <= max_len else text[: max_len - 1] + '…'}")
    return ", ".join(parts)
