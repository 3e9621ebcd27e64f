"""Cache-blocked updates: a large parameter updated one block at a time.

An update is a handful of elementwise NumPy calls (four for SGD with momentum, thirteen for
Adam), each one pass over the parameter's arrays. While those arrays fit in the cache the
passes run at cache speed, and cutting them into blocks only adds calls: on the 2-core
development machine (2 x 1 MiB L2, 32 MiB L3) blocks did not pay at 4 MiB per array or less
(W3's largest weight, 784 x 256 float32, is 0.8 MiB). Beyond that each pass goes out to
memory, and running all of the update's calls on one block before moving to the next reads
and writes each array once: with blocks of 2^18 elements, SGD with momentum on one array took
0.73-0.83x the time from 8 MiB on, and a step of SGD or Adam over 2048 x 2048 and 2048 x 1024
layers 0.62-0.81x (float32) and 0.49-0.66x (float64). The arithmetic is elementwise, so every
element goes through the same operations in the same order: the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BLOCK_SIZE = 1 << 18
"""Elements per block (1 MiB of float32, 2 MiB of float64)."""
MIN_BYTES = 8 << 20
"""Block parameters whose arrays take at least this many bytes."""

Arrays = tuple[Any, ...]
"""A parameter's arrays (ndarray, or None for an absent one)."""


def blocks(arrays: Arrays) -> list[Arrays] | None:
    """``arrays`` (a parameter's arrays, ``None`` for absent ones) cut into flat blocks of
    ``BLOCK_SIZE`` elements (views), or None when the first is too small to gain from it or
    the arrays are not all C-contiguous arrays of its shape and dtype."""
    first = arrays[0]
    assert first is not None, "the first array is the parameter's"
    if first.nbytes < MIN_BYTES or any(
        a is not None
        and (a.shape != first.shape or a.dtype != first.dtype or not a.flags.c_contiguous)
        for a in arrays
    ):
        return None
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    return [
        tuple(None if a is None else a[s : s + BLOCK_SIZE] for a in flat)
        for s in range(0, first.size, BLOCK_SIZE)
    ]


def block_work(
    cache: dict[np.dtype, list[np.ndarray]], dtype: np.dtype, n: int, size: int
) -> list[np.ndarray]:
    """``n`` work arrays of ``size`` elements (the first ``size`` of ``BLOCK_SIZE``-element
    arrays allocated once per dtype in ``cache``)."""
    work = cache.get(dtype)
    if work is None or len(work) < n or work[0].size != BLOCK_SIZE:
        work = cache[dtype] = [np.empty(BLOCK_SIZE, dtype) for _ in range(n)]
    return [w[:size] for w in work[:n]]
