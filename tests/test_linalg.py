"""``cr.linalg`` and ``np.linalg`` on tensors: dispatch, NumPy's result tuples, torch's
conventions (symmetric gradients, full SVD), degenerate points, every norm, and hessians
through the rules against ``torch.func.hessian``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from ._grads import grad_of as _grad
from ._grads import torch_grad_of as _torch_grad

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "name, call",
    [
        ("inv", lambda a: np.linalg.inv(a)),
        ("solve", lambda a: np.linalg.solve(a, np.ones(3))),
        ("det", lambda a: np.linalg.det(a)),
        ("slogdet", lambda a: np.linalg.slogdet(a)[1]),
        ("pinv", lambda a: np.linalg.pinv(a)),
        ("pinv-rtol", lambda a: np.linalg.pinv(a, rtol=0.5)),
        ("pinv-rcond", lambda a: np.linalg.pinv(a, rcond=0.5)),
        ("svdvals", lambda a: np.linalg.svdvals(a)),
        ("eigvalsh", lambda a: np.linalg.eigvalsh(a + a.mT)),
        ("matrix_norm", lambda a: np.linalg.matrix_norm(a, ord="nuc")),
        ("vector_norm", lambda a: np.linalg.vector_norm(a, ord=3, axis=1)),
        ("matrix_power", lambda a: np.linalg.matrix_power(a, -1)),
    ],
)
def test_np_linalg_dispatches_to_cr_linalg(name, call):
    a = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.5, 0.0, 4.0]])
    value, _ = _grad(call, a)
    expected = call(a)
    np.testing.assert_allclose(value, expected, rtol=1e-12, err_msg=f"np.linalg.{name}")


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (3, 5, 2)])
def test_full_svd_extends_the_reduced_one_with_constant_columns(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    a = cr.tensor(x, requires_grad=True)
    u, s, vh = np.linalg.svd(a)  # full_matrices=True, NumPy's default
    m, n = shape[-2:]
    assert u.shape == shape[:-2] + (m, m) and vh.shape == shape[:-2] + (n, n)
    for q in (u.data, vh.data):
        eye = np.broadcast_to(np.eye(q.shape[-1]), q.shape)
        np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), eye, atol=1e-12)
    k = min(m, n)
    np.testing.assert_allclose((u.data[..., :, :k] * s.data[..., None, :]) @ vh.data[..., :k, :], x)
    (u * u).sum().backward()  # the extra columns are constants: only the reduced U counts
    reduced = cr.tensor(x, requires_grad=True)
    ur, _, _ = np.linalg.svd(reduced, full_matrices=False)
    (ur * ur).sum().backward()
    np.testing.assert_allclose(a.grad.data, reduced.grad.data, atol=1e-12)


def test_slogdet_sign_is_a_constant_and_logabsdet_differentiable():
    a = cr.tensor([[0.0, 2.0], [1.0, 0.0]], dtype=cr.float64, requires_grad=True)
    sign, logabsdet = cr.linalg.slogdet(a)
    assert sign.item() == -1.0 and not sign.requires_grad
    logabsdet.backward()
    # d log|det A| / dA = A⁻ᵀ
    np.testing.assert_allclose(a.grad.data, np.linalg.inv(a.data).T, rtol=1e-12)


def test_result_tuples_carry_numpys_field_names():
    a = cr.tensor(np.eye(3) * [1.0, 2.0, 3.0] + 0.1)
    assert cr.linalg.eigh(a).eigenvalues.shape == (3,)
    assert cr.linalg.svd(a).Vh.shape == (3, 3)
    assert cr.linalg.qr(a).R.shape == (3, 3)
    assert cr.linalg.slogdet(a).logabsdet.shape == ()
    np.testing.assert_allclose(cr.linalg.qr(a, mode="r").data, np.linalg.qr(a.data, mode="r"))


# --- degenerate points: what torch does, documented -----------------------------------------------
def test_eigenvalues_stay_differentiable_at_repeated_eigenvalues():
    a = cr.tensor(np.eye(3), dtype=cr.float64, requires_grad=True)
    cr.linalg.eigvalsh(a).sum().backward()  # Σλ = trace: gradient I
    np.testing.assert_allclose(a.grad.data, np.eye(3), atol=1e-12)
    a.grad = None
    np.linalg.norm(a, "nuc").backward()  # Σσ of I: gradient I too (svdvals, not svd)
    np.testing.assert_allclose(a.grad.data, np.eye(3), atol=1e-12)


def test_eigenvector_gradient_at_repeated_eigenvalues_is_not_finite_as_in_torch():
    a = cr.tensor(np.eye(3), dtype=cr.float64, requires_grad=True)
    _, v = cr.linalg.eigh(a)
    with np.errstate(divide="ignore", invalid="ignore"):  # 1/(λⱼ − λᵢ) with λⱼ = λᵢ
        (v * cr.tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
    ta = torch.eye(3, dtype=torch.float64, requires_grad=True)
    (torch.linalg.eigh(ta)[1] * torch.arange(9.0).reshape(3, 3)).sum().backward()
    assert not np.isfinite(a.grad.data).all()
    assert not torch.isfinite(ta.grad).all()


def test_singular_matrices_raise_like_torch():
    singular = cr.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    with pytest.raises(np.linalg.LinAlgError):
        cr.linalg.inv(singular)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.solve(singular, np.ones(2))
    with pytest.raises(np.linalg.LinAlgError):  # log|det| is −inf; its gradient needs A⁻¹
        cr.linalg.slogdet(singular).logabsdet.backward()


@pytest.mark.parametrize(
    "a, cofactors",
    [
        ([[1.0, 2.0], [2.0, 4.0]], [[4.0, -2.0], [-2.0, 1.0]]),  # rank 1: cof = [[d, −c], [−b, a]]
        ([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], None),  # rank 2, by differences
        (np.zeros((3, 3)), np.zeros((3, 3))),  # rank 0: every cofactor is 0
    ],
    ids=["2x2-rank1", "3x3-rank2", "zeros"],
)
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(a, cofactors):
    a = np.asarray(a)
    if cofactors is None:  # central differences of det, entry by entry (det is polynomial)
        cofactors = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            e = np.zeros_like(a)
            e[idx] = 1e-6
            cofactors[idx] = (np.linalg.det(a + e) - np.linalg.det(a - e)) / 2e-6
    value, grad = _grad(np.linalg.det, a)
    assert value == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(grad, cofactors, rtol=1e-7, atol=1e-9)
    _, tangent = cr.jvp(np.linalg.det, (cr.tensor(a),), (np.ones_like(a),))
    assert tangent.item() == pytest.approx(float(np.sum(cofactors)), abs=1e-8)


@pytest.mark.parametrize(
    "ours, theirs, make",
    [
        (lambda a: _eigh_sum(cr.linalg.eigh(a)), lambda a: _eigh_sum(torch.linalg.eigh(a)),
         lambda x: x + x.T),
        (cr.linalg.cholesky, torch.linalg.cholesky, lambda x: x @ x.T + 3 * np.eye(3)),
    ],
    ids=["eigh", "cholesky"],
)  # fmt: skip
def test_symmetric_decompositions_give_torchs_symmetric_gradient(ours, theirs, make):
    """On a symmetric input given directly (not built symmetric), the gradient is torch's
    symmetric one, and the forward rule agrees with it for any tangent."""
    rng = np.random.default_rng(0)
    a = make(rng.standard_normal((3, 3)))
    v = rng.standard_normal(ours(cr.tensor(a)).shape)
    _, grad = _grad(ours, a, v)
    _, tgrad = _torch_grad(theirs, a, v)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(grad, grad.T, rtol=1e-12, atol=1e-14)
    u = rng.standard_normal((3, 3))  # not symmetric
    _, tangent = cr.jvp(ours, (cr.tensor(a),), (u,))
    assert float(np.sum(tangent.data * v)) == pytest.approx(float(np.sum(grad * u)), rel=1e-9)


def _eigh_sum(wv):
    """A sign-invariant function of eigenvalues and eigenvectors."""
    w, v = wv
    weights = np.arange(1.0, 10.0).reshape(3, 3)
    if isinstance(v, torch.Tensor):
        weights = torch.as_tensor(weights)
    return (v * v * weights).sum() + (w * w).sum()


NORMS = [
    *[(o, None) for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)],
    *[(o, a) for o in (None, 1, 2, 3, 0.5, np.inf, -np.inf) for a in (0, -1)],
    *[(o, (1, 0)) for o in ("fro", "nuc", 1, np.inf, -2)],
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("ord, axis", NORMS)
def test_norm_matches_numpy_and_torch(ord, axis, keepdims):
    x = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.3], [-2.2, 0.4, 1.1], [0.9, -0.6, 0.2]])
    value, grad = _grad(lambda t: np.linalg.norm(t, ord, axis, keepdims), x)
    np.testing.assert_allclose(value, np.linalg.norm(x, ord, axis, keepdims), rtol=1e-12)
    dim = (0, 1) if axis is None else axis
    _, tgrad = _torch_grad(lambda t: torch.linalg.norm(t, ord, dim, keepdims), x)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5, 6])
def test_matrix_power_of_an_array_or_a_list_is_a_tensor(n):
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    for given in (a, a.tolist()):
        p = cr.linalg.matrix_power(given, n)
        assert isinstance(p, cr.Tensor), f"matrix_power({type(given).__name__}, {n}): {type(p)}"
        np.testing.assert_allclose(p.data, np.linalg.matrix_power(a, n), rtol=1e-5, err_msg=f"{n}")


def test_vector_norm_ord_zero_counts_non_zeros():
    x = cr.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    np.testing.assert_array_equal(cr.linalg.vector_norm(x, 0, axis=1).data, [1.0, 1.0])


def _mat3(x, lib):
    eye = np.eye(3) if lib is np else torch.eye(3, dtype=x.dtype)
    return x.reshape(3, 3) + 3 * eye


HESSIANS = {
    "det": (lambda x: np.linalg.det(_mat3(x, np)), lambda x: torch.linalg.det(_mat3(x, torch))),
    "inv": (
        lambda x: np.linalg.inv(_mat3(x, np)).sum(),
        lambda x: torch.linalg.inv(_mat3(x, torch)).sum(),
    ),
    "eigvalsh": (
        lambda x: np.linalg.eigvalsh(_mat3(x, np) + _mat3(x, np).T)[-1],
        lambda x: torch.linalg.eigvalsh(_mat3(x, torch) + _mat3(x, torch).T)[-1],
    ),
    "einsum": (
        lambda x: np.einsum("ij,jk,ki", *[x.reshape(3, 3)] * 3),
        lambda x: torch.einsum("ij,jk,ki", *[x.reshape(3, 3)] * 3),
    ),
    "cumprod": (lambda x: np.cumprod(x)[-2], lambda x: torch.cumprod(x, 0)[-2]),
    "nuclear-norm": (
        lambda x: np.linalg.norm(x.reshape(3, 3), "nuc"),
        lambda x: torch.linalg.matrix_norm(x.reshape(3, 3), "nuc"),
    ),
}


@pytest.mark.parametrize("name", HESSIANS)
def test_hessians_match_torch_func(name):
    """Forward over reverse through the new rules: cr.hessian against torch.func.hessian."""
    ours, theirs = HESSIANS[name]
    x = np.random.default_rng(0).standard_normal(9) * 0.5
    expected = torch.func.hessian(theirs)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(cr.hessian(ours, x).data, expected, rtol=1e-9, atol=1e-12)
