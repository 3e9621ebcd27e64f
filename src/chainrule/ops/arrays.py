"""NumPy's array-manipulation functions, as compositions of the shape primitives.

Each is exact: it only moves values (``reshape``, ``permute``, ``getitem``, ``concatenate``,
``index_add``) or selects them (``where``), so its gradient is those primitives' rules. Inputs
may be tensors or array-likes; settings (axes, counts, indices) are NumPy's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._registry import export
from .arithmetic import add, mul, sub, where
from .reductions import sum as _sum
from .shape import _along, concatenate, getitem, index_add, permute, reshape

if TYPE_CHECKING:  # annotations only: op files do not import the engine
    from numpy.typing import ArrayLike

    from .._tensor import Tensor

Axes = Any  # an int or a sequence of ints, as NumPy takes them


def _nd(x: Any) -> int:
    return np.ndim(x)


@export(numpy=True, method=True)
def ravel(x: ArrayLike) -> Tensor:
    """The entries as a 1-D tensor, in C order."""
    return reshape(x, shape=(-1,))


@export(numpy=True, method=True)
def moveaxis(x: ArrayLike, source: Axes, destination: Axes) -> Tensor:
    """Moves axes to new positions; the others keep their order (``np.moveaxis``)."""
    nd = _nd(x)
    src = [s % nd for s in np.atleast_1d(source)]
    dst = [d % nd for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError(
            f"moveaxis: source {source} and destination {destination} differ in length"
        )
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, axes=tuple(order))


@export(numpy=True)
def rollaxis(x: ArrayLike, axis: int, start: int = 0) -> Tensor:
    """``np.rollaxis``: moves ``axis`` to just before ``start``."""
    nd = _nd(x)
    axis = axis % nd
    if start < 0:
        start += nd
    if axis < start:
        start -= 1
    order = [i for i in range(nd) if i != axis]
    order.insert(start, axis)
    return permute(x, axes=tuple(order))


@export(numpy=True)
def flip(x: ArrayLike, axis: Axes | None = None) -> Tensor:
    """Reverses the order along ``axis`` (None: every axis)."""
    nd = _nd(x)
    axes = range(nd) if axis is None else [a % nd for a in np.atleast_1d(axis)]
    index = [slice(None)] * nd
    for a in axes:
        index[a] = slice(None, None, -1)
    return getitem(x, index=tuple(index))


@export(numpy=True, method=True)
def flipud(x: ArrayLike) -> Tensor:
    """Reverses the rows (axis 0)."""
    return flip(x, 0)


@export(numpy=True, method=True)
def fliplr(x: ArrayLike) -> Tensor:
    """Reverses the columns (axis 1)."""
    return flip(x, 1)


@export(numpy=True)
def rot90(x: ArrayLike, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Tensor:
    """Rotates by 90° k times in the plane of ``axes``, from the first towards the second."""
    k %= 4
    a0, a1 = axes
    if k == 0:  # a new tensor of the same values, as torch.rot90 returns
        return reshape(x, shape=np.shape(x))
    if k == 2:
        return flip(flip(x, a0), a1)
    order = list(range(_nd(x)))
    order[a0], order[a1] = order[a1], order[a0]
    if k == 1:
        return permute(flip(x, a1), axes=tuple(order))
    return flip(permute(x, axes=tuple(order)), a1)


@export(numpy=True)
def roll(x: ArrayLike, shift: Axes, axis: Axes | None = None) -> Tensor:
    """Shifts entries along ``axis`` cyclically (None: over the flattened array)."""
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), shape=np.shape(x))
    result: Tensor | None = None
    for s, a in np.broadcast(np.atleast_1d(shift), np.atleast_1d(axis)):
        n = np.shape(x)[a]
        index = _along(a, _nd(x), (np.arange(n) - s) % n)
        result = getitem(x if result is None else result, index=index)
    if result is None:
        raise ValueError(f"roll: shift is empty ({shift!r}); give one shift per axis, as torch")
    return result


@export(numpy=True)
def repeat(x: ArrayLike, repeats: Any, axis: int | None = None) -> Tensor:
    """Repeats each entry ``repeats`` times along ``axis`` (None: flattened first)."""
    if axis is None:
        x, axis = ravel(x), 0
    n = np.shape(x)[axis]
    return getitem(x, index=_along(axis, _nd(x), np.repeat(np.arange(n), repeats)))


@export(numpy=True)
def tile(x: ArrayLike, reps: Axes) -> Tensor:
    """Repeats the whole array ``reps`` times along each axis (``np.tile``)."""
    reps = tuple(np.atleast_1d(reps))
    shape = np.shape(x)
    nd = max(len(reps), len(shape))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + reps
    x = reshape(x, shape=shape)
    return getitem(x, index=np.ix_(*[np.tile(np.arange(n), r) for n, r in zip(shape, reps)]))


def _atleast(x, nd, where_new):
    shape = np.shape(x)
    if len(shape) >= nd:
        return x if hasattr(x, "requires_grad") else reshape(x, shape=shape)
    return reshape(x, shape=where_new(shape))


_AT_LEAST = {
    1: lambda s: (1,),
    2: lambda s: (1,) * (2 - len(s)) + s,
    3: lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)],
}


def _atleast_nd(nd):
    def fn(*xs):
        out = tuple(_atleast(x, nd, _AT_LEAST[nd]) for x in xs)
        return out[0] if len(out) == 1 else out

    fn.__name__ = f"atleast_{nd}d"
    fn.__doc__ = f"Views of the inputs with at least {nd} dimensions (``np.atleast_{nd}d``)."
    return fn


atleast_1d = export(_atleast_nd(1), numpy=True)
atleast_2d = export(_atleast_nd(2), numpy=True)
atleast_3d = export(_atleast_nd(3), numpy=True)


@export(numpy=True)
def append(arr: ArrayLike, values: ArrayLike, axis: int | None = None) -> Tensor:
    """``values`` joined after ``arr`` along ``axis`` (None: both flattened)."""
    if axis is None:
        return concatenate(ravel(arr), ravel(values), axis=0)
    return concatenate(arr, values, axis=axis)


def _no_dtype(name: str, dtype) -> None:
    if dtype is not None:
        raise TypeError(f"{name}: dtype= is not supported for tensors; cast with .astype()")


@export(numpy=True)
def vstack(tup: Sequence[ArrayLike], *, dtype: Any = None, casting: str = "same_kind") -> Tensor:
    """Joins along axis 0, 1-D inputs as rows (1, N)."""
    _no_dtype("vstack", dtype)
    return concatenate(*[atleast_2d(x) for x in tup], axis=0)


@export(numpy=True)
def hstack(tup: Sequence[ArrayLike], *, dtype: Any = None, casting: str = "same_kind") -> Tensor:
    """Joins along axis 1 (axis 0 for 1-D inputs)."""
    _no_dtype("hstack", dtype)
    xs = [atleast_1d(x) for x in tup]
    return concatenate(*xs, axis=0 if _nd(xs[0]) == 1 else 1)


@export(numpy=True)
def dstack(tup: Sequence[ArrayLike], *, dtype: Any = None, casting: str = "same_kind") -> Tensor:
    """Joins along axis 2, inputs made at least 3-D ((N,) → (1, N, 1), (M, N) → (M, N, 1))."""
    _no_dtype("dstack", dtype)
    return concatenate(*[atleast_3d(x) for x in tup], axis=2)


@export(numpy=True)
def column_stack(
    tup: Sequence[ArrayLike], *, dtype: Any = None, casting: str = "same_kind"
) -> Tensor:
    """Joins 1-D inputs as columns (N, 1) and 2-D ones as they are, along axis 1."""
    _no_dtype("column_stack", dtype)
    cols = [reshape(x, shape=(-1, 1)) if _nd(x) < 2 else x for x in tup]
    return concatenate(*cols, axis=1)


row_stack = export(vstack, name="row_stack", numpy=True)


@export(numpy=True)
def array_split(x: ArrayLike, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Pieces of ``x`` along ``axis``: N nearly equal ones, or cut at the given indices."""
    n = np.shape(x)[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"array_split: number of sections must be > 0, got {sections}")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
    else:
        bounds = np.concatenate([[0], np.asarray(indices_or_sections, dtype=int), [n]])
    nd = _nd(x)
    return [
        getitem(x, index=_along(axis, nd, slice(int(a), int(b))))
        for a, b in zip(bounds[:-1], bounds[1:])
    ]


