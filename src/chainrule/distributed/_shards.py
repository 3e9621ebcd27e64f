"""The pieces of ``DataParallel``'s batches: a batch's rows, a rank's shard of them, and the
``Learner``'s step whose values and closure are the whole global batch's."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor import Tensor
from ..train import Loop, LossStep

if TYPE_CHECKING:
    from ._data_parallel import DataParallel


class ReducedLossStep(LossStep):
    """The Learner's step whose closure (``optim.LBFGS``) returns the loss and gradients of
    the whole global batch, so every rank's line search takes the same decisions."""

    def __init__(self, loss_func: Any, reducer: DataParallel) -> None:
        super().__init__(loss_func)
        self.reducer = reducer

    def value(self, loop: Loop) -> float:
        """The global batch's mean loss in training (callbacks such as the LR finder read
        it): every rank decides from the same number."""
        return self.reducer.batch_loss if loop.training else super().value(loop)

    def closure(self, loop: Loop) -> Any:
        local = super().closure(loop)

        def closure() -> Tensor:
            loss = local()
            n = float(_rows(loop.xb[0]))
            mean = self.reducer.reduce(loop, n, float(np.mean(loss.data)), votes=True)
            self.reducer.raise_in_step()  # a rank that skipped the step alone joined this one
            return Tensor(np.asarray(mean))

        return closure


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _array(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _rows(x: Any) -> int:
    return len(x) if getattr(x, "ndim", 0) else 1


def _rows_of(x: Any, start: int, stop: int) -> Any:
    return Tensor(_array(x)[start:stop]) if isinstance(x, Tensor) else x[start:stop]
