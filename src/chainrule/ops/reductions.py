"""Reductions over axes (sum, mean, var, max, min, logsumexp) and the softmax family.

``axis`` is None (all axes), an int or a tuple of ints; ``keepdims`` keeps reduced axes as size 1.
Reverse rules first put the reduced axes back (``_expand``) so that ``g`` broadcasts against x.
Forward functions take arrays only and call the ufuncs' ``reduce`` directly (the same values as
``np.max``/``np.sum`` without their Python wrappers); rules elsewhere that need a softmax on
what may be a tensor call the op through ``either``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._numerics import softmax as _softmax
from ._registry import LINEAR, defop, export
from .elementwise import sqrt

if TYPE_CHECKING:  # annotations only: op files do not import the engine
    from numpy.typing import ArrayLike

    from .._tensor import Tensor


def _expand(g, x, axis, keepdims):
    """``g`` with the axes that the reduction removed put back as size 1."""
    if keepdims or axis is None and g.ndim == x.ndim:
        return g
    if axis is None:
        return g.reshape((1,) * x.ndim)
    return np.expand_dims(g, axis)


def _count(x, axis):
    if axis is None:
        return x.size
    axes = (axis,) if isinstance(axis, int) else axis
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _sum_vjp(g, out, x, *, axis=None, keepdims=False):
    return np.broadcast_to(_expand(g, x, axis, keepdims), x.shape)


def _mean_vjp(g, out, x, *, axis=None, keepdims=False):
    return np.broadcast_to(_expand(g, x, axis, keepdims) / _count(x, axis), x.shape)


def _mean(x, *, axis=None, keepdims=False):
    """``np.mean`` with the same values, without its Python wrapper for float arrays."""
    if x.dtype.kind != "f":
        return np.mean(x, axis=axis, keepdims=keepdims)
    return np.add.reduce(x, axis=axis, keepdims=keepdims) / _count(x, axis)


sum = defop("sum", np.sum, vjp=_sum_vjp, jvp=LINEAR)  # noqa: A001
mean = defop("mean", _mean, vjp=_mean_vjp, jvp=LINEAR)


# var(x) = Σ(x − x̄)² / (N − correction):  x̄ = ḡ · 2(x − mean) / (N − correction)
# correction=1 (unbiased) is torch's default; correction=0 is NumPy's.
def _var(x, *, axis=None, correction=1, keepdims=False):
    return np.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def _var_vjp(g, out, x, *, axis=None, correction=1, keepdims=False):
    centred = x - x.mean(axis=axis, keepdims=True)
    return _expand(g, x, axis, keepdims) * centred * (2 / (_count(x, axis) - correction))


# forward: v̇ = Σ 2(x − mean)·ẋ / (N − correction)
def _var_jvp(t, out, x, *, axis=None, correction=1, keepdims=False):
    centred = x - x.mean(axis=axis, keepdims=True)
    return (centred * t).sum(axis=axis, keepdims=keepdims) * (2 / (_count(x, axis) - correction))


var = defop("var", _var, vjp=_var_vjp, jvp=_var_jvp)


# max/min: the gradient goes to the entries equal to the result; k tied entries get ḡ/k each
# (torch.amax's rule), so the gradient of a max over a constant row is spread evenly.
def _extreme_vjp(g, out, x, *, axis=None, keepdims=False):
    hit = x == _expand(out, x, axis, keepdims)
    return _expand(g, x, axis, keepdims) * hit / hit.sum(axis=axis, keepdims=True)


def _extreme_jvp(t, out, x, *, axis=None, keepdims=False):
    hit = x == _expand(out, x, axis, keepdims)
    return (t * hit).sum(axis=axis, keepdims=keepdims) / hit.sum(axis=axis, keepdims=keepdims)


max = defop("max", np.max, vjp=_extreme_vjp, jvp=_extreme_jvp)  # noqa: A001
min = defop("min", np.min, vjp=_extreme_vjp, jvp=_extreme_jvp)  # noqa: A001


# logsumexp(x) = m + log Σ e^{x−m}, m = max x (finite):  x̄ = ḡ · e^{x − out}
def _logsumexp(x, *, axis=None, keepdims=False):
    m = np.maximum.reduce(x, axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0)
    s = np.log(np.add.reduce(np.exp(np.subtract(x, m)), axis=axis, keepdims=True))
    s += m
    return s if keepdims else np.squeeze(s, axis=axis)


def _logsumexp_vjp(g, out, x, *, axis=None, keepdims=False):
    return _expand(g, x, axis, keepdims) * np.exp(x - _expand(out, x, axis, keepdims))


def _logsumexp_jvp(t, out, x, *, axis=None, keepdims=False):
    return (t * np.exp(x - _expand(out, x, axis, keepdims))).sum(axis=axis, keepdims=keepdims)


logsumexp = defop("logsumexp", _logsumexp, vjp=_logsumexp_vjp, jvp=_logsumexp_jvp)


# y = softmax(x):  x̄ = y ⊙ (ȳ − Σ ȳ⊙y)   (sums over `axis`; forward: _numerics.softmax)
def _softmax_vjp(g, out, x, *, axis=-1):
    return out * (g - (g * out).sum(axis=axis, keepdims=True))


def _softmax_jvp(t, out, x, *, axis=-1):
    return out * (t - (t * out).sum(axis=axis, keepdims=True))


softmax = defop("softmax", _softmax, vjp=_softmax_vjp, jvp=_softmax_jvp)


# y = log_softmax(x) = x − logsumexp(x):  x̄ = ȳ − softmax(x) Σ ȳ
def _log_softmax(x, *, axis=-1):
    return x - _logsumexp(x, axis=axis, keepdims=True)


def _log_softmax_vjp(g, out, x, *, axis=-1):
    return g - np.exp(out) * g.sum(axis=axis, keepdims=True)


#   forward: ẏ = ẋ − Σ ẋ ⊙ softmax(x)
def _log_softmax_jvp(t, out, x, *, axis=-1):
    return t - (t * np.exp(out)).sum(axis=axis, keepdims=True)


log_softmax = defop("log_softmax", _log_softmax, vjp=_log_softmax_vjp, jvp=_log_softmax_jvp)


# prod: ∂y/∂xᵢ = Π_{j≠i} xⱼ (over the reduced axes). Without zeros that is y/xᵢ; with zeros it
# is computed directly, as torch and autograd do, so a single zero still gets its gradient.
def _prod_slope(out, x, axis, keepdims):
    if not np.any(x == 0):
        return _expand(out, x, axis, keepdims) / x
    return _others_product(x, axis)


def _others_product(x, axis):
    """Π_{j≠i} xⱼ over ``axis`` for every entry i, as (Π_{j<i} xⱼ)·(Π_{j>i} xⱼ): exclusive
    running products from both ends (O(K) per row; used where a zero makes y/xᵢ fail)."""
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else tuple(a % nd for a in np.atleast_1d(axis))
    rest = tuple(i for i in range(nd) if i not in axes)
    perm = rest + axes
    moved = np.transpose(x, perm)
    k = 1
    for a in axes:
        k *= x.shape[a]
    rows = np.reshape(moved, moved.shape[: len(rest)] + (k,))
    ones = np.ones(rows.shape[:-1] + (1,), dtype=rows.dtype)
    before = np.concatenate([ones, np.cumprod(rows[..., :-1], axis=-1)], axis=-1)
    after = np.concatenate([np.cumprod(rows[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    others = before * after
    return np.transpose(np.reshape(others, moved.shape), np.argsort(perm))


def _prod_vjp(g, out, x, *, axis=None, keepdims=False):
    return _expand(g, x, axis, keepdims) * _prod_slope(out, x, axis, keepdims)


def _prod_jvp(t, out, x, *, axis=None, keepdims=False):
    return (t * _prod_slope(out, x, axis, keepdims)).sum(axis=axis, keepdims=keepdims)


prod = defop("prod", np.prod, vjp=_prod_vjp, jvp=_prod_jvp)


@export
def std(x: ArrayLike, *, axis: Any = None, correction: int = 1, keepdims: bool = False) -> Tensor:
    """The standard deviation √var over ``axis`` (``correction=1``: unbiased, torch's default;
    ``np.std`` is ``correction=0``). Its gradient at zero spread is infinite, as torch's."""
    return sqrt(var(x, axis=axis, correction=correction, keepdims=keepdims))


@export(numpy=True)
def average(
    a: ArrayLike,
    axis: Any = None,
    weights: ArrayLike | None = None,
    returned: bool = False,
    *,
    keepdims: bool = False,
) -> Tensor | tuple[Tensor, Tensor | np.ndarray]:
    """``np.average``: Σ w·a / Σ w over ``axis`` (the mean without weights); the weights may be
    tensors too. ``returned=True`` also gives Σ w."""
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        count = np.size(a) / np.size(avg)
        return (avg, np.full_like(avg, count)) if returned else avg
    if np.shape(weights) != np.shape(a):
        if axis is None or np.ndim(weights) != 1:
            raise ValueError(
                f"average: weights of shape {np.shape(weights)} need the shape of a "
                f"{np.shape(a)}, or 1-D along a single axis"
            )
        shape = [1] * np.ndim(a)
        shape[axis] = -1
        weights = np.reshape(weights, shape)
    total = sum(np.multiply(a, weights), axis=axis, keepdims=keepdims)
    scale = sum(np.broadcast_to(weights, np.shape(a)), axis=axis, keepdims=keepdims)
    avg = total / scale
    return (avg, scale) if returned else avg
