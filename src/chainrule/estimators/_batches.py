"""The estimators' data as the ``Loop`` takes it: the training rows in index batches (gathered
into reused buffers: exactly the rows that indexing gives, without a new array per batch) and
the validation set as one batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._sharding import Shard
from ._validation import dense_rows


def batch_buffer(a: Any, batch_size: int) -> np.ndarray | None:
    """A reusable array for ``batch_size`` rows of the dense array ``a`` (None for sparse data
    or none at all, whose batches ``take_rows`` makes afresh)."""
    if not isinstance(a, np.ndarray):
        return None
    return np.empty((batch_size, *a.shape[1:]), dtype=a.dtype)


def take_rows(a: Any, index: np.ndarray, buffer: np.ndarray | None) -> np.ndarray:
    """``a[index]`` for an array of row indices: gathered into the first ``len(index)`` rows of
    ``buffer`` (a C-contiguous view, no allocation), or as ``dense_rows`` when it is None."""
    if buffer is None:
        return dense_rows(a, index)
    out = buffer[: len(index)]
    return np.take(a, index, axis=0, out=out, mode="clip")  # "clip": unbuffered; index is valid


class IndexBatches:
    """The training rows in batches as scikit-learn's ``_fit_stochastic`` takes them, as the
    ``Loop`` takes a data loader (an iterable with a length).

    Each pass over it with a ``random_state`` first shuffles the row order (scikit-learn's
    ``utils.shuffle``, draw for draw, on the indices rather than the data; the order carries
    over from pass to pass, as scikit-learn's shuffled copies do), then yields
    ``(x, targets)`` for ``batch_size`` rows at a time: gathered into buffers reused from batch
    to batch (copy to keep), or views of the data without shuffling. ``weights`` holds the
    current batch's sample weights (None when unweighted), ``total_weight`` their sum (the row
    count when unweighted) and ``batch_rows`` the row count.

    With a ``shard`` of a parallel job (``distributed=True`` under ``mpiexec``), each pass
    draws the same order and global batches as one process, and yields this rank's rows of
    each; ``weights`` are those rows' weights, while ``total_weight`` and ``batch_rows`` stay
    the global batch's, and ``shard_rows`` is ``(start, stop, batch_rows)`` of the shard.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples, n_outputs)
        Targets as the objective takes them.
    w : ndarray of shape (n_samples,) or None
    batch_size : int
    random_state : numpy.random.RandomState or None
        Draws the order of each pass; None keeps the rows in order.
    shard : Shard, optional
        This process's part of each batch (the whole batch by default).
    """

    def __init__(
        self,
        X: Any,
        y: np.ndarray,
        w: np.ndarray | None,
        batch_size: int,
        random_state: np.random.RandomState | None,
        shard: Shard | None = None,
    ) -> None:
        self.X, self.y, self.w, self.size = X, y, w, batch_size
        self.random_state = random_state
        self.shard = shard or Shard()
        self.order = np.arange(X.shape[0], dtype=int)
        self.weights: np.ndarray | None = None
        self.total_weight = 0.0
        self.batch_rows = 0
        self.shard_rows = (0, 0, 0)
        self.buffers: tuple[np.ndarray | None, ...] = (None, None, None)
        if random_state is not None:
            self.buffers = tuple(batch_buffer(a, batch_size) for a in (X, y, w))

    @property
    def batch_size(self) -> int:
        """Rows of a full global batch (the last one may have fewer)."""
        return self.size

    def __len__(self) -> int:
        return -(-self.X.shape[0] // self.size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = self.X.shape[0]
        if self.random_state is not None:
            perm = np.arange(n)
            self.random_state.shuffle(perm)
            self.order = self.order[perm]
        for start in range(0, n, self.size):
            yield self._rows(start, min(start + self.size, n))

    def _rows(self, start: int, stop: int) -> tuple[Tensor, Tensor]:
        """This shard's rows of rows ``start:stop`` of this pass's order; their weights into
        ``weights``, the global batch's Σw into ``total_weight``."""
        w, n = self.w, stop - start
        first, last = self.shard.rows(n)
        self.batch_rows, self.shard_rows = n, (first, last, n)
        if self.random_state is not None:
            index = self.order[start:stop]
            bx, by, bw = self.buffers
            weights = take_rows(w, index, bw) if w is not None else None
            index = index[first:last]
            x, y = take_rows(self.X, index, bx), take_rows(self.y, index, by)
        else:
            weights = w[start:stop] if w is not None else None
            rows = slice(start + first, start + last)
            x, y = dense_rows(self.X, rows), self.y[rows]
        # Σw of the whole global batch, summed as one process sums it
        self.total_weight = float(n if weights is None else weights.sum())
        self.weights = None if weights is None else weights[first:last]
        return Tensor._wrap(x), Tensor._wrap(y)


class ValidationSet:
    """The validation set of ``early_stopping`` as one batch ``(X, targets)``, with its labels
    (or values) for the score, its sample weights in ``weights`` and their sum (the row count
    when unweighted) in ``total_weight``. A sparse X stays sparse (the network takes it in
    blocks of rows). It is never cut into shards: each rank evaluates it whole."""

    def __init__(self, X: Any, targets: np.ndarray, labels: Any, w: np.ndarray | None) -> None:
        self.X, self.targets, self.labels, self.weights = X, targets, labels, w
        self.batch_rows = targets.shape[0]
        self.total_weight = float(self.batch_rows if w is None else w.sum())

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[tuple[Any, Tensor]]:
        x = self.X if hasattr(self.X, "toarray") else Tensor._wrap(self.X)
        yield x, Tensor._wrap(self.targets)
