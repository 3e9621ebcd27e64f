"""Tensor's methods, operators and NumPy dispatch, bound to the ops in one table.

Methods take PyTorch's names (``dim``/``keepdim`` are accepted as well as ``axis``/``keepdims``).
``np.exp(t)``, ``np.where(c, t, 0)`` and friends dispatch to the differentiable ops, which is also
what lets reverse rules written with NumPy run on tensors.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import linalg, ops
from ._autodiff import backward, register_hook
from ._tensor import Tensor, _Mode, _shape_arg


def _axis(axis: Any, dim: Any) -> Any:
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis= or dim=, not both")
        axis = dim
    return tuple(axis) if isinstance(axis, list) else axis


def _keep(keepdims: bool, keepdim: bool | None) -> bool:
    return bool(keepdims or keepdim)


def _compare(ufunc):
    def method(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(np.asarray(ufunc(self.data, other)))

    return method


def _reduction(op):
    def method(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return op(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    method.__doc__ = f"{op.__name__} over ``axis`` (None: all), as ``torch.{op.__name__}``."
    return method


def _index(index: Any) -> Any:
    """Tensors and lists inside an index become arrays (a tuple stays a tuple)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _getitem(self, index):
    return ops.getitem(self, index=_index(index))


def _setitem(self, index, value):
    if self.requires_grad and _Mode.grad_enabled:
        raise RuntimeError(
            "setitem: in-place assignment into a tensor that requires grad is not supported; "
            "build a new tensor with cr.where or cr.concatenate, or assign under cr.no_grad()"
        )
    self.data[_index(index)] = value.data if isinstance(value, Tensor) else value


def _spread(op):
    def method(
        self, axis=None, correction=1, keepdims=False, *, dim=None, keepdim=None, unbiased=None
    ):
        if unbiased is not None:  # torch's older spelling: unbiased=False is correction=0
            correction = int(unbiased)
        axis, keepdims = _axis(axis, dim), _keep(keepdims, keepdim)
        return op(self, axis=axis, correction=correction, keepdims=keepdims)

    method.__doc__ = (
        f"``torch.Tensor.{op.__name__}`` over ``axis`` (None: all) with ``correction`` "
        f"(1, unbiased, by default)."
    )
    return method


def _scan(op):
    def method(self, dim=None, *, axis=None):
        return op(self, axis=_axis(axis, dim))

    method.__doc__ = f"{op.__name__} along ``dim`` (None: flattened), as ``torch.{op.__name__}``."
    return method


def _diff(self, n=1, dim=-1, prepend=None, append=None):
    return ops.diff(self, n, dim, prepend, append)


def _norm(self, p="fro", dim=None, keepdim=False):
    """``torch.Tensor.norm``: a number ``p`` (and "fro", p = 2) is the entrywise p-norm over
    ``dim`` (None: every entry), even over two dims; "nuc" the nuclear norm of matrices."""
    axis = tuple(dim) if isinstance(dim, list) else dim
    if p == "nuc":
        return linalg.matrix_norm(self, "nuc", (-2, -1) if axis is None else axis, keepdim)
    return linalg.vector_norm(self, 2 if p == "fro" else p, axis, keepdim)


def _cross(self, other, dim=None):
    """``torch.cross``: along ``dim``, or the first axis of size 3 when not given."""
    if dim is None:
        dim = next(i for i, n in enumerate(self.shape) if n == 3)
    return ops.cross(self, other, dim)


class SortResult(NamedTuple):
    values: Tensor
    indices: Tensor


def _sort(self, dim=-1, descending=False):
    """(values, indices) along ``dim`` (``torch.sort``); ties keep their order."""
    order = np.argsort(-self.data if descending else self.data, axis=dim, kind="stable")
    return SortResult(ops.take_along_axis(self, order, dim), Tensor._wrap(order))


def _movedim(self, source, destination):
    return ops.moveaxis(self, source, destination)


def _split(self, split_size_or_sections, dim=0):
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


def _softmax(op):
    def method(self, axis=-1, *, dim=None):
        return op(self, axis=axis if dim is None else dim)

    return method


def _reshape(self, *shape):
    return ops.reshape(self, shape=_shape_arg(shape))


def _flatten(self, start_dim=0, end_dim=-1):
    shape = self.shape
    if not shape:
        return ops.reshape(self, shape=(1,))
    start, end = start_dim % len(shape), end_dim % len(shape)
    return ops.reshape(self, shape=shape[:start] + (-1,) + shape[end + 1 :])


