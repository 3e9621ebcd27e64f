"""Tensor's methods, operators and NumPy dispatch, bound to the ops in one table.

Methods take PyTorch's names (``dim``/``keepdim`` are accepted as well as ``axis``/``keepdims``).
``np.exp(t)``, ``np.where(c, t, 0)`` and friends dispatch to the differentiable ops, which is also
what lets reverse rules written with NumPy run on tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
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


def _var(self, axis=None, correction=1, keepdims=False, *, dim=None, keepdim=None):
    """Variance over ``axis`` with ``correction`` (1: unbiased, torch's default)."""
    return ops.var(
        self, axis=_axis(axis, dim), correction=correction, keepdims=_keep(keepdims, keepdim)
    )


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
    "var": _var,
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
    "unsqueeze": _unsqueeze,
    "backward": backward,
    "register_hook": register_hook,
    "T": property(lambda self: ops.permute(self, axes=tuple(range(self.ndim))[::-1])),
    "mT": property(lambda self: _transpose(self, -2, -1)),
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


# --- NumPy dispatch ------------------------------------------------------------------------
def _logaddexp(a, b):
    m = ops.maximum(a, b)
    return m + ops.log1p(ops.exp(-ops.abs(a - b)))


_UFUNCS = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.true_divide: ops.div,
    np.negative: ops.neg,
    np.power: ops.pow,
    np.matmul: ops.matmul,
    np.exp: ops.exp,
    np.log: ops.log,
    np.log1p: ops.log1p,
    np.sqrt: ops.sqrt,
    np.absolute: ops.abs,
    np.sin: ops.sin,
    np.cos: ops.cos,
    np.tanh: ops.tanh,
    np.maximum: ops.maximum,
    np.minimum: ops.minimum,
    np.logaddexp: _logaddexp,
    np.positive: lambda x: x,
}
# SciPy's ufuncs that some rules use (SciPy is imported lazily, so matched by name)
_SCIPY_UFUNCS = {"erf": ops.erf, "expit": ops.sigmoid}
# Ufuncs whose results carry no gradient (masks, signs): computed on the raw data.
_CONSTANT_UFUNCS = {
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.equal,
    np.not_equal,
    np.sign,
    np.isfinite,
    np.isnan,
    np.isinf,
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.bitwise_and,
    np.bitwise_or,
    np.invert,
}


def _raw(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_raw(i) for i in x)
    return x


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if method != "__call__" or kwargs:
        return NotImplemented
    if ufunc in _CONSTANT_UFUNCS:
        return Tensor._wrap(np.asarray(ufunc(*_raw(inputs))))
    fn = _UFUNCS.get(ufunc) or _SCIPY_UFUNCS.get(ufunc.__name__)
    if fn is None:
        raise TypeError(
            f"np.{ufunc.__name__} has no differentiable rule in chainrule; "
            f"use a chainrule op or apply it to t.detach().numpy()"
        )
    return fn(*inputs)


def _sum(x, axis=None, keepdims=False, **kw):
    return ops.sum(x, axis=axis, keepdims=keepdims)


def _mean(x, axis=None, keepdims=False, **kw):
    return ops.mean(x, axis=axis, keepdims=keepdims)


_FUNCTIONS = {
    np.where: lambda c, a, b: ops.where(_raw(c), a, b),
    np.sum: _sum,
    np.mean: _mean,
    np.max: lambda x, axis=None, keepdims=False: ops.max(x, axis=axis, keepdims=keepdims),
    np.min: lambda x, axis=None, keepdims=False: ops.min(x, axis=axis, keepdims=keepdims),
    np.expand_dims: lambda x, axis: ops.unsqueeze(x, axis=axis),
    np.broadcast_to: lambda x, shape: ops.broadcast_to(x, shape=tuple(np.atleast_1d(shape))),
    np.reshape: lambda x, shape: ops.reshape(x, shape=shape),
    np.transpose: lambda x, axes=None: ops.permute(
        x, axes=tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
    ),
    np.swapaxes: lambda x, a, b: _transpose(x, a, b),
    np.squeeze: lambda x, axis=None: ops.squeeze(x, axis=axis),
    np.concatenate: lambda xs, axis=0: ops.concatenate(*xs, axis=axis),
    np.stack: lambda xs, axis=0: ops.stack(*xs, axis=axis),
    np.clip: lambda x, a_min=None, a_max=None: ops.clip(x, min=a_min, max=a_max),
}
# Functions that only inspect (shapes, orderings): answered from the raw data.
_CONSTANT_FUNCTIONS = {
    np.shape,
    np.ndim,
    np.size,
    np.result_type,
    np.argsort,
    np.argmax,
    np.argmin,
    np.array_equal,
    np.allclose,
    np.isclose,
    np.count_nonzero,
    np.any,
    np.all,
    np.zeros_like,
    np.ones_like,
    np.full_like,
    np.empty_like,
}


def _array_function(self, func, types, args, kwargs):
    if func in _CONSTANT_FUNCTIONS:
        return func(*_raw(args), **_raw(kwargs))
    fn = _FUNCTIONS.get(func)
    if fn is None:
        raise TypeError(
            f"{_numpy_name(func)} has no differentiable rule in chainrule; "
            f"use a chainrule op or apply it to t.detach().numpy()"
        )
    return fn(*args, **kwargs)


def _numpy_name(func) -> str:
    """The name users type: ``np.linalg.inv``, ``np.mean`` (private submodules left out)."""
    parts = [p for p in (func.__module__ or "numpy").split(".") if not p.startswith("_")]
    return ".".join(["np", *parts[1:], func.__name__])


Tensor.__array_ufunc__ = _array_ufunc
Tensor.__array_function__ = _array_function
