"""Counting what a computation costs: primitive evaluations and multiply-adds.

``with cr.count_ops() as c: ...`` counts every forward evaluation of a primitive, every
reverse rule and every forward (tangent) rule evaluated inside the block, with an estimate
of the multiply-adds each did, so that the cost of forward and reverse mode can be compared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .ops._registry import add_watcher, remove_watcher

# dense factorisations and inverses: about m·n·min(m, n) multiply-adds per (m, n) matrix
_CUBIC = {"inv", "solve", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "svd", "svdvals",
          "qr", "pinv"}  # fmt: skip


def multiply_adds(op: Any, inputs: tuple, out: np.ndarray, kw: dict | None = None) -> int:
    """Estimated multiply-adds of one evaluation of ``op``: m·k·n for a matrix product of
    (m, k) and (k, n) (and per batch), the product of every index's size for an einsum,
    m·n·min(m, n) per matrix for a factorisation, one per output element otherwise."""
    if op.name in ("matmul", "linear"):
        a, w = inputs[0], inputs[1]
        k = np.shape(a)[-1] if np.ndim(a) else 1
        return int(np.size(out)) * int(k) if np.ndim(w) >= 1 else int(np.size(out))
    if op.name == "einsum" and kw:
        sizes: dict[str, int] = {}
        for sub, x in zip(kw["subscripts"].split("->")[0].split(","), inputs):
            sizes.update(zip(sub, np.shape(x)))
        return int(np.prod(list(sizes.values()), dtype=np.int64))
    if op.name in _CUBIC:
        shape = np.shape(inputs[0])
        m, n = shape[-2:]
        return int(np.prod(shape[:-2], dtype=np.int64)) * m * n * min(m, n)
    return int(np.size(out))


@dataclass
class OpCounter:
    """Counts of primitive work: ``forward`` (op evaluations), ``reverse`` (reverse-rule
    evaluations), ``tangent`` (forward-rule evaluations) and the multiply-adds of all three."""

    forward: int = 0
    reverse: int = 0
    tangent: int = 0
    multiply_adds: int = 0
    by_op: Counter = field(default_factory=Counter)

    @property
    def primitive_evaluations(self) -> int:
        """Every evaluation of a primitive's function or of one of its rules."""
        return self.forward + self.reverse + self.tangent

    def reset(self) -> None:
        """Sets every count back to zero."""
        self.forward = self.reverse = self.tangent = self.multiply_adds = 0
        self.by_op.clear()

    def _add(self, kind: str, op: Any, inputs: tuple, out: np.ndarray, kw: dict) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.multiply_adds += multiply_adds(op, inputs, out, kw)
        self.by_op[op.name] += 1

    def _watch(self, op, t, args, inputs, kw) -> None:
        self._add("forward", op, inputs, t.data, kw)


class _Active:
    counters: list[OpCounter] = []


def record(kind: str, op: Any, inputs: tuple, out: np.ndarray, kw: dict) -> None:
    """Adds one rule evaluation to every active counter (called by the engines)."""
    for c in _Active.counters:
        c._add(kind, op, inputs, out, kw)


class count_ops:  # noqa: N801 - a context manager used like a function
    """Context manager counting primitive evaluations and multiply-adds; yields an
    ``OpCounter``."""

    def __enter__(self) -> OpCounter:
        self.counter = OpCounter()
        _Active.counters.append(self.counter)
        add_watcher(self.counter._watch)
        return self.counter

    def __exit__(self, *exc: object) -> None:
        remove_watcher(self.counter._watch)
        _Active.counters.remove(self.counter)


def counting() -> bool:
    """Whether any counter is active (the engines check this once per pass)."""
    return bool(_Active.counters)
