"""``distributed=True``: the estimators' stochastic fit over the ranks of ``mpiexec``.

Every rank runs the same script on the same data. The ranks draw the same shuffles (rank 0's
``RandomState`` is broadcast) and so the same global batches of ``batch_size`` rows; each
computes the forward and backward pass of its shard of the batch (``distributed.shard_sizes``:
as even as can be, uneven shards are fine). scikit-learn's batch objective is

    L = Σ_n w_n·term_n / Σw + α/(2·Σw)·Σ‖W‖²,        Σw over the whole global batch,

and every rank knows the global batch's Σw (it holds the data), so each rank's loss is its
rows' part of the first sum with the global Σw: the parts' gradients *sum* to the data
gradient, with no division after the allreduce. One float64 allreduce sums them; then every
rank adds α/Σw·W, as one process does after its backward pass. The batch's loss (and its
reported value) is summed in one two-number allreduce before ``after_loss``, so a NaN guard
decides alike everywhere. The validation set of ``early_stopping`` is evaluated whole on every
rank; rank 0's loss and score are what every rank records, so the stopping rule and the best
weights are the same on all. ``solver='lbfgs'`` sums the shards' objective and gradient over
the whole data set in the same way (``_scipy_lbfgs``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..distributed import (
    allgather_rows,
    allreduce_,
    broadcast_bytes,
    init,
    pack_gradients,
    rank,
    set_gradients,
    shard_sizes,
    world_size,
)
from ..nn import Parameter


class Shard:
    """This process's part of each global batch: rank ``rank`` of ``world`` (0 of 1 alone)."""

    def __init__(self, rank: int = 0, world: int = 1) -> None:
        self.rank, self.world = rank, world

    @classmethod
    def of_job(cls) -> Shard:
        """The shard of this process in the ``mpiexec`` job (joins it), or the whole alone."""
        init()
        return cls(rank(), world_size())

    @property
    def parallel(self) -> bool:
        return self.world > 1

    @property
    def primary(self) -> bool:
        """Whether this rank prints (verbose lines, progress bar): rank 0 alone."""
        return self.rank == 0

    def rows(self, n: int) -> tuple[int, int]:
        """``start, stop`` of this rank's rows in a global batch of ``n`` rows (empty when the
        batch has fewer rows than there are ranks)."""
        if not self.parallel:
            return 0, n
        sizes = shard_sizes(n, self.world)
        start = sum(sizes[: self.rank])
        return start, start + sizes[self.rank]

    def sum(self, values: list[float]) -> np.ndarray:
        """``values`` summed over the ranks (float64)."""
        return allreduce_(np.array(values, dtype=np.float64))

    def of_rank_0(self, values: list[float]) -> list[float]:
        """Rank 0's ``values`` on every rank."""
        if not self.parallel:
            return values
        own = np.array(values if self.primary else [0.0] * len(values), dtype=np.float64)
        return allreduce_(own).tolist()

    def check_same_data(self, owner: str, X: Any, Y: np.ndarray, w: np.ndarray | None) -> None:
        """Raises on every rank, alike, unless every rank holds the same data (each computes
        its rows of every global batch): the shapes, and float64 sums of X, X², y, y² and the
        weights, gathered from every rank and compared exactly."""
        if not self.parallel:
            return
        squares = X.multiply(X).sum() if sp.issparse(X) else np.square(X, dtype=np.float64).sum()
        local = np.array(
            [[
                X.shape[0], X.shape[1], X.sum(dtype=np.float64), squares,
                Y.sum(dtype=np.float64), np.square(Y, dtype=np.float64).sum(),
                np.nan if w is None else w.sum(dtype=np.float64),
            ]],
            dtype=np.float64,
        )  # fmt: skip
        every = allgather_rows(local, [1] * self.world)
        if (every[:, :2] != every[0, :2]).any():
            raise ValueError(
                f"{owner}: distributed=True needs the same data on every rank (each takes its "
                f"rows of every batch); the {self.world} ranks' X have different shapes (rank "
                f"{self.rank}'s is {tuple(X.shape)})"
            )
        if not np.array_equal(every, np.broadcast_to(every[0], every.shape), equal_nan=True):
            raise ValueError(
                f"{owner}: distributed=True needs the same data on every rank (each takes its "
                f"rows of every batch); the {self.world} ranks' X, y or sample_weight have the "
                f"same shapes but different values (their sums differ)"
            )

    def sum_gradients(self, params: list[Parameter]) -> None:
        """Every parameter's ``grad`` ← its sum over the ranks, in one float64 allreduce (a
        missing gradient counts as zeros)."""
        set_gradients(params, allreduce_(pack_gradients(params)))

    def broadcast_parameters(self, params: list[Parameter]) -> None:
        """Every rank takes rank 0's parameter values (in place)."""
        if not self.parallel:
            return
        data = b"".join(p.data.tobytes() for p in params) if self.primary else None
        received = broadcast_bytes(data)
        offset = 0
        for p in params:
            size = p.data.nbytes
            p.data[...] = np.frombuffer(received[offset : offset + size], p.data.dtype).reshape(
                p.data.shape
            )
            offset += size

    def broadcast_random_state(self, random_state: np.random.RandomState) -> None:
        """Every rank's ``random_state`` takes rank 0's state (Mersenne Twister's keys and
        position, and the cached Gaussian), so the ranks draw the same numbers."""
        if not self.parallel:
            return
        name, keys, pos, has_gauss, gauss = random_state.get_state(legacy=True)
        head = np.array([pos, has_gauss, gauss], dtype=np.float64)
        data = head.tobytes() + np.asarray(keys, dtype=np.uint32).tobytes()
        received = broadcast_bytes(data if self.primary else None)
        pos_, has_gauss_, gauss_ = np.frombuffer(received[:24], dtype=np.float64)
        keys_ = np.frombuffer(received[24:], dtype=np.uint32).copy()
        random_state.set_state((name, keys_, int(pos_), int(has_gauss_), float(gauss_)))
