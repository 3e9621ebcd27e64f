"""Flat buffers for a parameter group, so that an update runs as a few NumPy calls in all.

A small network's update is dominated by per-call overhead (about a microsecond per NumPy call,
four calls per parameter for SGD with momentum). The fused ("foreach", as PyTorch calls it)
path gathers a group's gradients into one flat array, runs the update's arithmetic once on
flat arrays, and subtracts each parameter's slice of the step in place. The per-parameter state
(e.g. ``"momentum_buffer"``) are views into one flat buffer, so ``state`` and ``state_dict``
look the same as on the per-parameter path. Elementwise arithmetic does not depend on the
layout, so both paths give bit-identical results.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor

AUTO_MAX_SIZE = 1 << 16
"""With ``foreach=None``, fuse groups of at most this many elements (beyond it the extra
gather pass costs more than the calls it saves)."""


class FlatGroup:
    """Flat arrays covering the parameters of one group, in order.

    Parameters
    ----------
    params : list of Tensor
        The group's parameters (all of one dtype).
    n_work : int
        Number of flat work arrays to allocate.
    """

    __slots__ = (
        "ids",
        "offsets",
        "shapes",
        "grad",
        "data",
        "work",
        "step_views",
        "state",
        "first",
        "scalars",
    )

    def __init__(self, params: list[Tensor], n_work: int) -> None:
        self.ids = tuple(map(id, params))
        sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.shapes = [p.data.shape for p in params]
        dtype = params[0].data.dtype
        total = self.offsets[-1]
        self.grad = np.empty(total, dtype)
        self.data: np.ndarray | None = None  # parameter values, gathered only when needed
        self.work = [np.empty(total, dtype) for _ in range(n_work)]
        self.step_views = self.views(self.work[0])
        self.state: dict[str, np.ndarray] = {}  # flat state buffers by name
        self.first: dict[str, np.ndarray] = {}  # the first parameter's view of each
        # the optimiser's hyper-parameters and their values in the group's dtype (cast once)
        self.scalars: tuple[tuple, tuple] | None = None

    @staticmethod
    def usable(params: list[Tensor], foreach: bool | None) -> bool:
        """Whether ``params`` can (and, for ``foreach=None``, should) be fused."""
        if foreach is False or len(params) < 2:
            return False
        dtype = params[0].data.dtype
        if any(p.data.dtype != dtype for p in params):
            return False
        return foreach or sum(p.data.size for p in params) <= AUTO_MAX_SIZE

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        """``flat`` cut into arrays shaped like the parameters (views, no copy)."""
        o = self.offsets
        return [flat[o[i] : o[i + 1]].reshape(s) for i, s in enumerate(self.shapes)]

    def gather_grads(self, grads: list[np.ndarray]) -> np.ndarray:
        np.concatenate([g.ravel() for g in grads], out=self.grad)
        return self.grad

    def gather_data(self, params: list[Tensor]) -> np.ndarray:
        if self.data is None:
            self.data = np.empty_like(self.grad)
        np.concatenate([p.data.ravel() for p in params], out=self.data)
        return self.data

    def bind(
        self, key: str, states: list[dict[str, np.ndarray]], flat: np.ndarray | None = None
    ) -> bool:
        """Makes ``state[key]`` of every parameter a view of one flat buffer ``self.state[key]``.

        With ``flat`` given (a buffer just created), binds its views. Otherwise checks that the
        binding still holds, or copies per-parameter buffers (after ``load_state_dict``, or
        made one by one) into a new flat buffer; when no parameter has one yet, clears
        ``self.state[key]``. Returns False when only some parameters have it (the caller then
        goes one parameter at a time).
        """
        if flat is None:
            first = self.first.get(key)
            if first is not None and states[0].get(key) is first:
                return True
            buffers = [b for s in states if (b := s.get(key)) is not None]
            if not buffers:
                self.state.pop(key, None)
                self.first.pop(key, None)
                return True
            if len(buffers) < len(states):
                return False
            flat = np.concatenate([b.ravel() for b in buffers]).astype(self.grad.dtype)
        views = self.views(flat)
        for s, view in zip(states, views):
            s[key] = view
        self.state[key], self.first[key] = flat, views[0]
        return True
