"""Sample cases for NumPy's elementwise functions, reductions and scans, products and
array-manipulation functions (registered into ``cases.CASES`` when ``cases`` is imported).

A composition (``np.kron``, ``np.flip``...) has no op of its own: its cases are filed under the
primitive that does its work, with the function's name in the label.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr

from ._case_table import _F, Arg, _dims, _shape_label, _torch, add_case

# loop variables that tables of different shapes share
_spec: Callable[..., Any]
_ours: Callable[..., Any]
_theirs: Callable[..., Any]
_ord: float | str
_sa: tuple[int, ...]
_sb: tuple[int, ...]
_shapes: list[tuple[int, ...]]

# --- elementwise ------------------------------------------------------------------------------
_UNARY = [
    # op, torch name, input spec (shape)
    ("square", "square", lambda s: Arg(s)),
    ("reciprocal", "reciprocal", lambda s: Arg(s, away=0.5)),
    ("log2", "log2", lambda s: Arg(s, 0.2, 3.0)),
    ("log10", "log10", lambda s: Arg(s, 0.2, 3.0)),
    ("expm1", "expm1", lambda s: Arg(s)),
    ("exp2", "exp2", lambda s: Arg(s)),
    ("tan", "tan", lambda s: Arg(s, -1.2, 1.2)),
    ("sinh", "sinh", lambda s: Arg(s)),
    ("cosh", "cosh", lambda s: Arg(s)),
    ("arcsin", "asin", lambda s: Arg(s, -0.9, 0.9)),
    ("arccos", "acos", lambda s: Arg(s, -0.9, 0.9)),
    ("arctan", "atan", lambda s: Arg(s, -3, 3)),
    ("arcsinh", "asinh", lambda s: Arg(s, -3, 3)),
    ("arccosh", "acosh", lambda s: Arg(s, 1.1, 3.0)),
    ("arctanh", "atanh", lambda s: Arg(s, -0.9, 0.9)),
    ("deg2rad", "deg2rad", lambda s: Arg(s, -180, 180)),
    ("rad2deg", "rad2deg", lambda s: Arg(s, -3, 3)),
    ("sinc", "sinc", lambda s: Arg(s, -2, 2, away=0.1)),
    ("floor", "floor", lambda s: Arg(s, -3, 3)),
    ("ceil", "ceil", lambda s: Arg(s, -3, 3)),
    ("round", "round", lambda s: Arg(s, -3, 3)),
    ("trunc", "trunc", lambda s: Arg(s, -3, 3)),
    ("sign", "sign", lambda s: Arg(s, away=0.1)),
    ("nan_to_num", "nan_to_num", lambda s: Arg(s)),
]
add_case("imag", [Arg((3, 4))], np.imag, lambda x: 0 * x, "real-input")  # torch refuses reals
for _name, _tname, _spec in _UNARY:
    for _s in [(), (3, 4)]:
        add_case(
            _name,
            [_spec(_s)],
            lambda x, n=_name: getattr(np, n)(x),  # through NumPy's dispatch
            lambda x, n=_tname: getattr(_torch(), n)(x),
            _shape_label(_s),
        )

_BINARY = [
    ("logaddexp", "logaddexp", lambda sa, sb: (Arg(sa), Arg(sb))),
    ("logaddexp2", "logaddexp2", lambda sa, sb: (Arg(sa), Arg(sb))),
    ("arctan2", "atan2", lambda sa, sb: (Arg(sa), Arg(sb, away=0.3))),
    ("hypot", "hypot", lambda sa, sb: (Arg(sa, away=0.2), Arg(sb, away=0.2))),
    ("fmax", "fmax", lambda sa, sb: (Arg(sa), Arg(sb))),
    ("fmin", "fmin", lambda sa, sb: (Arg(sa), Arg(sb))),
    ("remainder", "remainder", lambda sa, sb: (Arg(sa, -4, 4), Arg(sb, away=0.5))),
    ("fmod", "fmod", lambda sa, sb: (Arg(sa, -4, 4), Arg(sb, away=0.5))),
]
for _name, _tname, _spec in _BINARY:
    for _sa, _sb in [((3, 4), (3, 4)), ((3, 4), (1, 4)), ((), (3, 4))]:
        add_case(
            _name,
            _spec(_sa, _sb),
            getattr(cr, _name),
            lambda a, b, n=_tname: getattr(_torch(), n)(a, b),
            _shape_label(_sa, _sb),
        )
add_case("remainder", [Arg((3, 4), -4, 4)], lambda x: x % 1.5, lambda x: x % 1.5, "operator")
add_case(
    "max", [Arg((3, 4))], lambda x: np.amax(cr.stack([x, x]), axis=0),
    lambda x: _torch().amax(_torch().stack([x, x]), dim=0), "ties-shared",
)  # fmt: skip

# --- reductions and scans --------------------------------------------------------------------
for _shape, _axis, _keep in [
    ((3, 4), None, False),
    ((3, 4), 0, True),
    ((3, 4), -1, False),
    ((2, 3, 4), (0, 2), False),
]:
    _lbl = f"{_shape_label(_shape)}-axis{_axis}-keep{_keep}".replace(" ", "")
    add_case(
        "prod",
        [Arg(_shape, away=0.3)],
        lambda x, a=_axis, k=_keep: np.prod(x, axis=a, keepdims=k),
        lambda x, a=_axis, k=_keep: _torch_prod(x, a, k),
        _lbl,
    )
    for _corr in (0, 1):
        add_case(
            "var",
            [Arg(_shape)],
            lambda x, a=_axis, k=_keep, c=_corr: x.std(axis=a, correction=c, keepdims=k),
            lambda x, a=_axis, k=_keep, c=_corr: _torch().std(
                x, dim=_dims(a, x.ndim), correction=c, keepdim=k
            ),
            f"std-{_lbl}-corr{_corr}",
        )
add_case("var", [Arg((3, 4))], np.var, lambda x: _torch().var(x, correction=0), "np.var")
add_case(
    "var", [Arg((3, 4))], lambda x: np.std(x, ddof=1),
    lambda x: _torch().std(x, correction=1), "np.std-ddof1",
)  # fmt: skip


def _torch_prod(x, axis, keepdims):
    torch = _torch()
    if axis is None:
        out = torch.prod(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    for a in sorted((axis,) if isinstance(axis, int) else axis, key=lambda a: -(a % x.ndim)):
        x = torch.prod(x, dim=a, keepdim=keepdims)
    return x


for _name in ("cumsum", "cumprod"):
    for _shape, _axis in [((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((5,), 0)]:
        add_case(
            _name,
            [Arg(_shape, away=0.3)],
            lambda x, n=_name, a=_axis: getattr(np, n)(x, axis=a),
            lambda x, n=_name, a=_axis: getattr(_torch(), n)(
                x.reshape(-1) if a is None else x, dim=0 if a is None else a
            ),
            f"{_shape_label(_shape)}-axis{_axis}",
        )
for _shape, _n, _axis in [((3, 5), 1, -1), ((4, 3), 2, 0), ((6,), 3, 0)]:
    add_case(
        "diff",
        [Arg(_shape)],
        lambda x, n=_n, a=_axis: np.diff(x, n=n, axis=a),
        lambda x, n=_n, a=_axis: _torch().diff(x, n=n, dim=a),
        f"{_shape_label(_shape)}-n{_n}-axis{_axis}",
    )
add_case(
    "diff", [Arg((3, 4)), Arg((3, 1))], lambda x, p: cr.diff(x, prepend=p, append=1.5),
    lambda x, p: _torch().diff(x, prepend=p, append=_torch().full((3, 1), 1.5, dtype=x.dtype)),
    "prepend-append",
)  # fmt: skip
for _args, _lbl in [((), "2d"), ((1,), "offset1"), ((-1, 1, 2), "3d-axes12")]:
    _shape = (2, 3, 4) if _lbl.startswith("3d") else (3, 4)
    add_case(
        "getitem",
        [Arg(_shape)],
        lambda x, a=_args: np.trace(x, *a),
        lambda x, a=_args: _torch_trace(x, *a),
        f"trace-{_lbl}",
    )


def _torch_trace(x, offset=0, axis1=0, axis2=1):
    return _torch().diagonal(x, offset, axis1, axis2).sum(-1)


for _ord, _axis, _shape in [(2, None, (3, 4)), (2, -1, (3, 4)), (3, 0, (3, 4)), (1.5, None, (5,))]:
    add_case(
        "vector_norm",
        [Arg(_shape, away=0.1)],
        lambda x, o=_ord, a=_axis: cr.linalg.vector_norm(x, o, a),
        lambda x, o=_ord, a=_axis: _torch().linalg.vector_norm(x, o, a),
        f"ord{_ord}-{_shape_label(_shape)}-axis{_axis}",
    )
add_case(
    "vector_norm", [Arg((3, 4))], lambda x: np.linalg.norm(x, axis=1, keepdims=True),
    lambda x: _torch().linalg.norm(x, dim=1, keepdim=True), "np.linalg.norm-keepdims",
)  # fmt: skip
_MATRIX_NORMS: list[tuple[float | str, str]] = [
    ("fro", "vector_norm"), ("nuc", "svdvals"), (2, "svdvals"), (-2, "svdvals"), (1, "max"),
    (-1, "min"), (np.inf, "max"),
]  # fmt: skip
for _ord, _op in _MATRIX_NORMS:
    add_case(
        _op,
        [Arg((3, 4), away=0.1)],
        lambda x, o=_ord: np.linalg.norm(x, o),
        lambda x, o=_ord: _torch().linalg.matrix_norm(x, o),
        f"matrix-norm-{_ord}",
    )
for _ord in (np.inf, -np.inf, 1):
    add_case(
        "max" if _ord == np.inf else "min" if _ord == -np.inf else "abs",
        [Arg((5,), away=0.1)],
        lambda x, o=_ord: np.linalg.norm(x, o),
        lambda x, o=_ord: _torch().linalg.vector_norm(x, o),
        f"vector-norm-{_ord}",
    )
add_case("vector_norm", [Arg((2, 3))], lambda x: x.norm(), lambda x: x.norm(), "tensor.norm")

# --- products --------------------------------------------------------------------------------
_EINSUMS: list[tuple[str, list[tuple[int, ...]]]] = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),
    ("...ij,...jk", [(2, 2, 3), (1, 3, 4)]),
    ("bij,bjk,bkl->bil", [(2, 2, 3), (2, 3, 4), (2, 4, 2)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij,ij->i", [(2, 3), (1, 3)]),
]
for _sub, _shapes in _EINSUMS:
    add_case(
        "einsum",
        [Arg(s) for s in _shapes],
        lambda *xs, s=_sub: np.einsum(s, *xs),
        lambda *xs, s=_sub: _torch().einsum(s, *xs),
        _sub,
    )
_PRODUCTS: list[tuple[str, list[tuple[int, ...]], Callable[..., Any]]] = [
    ("dot", [(3,), (3,)], lambda a, b: _torch().dot(a, b)),
    ("dot", [(2, 3), (3, 4)], lambda a, b: a @ b),
    ("dot", [(2, 2, 3), (2, 3, 4)], lambda a, b: _torch().tensordot(a, b, dims=([-1], [-2]))),
    ("vdot", [(2, 3), (3, 2)], lambda a, b: _torch().vdot(a.reshape(-1), b.reshape(-1))),
    ("inner", [(2, 3), (4, 3)], lambda a, b: _torch().inner(a, b)),
    ("outer", [(3,), (2, 2)], lambda a, b: _torch().outer(a, b.reshape(-1))),
    ("tensordot", [(2, 3, 4), (3, 4, 2)], lambda a, b: _torch().tensordot(a, b, dims=2)),
    ("kron", [(2, 2), (3, 2)], lambda a, b: _torch().kron(a, b)),
    ("kron", [(2,), (2, 3)], lambda a, b: _torch().kron(a, b)),
]
for _name, _shapes, _theirs in _PRODUCTS:
    add_case(
        "einsum",
        [Arg(s) for s in _shapes],
        lambda a, b, n=_name: getattr(np, n)(a, b),
        _theirs,
        f"np.{_name}-{_shape_label(*_shapes)}",
    )
add_case(
    "einsum", [Arg((2, 3, 4)), Arg((4, 3, 2))], lambda a, b: cr.tensordot(a, b, ([1, 2], [1, 0])),
    lambda a, b: _torch().tensordot(a, b, dims=([1, 2], [1, 0])), "tensordot-axes-pairs",
)  # fmt: skip
for _sa, _sb, _axis in [((3,), (3,), -1), ((4, 3), (3,), -1), ((3, 2), (3, 2), 0)]:
    add_case(
        "stack",
        [Arg(_sa), Arg(_sb)],
        lambda a, b, ax=_axis: np.cross(a, b, axis=ax),
        lambda a, b, ax=_axis: _torch().linalg.cross(*_torch().broadcast_tensors(a, b), dim=ax),
        f"cross-{_shape_label(_sa, _sb)}-axis{_axis}",
    )

# --- array manipulation ---------------------------------------------------------------------
_ARRAYS: list[tuple[str, str, Callable[..., Any], Callable[..., Any], list[tuple[int, ...]]]] = [
    # op that does the work, label, chainrule, torch, input shapes
    ("getitem", "flip", lambda x: np.flip(x, 1), lambda x: x.flip(1), [(3, 4)]),
    ("getitem", "take", lambda x: np.take(x, [3, 0, 3]), lambda x: x.reshape(-1)[[3, 0, 3]],
     [(2, 3)]),
    ("getitem", "take-axis", lambda x: np.take(x, [2, 2, 0], axis=1),
     lambda x: x[:, [2, 2, 0]], [(2, 3)]),
    ("pad", "np.pad", lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=0.5),
     lambda x: _F().pad(x, (2, 1, 1, 0), value=0.5), [(2, 3)]),
    ("div", "average-weights", lambda x, w: np.average(x, axis=0, weights=w),
     lambda x, w: (x * w[:, None]).sum(0) / w.sum(), [(3, 2), (3,)]),
    ("getitem", "flipud", np.flipud, lambda x: x.flipud(), [(3, 4)]),
    ("getitem", "fliplr", np.fliplr, lambda x: x.fliplr(), [(3, 4)]),
    ("getitem", "take_along_axis", lambda x: np.take_along_axis(x, np.array([[2, 0], [1, 1]]), 1),
     lambda x: x.gather(1, _torch().tensor([[2, 0], [1, 1]])), [(2, 3)]),
    ("getitem", "rot90", np.rot90, lambda x: _torch().rot90(x), [(3, 4)]),
    ("getitem", "rot90-k3", lambda x: np.rot90(x, 3, (1, 2)),
     lambda x: _torch().rot90(x, 3, (1, 2)), [(2, 3, 4)]),
    ("getitem", "roll", lambda x: np.roll(x, 2, axis=1), lambda x: x.roll(2, 1), [(3, 4)]),
    ("getitem", "roll-flat", lambda x: np.roll(x, -3), lambda x: x.roll(-3), [(3, 4)]),
    ("getitem", "repeat", lambda x: np.repeat(x, [1, 3, 2], axis=0),
     lambda x: x.repeat_interleave(_torch().tensor([1, 3, 2]), dim=0), [(3, 4)]),
    ("getitem", "tile", lambda x: np.tile(x, (2, 1, 2)), lambda x: x.tile((2, 1, 2)), [(3, 4)]),
    ("getitem", "diagonal", lambda x: np.diagonal(x, -1, 0, 2),
     lambda x: x.diagonal(-1, 0, 2), [(3, 2, 4)]),
    ("getitem", "sort", lambda x: np.sort(x, axis=0), lambda x: x.sort(0).values, [(3, 4)]),
    ("getitem", "split", lambda x: np.split(x, 2, axis=1)[1],
     lambda x: x.split(2, dim=1)[1], [(3, 4)]),
    ("getitem", "array_split", lambda x: np.array_split(x, 3)[0],
     lambda x: _torch().tensor_split(x, 3)[0], [(5, 2)]),
    ("getitem", "vsplit", lambda x: np.vsplit(x, 2)[1], lambda x: _torch().vsplit(x, 2)[1],
     [(4, 3)]),
    ("getitem", "hsplit", lambda x: np.hsplit(x, 2)[0], lambda x: _torch().hsplit(x, 2)[0],
     [(3, 4)]),
    ("getitem", "dsplit", lambda x: np.dsplit(x, 2)[1], lambda x: _torch().dsplit(x, 2)[1],
     [(2, 3, 4)]),
    ("getitem", "gradient", lambda x: np.gradient(x, 0.5, axis=0),
     lambda x: _torch().gradient(x, spacing=0.5, dim=0)[0], [(4, 3)]),
    ("getitem", "gradient-edge2", lambda x: np.gradient(x, edge_order=2),
     lambda x: _torch().gradient(x, edge_order=2)[0], [(5,)]),
    ("index_add", "diag-k1", lambda x: np.diag(x, 1), lambda x: _torch().diag(x, 1), [(3,)]),
    ("where", "tril", lambda x: np.tril(x, -1), lambda x: x.tril(-1), [(2, 3, 4)]),
    ("where", "triu", np.triu, lambda x: x.triu(), [(4, 3)]),
    ("where", "select", lambda x: np.select([x.data > 0.5, x.data < -1], [x, x * x], 1.0),
     lambda x: _torch().where(x > 0.5, x, _torch().where(x < -1, x * x, 1.0)), [(3, 4)]),
    ("permute", "moveaxis", lambda x: np.moveaxis(x, [0, 1], [-1, 0]),
     lambda x: x.movedim((0, 1), (-1, 0)), [(2, 3, 4)]),
    ("permute", "rollaxis", lambda x: np.rollaxis(x, 2), lambda x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("reshape", "ravel", np.ravel, lambda x: x.ravel(), [(3, 4)]),
    ("reshape", "atleast_3d", np.atleast_3d, lambda x: x.reshape(1, 4, 1), [(4,)]),
    ("reshape", "atleast_2d", np.atleast_2d, lambda x: x.reshape(1, 3), [(3,)]),
    ("reshape", "atleast_1d", np.atleast_1d, lambda x: x.reshape(1), [()]),
    ("mul", "conj", lambda x: np.conjugate(x) * x, lambda x: x.conj() * x, [(3, 4)]),
    ("concatenate", "vstack", lambda a, b: np.vstack([a, b]),
     lambda a, b: _torch().vstack([a, b]), [(3,), (2, 3)]),
    ("concatenate", "hstack", lambda a, b: np.hstack([a, b]),
     lambda a, b: _torch().hstack([a, b]), [(2, 3), (2, 1)]),
    ("concatenate", "dstack", lambda a, b: np.dstack([a, b]),
     lambda a, b: _torch().dstack([a, b]), [(2, 3), (2, 3)]),
    ("concatenate", "row_stack", lambda a, b: cr.row_stack([a, b]),  # np.row_stack: deprecated
     lambda a, b: _torch().vstack([a, b]), [(3,), (2, 3)]),
    ("concatenate", "column_stack", lambda a, b: np.column_stack([a, b]),
     lambda a, b: _torch().column_stack([a, b]), [(3,), (3, 2)]),
    ("concatenate", "append", lambda a, b: np.append(a, b),
     lambda a, b: _torch().cat([a.reshape(-1), b.reshape(-1)]), [(2, 2), (3,)]),
]  # fmt: skip
for _op, _lbl, _ours, _theirs, _shapes in _ARRAYS:
    add_case(_op, [Arg(s) for s in _shapes], _ours, _theirs, _lbl)
add_case("abs", [Arg((3, 4), away=0.1)], np.fabs, lambda x: _torch().abs(x), "fabs")
add_case(
    "getitem", [Arg((4, 3))], lambda x: np.partition(x, 1, axis=1),
    lambda x: x.sort(1).values, "partition",  # of 3 values around the 2nd: fully sorted
)  # fmt: skip
add_case(
    "mul", [Arg(()), Arg((2,))], lambda a, b: np.linspace(a, b, 4),
    lambda a, b: a + _torch().linspace(0, 1, 4, dtype=a.dtype)[:, None] * (b - a), "linspace",
)  # fmt: skip
