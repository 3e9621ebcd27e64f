"""NumPy's dispatch protocols for tensors: ``np.exp(t)``, ``np.linalg.inv(t)``, ``np.einsum(...)``
run the differentiable ops, which is also what lets reverse rules written with NumPy run on
tensors (second order). The op registry says which NumPy function runs which op
(``ops.NUMPY``, set by ``numpy=`` where the op is defined); this module adds the NumPy
functions whose arguments differ from the op's (``np.sum(t, 0)``, ``np.var(t, ddof=1)``), which
it translates. Functions that only inspect are answered from the raw data; any other NumPy
function raises, naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import linalg, ops
from ._tensor import Tensor
from ._tensor_shape import _transpose
from .ops import arrays


def _identity(x: Any) -> Any:
    return x


# Ufuncs whose results carry no gradient (masks, signs): computed on the raw data.
_CONSTANT_UFUNCS = {
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.equal,
    np.not_equal,
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
    # SciPy's ufuncs (erf, expit) are known by name: SciPy is imported lazily
    fn = _NUMPY.get(ufunc) or _NUMPY.get(ufunc.__name__)
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


def _extreme(op):
    return lambda x, axis=None, out=None, keepdims=False: op(x, axis=axis, keepdims=keepdims)


def _prod(x, axis=None, dtype=None, out=None, keepdims=False):
    return ops.prod(x, axis=axis, keepdims=keepdims)


def _var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return ops.var(x, axis=axis, correction=ddof, keepdims=keepdims)


def _std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return ops.std(x, axis=axis, correction=ddof, keepdims=keepdims)


def _round(x, decimals=0, out=None):
    if not decimals:
        return ops.round(x)
    scale = 10.0**decimals
    return ops.round(x * scale) / scale


def _pad(array, pad_width, mode="constant", constant_values=0, **kw):
    if mode != "constant" or kw:
        raise NotImplementedError(
            f"np.pad: only mode='constant' (one constant value) is differentiable here, "
            f"got mode={mode!r}"
        )
    return ops.pad(array, pad_width=pad_width, value=constant_values)


def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    return ops.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


_TRANSLATED: dict[Any, Callable[..., Any]] = {
    np.positive: _identity,
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
    np.amax: _extreme(ops.max),
    np.amin: _extreme(ops.min),
    np.prod: _prod,
    np.var: _var,
    np.std: _std,
    np.round: _round,
    np.around: _round,
    np.nan_to_num: _nan_to_num,
    np.real_if_close: lambda a, tol=100: ops.real(a),
    np.cumsum: lambda x, axis=None, dtype=None, out=None: ops.cumsum(x, axis=axis),
    np.cumprod: lambda x, axis=None, dtype=None, out=None: ops.cumprod(x, axis=axis),
    np.pad: _pad,
    np.linalg.trace: lambda x, offset=0: arrays.trace(x, offset, -2, -1),
    np.linalg.diagonal: lambda x, offset=0: arrays.diagonal(x, offset, -2, -1),
}
# ``chainrule.linalg`` has numpy.linalg's names and signatures
_TRANSLATED.update({getattr(np.linalg, n): getattr(linalg, n) for n in linalg.NUMPY_NAMES})


# one table, the registry's: an op registered later with ``numpy=`` dispatches too, and a
# NumPy function both registered and translated here is an error
_twice = [getattr(f, "__name__", f) for f in _TRANSLATED if f in ops.NUMPY]
if _twice:
    raise RuntimeError(f"NumPy functions both registered with an op and translated: {_twice}")
ops.NUMPY.update(_TRANSLATED)
_NUMPY = ops.NUMPY
# Functions that only inspect (shapes, orderings): answered from the raw data.
_CONSTANT_FUNCTIONS = {
    np.shape,
    np.ndim,
    np.size,
    np.result_type,
    np.argsort,
    np.argpartition,
    np.nonzero,
    np.flatnonzero,
    np.argwhere,
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
    fn = _NUMPY.get(func)
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


# bound here (``_tensor_api.pyi`` declares them for type checkers)
PROTOCOL = {"__array_ufunc__": _array_ufunc, "__array_function__": _array_function}
for _name, _fn in PROTOCOL.items():
    setattr(Tensor, _name, _fn)
