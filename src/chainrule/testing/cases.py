"""Sample calls of every registered primitive, over a grid of shapes and settings.

Each case says how to call the op in chainrule and the same computation in PyTorch (imported
only when a case is run against it). The test suite's finite-difference, PyTorch-parity,
forward-mode and second-order tests and ``chainrule gradcheck`` all read this one table
(``cases_fused``, ``cases_numpy`` and ``cases_linalg`` add the fused ops, NumPy's functions
and linear algebra to it when this module is imported); a meta-test fails when a registered
op has no case.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import ops

from ._case_table import (
    _F,
    CASES,
    Arg,
    Case,
    Const,
    _dims,
    _shape_label,
    _torch,
    add_case,
)

# loop variables that tables of different shapes share
_ours: Callable[..., Any]
_theirs: Callable[..., Any]

__all__ = ["CASES", "Arg", "Case", "Const", "add_case"]


# --- unary elementwise ----------------------------------------------------------------------
UNARY_SHAPES = [(), (5,), (3, 4)]
_UNARY = [
    # op, chainrule, torch, input spec(shape)
    ("exp", cr.exp, lambda x: _torch().exp(x), lambda s: Arg(s)),
    ("log", cr.log, lambda x: _torch().log(x), lambda s: Arg(s, 0.2, 3.0)),
    ("log1p", cr.log1p, lambda x: _torch().log1p(x), lambda s: Arg(s, -0.8, 3.0)),
    ("sqrt", cr.sqrt, lambda x: _torch().sqrt(x), lambda s: Arg(s, 0.2, 3.0)),
    ("abs", cr.abs, lambda x: _torch().abs(x), lambda s: Arg(s, away=0.1)),
    ("sin", cr.sin, lambda x: _torch().sin(x), lambda s: Arg(s, -3, 3)),
    ("cos", cr.cos, lambda x: _torch().cos(x), lambda s: Arg(s, -3, 3)),
    ("tanh", cr.tanh, lambda x: _torch().tanh(x), lambda s: Arg(s, -3, 3)),
    ("erf", cr.erf, lambda x: _torch().erf(x), lambda s: Arg(s)),
    ("neg", cr.neg, lambda x: -x, lambda s: Arg(s)),
    ("sigmoid", cr.sigmoid, lambda x: _torch().sigmoid(x), lambda s: Arg(s, -6, 6)),
    ("relu", cr.relu, lambda x: _torch().relu(x), lambda s: Arg(s, away=0.1)),
]
for _name, _ours, _theirs, _spec in _UNARY:
    for _s in UNARY_SHAPES:
        add_case(_name, [_spec(_s)], _ours, _theirs, _shape_label(_s))

for _slope in (0.01, 0.2):
    add_case(
        "leaky_relu",
        [Arg((3, 4), away=0.1)],
        lambda x, s=_slope: cr.leaky_relu(x, negative_slope=s),
        lambda x, s=_slope: _F().leaky_relu(x, s),
        f"slope{_slope}",
    )
for _alpha in (1.0, 0.5):
    add_case(
        "elu",
        [Arg((3, 4), away=0.1)],
        lambda x, a=_alpha: cr.elu(x, alpha=a),
        lambda x, a=_alpha: _F().elu(x, a),
        f"alpha{_alpha}",
    )
for _approx in ("none", "tanh"):
    for _s in [(), (3, 4)]:
        add_case(
            "gelu",
            [Arg(_s, -4, 4)],
            lambda x, a=_approx: cr.gelu(x, approximate=a),
            lambda x, a=_approx: _F().gelu(x, approximate=a),
            f"{_approx}-{_shape_label(_s)}",
        )
for _beta, _thr in ((1.0, 20.0), (2.0, 3.0)):
    add_case(
        "softplus",
        [Arg((3, 4), -4, 4)],
        lambda x, b=_beta, t=_thr: cr.softplus(x, beta=b, threshold=t),
        lambda x, b=_beta, t=_thr: _F().softplus(x, b, t),
        f"beta{_beta}-thr{_thr}",
        twice=_thr > 4,
    )
# astype: float32 → float64 → float32 in the float32 parity test (both casts), identity in float64
add_case(
    "astype",
    [Arg((3, 4))],
    lambda x: x.astype(cr.float64).astype(x.dtype),
    lambda x: x.to(_torch().float64).to(x.dtype),
    "round-trip",
)
for _lo, _hi in ((-0.5, 0.7), (None, 0.3), (-0.3, None)):
    add_case(
        "clip",
        [Arg((3, 4), away=0.05)],
        lambda x, a=_lo, b=_hi: cr.clamp(x, a, b),
        lambda x, a=_lo, b=_hi: _torch().clamp(x, a, b),
        f"{_lo}-{_hi}",
    )

# --- binary elementwise with broadcasting ---------------------------------------------------
BINARY_SHAPES = [
    ((), ()),
    ((3, 4), (3, 4)),
    ((3, 4), (1, 4)),
    ((3, 4), (3, 1)),
    ((3, 1), (1, 4)),
    ((4,), (3, 4)),
    ((), (3, 4)),
    ((2, 3, 4), (3, 1)),
]
_BINARY = [
    ("add", lambda a, b: a + b, lambda sa, sb: (Arg(sa), Arg(sb))),
    ("sub", lambda a, b: a - b, lambda sa, sb: (Arg(sa), Arg(sb))),
    ("mul", lambda a, b: a * b, lambda sa, sb: (Arg(sa), Arg(sb))),
    ("div", lambda a, b: a / b, lambda sa, sb: (Arg(sa), Arg(sb, away=0.5))),
    ("pow", lambda a, b: a**b, lambda sa, sb: (Arg(sa, 0.3, 2.0), Arg(sb, -2, 2))),
    ("maximum", None, lambda sa, sb: (Arg(sa), Arg(sb))),
    ("minimum", None, lambda sa, sb: (Arg(sa), Arg(sb))),
]
for (_name, _expr, _spec), (_sa, _sb) in itertools.product(_BINARY, BINARY_SHAPES):
    if _expr is None:
        _ours = getattr(cr, _name)
        _theirs = lambda a, b, n=_name: getattr(_torch(), n)(a, b)  # noqa: E731
    else:
        _ours = _theirs = _expr
    add_case(_name, _spec(_sa, _sb), _ours, _theirs, _shape_label(_sa, _sb))

# a Python scalar on either side
for _name, _expr, _rexpr in [
    ("add", lambda x: x + 1.5, lambda x: 1.5 + x),
    ("sub", lambda x: x - 1.5, lambda x: 1.5 - x),
    ("mul", lambda x: x * 2.5, lambda x: 2.5 * x),
    ("div", lambda x: x / 2.5, lambda x: 2.5 / x),
]:
    add_case(_name, [Arg((3, 4), away=0.5)], _expr, _expr, "scalar-right")
    add_case(_name, [Arg((3, 4), away=0.5)], _rexpr, _rexpr, "scalar-left")
for _p in (2, 3, 0.5, -1.5):
    add_case(
        "pow",
        [Arg((3, 4), 0.3, 2.0)],
        lambda x, p=_p: x**p,
        lambda x, p=_p: x**p,
        f"scalar-exponent{_p}",
    )
add_case("pow", [Arg((3, 4), -1.0, 1.0)], lambda x: 2.0**x, lambda x: 2.0**x, "scalar-base")

# where(cond, a, b)
for _sa, _sb in [((3, 4), (3, 4)), ((3, 4), (1, 4)), ((), (3, 4))]:
    add_case(
        "where",
        [Const(lambda r: r.random((3, 4)) > 0.5), Arg(_sa), Arg(_sb)],
        cr.where,
        lambda c, a, b: _torch().where(c, a, b),
        _shape_label(_sa, _sb),
    )

# --- matmul -----------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((2, 3), (5, 3, 4)),
    ((1, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)),
]
for _sa, _sb in MATMUL_SHAPES:
    add_case(
        "matmul",
        [Arg(_sa), Arg(_sb)],
        lambda a, b: a @ b,
        lambda a, b: a @ b,
        _shape_label(_sa, _sb),
    )

# --- reductions --------------------------------------------------------------------------------
AXES = [None, 0, -1, (0, 2)]
for _shape, _axis, _keep in itertools.product([(3, 4), (2, 3, 4)], AXES, (False, True)):
    if isinstance(_axis, tuple) and len(_shape) < 3:
        continue
    _lbl = f"{_shape_label(_shape)}-axis{_axis}-keep{_keep}".replace(" ", "")
    for _name, _tname in (
        ("sum", "sum"),
        ("mean", "mean"),
        ("max", "amax"),
        ("min", "amin"),
        ("logsumexp", "logsumexp"),
    ):
        add_case(
            _name,
            [Arg(_shape)],
            lambda x, n=_name, a=_axis, k=_keep: getattr(ops, n)(x, axis=a, keepdims=k),
            lambda x, n=_tname, a=_axis, k=_keep: getattr(_torch(), n)(
                x, dim=_dims(a, x.ndim), keepdim=k
            ),
            _lbl,
        )
    for _corr in (0, 1):
        add_case(
            "var",
            [Arg(_shape)],
            lambda x, a=_axis, k=_keep, c=_corr: x.var(axis=a, correction=c, keepdims=k),
            lambda x, a=_axis, k=_keep, c=_corr: _torch().var(
                x, dim=_dims(a, x.ndim), correction=c, keepdim=k
            ),
            f"{_lbl}-corr{_corr}",
        )
for _name in ("sum", "mean"):
    add_case(
        _name,
        [Arg(())],
        lambda x, n=_name: getattr(cr, n)(x),
        lambda x, n=_name: getattr(_torch(), n)(x),
        "scalar",
    )

for _shape, _axis in [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((5,), 0)]:
    for _name in ("softmax", "log_softmax"):
        add_case(
            _name,
            [Arg(_shape, -3, 3)],
            lambda x, n=_name, a=_axis: getattr(cr, n)(x, axis=a),
            lambda x, n=_name, a=_axis: getattr(_torch(), n)(x, dim=a),
            f"{_shape_label(_shape)}-axis{_axis}",
        )

# --- shape ops ---------------------------------------------------------------------------------
for _src, _dst in [((3, 4), (4, 3)), ((3, 4), (12,)), ((2, 3, 4), (6, -1)), ((), (1, 1))]:
    add_case(
        "reshape",
        [Arg(_src)],
        lambda x, s=_dst: x.reshape(s),
        lambda x, s=_dst: x.reshape(s),
        f"{_shape_label(_src)}-to-{_shape_label(_dst)}",
    )
for _shape, _axes in [((3, 4), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (0, 2, 1))]:
    add_case(
        "permute",
        [Arg(_shape)],
        lambda x, a=_axes: x.permute(*a),
        lambda x, a=_axes: x.permute(*a),
        f"{_shape_label(_shape)}-axes{'-'.join(map(str, _axes))}",
    )
add_case("permute", [Arg((3, 4))], lambda x: x.T, lambda x: x.T, "T")
for _src, _dst in [((1, 4), (3, 4)), ((3, 1), (3, 4)), ((), (2, 3)), ((4,), (2, 3, 4))]:
    add_case(
        "broadcast_to",
        [Arg(_src)],
        lambda x, s=_dst: x.broadcast_to(s),
        lambda x, s=_dst: x.broadcast_to(s),
        f"{_shape_label(_src)}-to-{_shape_label(_dst)}",
    )
for _shape, _axis in [((3, 1, 4), 1), ((1, 3, 1), None), ((1, 3, 1), (0, 2)), ((3, 4), 0)]:
    add_case(
        "squeeze",
        [Arg(_shape)],
        lambda x, a=_axis: cr.squeeze(x, axis=a),
        lambda x, a=_axis: x.squeeze() if a is None else x.squeeze(a),
        f"{_shape_label(_shape)}-axis{_axis}".replace(" ", ""),
    )
for _shape, _axis in [((3, 4), 0), ((3, 4), -1), ((3,), 1)]:
    add_case(
        "unsqueeze",
        [Arg(_shape)],
        lambda x, a=_axis: x.unsqueeze(a),
        lambda x, a=_axis: x.unsqueeze(a),
        f"{_shape_label(_shape)}-axis{_axis}",
    )

_INDEXES = {
    "int": 1,
    "slice": (slice(1, 3), slice(None, None, 2)),
    "neg-step": slice(None, None, -1),
    "none-ellipsis": (None, Ellipsis, 2),
    "int-array-repeats": np.array([0, 2, 0, 0]),
    "two-int-arrays": (np.array([0, 1, 1]), np.array([3, 3, 0])),
    "bool-mask": np.array([True, False, True]),
    "mixed": (slice(None), np.array([1, 1, 3])),
}
for _lbl, _idx in _INDEXES.items():
    add_case(
        "getitem",
        [Arg((3, 4))],
        lambda x, i=_idx: x[i],
        (lambda x: x.flip(0))
        if _lbl == "neg-step"  # torch has no negative steps
        else (lambda x, i=_idx: x[_torch_index(i)]),
        _lbl,
    )


def _torch_index(index):
    torch = _torch()
    if isinstance(index, tuple):
        return tuple(_torch_index(i) for i in index)
    if isinstance(index, np.ndarray):
        return torch.as_tensor(index)
    return index


def _index_add_torch(g, index, shape):
    torch = _torch()
    z = torch.zeros(shape, dtype=g.dtype)
    idx = index if isinstance(index, tuple) else (index,)
    return z.index_put(tuple(torch.as_tensor(i) for i in idx), g, accumulate=True)


for _lbl, _idx, _gshape in [
    ("repeats", np.array([0, 2, 0]), (3, 4)),
    ("pairs", (np.array([0, 0, 2]), np.array([1, 1, 3])), (3,)),
]:
    add_case(
        "index_add",
        [Arg(_gshape)],
        lambda g, i=_idx: ops.index_add(g, index=i, shape=(3, 4)),
        lambda g, i=_idx: _index_add_torch(g, i, (3, 4)),
        _lbl,
    )

for _shapes, _axis in [
    (((2, 3), (4, 3)), 0),
    (((3, 2), (3, 1), (3, 4)), 1),
    (((2, 3), (2, 3)), -1),
]:
    add_case(
        "concatenate",
        [Arg(s) for s in _shapes],
        lambda *xs, a=_axis: cr.concatenate(xs, axis=a),
        lambda *xs, a=_axis: _torch().cat(xs, dim=a),
        f"{_shape_label(*_shapes)}-axis{_axis}",
    )
for _shape, _axis, _n in [((3,), 0, 2), ((2, 3), -1, 3), ((2, 3), 1, 2)]:
    add_case(
        "stack",
        [Arg(_shape)] * _n,
        lambda *xs, a=_axis: cr.stack(xs, axis=a),
        lambda *xs, a=_axis: _torch().stack(xs, dim=a),
        f"{_shape_label(_shape)}-axis{_axis}",
    )


def _torch_pad(x, pad_width, value):
    widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    flat = [int(v) for pair in widths[::-1] for v in pair]
    return _F().pad(x, flat, value=value)


for _shape, _pw, _val in [((3, 4), ((1, 2), (0, 3)), 0.0), ((3,), (2, 1), 1.5), ((2, 3), 1, 0.0)]:
    add_case(
        "pad",
        [Arg(_shape)],
        lambda x, p=_pw, v=_val: cr.pad(x, pad_width=p, value=v),
        lambda x, p=_pw, v=_val: _torch_pad(x, p, v),
        f"{_shape_label(_shape)}-{_pw}",
    )

# the fused ops, NumPy's functions and linear algebra: their own tables (added to CASES on import)
from . import cases_fused, cases_linalg, cases_numpy  # noqa: E402,F401
