"""``cr.linalg``: differentiable ``numpy.linalg`` (and ``torch.linalg``) for tensors.

Every function is batched over leading axes as NumPy is, and is also what ``np.linalg.<name>``
runs on a tensor. The rules live in ``chainrule.ops.linalg``; this module gives them NumPy's
signatures and result tuples. Degenerate points: a singular matrix makes ``inv``, ``solve``
and the gradient of ``slogdet`` raise ``numpy.linalg.LinAlgError``; ``det``'s gradient there is
the cofactor matrix (torch returns 0); at repeated eigenvalues (``eigh``) or singular
values (``svd``) the vectors' gradient does not exist and comes out inf or nan, as in torch;
``eigvalsh``, ``svdvals`` and the norms built on them stay differentiable there.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import ops
from ._tensor import Tensor, as_tensor
from .ops import linalg as _la
from .ops.products import cross, outer, tensordot

inv = _la.inv
det = _la.det
eigvalsh = _la.eigvalsh
svdvals = _la.svdvals


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


def _shape(a: Any) -> tuple[int, ...]:
    return tuple(np.shape(a))


def _square(name: str, a: Any) -> tuple[int, ...]:
    shape = _shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected square matrices (..., M, M), got shape {shape}")
    return shape


def solve(a: Any, b: Any) -> Tensor:
    """X with A X = B; A (..., M, M), B (M,) or (..., M, K) (NumPy 2's rule for 1-D B)."""
    _square("solve", a)
    return _la.solve(a, b)


def slogdet(a: Any) -> SlogdetResult:
    """(sign, log|det A|) of (..., M, M); the sign is a constant, log|det| differentiable."""
    _square("slogdet", a)
    data = a.data if isinstance(a, Tensor) else np.asarray(a)
    sign = Tensor._wrap(np.asarray(np.linalg.slogdet(data)[0]))
    return SlogdetResult(sign, _la.logabsdet(a))


def cholesky(a: Any, upper: bool = False) -> Tensor:
    """L with A = L Lᵀ (lower, from A's lower triangle), or Lᵀ with ``upper=True``."""
    _square("cholesky", a)
    low = _la.cholesky(a)
    return low.mT if upper else low


def eigh(a: Any, UPLO: str = "L") -> EighResult:  # noqa: N803 - NumPy's name
    """Eigenvalues (..., M), ascending, and eigenvectors (..., M, M) of symmetric matrices."""
    n = _square("eigh", a)[-1]
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    w, v = _la.unpack(_la.eigh(a, UPLO=UPLO), _shape(a)[:-2], [(n,), (n, n)])
    return EighResult(w, v)


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> SVDResult | Tensor:
    """U (..., M, K), S (..., K), Vh (..., K, N) with K = min(M, N) and A = U diag(S) Vh.

    With ``full_matrices=True`` (NumPy's default) U is (..., M, M) and Vh (..., N, N): their
    extra columns (rows) span the complement of A's column (row) space, which has no unique
    basis, so they are constants with no gradient, as torch ignores theirs.
    ``compute_uv=False`` returns S alone (``svdvals``). The gradient of U and Vh exists where
    the singular values are distinct (``hermitian`` is accepted for NumPy's signature).
    """
    shape = _shape(a)
    if len(shape) < 2:
        raise ValueError(f"svd: expected matrices (..., M, N), got shape {shape}")
    if not compute_uv:
        return _la.svdvals(a)
    m, n = shape[-2:]
    k = min(m, n)
    u, s, vh = _la.unpack(_la.svd(a), shape[:-2], [(m, k), (k,), (k, n)])
    if full_matrices and m != n:
        data = a.data if isinstance(a, Tensor) else np.asarray(a)
        full_u, _, full_vh = np.linalg.svd(data, full_matrices=True)
        if m > k:
            u = ops.concatenate(u, full_u[..., :, k:], axis=-1)
        else:
            vh = ops.concatenate(vh, full_vh[..., k:, :], axis=-2)
    return SVDResult(u, s, vh)


def qr(a: Any, mode: str = "reduced") -> QRResult | Tensor:
    """Q (..., M, K) with orthonormal columns and upper-triangular R (..., K, N), K = min(M, N);
    ``mode="r"`` returns R alone; ``"complete"`` only where it equals ``"reduced"`` (M ≤ N)."""
    shape = _shape(a)
    if len(shape) < 2:
        raise ValueError(f"qr: expected matrices (..., M, N), got shape {shape}")
    m, n = shape[-2:]
    if mode not in ("reduced", "r", "complete"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    if mode == "complete" and m > n:
        raise NotImplementedError(
            f"qr: mode='complete' of a tall {m}x{n} matrix has no unique gradient; use 'reduced'"
        )
    k = min(m, n)
    q, r = _la.unpack(_la.qr(a), shape[:-2], [(m, k), (k, n)])
    return r if mode == "r" else QRResult(q, r)


def pinv(
    a: Any, rcond: float | None = None, hermitian: bool = False, *, rtol: float | None = None
) -> Tensor:
    """The Moore–Penrose pseudo-inverse (..., N, M) of (..., M, N); singular values below
    ``rcond`` (or ``rtol``) times the largest are dropped, as NumPy. Differentiable where the
    rank is constant (``hermitian`` is accepted for NumPy's signature)."""
    return _la.pinv(a, rcond=rcond, rtol=rtol)


def matrix_power(a: Any, n: int) -> Tensor:
    """Aⁿ for square (..., M, M) and integer n (n < 0: powers of A⁻¹; n = 0: the identity,
    with zero gradient), by repeated squaring."""
    shape = _square("matrix_power", a)
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: n must be an integer, got {type(n).__name__}")
    x = as_tensor(a)
    if n == 0:  # the identity, still connected to A (its gradient is 0, as torch's)
        eye = np.broadcast_to(np.eye(shape[-1]), shape)
        return ops.where(np.zeros(shape, dtype=bool), x, eye.astype(x.dtype))
    base = inv(x) if n < 0 else x
    n = abs(int(n))
    # A^n = Π A^(2^k) over the set bits k of n (n >= 1 here)
    while not n & 1:
        base, n = base @ base, n >> 1
    result = base
    n >>= 1
    while n:
        base = base @ base
        if n & 1:
            result = result @ base
        n >>= 1
    return result


def vector_norm(x: Any, ord: float = 2, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """The p-norm over ``axis`` (None: all entries): ord = p > 0, ``inf``, ``-inf`` or 0 (the
    number of non-zeros, a constant)."""
    if isinstance(axis, list):
        axis = tuple(axis)
    if ord == np.inf:
        return ops.max(ops.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return ops.min(ops.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        return Tensor._wrap(np.asarray(np.sum(data != 0, axis=axis, keepdims=keepdims), data.dtype))
    if ord == 1:
        return ops.sum(ops.abs(x), axis=axis, keepdims=keepdims)
    if ord < 0:
        raise ValueError(f"vector_norm: ord must be positive, inf, -inf or 0, got {ord}")
    return _la.vector_norm(x, ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x: Any, ord: Any = "fro", axis: tuple = (-2, -1), keepdims: bool = False) -> Tensor:  # noqa: A002
    """'fro', 'nuc', 1, -1, 2, -2, inf, -inf norms of the matrices over ``axis``, as NumPy."""
    nd = len(_shape(x))
    row, col = (a % nd for a in axis)
    if row == col:
        raise ValueError(f"matrix_norm: axis must name two different axes, got {axis}")
    if ord in (None, "fro"):
        out = _la.vector_norm(x, ord=2, axis=(row, col), keepdims=True)
    elif ord in ("nuc", 2, -2):
        rest = tuple(i for i in range(nd) if i not in (row, col))
        s = _la.svdvals(ops.permute(x, axes=rest + (row, col)))
        red = {"nuc": ops.sum, 2: ops.max, -2: ops.min}[ord](s, axis=-1)
        out = ops.reshape(
            red, shape=tuple(1 if i in (row, col) else n for i, n in enumerate(_shape(x)))
        )
    elif ord in (1, -1, np.inf, -np.inf):
        inner, outer_ax = (row, col) if ord in (1, -1) else (col, row)
        sums = ops.sum(ops.abs(x), axis=inner, keepdims=True)
        out = (ops.max if ord > 0 else ops.min)(sums, axis=outer_ax, keepdims=True)
    else:
        raise ValueError(f"matrix_norm: invalid norm order {ord!r} for matrices")
    return out if keepdims else ops.squeeze(out, axis=(row, col))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """``numpy.linalg.norm``: the 2-norm of all entries by default; with ``axis`` an int, a
    vector norm; with two axes (or a 2-D input and an ``ord``), a matrix norm."""
    nd = len(_shape(x))
    if isinstance(axis, list):
        axis = tuple(axis)
    if axis is None:
        if ord is None:
            return _la.vector_norm(x, ord=2, axis=None, keepdims=keepdims)
        if nd not in (1, 2):
            raise ValueError(f"norm: an ord needs a 1-D or 2-D input or an axis, got {nd}-D")
        axis = (0,) if nd == 1 else (0, 1)
    if isinstance(axis, int):
        axis = (axis,)
    if len(axis) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
        return vector_norm(x, ord=2 if ord is None else ord, axis=axis[0], keepdims=keepdims)
    if len(axis) == 2:
        return matrix_norm(x, ord=ord, axis=axis, keepdims=keepdims)
    raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis}")


# the functions that ``np.linalg.<name>`` dispatches to for tensors
NUMPY_NAMES = (
    "cholesky cross det eigh eigvalsh inv matrix_norm matrix_power norm outer pinv qr slogdet "
    "solve svd svdvals tensordot vector_norm"
).split()

__all__ = [
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matrix_norm",
    "matrix_power",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "vector_norm",
]
