"""Forward mode: tangents carried alongside values, pushed through each op's forward rule.

Inside ``forward_mode()``, every op whose inputs have tangents computes its output's tangent
with ``Op.tangent`` (the op's JVP rules) in the same pass as its value, so one pass gives the
directional derivative J·u. No reverse graph is needed. Tangents are plain arrays kept in a
table keyed by tensor identity (the table holds the tensors, so identities stay unique).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._counting import counting, record
from ._tensor import Tensor
from .ops._registry import add_watcher, remove_watcher


class _State:
    tangents: dict[int, tuple[Tensor, np.ndarray]] | None = None


def active() -> bool:
    """Whether a forward-mode pass is running."""
    return _State.tangents is not None


def set_tangent(t: Tensor, tangent: np.ndarray) -> None:
    """Attaches ``tangent`` to ``t`` for the running forward-mode pass."""
    tangents = _State.tangents
    if tangents is None:
        raise RuntimeError("set_tangent: no forward-mode pass is running (use jvp or forward_mode)")
    tangents[id(t)] = (t, tangent)


def get_tangent(t: Any) -> np.ndarray | None:
    """The tangent of ``t`` in the running pass, or ``None`` (a constant, or no pass)."""
    tangents = _State.tangents
    entry = tangents.get(id(t)) if tangents is not None and isinstance(t, Tensor) else None
    return None if entry is None else entry[1]


def _push(op, out, args, inputs, kw) -> None:
    """Watcher run after every op: the output's tangent from the inputs' tangents."""
    tangents = [get_tangent(a) for a in args]
    if all(t is None for t in tangents):
        return
    for i, t in enumerate(tangents):
        if t is not None and not op.differentiable(i):
            tangents[i] = None  # e.g. a condition or index: carries no derivative
    if counting():
        record("tangent", op, inputs, out.data, kw)
    set_tangent(out, op.tangent(tangents, out.data, inputs, kw))


class forward_mode:  # noqa: N801 - a context manager used like a function
    """Runs the block in forward mode (one level: nesting raises ``NotImplementedError``)."""

    def __enter__(self) -> forward_mode:
        if _State.tangents is not None:
            raise NotImplementedError(
                "jvp: nested forward mode is not supported; use jacobian(..., mode='reverse') "
                "or vjp for the outer derivative"
            )
        _State.tangents = {}
        add_watcher(_push)
        return self

    def __exit__(self, *exc: object) -> None:
        remove_watcher(_push)
        _State.tangents = None
