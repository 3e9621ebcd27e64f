"""The Tensor's user-facing surface: construction, properties, operators, indexing, methods.

Expected values come from NumPy on the raw arrays or from derivatives written out by hand;
the shape methods' gradients are compared with PyTorch under a random cotangent.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _close(actual, expected, what, rtol=1e-6, atol=1e-9):
    actual = actual.data if isinstance(actual, cr.Tensor) else np.asarray(actual)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
    assert np.shape(actual) == np.shape(expected), (
        f"{what}: shape {np.shape(actual)}, expected {np.shape(expected)}"
    )


# --- construction: dtype policy ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "kwargs", "expected"),
    [
        (1.5, {}, np.float32),
        ([1.0, 2.0], {}, np.float32),
        ([[1.0, 2.0], [3.0, 4.0]], {}, np.float32),
        (np.array([1.0, 2.0]), {}, np.float64),
        (np.array([1.0, 2.0], dtype=np.float32), {}, np.float32),
        (np.float64(2.0), {}, np.float64),
        ([1.0, 2.0], {"dtype": cr.float64}, np.float64),
        (np.array([1.0, 2.0]), {"dtype": cr.float32}, np.float32),
        ([1, 2], {"dtype": cr.float64}, np.float64),
        (3, {}, np.int64),
        ([1, 2, 3], {}, np.int64),
        ([True, False], {}, np.bool_),
    ],
    ids=[
        "py-float",
        "list-float",
        "nested-list",
        "f64-ndarray",
        "f32-ndarray",
        "np-float64-scalar",
        "list-dtype-f64",
        "f64-ndarray-dtype-f32",
        "int-list-dtype-f64",
        "py-int",
        "list-int",
        "list-bool",
    ],
)
def test_tensor_dtype_policy(data, kwargs, expected):
    t = cr.tensor(data, **kwargs)
    assert t.dtype == expected, f"cr.tensor({data!r}, {kwargs}) has dtype {t.dtype}, not {expected}"
    np.testing.assert_array_equal(t.data, np.asarray(data), err_msg=f"values of tensor({data!r})")


def test_tensor_requires_grad_float_data_is_accepted():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad is True, "tensor(float list, requires_grad=True).requires_grad"
    assert t.grad is None, "a new leaf has no .grad"


def test_tensor_copies_ndarray():
    a = np.array([1.0, 2.0, 3.0])
    t = cr.tensor(a)
    a[0] = 100.0
    assert t.data[0] == 1.0, "cr.tensor(ndarray) must copy: mutating the source changed it"
    assert not np.shares_memory(t.data, a), "cr.tensor(ndarray) shares memory with its source"


def test_tensor_copies_tensor():
    src = cr.tensor([1.0, 2.0])
    t = cr.tensor(src)
    src.data[1] = -5.0
    assert t.data[1] == 2.0, "cr.tensor(tensor) must copy the source tensor's data"
    assert t is not src, "cr.tensor(tensor) returned the same object"


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [([1, 2], {}), (3, {}), ([True, False], {}), ([1.0, 2.0], {"dtype": cr.int64})],
    ids=["int-list", "int-scalar", "bool", "float-cast-to-int64"],
)
def test_requires_grad_on_non_float_raises_type_error(data, kwargs):
    with pytest.raises(TypeError, match="floating-point"):
        cr.tensor(data, requires_grad=True, **kwargs)


def test_requires_grad_method_on_int_raises_type_error():
    t = cr.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="floating-point.*int64"):
        t.requires_grad_()


def test_tensor_rejects_non_numeric_data():
    with pytest.raises(TypeError, match="tensor:"):
        cr.tensor(["a", "b"])


# --- properties -------------------------------------------------------------------------------
def test_properties_of_a_leaf():
    values = np.arange(6.0).reshape(2, 3)
    t = cr.tensor(values, requires_grad=True)
    assert isinstance(t.data, np.ndarray), f".data is {type(t.data)}, expected ndarray"
    np.testing.assert_array_equal(t.data, values, err_msg=".data of a (2, 3) leaf")
    assert t.shape == (2, 3), f".shape is {t.shape}, expected (2, 3)"
    assert t.dtype == np.float64, f".dtype is {t.dtype}, expected float64"
    assert t.ndim == 2, f".ndim is {t.ndim}, expected 2"
    assert t.grad is None, ".grad of a fresh leaf should be None"
    assert t.requires_grad is True, ".requires_grad of tensor(..., requires_grad=True)"
    assert t.is_leaf is True, "a tensor made by cr.tensor is a leaf"
    assert t.grad_fn is None, "a leaf has no grad_fn"


def test_numpy_shares_the_data():
    t = cr.tensor([1.0, 2.0])
    arr = t.numpy()
    assert isinstance(arr, np.ndarray), f".numpy() returned {type(arr)}"
    arr[0] = 7.0
    assert t.data[0] == 7.0, ".numpy() must return the tensor's own array (as torch does)"


def test_non_leaf_has_grad_fn_naming_its_op():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    assert y.is_leaf is False, "x * 2 with x requiring grad is not a leaf"
    assert y.requires_grad is True, "x * 2 with x requiring grad requires grad"
    assert y.grad_fn is not None and y.grad_fn.name == "mul", f"grad_fn of x * 2 is {y.grad_fn}"


def test_result_of_constants_is_a_leaf_without_grad_fn():
    y = cr.tensor([1.0, 2.0]) * 2.0
    assert y.is_leaf is True, "an op on tensors that need no grad gives a leaf (as torch)"
    assert y.grad_fn is None, "an op on tensors that need no grad records no grad_fn"
    assert y.requires_grad is False, "an op on constants does not require grad"


def test_detach_shares_data_and_is_a_leaf_without_grad():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert np.shares_memory(d.data, y.data), "detach() should share the data, not copy it"
    assert d.requires_grad is False, "detach() result requires no grad"
    assert d.is_leaf is True and d.grad_fn is None, "detach() result is a leaf with no grad_fn"
    assert d.grad is None, "detach() result has no .grad"
    np.testing.assert_array_equal(d.data, [3.0, 6.0, 9.0], err_msg="detach() values")


@pytest.mark.parametrize(
    ("data", "expected", "kind"),
    [(2.5, 2.5, float), ([[4.0]], 4.0, float), (7, 7, int), ([True], True, bool)],
    ids=["0-d-float", "1x1-float", "int", "bool"],
)
def test_item_returns_python_number(data, expected, kind):
    value = cr.tensor(data).item()
    assert value == expected, f"tensor({data!r}).item() is {value!r}, expected {expected!r}"
    assert type(value) is kind, f"tensor({data!r}).item() is a {type(value)}, expected {kind}"


def test_item_on_multi_element_raises_value_error():
    with pytest.raises(ValueError, match=r"one-element.*\(2, 2\)"):
        cr.tensor([[1.0, 2.0], [3.0, 4.0]]).item()


def test_repr_contains_values():
    text = repr(cr.tensor([1.5, -2.25]))
    assert "1.5" in text and "-2.25" in text, f"repr should show the values, got {text!r}"
    text = repr(cr.tensor([0.5], requires_grad=True))
    assert "requires_grad=True" in text, f"repr of a leaf requiring grad, got {text!r}"
    text = repr(cr.tensor([0.5], requires_grad=True) * 2.0)
    assert "mul" in text, f"repr of a non-leaf should name its op, got {text!r}"


# --- operators --------------------------------------------------------------------------------
# Each binary operator with its derivatives written out: (f, ∂f/∂a, ∂f/∂b).
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: np.ones_like(a), lambda a, b: np.ones_like(b)),
    "sub": (lambda a, b: a - b, lambda a, b: np.ones_like(a), lambda a, b: -np.ones_like(b)),
    "mul": (lambda a, b: a * b, lambda a, b: b, lambda a, b: a),
    "truediv": (lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / b**2),
    "pow": (lambda a, b: a**b, lambda a, b: b * a ** (b - 1), lambda a, b: a**b * np.log(a)),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_operator_value_and_gradients(name, rng):
    f, da, db = BINARY[name]
    ad = rng.uniform(0.5, 2.0, (3, 4))
    bd = rng.uniform(0.5, 2.0, (3, 4))
    g = rng.standard_normal((3, 4))
    a = cr.tensor(ad, requires_grad=True)
    b = cr.tensor(bd, requires_grad=True)
    out = f(a, b)
    assert isinstance(out, cr.Tensor), f"a {name} b is a {type(out)}"
    _close(out, f(ad, bd), f"{name} forward, shapes (3, 4)")
    out.backward(grad=g)
    _close(a.grad, g * da(ad, bd), f"{name} grad of a, shapes (3, 4)")
    _close(b.grad, g * db(ad, bd), f"{name} grad of b, shapes (3, 4)")


def test_matmul_operator_value_and_gradients(rng):
    ad, bd = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    g = rng.standard_normal((2, 4))
    a = cr.tensor(ad, requires_grad=True)
    b = cr.tensor(bd, requires_grad=True)
    out = a @ b
    _close(out, ad @ bd, "matmul forward (2, 3) @ (3, 4)")
    out.backward(grad=g)
    # C = AB:  Ā = C̄ Bᵀ,  B̄ = Aᵀ C̄
    _close(a.grad, g @ bd.T, "matmul grad of a (2, 3)")
    _close(b.grad, ad.T @ g, "matmul grad of b (3, 4)")


# Reflected forms: (expression, value, derivative) for x on the right of a Python scalar.
REFLECTED = {
    "2+x": (lambda x: 2.0 + x, lambda x: 2.0 + x, lambda x: np.ones_like(x)),
    "2-x": (lambda x: 2.0 - x, lambda x: 2.0 - x, lambda x: -np.ones_like(x)),
    "2*x": (lambda x: 2.0 * x, lambda x: 2.0 * x, lambda x: np.full_like(x, 2.0)),
    "2/x": (lambda x: 2.0 / x, lambda x: 2.0 / x, lambda x: -2.0 / x**2),
    "2**x": (lambda x: 2.0**x, lambda x: 2.0**x, lambda x: 2.0**x * np.log(2.0)),
    "-x": (lambda x: -x, lambda x: -x, lambda x: -np.ones_like(x)),
}


@pytest.mark.parametrize("expr", list(REFLECTED))
def test_reflected_scalar_operators(expr, rng):
    f, value, deriv = REFLECTED[expr]
    xd = rng.uniform(0.5, 2.0, 5)
    g = rng.standard_normal(5)
    x = cr.tensor(xd, requires_grad=True)
    out = f(x)
    assert isinstance(out, cr.Tensor), f"{expr} gave {type(out)}, expected a Tensor"
    _close(out, value(xd), f"{expr} forward, shape (5,)")
    out.backward(grad=g)
    _close(x.grad, g * deriv(xd), f"{expr} grad of x, shape (5,)")


# ndarray on the left: NumPy must hand the operation to the Tensor (via __array_ufunc__).
NDARRAY_LEFT = {
    "arr+x": (lambda a, x: a + x, lambda a, x: np.ones_like(x)),
    "arr-x": (lambda a, x: a - x, lambda a, x: -np.ones_like(x)),
    "arr*x": (lambda a, x: a * x, lambda a, x: a),
    "arr/x": (lambda a, x: a / x, lambda a, x: -a / x**2),
    "arr**x": (lambda a, x: a**x, lambda a, x: a**x * np.log(a)),
}


@pytest.mark.parametrize("expr", list(NDARRAY_LEFT))
def test_ndarray_on_the_left_gives_a_differentiable_tensor(expr, rng):
    f, deriv = NDARRAY_LEFT[expr]
    ad = rng.uniform(0.5, 2.0, 3)
    xd = rng.uniform(0.5, 2.0, 3)
    g = rng.standard_normal(3)
    x = cr.tensor(xd, requires_grad=True)
    out = f(ad, x)
    assert isinstance(out, cr.Tensor), f"{expr} gave {type(out)}, expected a Tensor"
    assert out.requires_grad, f"{expr} should require grad"
    _close(out, f(ad, xd), f"{expr} forward, shape (3,)")
    out.backward(grad=g)
    _close(x.grad, g * deriv(ad, xd), f"{expr} grad of x, shape (3,)")


def test_ones_times_tensor_is_a_tensor():
    x = cr.tensor([1.0, 2.0, 3.0])
    out = np.ones(3) * x
    assert isinstance(out, cr.Tensor), f"np.ones(3) * x gave {type(out)}, expected a Tensor"
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 3.0], err_msg="np.ones(3) * x values")


def test_ndarray_matmul_tensor(rng):
    ad, xd = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    g = rng.standard_normal((2, 4))
    x = cr.tensor(xd, requires_grad=True)
    out = ad @ x
    assert isinstance(out, cr.Tensor), f"ndarray @ tensor gave {type(out)}"
    _close(out, ad @ xd, "ndarray (2, 3) @ tensor (3, 4) forward")
    out.backward(grad=g)
    _close(x.grad, ad.T @ g, "ndarray @ tensor: grad of the tensor (3, 4)")


@pytest.mark.parametrize(
    "expr",
    [
        lambda x: x * 2.0,
        lambda x: 2.0 * x,
        lambda x: x + 1,
        lambda x: 1.0 - x,
        lambda x: x / 3.0,
        lambda x: x**2,
        lambda x: 2.0**x,
        lambda x: x * True,
    ],
    ids=["x*2.0", "2.0*x", "x+1", "1.0-x", "x/3.0", "x**2", "2.0**x", "x*True"],
)
def test_python_scalars_do_not_upcast_float32(expr):
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    out = expr(x)
    assert out.dtype == np.float32, f"float32 tensor with a Python scalar gave {out.dtype}"
    _close(out, expr(np.array([0.5, 1.5], dtype=np.float32)), "float32 op with a scalar", 1e-6)
    out.sum().backward()
    assert x.grad.dtype == np.float32, f"grad of a float32 leaf is {x.grad.dtype}"


def test_int_tensor_times_python_int_stays_int64():
    out = cr.tensor([1, 2]) * 3
    assert out.dtype == np.int64, f"int64 tensor * 3 gave {out.dtype}"
    np.testing.assert_array_equal(out.data, [3, 6], err_msg="int64 tensor * 3")


# --- comparisons --------------------------------------------------------------------------------
COMPARISONS = {
    "<": (lambda a, b: a < b, np.less),
    "<=": (lambda a, b: a <= b, np.less_equal),
    ">": (lambda a, b: a > b, np.greater),
    ">=": (lambda a, b: a >= b, np.greater_equal),
    "==": (lambda a, b: a == b, np.equal),
    "!=": (lambda a, b: a != b, np.not_equal),
}


@pytest.mark.parametrize("op", list(COMPARISONS))
@pytest.mark.parametrize("other_kind", ["scalar", "tensor"])
def test_comparisons_give_bool_tensors_without_grad(op, other_kind):
    fn, ref = COMPARISONS[op]
    xd = np.array([1.0, 2.0, 3.0])
    od = 2.0 if other_kind == "scalar" else np.array([3.0, 2.0, 1.0])
    x = cr.tensor(xd, requires_grad=True)
    other = od if other_kind == "scalar" else cr.tensor(od, requires_grad=True)
    out = fn(x, other)
    assert isinstance(out, cr.Tensor), f"x {op} {other_kind} gave {type(out)}"
    assert out.dtype == np.bool_, f"x {op} {other_kind} has dtype {out.dtype}, expected bool"
    assert out.requires_grad is False, f"x {op} {other_kind} must not require grad"
    assert out.grad_fn is None, f"x {op} {other_kind} must not record a grad_fn"
    np.testing.assert_array_equal(out.data, ref(xd, od), err_msg=f"x {op} {other_kind}, (3,)")


# --- indexing ------------------------------------------------------------------------------------
def _index_grad(shape, index, g):
    """x̄ for y = x[index], from which flat element of x each element of y was read."""
    source = np.arange(int(np.prod(shape))).reshape(shape)[index]
    counts = np.bincount(np.ravel(source), weights=np.ravel(g), minlength=int(np.prod(shape)))
    return counts.reshape(shape)


INDICES = {
    "int": 1,
    "negative-int": -1,
    "int-pair": (1, 2),
    "slice": np.s_[1:, ::2],
    "negative-step": np.s_[::-1, 1:3],
    "none-ellipsis": np.s_[None, ..., 1],
    "ellipsis-int": np.s_[..., 0],
    "int-array": np.array([2, 0]),
    "repeated-int-list": [0, 0, 2, 0],
    "array-pair": np.s_[[0, 2, 2], [1, 1, 3]],
    "slice-and-array": np.s_[:, [3, 3, 0]],
    "bool-mask": np.array([[True, False, True, False]] * 3),
    "bool-rows": np.array([True, False, True]),
}


@pytest.mark.parametrize("name", list(INDICES))
def test_indexing_value_and_gradient(name, rng):
    index = INDICES[name]
    if isinstance(index, list):
        index = np.array(index)  # as NumPy reads a list index; x gets the plain list below
    xd = rng.standard_normal((3, 4))
    x = cr.tensor(xd, requires_grad=True)
    out = x[INDICES[name]]
    expected = xd[index]
    _close(out, expected, f"x[{name}] forward, x of shape (3, 4)")
    g = rng.standard_normal(expected.shape)
    out.backward(grad=g)
    _close(x.grad, _index_grad(xd.shape, index, g), f"x[{name}] grad, x of shape (3, 4)")


def test_repeated_integer_indices_accumulate():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 1.0, 0.0], err_msg="x[[0, 0, 1]].sum()")


@pytest.mark.parametrize(
    ("build", "np_index"),
    [
        (lambda x: cr.tensor([2, 0, 2]), np.array([2, 0, 2])),
        (lambda x: cr.tensor(1), 1),
        (lambda x: (slice(None), cr.tensor([3, 1])), np.s_[:, [3, 1]]),
        (lambda x: x > 0, None),
    ],
    ids=["int-tensor", "0-d-int-tensor", "slice-and-int-tensor", "bool-tensor-mask"],
)
def test_tensor_indices(build, np_index, rng):
    xd = rng.standard_normal((3, 4))
    x = cr.tensor(xd, requires_grad=True)
    if np_index is None:
        np_index = xd > 0
    out = x[build(x)]
    _close(out, xd[np_index], "x[tensor index] forward, x of shape (3, 4)")
    g = rng.standard_normal(out.shape)
    out.backward(grad=g)
    _close(x.grad, _index_grad(xd.shape, np_index, g), "x[tensor index] grad, (3, 4)")


def test_setitem_on_tensor_requiring_grad_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem.*requires grad.*no_grad"):
        x[0] = 5.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0], err_msg="a refused setitem changed x")


def test_setitem_under_no_grad_writes():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with cr.no_grad():
        x[1] = 5.0
        x[[0, 2]] = cr.tensor([7.0, 8.0])
    np.testing.assert_array_equal(x.data, [7.0, 5.0, 8.0], err_msg="setitem under no_grad")
    assert x.requires_grad, "setitem under no_grad must not change requires_grad"


def test_setitem_on_constant_writes():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    t[:, 0] = 0.0
    np.testing.assert_array_equal(t.data, [[0.0, 2.0], [0.0, 4.0]], err_msg="t[:, 0] = 0")


# --- shape methods: compared with PyTorch under a random cotangent -----------------------------
SHAPE_METHODS = {
    "T": ((3, 4), lambda t: t.T),
    "transpose(0,1)": ((3, 4), lambda t: t.transpose(0, 1)),
    "transpose(-1,0)": ((2, 3, 4), lambda t: t.transpose(-1, 0)),
    "permute(2,0,1)": ((2, 3, 4), lambda t: t.permute(2, 0, 1)),
    "permute(tuple)": ((2, 3, 4), lambda t: t.permute((1, 2, 0))),
    "reshape(4,6)": ((2, 3, 4), lambda t: t.reshape(4, 6)),
    "reshape(tuple,-1)": ((2, 3, 4), lambda t: t.reshape((3, -1))),
    "view(-1)": ((2, 3, 4), lambda t: t.view(-1)),
    "flatten()": ((2, 3, 4), lambda t: t.flatten()),
    "flatten(1)": ((2, 3, 4), lambda t: t.flatten(1)),
    "flatten(0,1)": ((2, 3, 4), lambda t: t.flatten(0, 1)),
    "expand(3,-1)": ((1, 4), lambda t: t.expand(3, -1)),
    "expand(2,3,4)": ((3, 1), lambda t: t.expand(2, 3, 4)),
    "squeeze()": ((1, 3, 1), lambda t: t.squeeze()),
    "squeeze(0)": ((1, 3, 1), lambda t: t.squeeze(0)),
    "squeeze(dim=2)": ((1, 3, 1), lambda t: t.squeeze(dim=2)),
    "unsqueeze(1)": ((2, 3), lambda t: t.unsqueeze(1)),
    "unsqueeze(dim=-1)": ((2, 3), lambda t: t.unsqueeze(dim=-1)),
    "clamp(-0.5,0.5)": ((3, 4), lambda t: t.clamp(-0.5, 0.5)),
    "clamp(min=0)": ((3, 4), lambda t: t.clamp(min=0.0)),
    "clamp(max=0.25)": ((3, 4), lambda t: t.clamp(max=0.25)),
}


@pytest.mark.parametrize("name", list(SHAPE_METHODS))
def test_shape_methods_match_torch(name, rng):
    shape, fn = SHAPE_METHODS[name]
    xd = rng.standard_normal(shape)
    x = cr.tensor(xd, requires_grad=True)
    tx = torch.tensor(xd, requires_grad=True)
    out, tout = fn(x), fn(tx)
    _close(out, tout.detach().numpy(), f"x.{name} forward, x of shape {shape}")
    g = rng.standard_normal(tout.shape)
    out.backward(grad=g)
    tout.backward(torch.tensor(g))
    _close(x.grad, tx.grad.numpy(), f"x.{name} grad, x of shape {shape}")


def test_clamp_function_and_method_agree():
    xd = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    x = cr.tensor(xd, requires_grad=True)
    cr.clamp(x, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 1, 0], err_msg="cr.clamp grad mask")
    np.testing.assert_array_equal(
        cr.clamp(x, min=-1.0, max=1.0).data, np.clip(xd, -1.0, 1.0), err_msg="cr.clamp values"
    )


# --- dim=/keepdim= aliases ---------------------------------------------------------------------
def _lse(x, axis, keepdims):
    return np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))


# method, axis, keepdims, numpy reference
REDUCTIONS = {
    "sum": lambda x, a, k: x.sum(axis=a, keepdims=k),
    "mean": lambda x, a, k: x.mean(axis=a, keepdims=k),
    "max": lambda x, a, k: x.max(axis=a, keepdims=k),
    "min": lambda x, a, k: x.min(axis=a, keepdims=k),
    "amax": lambda x, a, k: x.max(axis=a, keepdims=k),
    "amin": lambda x, a, k: x.min(axis=a, keepdims=k),
    "logsumexp": _lse,
    "var": lambda x, a, k: x.var(axis=a, ddof=1, keepdims=k),
}


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("axis", [0, -1, 1])
@pytest.mark.parametrize("method", list(REDUCTIONS))
def test_dim_keepdim_aliases_match_axis_keepdims(method, axis, keep, rng):
    xd = rng.standard_normal((3, 4))
    x = cr.tensor(xd)
    with_dim = getattr(x, method)(dim=axis, keepdim=keep)
    with_axis = getattr(x, method)(axis=axis, keepdims=keep)
    expected = REDUCTIONS[method](xd, axis, keep)
    what = f"x.{method}(dim={axis}, keepdim={keep}) on (3, 4)"
    _close(with_dim, expected, what)
    _close(with_axis, expected, what.replace("dim=", "axis=").replace("keepdim=", "keepdims="))


@pytest.mark.parametrize("method", ["sum", "mean", "max", "var", "squeeze"])
def test_axis_and_dim_together_raise(method):
    x = cr.tensor(np.ones((1, 3)))
    with pytest.raises(TypeError, match="either axis= or dim="):
        getattr(x, method)(axis=0, dim=0)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


SOFTMAX_CALLS = {
    "positional": lambda t, method, a: getattr(t, method)(a),
    "axis=": lambda t, method, a: getattr(t, method)(axis=a),
    "dim=": lambda t, method, a: getattr(t, method)(dim=a),
}


@pytest.mark.parametrize("call", list(SOFTMAX_CALLS))
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize(
    ("method", "ref"),
    [("softmax", _softmax), ("log_softmax", lambda x, a: np.log(_softmax(x, a)))],
    ids=["softmax", "log_softmax"],
)
def test_softmax_methods_accept_axis_and_dim(method, ref, axis, call, rng):
    xd = rng.standard_normal((3, 4))
    out = SOFTMAX_CALLS[call](cr.tensor(xd), method, axis)
    _close(out, ref(xd, axis), f"x.{method}({call} {axis}) on (3, 4)")


# --- NumPy dispatch -----------------------------------------------------------------------------
def test_np_exp_dispatches_to_differentiable_exp(rng):
    xd = rng.standard_normal(4)
    g = rng.standard_normal(4)
    x = cr.tensor(xd, requires_grad=True)
    out = np.exp(x)
    assert isinstance(out, cr.Tensor), f"np.exp(tensor) gave {type(out)}, expected a Tensor"
    assert out.requires_grad, "np.exp(tensor requiring grad) should require grad"
    _close(out, np.exp(xd), "np.exp(x) forward, (4,)")
    out.backward(grad=g)
    _close(x.grad, g * np.exp(xd), "np.exp(x) grad, (4,)")


@pytest.mark.parametrize("mask_kind", ["ndarray", "tensor"])
def test_np_where_dispatches_to_differentiable_where(mask_kind, rng):
    xd = rng.standard_normal(6)
    g = rng.standard_normal(6)
    x = cr.tensor(xd, requires_grad=True)
    mask = xd > 0 if mask_kind == "ndarray" else x > 0
    out = np.where(mask, x, 0)
    assert isinstance(out, cr.Tensor), f"np.where(mask, tensor, 0) gave {type(out)}"
    _close(out, np.where(xd > 0, xd, 0.0), f"np.where({mask_kind} mask, x, 0) forward")
    out.backward(grad=g)
    _close(x.grad, np.where(xd > 0, g, 0.0), f"np.where({mask_kind} mask, x, 0) grad")


def test_np_function_without_rule_raises_type_error():
    with pytest.raises(TypeError, match="no differentiable rule"):
        np.frexp(cr.tensor([1.0]))
