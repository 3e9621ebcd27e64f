"""Scans and differences along an axis: cumsum, cumprod, diff (``axis=None``: the flattened
array, as NumPy). Their reverse rules run the scan backwards along the same axis.
``gradient`` (NumPy's finite-difference derivative) is a composition of slices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._registry import LINEAR, defop, either, export
from .shape import _along, broadcast_to, concatenate, getitem, pad, reshape

if TYPE_CHECKING:  # annotations only: op files do not import the engine
    from numpy.typing import ArrayLike

    from .._tensor import Tensor


def _backwards(x, axis):
    """``x`` reversed along ``axis`` (a slice, so it is differentiable on tensors)."""
    return x[_along(axis, x.ndim, slice(None, None, -1))]


# y = cumsum(x):  x̄ᵢ = Σ_{j≥i} ȳⱼ, a cumulative sum run from the end
def _cumsum_vjp(g, out, x, *, axis=None):
    if axis is None:
        return np.reshape(_backwards(np.cumsum(_backwards(g, 0)), 0), x.shape)
    return _backwards(np.cumsum(_backwards(g, axis), axis=axis), axis)


cumsum = defop("cumsum", lambda x, *, axis=None: np.cumsum(x, axis=axis), vjp=_cumsum_vjp,
               jvp=LINEAR)  # fmt: skip


# y = cumprod(x):  ∂yⱼ/∂xᵢ = Π_{k≤j, k≠i} x_k for i ≤ j. Along a row whose first zero is at z
# (z = K without one), with y₋ = Π_{k<z} x_k and Pⱼ = Π_{z<k≤j} x_k:
#   x̄ᵢ = (Σ_{i≤j<z} ȳⱼyⱼ)/xᵢ for i < z,   x̄_z = y₋ Σ_{j≥z} ȳⱼPⱼ,   x̄ᵢ = 0 for i > z;
#   ẏⱼ = yⱼ Σ_{i≤j} ẋᵢ/xᵢ for j < z,       ẏⱼ = ẋ_z y₋ Pⱼ for j ≥ z.
# Without zeros that is x̄ = (Σ_{j≥i} ȳⱼyⱼ)/x and ẏ = y·cumsum(ẋ/x). O(K) per row either way.
# Those forms leave out terms that are 0 at the point but not their derivatives (x_z times
# others), so a rule that is recorded to be differentiated again (on tensors) uses the full
# matrix C[i, j] = Π_{k≤j, k≠i} x_k instead (K² per row).
def _zero_split(x):
    """Along the last axis: where the entries come before the first zero, are it, or after."""
    zero = np.asarray(x == 0)
    k = zero.shape[-1]
    first = np.where(zero.any(axis=-1, keepdims=True), zero.argmax(axis=-1)[..., None], k)
    j = np.arange(k)
    return j < first, j == first, j > first


def _cumprod_parts(out, x):
    before, at, after = _zero_split(x)
    safe = np.where(before, x, 1)
    head = np.prod(safe, axis=-1, keepdims=True)  # y₋
    tail = np.cumprod(np.where(after, x, 1), axis=-1)  # Pⱼ for j ≥ z
    return before, at, safe, head, tail


def _cumprod_last_vjp(g, out, x):
    before, at, safe, head, tail = _cumprod_parts(out, x)
    own = _backwards(np.cumsum(_backwards(g * out * before, -1), axis=-1), -1) / safe * before
    return own + at * (head * (g * tail * ~before).sum(axis=-1, keepdims=True))


def _cumprod_last_jvp(t, out, x):
    before, at, safe, head, tail = _cumprod_parts(out, x)
    own = out * np.cumsum(t / safe * before, axis=-1) * before
    return own + ~before * ((t * at).sum(axis=-1, keepdims=True) * head * tail)


def _cumprod_matrix_vjp(g, out, x):
    k = x.shape[-1]
    ones_at_i = np.where(np.eye(k, dtype=bool), 1, x[..., None, :])
    c = np.cumprod(ones_at_i, axis=-1) * np.triu(np.ones((k, k), dtype=bool))
    return (c * g[..., None, :]).sum(axis=-1)


def _cumprod_vjp(g, out, x, *, axis=None):
    if axis is None:
        return np.reshape(_cumprod_vjp(g, out, np.reshape(x, (-1,)), axis=0), x.shape)
    if not np.any(x == 0):
        return _backwards(np.cumsum(_backwards(g * out, axis), axis=axis), axis) / x
    gm, om, xm = (np.swapaxes(v, axis, -1) for v in (g, out, x))
    last = _cumprod_last_vjp if type(xm) is np.ndarray else _cumprod_matrix_vjp
    return np.swapaxes(last(gm, om, xm), axis, -1)


def _cumprod_jvp(t, out, x, *, axis=None):
    if axis is None:
        return _cumprod_last_jvp(np.reshape(t, (-1,)), out, np.reshape(x, (-1,)))
    if not np.any(x == 0):
        return out * np.cumsum(t / x, axis=axis)
    tm, om, xm = (np.swapaxes(v, axis, -1) for v in (t, out, x))
    return np.swapaxes(_cumprod_last_jvp(tm, om, xm), axis, -1)


cumprod = defop("cumprod", lambda x, *, axis=None: np.cumprod(x, axis=axis), vjp=_cumprod_vjp,
                jvp=_cumprod_jvp)  # fmt: skip

_pad = either(pad)


# y = diff(x, n): n first differences yᵢ = x_{i+1} − xᵢ. The adjoint of one difference is
# minus the difference of ȳ padded with one zero at each end: x̄ = −diff([0, ȳ, 0]).
def _diff_vjp(g, out, x, *, n=1, axis=-1):
    widths = [(0, 0)] * x.ndim
    widths[axis % x.ndim] = (1, 1)
    for _ in range(n):
        g = -np.diff(_pad(g, pad_width=widths), axis=axis)
    return g


_diff = defop("diff", lambda x, *, n=1, axis=-1: np.diff(x, n=n, axis=axis), vjp=_diff_vjp,
              jvp=LINEAR, public=False)  # fmt: skip


@export(numpy=True)
def diff(
    a: ArrayLike, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None
) -> Tensor:
    """The n-th differences along ``axis`` (``np.diff``), after joining ``prepend`` and
    ``append`` (scalars are broadcast to one slice); shape shrinks by n along ``axis``."""
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    if prepend is not None or append is not None:
        shape = list(np.shape(a))
        shape[axis] = 1
        parts = [a]
        if prepend is not None:
            parts.insert(0, prepend if np.ndim(prepend) else broadcast_to(prepend, shape=shape))
        if append is not None:
            parts.append(append if np.ndim(append) else broadcast_to(append, shape=shape))
        a = concatenate(*parts, axis=axis)
    # n = 0: the input itself as a new tensor, as torch.diff returns
    return _diff(a, n=n, axis=axis) if n else reshape(a, shape=np.shape(a))


@export(numpy=True)
def gradient(
    f: ArrayLike, *varargs: float, axis: Any = None, edge_order: int = 1
) -> Tensor | tuple[Tensor, ...]:
    """``np.gradient`` with uniform spacing: central differences inside, one-sided at the
    edges (first or second order); one result per axis (a tuple when several)."""
    nd = np.ndim(f)
    axes = list(range(nd)) if axis is None else [a % nd for a in np.atleast_1d(axis)]
    spacing = list(varargs) or [1.0]
    if len(spacing) == 1:
        spacing = spacing * len(axes)
    if len(spacing) != len(axes) or any(np.ndim(h) for h in spacing):
        raise NotImplementedError("gradient: only one scalar spacing per axis is supported")
    out = [_gradient_1(f, a, float(h), edge_order, nd) for a, h in zip(axes, spacing)]
    return out[0] if len(out) == 1 else tuple(out)


def _gradient_1(f, axis, h, edge_order, nd):
    n = np.shape(f)[axis]
    if n < edge_order + 1:
        raise ValueError(f"gradient: an axis of length {n} needs at least {edge_order + 1}")

    def at(i):
        return getitem(f, index=_along(axis, nd, slice(i, None if i == -1 else i + 1)))

    inner = (
        getitem(f, index=_along(axis, nd, slice(2, None)))
        - getitem(f, index=_along(axis, nd, slice(None, -2)))
    ) / (2 * h)
    if edge_order == 1:
        first, last = (at(1) - at(0)) / h, (at(-1) - at(-2)) / h
    else:
        first = (-1.5 * at(0) + 2 * at(1) - 0.5 * at(2)) / h
        last = (1.5 * at(-1) - 2 * at(-2) + 0.5 * at(-3)) / h
    return concatenate(first, inner, last, axis=axis)
