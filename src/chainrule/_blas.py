"""How many threads a fit's matrix products get (BLAS, through threadpoolctl).

Measured on the 2-core development machine (issue 17), NumPy's OpenBLAS on two threads:

- products of up to a few million multiply-adds (digits' 200×64×100, W2's) take the same time
  on one thread as on two when the machine is quiet, and 3 to 5 times less on one when another
  process keeps a core busy (two threads then wait for each other at every product): the
  ``MLPClassifier`` digits fit took 0.14 s on one thread against 0.68 s on two, with one other
  busy process; 270×64 @ 64×64 took 25 µs on one thread and 15 µs to 6 ms on two;
- larger products (W3's 128×784×256, 26 million) take 1.45 to 1.94 times less on two threads
  when the machine is quiet.

So a fit whose largest product per batch is small runs its BLAS on one thread, and a larger
one keeps the library's setting. The choice is made once per fit: switching costs about a
microsecond, too much for every product of a small network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

SMALL_PRODUCT = 1 << 22
"""Multiply-adds below which a product runs on one thread (about 4.2 million)."""


def largest_product(weights: Iterable[tuple[int, int]], rows: int | None) -> int | None:
    """Multiply-adds of the largest product of dense layers with weights of the shapes given
    (``(in, out)`` pairs) on ``rows`` rows at a time; None when either is unknown."""
    sizes = [a * b for a, b in weights]
    return rows * max(sizes) if isinstance(rows, int) and sizes else None


@contextlib.contextmanager
def threads_for(largest_product: int | None) -> Iterator[None]:
    """One BLAS thread for the block when ``largest_product`` (the multiply-adds of the
    largest matrix product it makes, None when unknown) is below ``SMALL_PRODUCT``."""
    if largest_product is None or largest_product >= SMALL_PRODUCT:
        yield
        return
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency, loaded when used

    with threadpool_limits(limits=1, user_api="blas"):
        yield
