"""Linear algebra primitives, batched over leading axes as ``numpy.linalg`` is.

Notation: A is the input (..., M, N), Aᵀ swaps the last two axes, ḡ the cotangent, Ȧ a tangent.
The rules are written with ``@``, ``np.linalg`` and ``np.tril``/``triu`` so that they run on
tensors too (second order). Ops with several outputs (eigh, svd, qr) return them packed into
one array, each output flattened over its matrix axes; ``chainrule.linalg`` unpacks them with
``getitem``, so the cotangents of the outputs arrive packed the same way.

Degenerate points: a singular matrix makes inv and solve raise NumPy's ``LinAlgError`` (as
torch), and slogdet's gradient too (log|det| is −∞ there); det's gradient there is the cofactor
matrix, which exists (torch returns 0). Repeated eigenvalues (eigh) or singular values (svd)
make the gradient of the eigenvectors/singular vectors infinite or nan (it does not exist
there, as in torch), while eigenvalues and singular values alone (``eigvalsh``, ``svdvals``)
stay differentiable.

None of these is public here (``public=False``): ``chainrule.linalg`` gives them NumPy's names
and signatures.
"""

from __future__ import annotations

import numpy as np

from ._registry import defop
from .arithmetic import _mT
from .reductions import _expand


def _eye(n, like):
    return np.eye(n, dtype=like.dtype)


def _col(v):
    return v[..., :, None]


def _row(v):
    return v[..., None, :]


def _mat(v):
    """Per-matrix scalars (...,) as (..., 1, 1), to scale matrices."""
    return np.expand_dims(v, (-2, -1))


def _diag_part(x):
    """The diagonal of the last two axes, shape (..., K); differentiable (a contraction)."""
    return (x * _eye(x.shape[-1], x)).sum(axis=-1)


def _sym(x):
    """The symmetric part ½(x + xᵀ) of the last two axes."""
    return 0.5 * (x + _mT(x))


def _trace_prod(a, b):
    """tr(a b) over the last two axes, without forming the product."""
    return (_mT(a) * b).sum(axis=(-2, -1))


# Y = A⁻¹:  Ā = −Yᵀ ḡ Yᵀ,   Ẏ = −Y Ȧ Y
inv = defop(
    "inv",
    np.linalg.inv,
    vjp=lambda g, out, a: -(_mT(out) @ g @ _mT(out)),
    jvp=lambda t, out, a: -(out @ t @ out),
    public=False,
)


# X = A⁻¹B:  B̄ = A⁻ᵀ ḡ,  Ā = −B̄ Xᵀ;  Ẋ = A⁻¹(Ḃ − Ȧ X). A 1-D B is one vector (NumPy 2's rule).
def _solve_vec(a, v):
    return np.linalg.solve(a, _col(v))[..., 0]


def _solve_vjp_b(g, out, a, b):
    return _solve_vec(_mT(a), g) if b.ndim == 1 else np.linalg.solve(_mT(a), g)


def _solve_vjp_a(g, out, a, b):
    gb = _solve_vjp_b(g, out, a, b)
    return -(_col(gb) * _row(out)) if b.ndim == 1 else -(gb @ _mT(out))


def _solve_jvp_a(t, out, a, b):
    return -_solve_vec(a, (t @ _col(out))[..., 0]) if b.ndim == 1 else -np.linalg.solve(a, t @ out)


def _solve_jvp_b(t, out, a, b):
    return _solve_vec(a, t) if b.ndim == 1 else np.linalg.solve(a, t)


solve = defop(
    "solve",
    np.linalg.solve,
    vjp=(_solve_vjp_a, _solve_vjp_b),
    jvp=(_solve_jvp_a, _solve_jvp_b),
    public=False,
)


# d = det A:  Ā = ḡ·cof(A) (the cofactor matrix, d·A⁻ᵀ where A is invertible),  ḋ = ⟨cof(A), Ȧ⟩.
# At a singular A the cofactors still exist (torch returns 0 there, which is wrong for rank
# n − 1): with A = U S Vᵀ, cof(A) = det(U) det(V) U diag(Π_{j≠i} s_j) Vᵀ.
def _cofactor(out, a):
    try:
        return _mat(out) * _mT(np.linalg.inv(a))
    except np.linalg.LinAlgError:
        u, s, vh = np.linalg.svd(a)
        n = s.shape[-1]
        others = np.prod(np.where(np.eye(n, dtype=bool), 1, _row(s)), axis=-1)
        sign = np.linalg.det(u) * np.linalg.det(vh)
        return _mat(sign) * ((u * _row(others)) @ vh)


