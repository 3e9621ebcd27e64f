"""NumPy's functions on tensors: every spelling (``np.f(t)``, ``cr.f(t)``, ``t.method()``) gives
the same values and gradients with its model's semantics; zeros in products; the errors. The
op-by-op gradient checks are the meta-tests reading ``chainrule/testing/cases*.py``;
``test_linalg.py`` and ``test_einsum.py`` hold those families' own checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from ._grads import grad_of as _grad
from ._grads import torch_grad_of as _torch_grad

torch = pytest.importorskip("torch")


# --- worked examples ---------------------------------------------------------------------------
def test_prod_with_one_zero_gives_the_product_of_the_others():
    # d/dx (x0·x1·x2) at (2, 0, 3) = (x1·x2, x0·x2, x0·x1) = (0, 6, 0)
    value, grad = _grad(lambda x: x.prod(), [2.0, 0.0, 3.0])
    assert value == 0.0
    np.testing.assert_array_equal(grad, [0.0, 6.0, 0.0])


def test_det_gradient_is_the_cofactor_matrix():
    # det [[a, b], [c, d]] = ad − bc: gradient [[d, −c], [−b, a]]
    value, grad = _grad(np.linalg.det, [[1.0, 2.0], [3.0, 4.0]])
    assert value == pytest.approx(-2.0)
    np.testing.assert_allclose(grad, [[4.0, -3.0], [-2.0, 1.0]], rtol=1e-12)


def test_trace_gradient_is_the_identity():
    _, grad = _grad(np.trace, np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(grad, np.eye(3))


# --- zeros in products and scans, against torch -------------------------------------------
ZEROS = [[2.0, 0.0, 3.0, -1.5], [0.0, 0.0, 3.0, 2.0], [1.5, -2.0, 0.5, 0.0]]


@pytest.mark.parametrize("x", ZEROS, ids=["one-zero", "two-zeros", "zero-last"])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda x: x.prod(), lambda x: x.prod()),
        (lambda x: x.reshape(2, 2).prod(axis=1), lambda x: x.reshape(2, 2).prod(1)),
        (lambda x: np.cumprod(x), lambda x: x.cumprod(0)),
        (lambda x: x.reshape(2, 2).cumprod(0), lambda x: x.reshape(2, 2).cumprod(0)),
    ],
    ids=["prod", "prod-axis", "cumprod", "cumprod-axis"],
)
def test_products_with_zeros_match_torch_to_second_order(x, ours, theirs):
    rng = np.random.default_rng(0)
    t = cr.tensor(np.array(x), requires_grad=True)
    out = ours(t)
    v = rng.standard_normal(out.shape)
    out.backward(grad=v, create_graph=True)
    tt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tout = theirs(tt)
    (tg,) = torch.autograd.grad((tout * torch.as_tensor(v)).sum(), tt, create_graph=True)
    np.testing.assert_allclose(t.grad.data, tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    u = rng.standard_normal(4)
    g, t.grad = t.grad, None
    (g * cr.tensor(u)).sum().backward()
    (tg2,) = torch.autograd.grad((tg * torch.as_tensor(u)).sum(), tt)
    np.testing.assert_allclose(t.grad.data, tg2.numpy(), rtol=1e-12, atol=1e-14)
    _, tangent = cr.jvp(ours, (cr.tensor(np.array(x)),), (u,))
    _, ttangent = torch.func.jvp(
        theirs, (torch.tensor(x, dtype=torch.float64),), (torch.as_tensor(u),)
    )
    np.testing.assert_allclose(tangent.data, ttangent.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_cumprod_with_zeros_first_order_matches_torch(axis):
    """The O(K) rule used on arrays (first order), rows with zero, one and two zeros."""
    x = np.array([[2.0, 0.0, 3.0, -1.5], [0.5, -2.0, 0.7, 1.1], [0.0, 1.5, 0.0, 2.0]])
    v = np.random.default_rng(0).standard_normal(x.size if axis is None else x.shape)
    _, grad = _grad(lambda t: np.cumprod(t, axis=axis), x, v)

    def theirs(t):
        return t.reshape(-1).cumprod(0) if axis is None else t.cumprod(axis)

    _, tgrad = _torch_grad(theirs, x, v)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-12, atol=1e-14)


# --- NumPy's and PyTorch's semantics under their own spellings ---------------------------------
X = (np.arange(12.0).reshape(3, 4) + 1) ** 1.5 / 7  # no zeros, full rank


def _qr_torch(a):
    q, r = torch.linalg.qr(a)  # Tensor.qr is deprecated in torch
    return q * r.sum()


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda x: np.var(x), lambda x: x.var(correction=0)),  # NumPy: ddof=0
        (lambda x: np.std(x), lambda x: x.std(correction=0)),
        (lambda x: np.std(x, axis=1, ddof=1), lambda x: x.std(1, correction=1)),
        (lambda x: x.var(), lambda x: x.var()),  # torch: correction=1
        (lambda x: x.std(), lambda x: x.std()),
        (lambda x: x.std(dim=0, keepdim=True), lambda x: x.std(dim=0, keepdim=True)),
        (lambda x: x.std(1, unbiased=False), lambda x: x.std(1, unbiased=False)),
        (lambda x: x.var(0, unbiased=False), lambda x: x.var(0, unbiased=False)),
        (lambda x: x.var(dim=(0, 1), correction=2), lambda x: x.var(dim=(0, 1), correction=2)),
        (lambda x: cr.std(x, axis=0), lambda x: torch.std(x, dim=0)),
        (lambda x: x.prod(dim=1, keepdim=True), lambda x: x.prod(dim=1, keepdim=True)),
        (lambda x: x.cumsum(1), lambda x: x.cumsum(1)),
        (lambda x: np.cumsum(x), lambda x: x.reshape(-1).cumsum(0)),
        (lambda x: x.diff(dim=0), lambda x: x.diff(dim=0)),
        (lambda x: x.amax(1), lambda x: x.amax(1)),
        (lambda x: np.amin(x, axis=0), lambda x: x.amin(0)),
        (lambda x: x.norm(), lambda x: x.norm()),
        (lambda x: x.norm(p=1, dim=1), lambda x: x.norm(p=1, dim=1)),
        (lambda x: x.norm(p=2, dim=(0, 1)), lambda x: x.norm(p=2, dim=(0, 1))),
        (
            lambda x: x.norm(p=3, dim=[1], keepdim=True),
            lambda x: x.norm(p=3, dim=[1], keepdim=True),
        ),
        (lambda x: x.norm(p="fro", dim=(1, 0)), lambda x: x.norm(p="fro", dim=(1, 0))),
        (lambda x: x.norm(p="nuc"), lambda x: x.norm(p="nuc")),
        (lambda x: x.norm(p=np.inf, dim=0), lambda x: x.norm(p=np.inf, dim=0)),
        (lambda x: x.trace(), lambda x: x.trace()),
        (lambda x: np.linalg.norm(x, "fro"), lambda x: torch.linalg.norm(x, "fro")),
        (lambda x: cr.linalg.norm(x, 2, axis=0), lambda x: torch.linalg.norm(x, 2, dim=0)),
        (lambda x: x.tan(), lambda x: x.tan()),
        (lambda x: x.atan2(x + 1), lambda x: x.atan2(x + 1)),
        (lambda x: x % 0.7, lambda x: x % 0.7),
        (lambda x: x.fmod(-0.7), lambda x: x.fmod(-0.7)),
        (lambda x: x.square().reciprocal(), lambda x: x.square().reciprocal()),
        (lambda x: x.flip(0, 1), lambda x: x.flip(0, 1)),
        (lambda x: x.roll(1, 0), lambda x: x.roll(1, 0)),
        (lambda x: x.repeat_interleave(2, dim=1), lambda x: x.repeat_interleave(2, dim=1)),
        (lambda x: x.tile(2, 1), lambda x: x.tile(2, 1)),
        (lambda x: x.repeat(2, 1, 2), lambda x: x.repeat(2, 1, 2)),
        (lambda x: x.split(3, dim=1)[1], lambda x: x.split(3, dim=1)[1]),
        (lambda x: x.split([1, 2], dim=0)[1], lambda x: x.split([1, 2], dim=0)[1]),
        (lambda x: x.tensor_split(3, dim=1)[0], lambda x: x.tensor_split(3, dim=1)[0]),
        (lambda x: x.hsplit([1, 3])[1], lambda x: x.hsplit([1, 3])[1]),
        (lambda x: x.vsplit(3)[2], lambda x: x.vsplit(3)[2]),
        (lambda x: x[None].dsplit(2)[1], lambda x: x[None].dsplit(2)[1]),
        (lambda x: x.conj() * x.real, lambda x: x.conj() * x.real),
        (lambda x: (x @ x.T).slogdet()[1], lambda x: (x @ x.T).slogdet()[1]),
        (lambda x: x.T.qr()[0] * x.T.qr()[1].sum(), lambda x: _qr_torch(x.T)),
        (lambda x: x.movedim(0, 1), lambda x: x.movedim(0, 1)),
        (lambda x: x.tril(1), lambda x: x.tril(1)),
        (lambda x: x.triu(-1), lambda x: x.triu(-1)),
        (lambda x: x.diagonal(1), lambda x: x.diagonal(1)),
        (lambda x: x.sort(dim=1, descending=True).values, lambda x: x.sort(1, descending=True)[0]),
        (lambda x: x.rot90(1, (0, 1)), lambda x: x.rot90(1, (0, 1))),
        (lambda x: x[0].dot(x[1]), lambda x: x[0].dot(x[1])),
        (lambda x: x.outer(x[0]), lambda x: torch.outer(x.reshape(-1), x[0])),
        (lambda x: x.inner(x), lambda x: x.inner(x)),
        (lambda x: x.kron(x), lambda x: x.kron(x)),
        (lambda x: x[:, :3].cross(x[:, 1:], dim=1), lambda x: x[:, :3].cross(x[:, 1:], dim=1)),
        (
            lambda x: x[:, :3].cross(x[:, 1:]),
            lambda x: torch.linalg.cross(x[:, :3], x[:, 1:], dim=0),
        ),
        (lambda x: cr.einsum("ij,kj", x, x), lambda x: torch.einsum("ij,kj", x, x)),
        (lambda x: cr.einsum("ij,kj->", [x, x]), lambda x: torch.einsum("ij,kj->", [x, x])),
        (lambda x: (x @ x.T).inverse(), lambda x: (x @ x.T + 0).inverse()),
        (lambda x: (x @ x.T).det(), lambda x: (x @ x.T).det()),
        (lambda x: (x @ x.T).matrix_power(2), lambda x: (x @ x.T).matrix_power(2)),
        (lambda x: x.pinverse(), lambda x: x.pinverse()),
        (lambda x: (x @ x.T + 1e3).cholesky(), lambda x: torch.linalg.cholesky(x @ x.T + 1e3)),
    ],
)
def test_spellings_follow_their_model(ours, theirs):
    rng = np.random.default_rng(0)
    value, _ = _grad(ours, X)
    v = rng.standard_normal(value.shape)
    value, grad = _grad(ours, X, v)
    tvalue, tgrad = _torch_grad(theirs, X, v)
    np.testing.assert_allclose(value, tvalue, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "name, args",
    [
        ("square", ()),
        ("tan", ()),
        ("arcsinh", ()),
        ("prod", ()),
        ("cumsum", ()),
        ("diff", ()),
        ("trace", ()),
        ("ravel", ()),
        ("flip", ()),
        ("fliplr", ()),
        ("tril", ()),
        ("diagonal", ()),
        ("outer", (X[0],)),
        ("average", ()),
        ("take", ([1, 5],)),
        ("kron", (X,)),
        ("inner", (X,)),
        ("dot", (X.T,)),
        ("logaddexp2", (X,)),
        ("hypot", (X,)),
    ],
)
def test_cr_and_np_spellings_agree(name, args):
    """``cr.f`` and ``np.f`` on a tensor are the same op: equal values and gradients."""
    ours = _grad(lambda x: getattr(cr, name)(x, *args), X)
    via_numpy = _grad(lambda x: getattr(np, name)(x, *args), X)
    expected = getattr(np, name)(X, *args)
    for a, b in zip(ours, via_numpy):
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_allclose(ours[0], expected, rtol=1e-12, err_msg=name)


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: cr.einsum("ij,jk", x), ValueError, "name 2 operands, got 1"),
        (lambda x: cr.einsum("ijk", x), ValueError, "3 indices for an operand with 2"),
        (lambda x: cr.cross(x, x), ValueError, "size 3 along axis -1"),
        (lambda x: cr.split(x, 3, axis=1), ValueError, "does not divide into 3"),
        (lambda x: cr.array_split(x, 0), ValueError, "number of sections must be > 0"),
        (lambda x: cr.linalg.solve(x, x), ValueError, r"square matrices.*\(3, 4\)"),
        (lambda x: cr.linalg.det(x), np.linalg.LinAlgError, r"det: .*\(3, 4\).*square"),
        (lambda x: cr.linalg.qr(x.T, mode="complete"), NotImplementedError, "'reduced'"),
        (lambda x: cr.linalg.qr(x, mode="full"), ValueError, "mode must be"),
        (lambda x: cr.linalg.eigh(x[:, :3], UPLO="X"), ValueError, "UPLO must be"),
        (lambda x: cr.linalg.matrix_power(x[:, :3], 1.5), TypeError, "n must be an integer"),
        (lambda x: cr.linalg.norm(x, "nuc", axis=0), ValueError, "invalid norm order"),
        (lambda x: cr.linalg.norm(x, "max"), ValueError, "invalid norm order"),
        (lambda x: cr.linalg.vector_norm(x, -1), ValueError, "ord must be positive"),
        (lambda x: cr.diff(x, n=-1), ValueError, "non-negative"),
        (lambda x: cr.roll(x, [], []), ValueError, r"roll: shift is empty \(\[\]\)"),
        (lambda x: cr.diag(x[None]), ValueError, "1-D or 2-D"),
        (lambda x: cr.select([x.data > 0], [x, x]), ValueError, "1 conditions but 2 choices"),
        (lambda x: cr.gradient(x, np.arange(3.0)), NotImplementedError, "scalar spacing"),
        (lambda x: x.split([1, 1], dim=0), ValueError, "do not add up to 3"),
        (lambda x: cr.tensordot(x, x, -1), ValueError, "axes must be non-negative"),
        (lambda x: np.moveaxis(x, [0, 1], [0]), ValueError, "differ in length"),
        (lambda x: cr.linspace(x[0, 0], x[1, 0], -2), ValueError, "num must be non-negative"),
        (lambda x: np.gradient(x[:1], axis=0), ValueError, "length 1 needs at least 2"),
        (lambda x: np.vstack([x, x], dtype=np.float32), TypeError, "dtype= is not supported"),
        (lambda x: cr.linalg.svd(x[0]), ValueError, r"matrices \(\.\.\., M, N\), got shape \(4,\)"),
        (lambda x: cr.linalg.qr(x[0]), ValueError, r"qr: expected matrices"),
        (lambda x: cr.linalg.matrix_norm(x, axis=(1, 1)), ValueError, "two different axes"),
        (lambda x: cr.linalg.norm(x[None], 2), ValueError, "1-D or 2-D input or an axis"),
        (lambda x: cr.linalg.norm(x[None], axis=(0, 1, 2)), ValueError, "an int or a pair"),
        (lambda x: np.pad(x, 1, mode="reflect"), NotImplementedError, "mode='constant'"),
        (lambda x: np.average(x, weights=[1.0, 2.0]), ValueError, r"weights of shape \(2,\)"),
        (lambda x: cr.tensordot(x, x, ([0], [0, 1])), ValueError, "pair 1 with 2"),
        (lambda x: np.einsum("ij", x, out=np.zeros((3, 4))), TypeError, "out= is not supported"),
        (lambda x: np.sort(x, order="a"), TypeError, "structured arrays"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, match):
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    with pytest.raises(error, match=match):
        call(x)


# --- the remaining spellings: values as NumPy's, gradients by finite differences -------------
@pytest.mark.parametrize(
    "f",
    [
        np.fabs,
        np.radians,
        np.degrees,
        np.rint,
        lambda x: np.mod(x, 0.65),
        lambda x: np.round(x, 1),
        np.real,
        np.conj,
        np.real_if_close,
        np.atleast_1d,
        np.atleast_2d,
        lambda x: np.vsplit(x, 2)[1],
        lambda x: np.hsplit(x, [1, 2])[2],
        lambda x: np.dsplit(x[..., None] * np.ones(2), 2)[0],
        lambda x: cr.row_stack([x, x]) if isinstance(x, cr.Tensor) else np.vstack([x, x]),
        lambda x: np.linspace(x[0, 0], x[1], 5, endpoint=False, axis=1),
        lambda x: np.linalg.trace(x[:, :2] * x[:, 1:]),
        lambda x: np.linalg.diagonal(x[:, :2] + 1),
        lambda x: np.sort(x, axis=None),
        lambda x: np.take_along_axis(x, np.array([[1], [0]]), axis=1),
    ],
    ids=[
        "fabs", "radians", "degrees", "rint", "mod", "round-decimals", "real", "conj",
        "real_if_close", "atleast_1d", "atleast_2d", "vsplit", "hsplit", "dsplit", "row_stack",
        "linspace-axis", "linalg.trace", "linalg.diagonal", "sort-flat", "take_along_axis",
    ],
)  # fmt: skip
def test_numpy_spellings_values_and_gradients(f):
    from chainrule.testing import check_grads

    x = np.array([[0.33, -1.23, 2.14], [1.71, 0.46, -0.82]])
    np.testing.assert_allclose(f(cr.tensor(x)).data, f(x), rtol=1e-12)
    check_grads(lambda t: f(t), (x,), modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize(
    "call",
    [lambda a: cr.rot90(a, 0), lambda a: cr.rot90(a, 4), lambda a: cr.diff(a, n=0, axis=0)],
    ids=["rot90-k0", "rot90-k4", "diff-n0"],
)
def test_identity_cases_of_array_functions_return_a_new_tensor(call):
    a = [[1.0, 2.0], [3.0, 4.0]]
    out = call(a)
    assert isinstance(out, cr.Tensor), f"got {type(out).__name__} for a list input"
    np.testing.assert_array_equal(out.data, a)
    t = cr.tensor(a, requires_grad=True)
    out = call(t)
    assert out is not t, "torch returns a new tensor here"
    out.backward(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(t.grad.data, a)


def test_sort_method_returns_torchs_named_values_and_indices():
    x = cr.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    result = x.sort(dim=1)
    np.testing.assert_array_equal(result.values.data, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(result.indices.data, [[1, 2, 0]])
    (result.values * cr.tensor([[10.0, 20.0, 30.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[30.0, 10.0, 20.0]])


def test_imag_of_a_real_tensor_is_zero_with_zero_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = np.imag(x)
    np.testing.assert_array_equal(out.data, [0.0, 0.0])
    (out + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_readme_states_the_number_of_primitives():
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"There are \*\*(\d+) primitives\*\*", readme)
    assert stated, "README's op section no longer says how many primitives there are"
    assert int(stated.group(1)) == len(cr.ops.REGISTRY), (
        f"README says {stated.group(1)} primitives, the registry has {len(cr.ops.REGISTRY)}"
    )


def test_count_ops_estimates_einsum_and_factorisations():
    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    b = cr.tensor(np.ones((3, 4)))
    with cr.count_ops() as c:
        cr.einsum("ij,jk->ik", a, b)
    assert c.multiply_adds == 2 * 3 * 4, "einsum: one multiply-add per (i, j, k)"
    m = cr.tensor(np.eye(4) * 2.0, requires_grad=True)
    with cr.count_ops() as c:
        cr.linalg.inv(m).sum().backward()
    # inv: 4³ forward and 4³ reverse; sum: one per output element forward and reverse
    assert c.by_op["inv"] == 2 and c.multiply_adds == 2 * 4**3 + 2
