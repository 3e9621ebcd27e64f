"""Tensor's operators and its methods with PyTorch's calling conventions, bound in one table.

The methods that are an op as it stands (``t.exp()``, ``t.dot(u)``) come from the op registry
(``ops.METHODS``, set by ``method=`` where the op is defined); this module adds Python's
operators, the methods whose arguments follow torch (``dim``/``keepdim`` are accepted as well
as ``axis``/``keepdims``; those that index and reshape are in ``_tensor_shape``) and torch's
other names for methods. Type checkers see all of them
through ``_tensor_api.pyi``, generated from ``METHODS`` by ``python -m chainrule._stubgen``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _tensor_shape, linalg, ops
from ._autodiff import backward, register_hook
from ._tensor import Tensor
from ._tensor_shape import _axis, _transpose

if TYPE_CHECKING:  # annotations only (numpy.typing costs import time)
    from numpy.typing import ArrayLike, DTypeLike


def _keep(keepdims: bool, keepdim: bool | None) -> bool:
    return bool(keepdims or keepdim)


def _compare(ufunc: np.ufunc) -> Callable[[Tensor, Any], Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(np.asarray(ufunc(self.data, other)))

    return method


def _rev(op: Callable[..., Tensor]) -> Callable[[Tensor, ArrayLike], Tensor]:
    def method(self: Tensor, other: ArrayLike) -> Tensor:
        return op(other, self)

    return method


def _reduction(op: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(
        self: Tensor,
        axis: Any = None,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        return op(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    method.__doc__ = f"{op.__name__} over ``axis`` (None: all), as ``torch.{op.__name__}``."
    return method


def _spread(op: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(
        self: Tensor,
        axis: Any = None,
        correction: int = 1,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
        unbiased: bool | None = None,
    ) -> Tensor:
        if unbiased is not None:  # torch's older spelling: unbiased=False is correction=0
            correction = int(unbiased)
        axis, keepdims = _axis(axis, dim), _keep(keepdims, keepdim)
        return op(self, axis=axis, correction=correction, keepdims=keepdims)

    method.__doc__ = (
        f"``torch.Tensor.{op.__name__}`` over ``axis`` (None: all) with ``correction`` "
        f"(1, unbiased, by default)."
    )
    return method


def _scan(op: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(self: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
        return op(self, axis=_axis(axis, dim))

    method.__doc__ = f"{op.__name__} along ``dim`` (None: flattened), as ``torch.{op.__name__}``."
    return method


def _softmax(op: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(self: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
        return op(self, axis=axis if dim is None else dim)

    return method


def _invert(self: Tensor) -> Tensor:
    return Tensor._wrap(np.asarray(~self.data))


def _pos(self: Tensor) -> Tensor:
    return self


def _diff(
    self: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None
) -> Tensor:
    return ops.diff(self, n, dim, prepend, append)


def _norm(self: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
    """``torch.Tensor.norm``: a number ``p`` (and "fro", p = 2) is the entrywise p-norm over
    ``dim`` (None: every entry), even over two dims; "nuc" the nuclear norm of matrices."""
    axis = tuple(dim) if isinstance(dim, list) else dim
    if p == "nuc":
        return linalg.matrix_norm(self, "nuc", (-2, -1) if axis is None else axis, keepdim)
    return linalg.vector_norm(self, 2 if p == "fro" else p, axis, keepdim)


def _cross(self: Tensor, other: ArrayLike, dim: int | None = None) -> Tensor:
    """``torch.cross``: along ``dim``, or the first axis of size 3 when not given."""
    if dim is None:
        dim = next(i for i, n in enumerate(self.shape) if n == 3)
    return ops.cross(self, other, dim)


def _clip(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's
    return ops.clip(self, min=min, max=max)


def _astype(self: Tensor, dtype: DTypeLike) -> Tensor:
    """A copy converted to ``dtype`` (differentiable between float dtypes)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or self.dtype.kind != "f":
        return Tensor._wrap(self.data.astype(dtype))  # to or from ints and bools: a constant
    return ops.astype(self, dtype=dtype)


def _float(self: Tensor) -> Tensor:
    return _astype(self, np.float32)


def _double(self: Tensor) -> Tensor:
    return _astype(self, np.float64)


def _clone(self: Tensor) -> Tensor:
    return _astype(self, self.dtype)


def _nan_to_num(
    self: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    return ops.nan_to_num(self, nan=nan, posinf=posinf, neginf=neginf)


def _cholesky(self: Tensor, upper: bool = False) -> Tensor:
    low = linalg.cholesky(self)
    return _transpose(low, -2, -1) if upper else low


_OPERATORS: dict[str, Any] = {
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
    "__mod__": ops.remainder,
    "__rmod__": _rev(ops.remainder),
    "__neg__": ops.neg,
    "__pos__": _pos,
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
    "__invert__": _invert,
}
# methods whose arguments follow torch (or that are not one op)
_TORCH: dict[str, Any] = {
    "clip": _clip,
    "sum": _reduction(ops.sum),
    "mean": _reduction(ops.mean),
    "var": _spread(ops.var),
    "std": _spread(ops.std),
    "max": _reduction(ops.max),
    "min": _reduction(ops.min),
    "prod": _reduction(ops.prod),
    "logsumexp": _reduction(ops.logsumexp),
    "softmax": _softmax(ops.softmax),
    "log_softmax": _softmax(ops.log_softmax),
    "cumsum": _scan(ops.cumsum),
    "cumprod": _scan(ops.cumprod),
    "diff": _diff,
    "astype": _astype,
    "float": _float,
    "double": _double,
    "clone": _clone,
    "nan_to_num": _nan_to_num,
    "norm": _norm,
    "cross": _cross,
    "inverse": linalg.inv,
    "det": linalg.det,
    "cholesky": _cholesky,
    "pinverse": linalg.pinv,
    "matrix_power": linalg.matrix_power,
    "slogdet": linalg.slogdet,
    "qr": linalg.qr,
    "backward": backward,
    "register_hook": register_hook,
    "real": property(ops.real),
}
# torch's names for methods known here by NumPy's (or another torch) name
_ALIASES = {
    "clamp": "clip",
    "amax": "max",
    "amin": "min",
    "view": "reshape",
    "swapaxes": "transpose",
    "to": "astype",
    "repeat": "tile",
    "movedim": "moveaxis",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "atan2": "arctan2",
}


def _bind() -> dict[str, Any]:
    """Every method and operator by name; a name given twice is an error."""
    table: dict[str, Any] = {}
    for source in (ops.METHODS, _OPERATORS, _TORCH, _tensor_shape.METHODS):
        for name, fn in source.items():
            if name in table:
                raise RuntimeError(f"Tensor.{name} is bound twice (op registry and here)")
            table[name] = fn
    for name, target in _ALIASES.items():
        if name in table:
            raise RuntimeError(f"Tensor.{name} is bound twice (an alias and a method)")
        table[name] = table[target]
    return table


METHODS = _bind()
"""Tensor's methods, operators and properties, by name (read by ``chainrule._stubgen``)."""
for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
