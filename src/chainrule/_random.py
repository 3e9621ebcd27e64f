"""Random number generators: ``cr.manual_seed(n)`` and explicit ``cr.Generator`` objects.

Nothing in chainrule draws from NumPy's global random state. Code that needs randomness
takes a ``generator=`` argument and falls back to the default generator, which
``manual_seed`` re-seeds (as ``torch.manual_seed`` does).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Generator:
    """A seedable source of random numbers (wraps ``numpy.random.Generator``).

    Parameters
    ----------
    seed : int, optional
        Initial seed; ``None`` seeds from the operating system's entropy.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Re-seeds this generator and returns it."""
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
        self._seed = None if seed is None else int(seed)
        self.numpy = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """The generator's state as plain Python data (JSON-serialisable)."""
        return dict(self.numpy.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> None:
        self.numpy.bit_generator.state = state

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed})"


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seeds the default generator (``torch.manual_seed``) and returns it."""
    return default_generator.manual_seed(seed)


def get_generator(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator``, or behind the default one when ``None``."""
    if generator is None:
        return default_generator.numpy
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a chainrule.Generator or None, got {type(generator).__name__}"
        )
    return generator.numpy


class _Shard:
    """Where this process's batch sits in a global batch (``chainrule.distributed``): rows
    ``start:stop`` of ``total``, or None when the batch is the whole one."""

    rows: tuple[int, int, int] | None = None


def set_shard_rows(rows: tuple[int, int, int] | None) -> None:
    """Declares the current batch to be rows ``start:stop`` of a global batch of ``total``
    rows (``None``: the whole batch), so that per-row random draws (dropout masks) are those
    of the global batch: keyed by the row's index in it, whichever process computes the row."""
    _Shard.rows = rows


def random_rows(generator: Generator | None, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform numbers in [0, 1) of ``shape`` (rows along axis 0) from ``generator``; for a
    shard of a global batch (:func:`set_shard_rows`), the shard's rows of the global batch's
    draw, so every process's rows get the numbers one process would give them."""
    gen = get_generator(generator)
    rows = _Shard.rows
    if rows is None or not shape or shape[0] != rows[1] - rows[0]:
        return gen.random(shape)
    start, stop, total = rows
    return gen.random((total, *shape[1:]))[start:stop]