@export(numpy=True)
def split(x: ArrayLike, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """As ``array_split``, but N sections must divide the axis equally (``np.split``)."""
    n = np.shape(x)[axis]
    if np.ndim(indices_or_sections) == 0 and n % int(indices_or_sections):
        raise ValueError(
            f"split: an axis of length {n} does not divide into {indices_or_sections} equal "
            f"sections; use array_split"
        )
    return array_split(x, indices_or_sections, axis)


@export(numpy=True)
def vsplit(x: ArrayLike, sections: Any) -> list[Tensor]:
    """``split`` along axis 0."""
    return split(x, sections, 0)


@export(numpy=True)
def hsplit(x: ArrayLike, sections: Any) -> list[Tensor]:
    """``split`` along axis 1 (axis 0 for 1-D inputs)."""
    return split(x, sections, 1 if _nd(x) > 1 else 0)


@export(numpy=True)
def dsplit(x: ArrayLike, sections: Any) -> list[Tensor]:
    """``split`` along axis 2."""
    return split(x, sections, 2)


def _diagonal_index(n1: int, n2: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    n = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    i = np.arange(n)
    return (i, i + offset) if offset >= 0 else (i - offset, i)


@export(numpy=True)
def diagonal(x: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal of the planes (axis1, axis2), as a last axis (``np.diagonal``)."""
    nd = _nd(x)
    a1, a2 = axis1 % nd, axis2 % nd
    order = tuple(i for i in range(nd) if i not in (a1, a2)) + (a1, a2)
    if order != tuple(range(nd)):
        x = permute(x, axes=order)
    shape = np.shape(x)
    rows, cols = _diagonal_index(shape[-2], shape[-1], offset)
    return getitem(x, index=(Ellipsis, rows, cols))


@export(numpy=True, method=True)
def trace(x: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The sum along a diagonal (``np.trace``); ``t.trace()`` of a matrix as torch."""
    return _sum(diagonal(x, offset, axis1, axis2), axis=-1)


@export(numpy=True)
def diag(v: ArrayLike, k: int = 0) -> Tensor:
    """A 1-D input placed on the k-th diagonal of a square matrix; a 2-D input's k-th diagonal."""
    nd = _nd(v)
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {np.shape(v)}")
    n = np.shape(v)[0] + abs(k)
    return index_add(v, index=_diagonal_index(n, n, k), shape=(n, n))


@export(numpy=True)
def tril(x: ArrayLike, k: int = 0) -> Tensor:
    """Entries on and below the k-th diagonal of the last two axes; zeros above."""
    n, m = np.shape(x)[-2:]
    return where(np.tri(n, m, k, dtype=bool), x, 0)


@export(numpy=True)
def triu(x: ArrayLike, k: int = 0) -> Tensor:
    """Entries on and above the k-th diagonal of the last two axes; zeros below."""
    n, m = np.shape(x)[-2:]
    return where(np.tri(n, m, k - 1, dtype=bool), 0, x)


@export(numpy=True)
def take(x: ArrayLike, indices: Any, axis: int | None = None) -> Tensor:
    """``np.take``: entries at integer ``indices`` along ``axis`` (None: of the flattened
    array); repeated indices add their gradients."""
    if axis is None:
        return getitem(ravel(x), index=np.asarray(indices))
    return getitem(x, index=_along(axis, _nd(x), np.asarray(indices)))


@export(numpy=True)
def take_along_axis(x: ArrayLike, indices: Any, axis: int = -1) -> Tensor:
    """``np.take_along_axis`` with integer ``indices`` (a constant)."""
    shape = np.shape(indices)
    nd = len(shape)
    axis %= nd
    grid = list(np.ogrid[tuple(slice(n) for n in shape)])
    grid[axis] = np.asarray(indices)
    return getitem(x, index=tuple(grid))


def _data(x):
    return x.data if hasattr(x, "requires_grad") else np.asarray(x)


def _no_order(name: str, order) -> None:
    if order is not None:
        raise TypeError(f"{name}: order= applies to structured arrays, which tensors are not")


@export(numpy=True)
def sort(
    x: ArrayLike, axis: int | None = -1, kind: Any = None, order: Any = None, *, stable: Any = None
) -> Tensor:
    """The values sorted along ``axis`` (None: flattened); ties keep their order (a stable
    sort, which every ``kind`` allows)."""
    _no_order("sort", order)
    if axis is None:
        x, axis = ravel(x), 0
    return take_along_axis(x, np.argsort(_data(x), axis=axis, kind="stable"), axis)


@export(numpy=True)
def partition(
    x: ArrayLike, kth: Any, axis: int | None = -1, kind: str = "introselect", order: Any = None
) -> Tensor:
    """``np.partition``: the k-th value in its sorted place, smaller before, larger after."""
    _no_order("partition", order)
    if axis is None:
        x, axis = ravel(x), 0
    return take_along_axis(x, np.argpartition(_data(x), kth, axis=axis), axis)


@export(numpy=True)
def select(condlist: Sequence[Any], choicelist: Sequence[ArrayLike], default: Any = 0) -> Tensor:
    """``np.select``: from the first true condition's choice, else ``default``."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: {len(condlist)} conditions but {len(choicelist)} choices; they must match"
        )
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(_data(cond).astype(bool), choice, out)
    return out


@export(numpy=True)
def linspace(
    start: ArrayLike, stop: ArrayLike, num: int = 50, endpoint: bool = True, axis: int = 0
) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (tensors or numbers; the
    gradient reaches both ends), along a new axis ``axis``."""
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    div = (num - 1) if endpoint else num
    dtype = np.result_type(start, stop, np.float16)  # a float dtype; float32 stays float32
    frac = (np.arange(num, dtype=float) / (div if div > 0 else 1)).astype(dtype)
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    frac = frac.reshape((-1,) + (1,) * len(shape))
    out = add(start, mul(frac, sub(stop, start)))
    if endpoint and num > 1:  # the last value is exactly ``stop``, as NumPy makes it
        last = np.zeros(out.shape, dtype=bool)
        last[-1] = True
        out = where(last, stop, out)
    return out if axis == 0 else moveaxis(out, 0, axis)