det = defop(
    "det",
    np.linalg.det,
    vjp=lambda g, out, a: _mat(g) * _cofactor(out, a),
    jvp=lambda t, out, a: (_cofactor(out, a) * t).sum(axis=(-2, -1)),
    public=False,
)
# l = log|det A| (slogdet's second output):  Ā = ḡ·A⁻ᵀ,  l̇ = tr(A⁻¹Ȧ)
logabsdet = defop(
    "slogdet",
    lambda a: np.linalg.slogdet(a)[1],
    vjp=lambda g, out, a: _mat(g) * _mT(np.linalg.inv(a)),
    jvp=lambda t, out, a: _trace_prod(np.linalg.inv(a), t),
    public=False,
)


# A = LLᵀ (A symmetric positive definite, lower triangle read), as torch (a symmetric
# gradient, so a tangent counts through its symmetric part):
#   P = tril(Lᵀ L̄),  S = ½(P + tril(P, −1)ᵀ),  Ā = L⁻ᵀ S L⁻¹;   L̇ = L Φ(L⁻¹ sym(Ȧ) L⁻ᵀ)
#   with Φ(X) = the lower triangle of X with its diagonal halved.
def _cholesky_vjp(g, out, a):
    p = np.tril(_mT(out) @ g)
    s = 0.5 * (p + _mT(np.tril(p, -1)))
    li = np.linalg.inv(out)
    return _mT(li) @ s @ li


def _cholesky_jvp(t, out, a):
    li = np.linalg.inv(out)
    x = li @ _sym(t) @ _mT(li)
    return out @ (np.tril(x) - 0.5 * x * _eye(x.shape[-1], x))


cholesky = defop("cholesky", np.linalg.cholesky, vjp=_cholesky_vjp, jvp=_cholesky_jvp, public=False)


# --- several outputs, packed -------------------------------------------------------------------
def pack(batch, *parts):
    """Outputs with the same leading axes ``batch`` as one array: each flattened, then joined."""
    return np.concatenate([np.reshape(p, batch + (-1,)) for p in parts], axis=-1)


def unpack(packed, batch, shapes):
    """The outputs ``pack`` joined, with the given shapes (after the batch axes)."""
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(packed[..., start : start + size].reshape(batch + tuple(shape)))
        start += size
    return out


def _gaps(w):
    """F[i, j] = 1/(w_j − w_i) off the diagonal, 0 on it (inf where values repeat)."""
    eye = np.eye(w.shape[-1], dtype=bool)
    diff = _row(w) - _col(w)
    return np.where(eye, 0, 1 / np.where(eye, 1, diff))


def _eigh_parts(packed, n):
    return unpack(packed, packed.shape[:-1], [(n,), (n, n)])


def _eigh(a, *, UPLO="L"):  # noqa: N803 - NumPy's name
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return pack(a.shape[:-2], w, v)


# A = V diag(w) Vᵀ (symmetric; torch's convention: the gradient is symmetric, so a tangent
# counts through its symmetric part):
#   Ā = sym(V (diag(w̄) + F ∘ VᵀV̄) Vᵀ);   ẇ = diag(Vᵀ sym(Ȧ) V),  V̇ = V (F ∘ Vᵀ sym(Ȧ) V)
def _eigh_vjp(g, out, a, *, UPLO="L"):  # noqa: N803
    n = a.shape[-1]
    w, v = _eigh_parts(out, n)
    gw, gv = _eigh_parts(g, n)
    inner = _gaps(w) * (_mT(v) @ gv) + _col(gw) * _eye(n, gw)
    return _sym(v @ inner @ _mT(v))


def _eigh_jvp(t, out, a, *, UPLO="L"):  # noqa: N803
    n = a.shape[-1]
    w, v = _eigh_parts(out, n)
    p = _mT(v) @ _sym(t) @ v
    return pack(a.shape[:-2], _diag_part(p), v @ (_gaps(w) * p))


eigh = defop("eigh", _eigh, vjp=_eigh_vjp, jvp=_eigh_jvp, public=False)


def _svd_parts(packed, m, n):
    k = min(m, n)
    return unpack(packed, packed.shape[:-1], [(m, k), (k,), (k, n)])


def _svd(a):
    return pack(a.shape[:-2], *np.linalg.svd(a, full_matrices=False))