def _transpose(self, dim0=None, dim1=None):
    """Swaps two axes (torch's ``transpose(dim0, dim1)``); with no arguments reverses them."""
    axes = list(range(self.ndim))[::-1]
    if dim0 is not None:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return ops.permute(self, axes=tuple(axes))


def _permute(self, *dims):
    return ops.permute(self, axes=tuple(_shape_arg(dims)))


def _swapaxes(self, a, b):
    return _transpose(self, a, b)


def _expand(self, *shape):
    shape = _shape_arg(shape)
    lead = len(shape) - self.ndim
    full = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return ops.broadcast_to(self, shape=full)


def _clip(self, min=None, max=None):  # noqa: A002 - torch.clamp's names
    return ops.clip(self, min=min, max=max)


def _squeeze(self, axis=None, *, dim=None):
    return ops.squeeze(self, axis=_axis(axis, dim))


def _unsqueeze(self, axis=None, *, dim=None):
    return ops.unsqueeze(self, axis=_axis(axis, dim))


def _astype(self, dtype):
    """A copy converted to ``dtype`` (differentiable between float dtypes)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or self.dtype.kind != "f":
        return Tensor._wrap(self.data.astype(dtype))  # to or from ints and bools: a constant
    return ops.astype(self, dtype=dtype)


def _rev(op):
    return lambda self, other: op(other, self)


_METHODS = {
    "__add__": ops.add,
    "__radd__": _rev(ops.add),
    "__sub__": ops.sub,
    "__rsub__": _rev(ops.sub),
    "__mul__": ops.mul,
    "__rmul__": _rev(ops.mul),
    "__truediv__": ops.div,
    "__rtruediv__": _rev(ops.div),
    "__pow__": ops.pow,
    "__rpow__": _rev(ops.pow),
    "__matmul__": ops.matmul,
    "__rmatmul__": _rev(ops.matmul),
    "__neg__": ops.neg,
    "__pos__": lambda self: self,
    "__abs__": ops.abs,
    "__lt__": _compare(np.less),
    "__le__": _compare(np.less_equal),
    "__gt__": _compare(np.greater),
    "__ge__": _compare(np.greater_equal),
    "__eq__": _compare(np.equal),
    "__ne__": _compare(np.not_equal),
    "__and__": _compare(np.bitwise_and),
    "__rand__": _compare(np.bitwise_and),
    "__or__": _compare(np.bitwise_or),
    "__ror__": _compare(np.bitwise_or),
    "__xor__": _compare(np.bitwise_xor),
    "__invert__": lambda self: Tensor._wrap(np.asarray(~self.data)),
    "__getitem__": _getitem,
    "__setitem__": _setitem,
    "add": ops.add,
    "sub": ops.sub,
    "mul": ops.mul,
    "div": ops.div,
    "pow": ops.pow,
    "matmul": ops.matmul,
    "maximum": ops.maximum,
    "minimum": ops.minimum,
    "exp": ops.exp,
    "log": ops.log,
    "log1p": ops.log1p,
    "sqrt": ops.sqrt,
    "abs": ops.abs,
    "sin": ops.sin,
    "cos": ops.cos,
    "tanh": ops.tanh,
    "erf": ops.erf,
    "sigmoid": ops.sigmoid,
    "relu": ops.relu,
    "neg": ops.neg,
    "clip": _clip,
    "clamp": _clip,
    "sum": _reduction(ops.sum),
    "mean": _reduction(ops.mean),
    "var": _spread(ops.var),
    "max": _reduction(ops.max),
    "min": _reduction(ops.min),
    "amax": _reduction(ops.max),
    "amin": _reduction(ops.min),
    "logsumexp": _reduction(ops.logsumexp),
    "softmax": _softmax(ops.softmax),
    "log_softmax": _softmax(ops.log_softmax),
    "reshape": _reshape,
    "view": _reshape,
    "flatten": _flatten,
    "transpose": _transpose,
    "permute": _permute,
    "swapaxes": _swapaxes,
    "expand": _expand,
    "broadcast_to": lambda self, *shape: ops.broadcast_to(self, shape=_shape_arg(shape)),
    "astype": _astype,
    "to": _astype,
    "float": lambda self: _astype(self, np.float32),
    "double": lambda self: _astype(self, np.float64),
    "clone": lambda self: _astype(self, self.dtype),
    "squeeze": _squeeze,
    "__mod__": ops.remainder,
    "__rmod__": _rev(ops.remainder),
    "square": ops.square,
    "reciprocal": ops.reciprocal,
    "log2": ops.log2,
    "log10": ops.log10,
    "expm1": ops.expm1,
    "exp2": ops.exp2,
    "tan": ops.tan,
    "sinh": ops.sinh,
    "cosh": ops.cosh,
    "asin": ops.arcsin,
    "acos": ops.arccos,
    "atan": ops.arctan,
    "asinh": ops.arcsinh,
    "acosh": ops.arccosh,
    "atanh": ops.arctanh,
    "arcsin": ops.arcsin,
    "arccos": ops.arccos,
    "arctan": ops.arctan,
    "arcsinh": ops.arcsinh,
    "arccosh": ops.arccosh,
    "arctanh": ops.arctanh,
    "deg2rad": ops.deg2rad,
    "rad2deg": ops.rad2deg,
    "sinc": ops.sinc,
    "floor": ops.floor,
    "ceil": ops.ceil,
    "round": ops.round,
    "trunc": ops.trunc,
    "sign": ops.sign,
    "nan_to_num": lambda self, nan=0.0, posinf=None, neginf=None: ops.nan_to_num(
        self, nan=nan, posinf=posinf, neginf=neginf
    ),
    "logaddexp": ops.logaddexp,
    "logaddexp2": ops.logaddexp2,
    "atan2": ops.arctan2,
    "arctan2": ops.arctan2,
    "hypot": ops.hypot,
    "fmax": ops.fmax,
    "fmin": ops.fmin,
    "remainder": ops.remainder,
    "fmod": ops.fmod,
    "prod": _reduction(ops.prod),
    "std": _spread(ops.std),
    "cumsum": _scan(ops.cumsum),
    "cumprod": _scan(ops.cumprod),
    "diff": _diff,
    "trace": lambda self: ops.trace(self),
    "norm": _norm,
    "dot": ops.dot,
    "vdot": ops.vdot,
    "inner": ops.inner,
    "outer": ops.outer,
    "kron": ops.kron,
    "cross": _cross,
    "inverse": lambda self: ops.linalg.inv(self),
    "det": lambda self: ops.linalg.det(self),
    "cholesky": lambda self, upper=False: (
        ops.linalg.cholesky(self).mT if upper else ops.linalg.cholesky(self)
    ),
    "pinverse": lambda self: ops.linalg.pinv(self),
    "matrix_power": lambda self, n: linalg.matrix_power(self, n),
    "ravel": ops.ravel,
    "flip": lambda self, *dims: ops.flip(self, _shape_arg(dims) if dims else None),
    "fliplr": ops.fliplr,
    "flipud": ops.flipud,
    "rot90": lambda self, k=1, dims=(0, 1): ops.rot90(self, k, tuple(dims)),
    "roll": lambda self, shifts, dims=None: ops.roll(self, shifts, dims),
    "repeat_interleave": lambda self, repeats, dim=None: ops.repeat(self, repeats, dim),
    "tile": lambda self, *dims: ops.tile(self, _shape_arg(dims)),
    "moveaxis": _movedim,
    "movedim": _movedim,
    "diag": lambda self, diagonal=0: ops.diag(self, diagonal),
    "diagonal": lambda self, offset=0, dim1=0, dim2=1: ops.diagonal(self, offset, dim1, dim2),
    "tril": lambda self, diagonal=0: ops.tril(self, diagonal),
    "triu": lambda self, diagonal=0: ops.triu(self, diagonal),
    "sort": _sort,
    "split": _split,
    "tensor_split": lambda self, sections, dim=0: tuple(ops.array_split(self, sections, dim)),
    "hsplit": lambda self, sections: tuple(ops.hsplit(self, sections)),
    "vsplit": lambda self, sections: tuple(ops.vsplit(self, sections)),
    "dsplit": lambda self, sections: tuple(ops.dsplit(self, sections)),
    "repeat": lambda self, *sizes: ops.tile(self, _shape_arg(sizes)),  # torch's: NumPy's tile
    "slogdet": lambda self: linalg.slogdet(self),
    "qr": lambda self: linalg.qr(self),
    "conj": ops.conj,
    "real": property(ops.real),
    "unsqueeze": _unsqueeze,
    "backward": backward,
    "register_hook": register_hook,
    "T": property(lambda self: ops.permute(self, axes=tuple(range(self.ndim))[::-1])),
    "mT": property(lambda self: _transpose(self, -2, -1)),
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


from . import _dispatch  # noqa: E402,F401 - binds NumPy's dispatch protocols to Tensor
