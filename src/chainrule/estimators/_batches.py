"""Batches of the training loop gathered into reused buffers: exactly the rows that indexing
gives, without a new array per batch."""

from __future__ import annotations

from typing import Any

import numpy as np

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
