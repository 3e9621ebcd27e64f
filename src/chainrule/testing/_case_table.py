"""The table of op sample cases and what a case is made of: ``Arg`` (a differentiable input),
``Const`` (a fixed one), ``Case`` and ``add_case``, and small helpers for the PyTorch side.
``cases``, ``cases_numpy`` and ``cases_linalg`` fill the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Arg:
    """A differentiable float input drawn uniformly from [low, high]; with ``away`` > 0 its
    magnitude is at least ``away``, which keeps finite differences off kinks at 0."""

    shape: tuple
    low: float = -2.0
    high: float = 2.0
    away: float = 0.0

    def make(self, rng: np.random.Generator) -> np.ndarray:
        if not self.away:
            return np.asarray(rng.uniform(self.low, self.high, self.shape))
        mag = rng.uniform(self.away, max(abs(self.low), abs(self.high)), self.shape)
        if self.low >= 0:
            return np.asarray(mag)
        return np.asarray(mag * rng.choice([-1.0, 1.0], self.shape))


@dataclass(frozen=True)
class Const:
    """A non-differentiable input (indices, masks, targets) made from the generator."""

    make_fn: Callable[[np.random.Generator], np.ndarray]

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return self.make_fn(rng)


@dataclass
class Case:
    op: str
    args: tuple
    ours: Callable
    theirs: Callable
    label: str = ""
    twice: bool = True
    extras: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.op}-{self.label}" if self.label else self.op

    def inputs(self, seed: int = 0) -> list:
        rng = np.random.default_rng(seed)
        return [a.make(rng) if isinstance(a, (Arg, Const)) else a for a in self.args]

    def diff_positions(self) -> list[int]:
        return [i for i, a in enumerate(self.args) if isinstance(a, Arg)]


CASES: list[Case] = []


def add_case(op, args, ours, theirs, label="", **kw):
    CASES.append(Case(op, tuple(args), ours, theirs, label, **kw))


def _torch():
    import torch

    return torch


def _F():
    import torch.nn.functional as F

    return F


def _dims(axis, ndim):
    """torch's dim argument for NumPy's axis (None: every axis)."""
    if axis is None:
        return tuple(range(ndim))
    return axis


def _shape_label(*shapes):
    return "x".join(str(s).replace(" ", "") for s in shapes)