# A = U S Vᵀ (reduced), torch's rule: with E[j, k] = s_k² − s_j² (1 on the diagonal) and
# skew(X) = X − Xᵀ,  core = (skew(UᵀŪ)/E) S + S (skew(VᵀV̄)/E) + diag(s̄), then
# Ā = U core Vᵀ plus (I − UUᵀ) Ū S⁻¹ Vᵀ (m > k) or U S⁻¹ V̄ᵀ (I − VVᵀ) (n > k).
def _svd_vjp(g, out, a):
    m, n = a.shape[-2:]
    k = min(m, n)
    u, s, vh = _svd_parts(out, m, n)
    gu, gs, gvh = _svd_parts(g, m, n)
    s2 = s * s
    e = np.where(np.eye(k, dtype=bool), 1, _row(s2) - _col(s2))
    uhgu, vhgv = _mT(u) @ gu, vh @ _mT(gvh)
    core = ((uhgu - _mT(uhgu)) / e) * _row(s) + _col(s) * ((vhgv - _mT(vhgv)) / e)
    core = core + _col(gs) * _eye(k, gs)
    if m > k:
        gus = gu / _row(s)
        return (u @ core + gus - u @ (_mT(u) @ gus)) @ vh
    if n > k:
        sgvh = gvh / _col(s)
        return u @ (core @ vh + sgvh - (sgvh @ _mT(vh)) @ vh)
    return u @ core @ vh


# forward (Townsend): P = UᵀȦV, ṡ = diag P, F[i, j] = 1/(s_j² − s_i²),
#   U̇ = U (F ∘ (P S + S Pᵀ)) + (I − UUᵀ) Ȧ V S⁻¹,  V̇ = V (F ∘ (S P + Pᵀ S)) + (I − VVᵀ) Ȧᵀ U S⁻¹
def _svd_jvp(t, out, a):
    m, n = a.shape[-2:]
    u, s, vh = _svd_parts(out, m, n)
    v = _mT(vh)
    p = _mT(u) @ t @ v
    f = _gaps(s * s)
    du = u @ (f * (p * _row(s) + _col(s) * _mT(p))) + (t @ v - u @ p) / _row(s)
    dv = v @ (f * (_col(s) * p + _mT(p) * _row(s))) + (_mT(t) @ u - v @ _mT(p)) / _row(s)
    return pack(a.shape[:-2], du, _diag_part(p), _mT(dv))


svd = defop("svd", _svd, vjp=_svd_vjp, jvp=_svd_jvp, public=False)


