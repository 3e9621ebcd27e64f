"""Tensor's methods that index, reshape and reorder, with PyTorch's arguments (``dim``, shape
as ints or one tuple); ``_tensor_methods`` binds them with the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import ops
from ._tensor import Tensor, _Mode, _shape_arg
from .ops.shape import getitem


def _axis(axis: Any, dim: Any) -> Any:
    """``axis`` or torch's ``dim`` (not both); a list of axes as a tuple."""
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis= or dim=, not both")
        axis = dim
    return tuple(axis) if isinstance(axis, list) else axis


def _index(index: Any) -> Any:
    """Tensors and lists inside an index become arrays (a tuple stays a tuple)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _getitem(self: Tensor, index: Any) -> Tensor:
    return getitem(self, index=_index(index))


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    if self.requires_grad and _Mode.grad_enabled:
        raise RuntimeError(
            "setitem: in-place assignment into a tensor that requires grad is not supported; "
            "build a new tensor with cr.where or cr.concatenate, or assign under cr.no_grad()"
        )
    self.data[_index(index)] = value.data if isinstance(value, Tensor) else value


class SortResult(NamedTuple):
    values: Tensor
    indices: Tensor


def _sort(self: Tensor, dim: int = -1, descending: bool = False) -> SortResult:
    """(values, indices) along ``dim`` (``torch.sort``); ties keep their order."""
    order = np.argsort(-self.data if descending else self.data, axis=dim, kind="stable")
    return SortResult(ops.take_along_axis(self, order, dim), Tensor._wrap(order))


def _split(self: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple:
    """``torch.split``: pieces of ``split_size`` along ``dim`` (the last may be shorter), or
    pieces of the listed sizes."""
    n = self.shape[dim]
    if isinstance(split_size_or_sections, int):
        cuts = list(range(split_size_or_sections, n, split_size_or_sections))
    else:
        cuts = list(np.cumsum(split_size_or_sections)[:-1])
        if sum(split_size_or_sections) != n:
            raise ValueError(
                f"split: sizes {list(split_size_or_sections)} do not add up to {n} along dim {dim}"
            )
    return tuple(ops.array_split(self, cuts, dim))


def _tensor_split(self: Tensor, sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    return tuple(ops.array_split(self, sections, dim))


def _sections(op: Callable[..., list[Tensor]]) -> Callable[[Tensor, Any], tuple[Tensor, ...]]:
    """torch's ``hsplit``/``vsplit``/``dsplit``: NumPy's as a tuple."""

    def method(self: Tensor, sections: Any) -> tuple[Tensor, ...]:
        return tuple(op(self, sections))

    return method


def _reshape(self: Tensor, *shape: Any) -> Tensor:
    return ops.reshape(self, shape=_shape_arg(shape))


def _flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = self.shape
    if not shape:
        return ops.reshape(self, shape=(1,))
    start, end = start_dim % len(shape), end_dim % len(shape)
    return ops.reshape(self, shape=shape[:start] + (-1,) + shape[end + 1 :])


def _transpose(self: Tensor, dim0: int | None = None, dim1: int | None = None) -> Tensor:
    """Swaps two axes (torch's ``transpose(dim0, dim1)``); with no arguments reverses them."""
    if dim0 is None and dim1 is None:
        return ops.permute(self, axes=tuple(range(self.ndim))[::-1])
    if dim0 is None or dim1 is None:
        raise TypeError(f"transpose: give both dim0 and dim1 (or neither), got {dim0}, {dim1}")
    axes = list(range(self.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return ops.permute(self, axes=tuple(axes))


def _permute(self: Tensor, *dims: Any) -> Tensor:
    return ops.permute(self, axes=tuple(_shape_arg(dims)))


def _expand(self: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape)
    lead = len(shape) - self.ndim
    full = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return ops.broadcast_to(self, shape=full)


def _broadcast_to(self: Tensor, *shape: Any) -> Tensor:
    return ops.broadcast_to(self, shape=_shape_arg(shape))


def _squeeze(self: Tensor, axis: Any = None, *, dim: Any = None) -> Tensor:
    return ops.squeeze(self, axis=_axis(axis, dim))


def _unsqueeze(self: Tensor, axis: Any = None, *, dim: Any = None) -> Tensor:
    return ops.unsqueeze(self, axis=_axis(axis, dim))


def _flip(self: Tensor, *dims: Any) -> Tensor:
    return ops.flip(self, _shape_arg(dims) if dims else None)


def _rot90(self: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    first, second = dims
    return ops.rot90(self, k, (first, second))


def _roll(self: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    return ops.roll(self, shifts, dims)


def _repeat_interleave(self: Tensor, repeats: Any, dim: int | None = None) -> Tensor:
    return ops.repeat(self, repeats, dim)


def _tile(self: Tensor, *dims: Any) -> Tensor:
    """NumPy's ``tile``, which is also what torch calls ``repeat``."""
    return ops.tile(self, _shape_arg(dims))


def _diag(self: Tensor, diagonal: int = 0) -> Tensor:
    return ops.diag(self, diagonal)


def _diagonal(self: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    return ops.diagonal(self, offset, dim1, dim2)


def _tril(self: Tensor, diagonal: int = 0) -> Tensor:
    return ops.tril(self, diagonal)


def _triu(self: Tensor, diagonal: int = 0) -> Tensor:
    return ops.triu(self, diagonal)


def _mT(self: Tensor) -> Tensor:  # noqa: N802 - torch's name
    return _transpose(self, -2, -1)


METHODS: dict[str, Any] = {
    "__getitem__": _getitem,
    "__setitem__": _setitem,
    "reshape": _reshape,
    "flatten": _flatten,
    "transpose": _transpose,
    "permute": _permute,
    "expand": _expand,
    "broadcast_to": _broadcast_to,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "flip": _flip,
    "rot90": _rot90,
    "roll": _roll,
    "repeat_interleave": _repeat_interleave,
    "tile": _tile,
    "diag": _diag,
    "diagonal": _diagonal,
    "tril": _tril,
    "triu": _triu,
    "sort": _sort,
    "split": _split,
    "tensor_split": _tensor_split,
    "hsplit": _sections(ops.hsplit),
    "vsplit": _sections(ops.vsplit),
    "dsplit": _sections(ops.dsplit),
    "T": property(_transpose),
    "mT": property(_mT),
}
