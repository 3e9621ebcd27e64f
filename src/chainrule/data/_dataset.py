"""Data sets: the ``Dataset`` protocol and ``ArrayDataset`` over in-memory arrays."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._tensor import Tensor


@runtime_checkable
class Dataset(Protocol):
    """Anything with a length and integer indexing is a data set (``torch.utils.data.Dataset``).

    ``dataset[i]`` returns sample ``i``: an array, a number, a tuple (``(x, y)``) or a dict of
    those. Subclass this class or simply implement the two methods;
    ``isinstance(obj, Dataset)`` checks for them.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


def _as_array(data: Any, name: str) -> np.ndarray:
    """``data`` as an ndarray without copying; Python floats become float32 (the tensor rule)."""
    if isinstance(data, Tensor):
        return data.data
    given = isinstance(data, np.ndarray)
    arr = np.asarray(data)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"ArrayDataset: {name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"ArrayDataset: {name} must have a first axis of samples, got a scalar")
    if not given and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr


class ArrayDataset:
    """Samples are the rows of ``X`` (and of ``y``): ``X[i]`` or ``(X[i], y[i])``.

    Parameters
    ----------
    X : array_like or Tensor, shape (n_samples, ...)
        Inputs; NumPy arrays and tensors are used as they are (no copy, dtype kept).
    y : array_like or Tensor, shape (n_samples, ...), optional
        Targets: class indices (integers) or values.

    Notes
    -----
    Indexing with an integer gives one sample; indexing with an index array, a boolean mask or
    a slice gives a batch (``X[index]``, ``y[index]``) in one NumPy operation, which is how
    :class:`DataLoader` batches without a per-sample loop.

    Examples
    --------
    >>> ds = ArrayDataset(np.zeros((10, 3), np.float32), np.arange(10))
    >>> x, y = ds[[0, 4, 7]]          # x.shape == (3, 3), y.shape == (3,)
    """

    def __init__(self, X: Any, y: Any = None) -> None:
        self.X = _as_array(X, "X")
        self.y = None if y is None else _as_array(y, "y")
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(
                f"ArrayDataset: X and y must have the same number of samples, got "
                f"len(X) = {len(self.X)} and len(y) = {len(self.y)}"
            )

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """``(X,)`` or ``(X, y)``."""
        return (self.X,) if self.y is None else (self.X, self.y)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, Tensor):
            index = index.data
        if self.y is None:
            return self.X[index]
        return self.X[index], self.y[index]

    def __repr__(self) -> str:
        parts = [f"X: {self.X.shape} {self.X.dtype}"]
        if self.y is not None:
            parts.append(f"y: {self.y.shape} {self.y.dtype}")
        return f"ArrayDataset({', '.join(parts)})"
