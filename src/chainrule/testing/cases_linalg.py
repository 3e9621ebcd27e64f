"""Sample cases for ``cr.linalg`` (registered into ``cases.CASES`` when ``cases`` is imported).

Inputs are built from unconstrained ones so that every case sits at a regular point: square
matrices get 3·I added (well conditioned); cholesky and eigh read symmetric matrices made as
X Xᵀ + 3·I or X + Xᵀ (the symmetric gradient convention then agrees with finite differences);
eigenvectors and singular vectors enter only through sign-invariant expressions.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr

from .cases import Arg, _shape_label, _torch, add_case


def _eye(a):
    """The identity matching ``a``'s last axis and dtype, from ``a``'s own library."""
    if isinstance(a, cr.Tensor):
        return np.eye(a.shape[-1], dtype=a.dtype)
    return _torch().eye(a.shape[-1], dtype=a.dtype)


def _cond(a):
    """``a`` + 3·I: well conditioned for inputs drawn from [−2, 2]."""
    return a + 3 * _eye(a)


def _spd(x):
    return x @ x.mT + 3 * _eye(x)


def _sym(x):
    return x + x.mT


def _eigh_out(w, v):
    """Eigenvalues and squared eigenvectors (sign-invariant), joined on one axis."""
    return (cr if isinstance(w, cr.Tensor) else _torch()).cat([w[..., None, :], v * v], -2)


def _svd_out(u, s, vh):
    """U², S, Vh² (sign-invariant) and U diag(S²) Vh (uses the singular vectors' gradient)."""
    lib = cr if isinstance(s, cr.Tensor) else _torch()
    flat = [u * u, s[..., None], vh * vh, u @ ((s * s)[..., :, None] * vh)]
    return lib.cat([p.reshape(p.shape[:-2] + (-1,)) for p in flat], -1)


for _shape in [(3, 3), (2, 3, 3)]:
    _lbl = _shape_label(_shape)
    add_case(
        "inv", [Arg(_shape)], lambda a: np.linalg.inv(_cond(a)),
        lambda a: _torch().linalg.inv(_cond(a)), _lbl,
    )  # fmt: skip
    add_case(
        "det", [Arg(_shape)], lambda a: np.linalg.det(_cond(a)),
        lambda a: _torch().linalg.det(_cond(a)), _lbl,
    )  # fmt: skip
    add_case(
        "slogdet", [Arg(_shape)], lambda a: np.linalg.slogdet(a)[1],
        lambda a: _torch().linalg.slogdet(a)[1], _lbl,
    )  # fmt: skip
    add_case(
        "cholesky", [Arg(_shape)], lambda x: np.linalg.cholesky(_spd(x)),
        lambda x: _torch().linalg.cholesky(_spd(x)), _lbl,
    )  # fmt: skip
    add_case(
        "eigh", [Arg(_shape)], lambda x: _eigh_out(*np.linalg.eigh(_sym(x))),
        lambda x: _eigh_out(*_torch().linalg.eigh(_sym(x))), _lbl,
    )  # fmt: skip
    add_case(
        "eigvalsh", [Arg(_shape)], lambda x: np.linalg.eigvalsh(_sym(x)),
        lambda x: _torch().linalg.eigvalsh(_sym(x)), _lbl,
    )  # fmt: skip
add_case(
    "eigh", [Arg((3, 3))], lambda x: _eigh_out(*cr.linalg.eigh(_sym(x), UPLO="U")),
    lambda x: _eigh_out(*_torch().linalg.eigh(_sym(x), UPLO="U")), "UPLO-U",
)  # fmt: skip
for _sa, _sb in [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)), ((2, 3, 3), (3, 1))]:
    add_case(
        "solve",
        [Arg(_sa), Arg(_sb)],
        lambda a, b: np.linalg.solve(_cond(a), b),
        lambda a, b: _torch().linalg.solve(_cond(a), b),
        _shape_label(_sa, _sb),
    )  # fmt: skip
for _shape in [(3, 3), (4, 3), (3, 4), (2, 4, 3)]:
    _lbl = _shape_label(_shape)
    add_case(
        "svd", [Arg(_shape)], lambda a: _svd_out(*np.linalg.svd(a, full_matrices=False)),
        lambda a: _svd_out(*_torch().linalg.svd(a, full_matrices=False)), _lbl,
    )  # fmt: skip
    add_case(
        "svdvals", [Arg(_shape)], lambda a: np.linalg.svd(a, compute_uv=False),
        lambda a: _torch().linalg.svdvals(a), _lbl,
    )  # fmt: skip
    add_case(
        "qr", [Arg(_shape)], lambda a: _qr_out(*np.linalg.qr(a)),
        lambda a: _qr_out(*_torch().linalg.qr(a)), _lbl,
    )  # fmt: skip
    add_case(
        "pinv", [Arg(_shape)], np.linalg.pinv, lambda a: _torch().linalg.pinv(a), _lbl,
    )  # fmt: skip


def _qr_out(q, r):
    lib = cr if isinstance(q, cr.Tensor) else _torch()
    return lib.cat([q.reshape(q.shape[:-2] + (-1,)), r.reshape(r.shape[:-2] + (-1,))], -1)


for _n, _op in [(3, "matmul"), (-2, "inv"), (1, "matmul"), (0, "where")]:
    add_case(
        _op,
        [Arg((2, 3, 3))],
        lambda a, n=_n: np.linalg.matrix_power(_cond(a) / 3, n),
        lambda a, n=_n: _torch().linalg.matrix_power(_cond(a) / 3, n),
        f"matrix_power-{_n}",
    )