# s = singular values only:  Ā = U diag(s̄) Vᵀ,  ṡ = diag(Uᵀ Ȧ V); defined at repeated values too
def _svdvals_vjp(g, out, a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return (u * _row(g)) @ vh


def _svdvals_jvp(t, out, a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return _diag_part(_mT(u) @ t @ _mT(vh))


svdvals = defop(
    "svdvals",
    lambda a: np.linalg.svd(a, compute_uv=False),
    vjp=_svdvals_vjp,
    jvp=_svdvals_jvp,
    public=False,
)


# w = eigenvalues only:  Ā = V diag(w̄) Vᵀ,  ẇ = diag(VᵀȦV); defined at repeated values too
def _eigvalsh_vjp(g, out, a, *, UPLO="L"):  # noqa: N803
    v = np.linalg.eigh(a, UPLO=UPLO)[1]
    return (v * _row(g)) @ _mT(v)


def _eigvalsh_jvp(t, out, a, *, UPLO="L"):  # noqa: N803
    v = np.linalg.eigh(a, UPLO=UPLO)[1]
    return _diag_part(_mT(v) @ t @ v)


eigvalsh = defop(
    "eigvalsh",
    lambda a, *, UPLO="L": np.linalg.eigvalsh(a, UPLO=UPLO),  # noqa: N803
    vjp=_eigvalsh_vjp,
    jvp=_eigvalsh_jvp,
    public=False,
)


def _qr_parts(packed, m, n):
    k = min(m, n)
    return unpack(packed, packed.shape[:-1], [(m, k), (k, n)])


def _qr(a):
    return pack(a.shape[:-2], *np.linalg.qr(a, mode="reduced"))


def _right_rinv_t(y, r):
    """y R⁻ᵀ for square upper-triangular R."""
    return _mT(np.linalg.solve(r, _mT(y)))


# A = QR, m ≥ n (adjoint of the forward rule below):
#   M = R̄Rᵀ − QᵀQ̄,  N = triu(M) + triu(M, 1)ᵀ,  Ā = (Q̄ + Q N) R⁻ᵀ.
# m < n: A = Q [R₁ R₂] with X = A[:, :m] = QR₁ square and R₂ = QᵀY, Y = A[:, m:], so
#   Ȳ = Q R̄₂ and X gets the square rule with Q̄ + Y R̄₂ᵀ in place of Q̄.
def _qr_square_vjp(gq, gr, q, r):
    mm = gr @ _mT(r) - _mT(q) @ gq
    nn = np.triu(mm) + _mT(np.triu(mm, 1))
    return _right_rinv_t(gq + q @ nn, r)


def _qr_vjp(g, out, a):
    m, n = a.shape[-2:]
    q, r = _qr_parts(out, m, n)
    gq, gr = _qr_parts(g, m, n)
    if m >= n:
        return _qr_square_vjp(gq, gr, q, r)
    y, gr2 = a[..., :, m:], gr[..., :, m:]
    gx = _qr_square_vjp(gq + y @ _mT(gr2), gr[..., :, :m], q, r[..., :, :m])
    return np.concatenate([gx, q @ gr2], axis=-1)


# forward, m ≥ n (as JAX): X = Ȧ R⁻¹, C = QᵀX, Ω = tril(C, −1) − tril(C, −1)ᵀ,
#   Q̇ = Q(Ω − C) + X,  Ṙ = (C − Ω) R;  m < n: the square rule on X, and Ṙ₂ = Q̇ᵀY + QᵀẎ.
def _qr_square_jvp(t, q, r):
    x = _mT(np.linalg.solve(_mT(r), _mT(t)))
    c = _mT(q) @ x
    low = np.tril(c, -1)
    omega = low - _mT(low)
    return q @ (omega - c) + x, (c - omega) @ r


def _qr_jvp(t, out, a):
    m, n = a.shape[-2:]
    q, r = _qr_parts(out, m, n)
    if m >= n:
        return pack(a.shape[:-2], *_qr_square_jvp(t, q, r))
    dq, dr1 = _qr_square_jvp(t[..., :, :m], q, r[..., :, :m])
    dr2 = _mT(dq) @ a[..., :, m:] + _mT(q) @ t[..., :, m:]
    return pack(a.shape[:-2], dq, np.concatenate([dr1, dr2], axis=-1))


qr = defop("qr", _qr, vjp=_qr_vjp, jvp=_qr_jvp, public=False)


# Y = A⁺ (constant rank; Golub & Pereyra):
#   Ẏ = −Y Ȧ Y + Y Yᵀ Ȧᵀ (I − A Y) + (I − Y A) Ȧᵀ Yᵀ Y
#   Ā = −Yᵀ ḡ Yᵀ + (I − A Y) ḡᵀ Y Yᵀ + Yᵀ Y ḡᵀ (I − Y A)
def _pinv(a, *, rcond=None, rtol=None):
    if rtol is not None:
        return np.linalg.pinv(a, rtol=rtol)
    return np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond=rcond)


def _pinv_vjp(g, out, a, *, rcond=None, rtol=None):
    m, n = a.shape[-2:]
    y, yt, gt = out, _mT(out), _mT(g)
    return (
        -(yt @ g @ yt) + (_eye(m, a) - a @ y) @ gt @ (y @ yt) + (yt @ y) @ gt @ (_eye(n, a) - y @ a)
    )


def _pinv_jvp(t, out, a, *, rcond=None, rtol=None):
    m, n = a.shape[-2:]
    y, yt, tt = out, _mT(out), _mT(t)
    return (
        -(y @ t @ y) + (y @ yt) @ tt @ (_eye(m, a) - a @ y) + (_eye(n, a) - y @ a) @ tt @ (yt @ y)
    )


pinv = defop("pinv", _pinv, vjp=_pinv_vjp, jvp=_pinv_jvp, public=False)


# ‖x‖_p = (Σ|x|ᵖ)^(1/p) over ``axis``:  x̄ = ḡ·sign(x)|x|^(p−1)/‖x‖^(p−1), and 0 where ‖x‖ = 0
# (torch's choice at the kink; the divisor is replaced by 1 there, where the numerator is 0).
def _vector_norm(x, *, ord=2, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    if ord == 2:
        return np.sqrt(np.add.reduce(x * x, axis=axis, keepdims=keepdims))
    return np.add.reduce(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1 / ord)


def _norm_slope(out, x, ord, axis, keepdims):  # noqa: A002
    n = _expand(out, x, axis, keepdims)
    n = np.where(n == 0, 1, n)
    if ord == 2:
        return x / n
    return np.sign(x) * (np.abs(x) / n) ** (ord - 1)


def _vector_norm_vjp(g, out, x, *, ord=2, axis=None, keepdims=False):  # noqa: A002
    return _expand(g, x, axis, keepdims) * _norm_slope(out, x, ord, axis, keepdims)


def _vector_norm_jvp(t, out, x, *, ord=2, axis=None, keepdims=False):  # noqa: A002
    return (t * _norm_slope(out, x, ord, axis, keepdims)).sum(axis=axis, keepdims=keepdims)


vector_norm = defop(
    "vector_norm", _vector_norm, vjp=_vector_norm_vjp, jvp=_vector_norm_jvp, public=False
)
