"""``DataLoader``: mini-batches of a data set as tensors, and ``default_collate``."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._random import Generator, get_generator
from .._tensor import Tensor
from ._dataset import ArrayDataset


def default_collate(batch: Sequence[Any]) -> Any:
    """Joins a list of samples into a batch, keeping the samples' structure.

    Arrays and tensors are stacked along a new first axis into a Tensor (dtype kept); NumPy
    scalars give a 1-d Tensor of their dtype; Python ``bool``/``int``/``float`` give bool, int64
    and float32 (chainrule's rule for Python floats); tuples, lists and dicts are collated
    field by field (named tuples keep their type); strings are returned as a list.

    Parameters
    ----------
    batch : sequence
        The samples, all with the same structure and shapes.

    Returns
    -------
    Tensor, tuple, list, dict or list of str
    """
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray)):
        arrays = [s.data if isinstance(s, Tensor) else s for s in batch]
        shapes = {np.shape(a) for a in arrays}
        if len(shapes) != 1:
            raise ValueError(
                f"default_collate: samples must all have the same shape to be "
                f"stacked, got shapes {sorted(shapes)}"
            )
        return Tensor._wrap(np.stack(arrays))
    if isinstance(elem, np.generic) and elem.dtype.kind in "fiub":
        return Tensor._wrap(np.array(batch))
    if isinstance(elem, (bool, int, float)) and not isinstance(elem, np.generic):
        dtype = bool if isinstance(elem, bool) else np.int64 if isinstance(elem, int) else None
        return Tensor._wrap(np.array(batch, dtype=dtype or np.float32))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        keys = list(elem)
        for sample in batch:
            if not isinstance(sample, Mapping) or set(sample) != set(keys):
                got = sorted(sample) if isinstance(sample, Mapping) else type(sample).__name__
                raise ValueError(
                    f"default_collate: every sample must have the keys {keys}, got {got}"
                )
        return {k: default_collate([s[k] for s in batch]) for k in keys}
    if isinstance(elem, (tuple, list)):
        lengths = {len(s) for s in batch}
        if len(lengths) != 1:
            raise ValueError(
                f"default_collate: every sample must have the same number of "
                f"fields, got lengths {sorted(lengths)}"
            )
        fields = [default_collate(list(column)) for column in zip(*batch)]
        if hasattr(elem, "_fields"):  # a named tuple
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(elem).__name__}; "
        f"samples must be arrays, tensors, numbers, str, or tuples/lists/dicts of "
        f"them (or pass collate_fn)"
    )


def _as_generator(generator: Any) -> Generator | None:
    """``DataLoader``'s generator argument as a chainrule Generator (or None)."""
    if generator is None or isinstance(generator, Generator):
        return generator
    if isinstance(generator, np.random.Generator):
        wrapped = Generator()
        wrapped.numpy = generator  # the caller's generator itself: its draws advance it
        return wrapped
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        if generator < 0:
            raise ValueError(f"DataLoader: generator seed must be >= 0, got {generator}")
        return Generator(int(generator))
    raise TypeError(
        f"DataLoader: generator must be a chainrule.Generator, a numpy.random.Generator, an "
        f"int seed or None, got {type(generator).__name__}"
    )


class DataLoader:
    """Iterates over a data set in mini-batches of tensors (``torch.utils.data.DataLoader``).

    Parameters
    ----------
    dataset : Dataset
        Has ``__len__`` and ``__getitem__``. An :class:`ArrayDataset` is batched by indexing its
        arrays once per batch; other data sets (and subclasses of ``ArrayDataset`` that override
        ``__getitem__``) sample by sample, joined by ``collate_fn``.
    batch_size : int
        Samples per batch (>= 1).
    shuffle : bool
        Draw a new random order of the samples at each pass (each ``iter(loader)``).
    drop_last : bool
        Drop the last batch when it is smaller than ``batch_size``.
    generator : chainrule.Generator, numpy.random.Generator or int, optional
        Source of the shuffling order: a chainrule Generator (used as it is), a NumPy
        Generator (drawn from directly, wrapped in a chainrule Generator), or an int seed (a
        new ``Generator(seed)``); by default chainrule's default generator, so that
        ``cr.manual_seed(n)`` makes the order reproducible. NumPy's global state is never used.
    collate_fn : callable, optional
        Joins a list of samples into a batch; default :func:`default_collate`. Giving one makes
        an :class:`ArrayDataset` go sample by sample too.

    Yields
    ------
    Tensor or tuple of Tensor
        For an ``ArrayDataset``: ``X_batch`` or ``(X_batch, y_batch)``, shapes
        ``(batch_size, ...)``, with the arrays' dtypes (float32 stays float32, integer labels
        stay integer). Shuffled batches are new arrays, gathered by one fancy-indexing call;
        unshuffled ones are read-only views of the data set's arrays (no copy).

    Examples
    --------
    >>> loader = DataLoader(ArrayDataset(X, y), batch_size=32, shuffle=True)
    >>> for xb, yb in loader:
    ...     loss = loss_fn(model(xb), yb)
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Generator | np.random.Generator | int | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: dataset must have __len__ and __getitem__, got "
                f"{type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(
                f"DataLoader: batch_size must be a positive integer, got "
                f"{type(batch_size).__name__} {batch_size!r}"
            )
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(
                f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}"
            )
        generator = _as_generator(generator)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        """Number of batches per pass."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = get_generator(self.generator).permutation(n) if self.shuffle else None
        end = n - n % self.batch_size if self.drop_last else n
        batched = type(self.dataset).__getitem__ is ArrayDataset.__getitem__  # not overridden
        if isinstance(self.dataset, ArrayDataset) and batched and self.collate_fn is None:
            return self._array_batches(order, end)
        return self._sample_batches(order, end)

    def _array_batches(self, order: np.ndarray | None, end: int) -> Iterator[Any]:
        arrays = self.dataset.arrays
        for start in range(0, end, self.batch_size):
            stop = start + self.batch_size
            if order is None:
                batch = [a[start:stop] for a in arrays]
                for view in batch:
                    view.flags.writeable = False
            else:
                index = order[start:stop]
                batch = [a[index] for a in arrays]
            tensors = tuple(Tensor._wrap(b) for b in batch)
            yield tensors if len(tensors) > 1 else tensors[0]

    def _sample_batches(self, order: np.ndarray | None, end: int) -> Iterator[Any]:
        collate = self.collate_fn or default_collate
        for start in range(0, end, self.batch_size):
            stop = min(start + self.batch_size, end)
            indices = range(start, stop) if order is None else order[start:stop].tolist()
            yield collate([self.dataset[i] for i in indices])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last})"
        )
