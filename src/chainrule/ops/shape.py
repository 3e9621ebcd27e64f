"""Ops that move values without changing them: reshape, permute, broadcast, index, join, pad.

Their reverse rules move the gradient back the same way (indexing scatters it with addition).
"""

from __future__ import annotations

import numpy as np

from ._registry import LINEAR, defop, either


def _along(axis: int, nd: int, index):
    """An index applying ``index`` to ``axis`` and taking everything elsewhere."""
    return (slice(None),) * (axis % nd) + (index,)


reshape = defop(
    "reshape",
    lambda x, *, shape: np.reshape(x, shape),
    vjp=lambda g, out, x, *, shape: g.reshape(x.shape),
    jvp=LINEAR,
)


# permute(x, axes): x̄ = permute(ḡ, argsort(axes))
def _permute_vjp(g, out, x, *, axes):
    return np.transpose(g, np.argsort(axes))


permute = defop("permute", lambda x, *, axes: np.transpose(x, axes), vjp=_permute_vjp, jvp=LINEAR)

# broadcast_to: the registry's un-broadcasting sums ḡ back to x's shape.
broadcast_to = defop(
    "broadcast_to",
    lambda x, *, shape: np.broadcast_to(x, shape),
    vjp=lambda g, out, x, *, shape: g,
    jvp=LINEAR,
)


def _squeeze(x, *, axis=None):
    if axis is not None:
        axes = (axis,) if isinstance(axis, int) else axis
        # torch leaves a non-unit axis alone instead of failing
        axis = tuple(a for a in axes if x.shape[a] == 1)
    return np.squeeze(x, axis=axis)


squeeze = defop(
    "squeeze", _squeeze, vjp=lambda g, out, x, *, axis=None: g.reshape(x.shape), jvp=LINEAR
)
unsqueeze = defop(
    "unsqueeze",
    lambda x, *, axis: np.expand_dims(x, axis),
    vjp=lambda g, out, x, *, axis: g.reshape(x.shape),
    jvp=LINEAR,
)


# x[index]: x̄ = zeros like x with ḡ added at index (repeated integer indices add up).
def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) for i in items)


def _index_add(g, *, index, shape):
    """zeros(shape) with g added at ``index``: the adjoint of ``x[index]``."""
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


# indexing and joining are public in ``ops`` only: ``chainrule`` indexes with ``t[...]`` and
# joins sequences (``cr.concatenate([a, b])``, as torch.cat)
index_add = defop(
    "index_add",
    _index_add,
    vjp=lambda g, out, x, *, index, shape: g[index],
    jvp=LINEAR,
    public="ops",
)
_scatter = either(index_add)
getitem = defop(
    "getitem",
    lambda x, *, index: x[index],
    vjp=lambda g, out, x, *, index: _scatter(g, index=index, shape=x.shape),
    jvp=LINEAR,
    public="ops",
)


# concatenate / stack: each input's gradient is its slice of ḡ.
def _concat_vjp(g, out, *xs, axis=0, argnum):
    start = 0
    for x in xs[:argnum]:
        start += x.shape[axis]
    sl = [slice(None)] * g.ndim
    sl[axis] = slice(start, start + xs[argnum].shape[axis])
    return g[tuple(sl)]


def _stack_vjp(g, out, *xs, axis=0, argnum):
    return g[(slice(None),) * (axis % g.ndim) + (argnum,)]


concatenate = defop(
    "concatenate",
    lambda *xs, axis=0: np.concatenate(xs, axis=axis),
    vjp=_concat_vjp,
    variadic=True,
    jvp=LINEAR,
    public="ops",
)
stack = defop(
    "stack",
    lambda *xs, axis=0: np.stack(xs, axis=axis),
    vjp=_stack_vjp,
    variadic=True,
    jvp=LINEAR,
    public="ops",
)


# pad with a constant (NumPy's pad_width: one (before, after) pair per axis):
#   x̄ = ḡ with the padding cut off.
def _pad(x, *, pad_width, value=0.0):
    return np.pad(x, pad_width, mode="constant", constant_values=value)


def _pad_vjp(g, out, x, *, pad_width, value=0.0):
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    return g[tuple(slice(int(b), int(b) + n) for (b, _), n in zip(widths, x.shape))]


pad = defop(
    "pad",
    _pad,
    vjp=_pad_vjp,
    jvp=lambda t, out, x, *, pad_width, value=0.0: _pad(t, pad_width=pad_width),
)
