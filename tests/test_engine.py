"""The reverse-mode engine: worked examples, accumulation, graph lifetime, grad modes, errors.

Every expected number is derived by hand in a comment or computed with NumPy.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import chainrule as cr


def _scalar(value):
    return cr.tensor(value, requires_grad=True, dtype=cr.float64)


# --- worked examples (the seed exercises) ---------------------------------------------------
def test_seed_exercise_x_squared_times_x_plus_y():
    # F = x²(x + y) at (2, 3):  F = 4·5 = 20,  ∂F/∂x = 2x(x + y) + x² = 20 + 4 = 24,  ∂F/∂y = x² = 4
    x, y = _scalar(2.0), _scalar(3.0)
    F = x**2 * (x + y)
    assert F.item() == 20.0, f"F = x²(x+y) at (2, 3) is {F.item()}, expected 20"
    F.backward()
    assert x.grad.item() == 24.0, f"dF/dx of x²(x+y) at (2, 3) is {x.grad.item()}, expected 24"
    assert y.grad.item() == 4.0, f"dF/dy of x²(x+y) at (2, 3) is {y.grad.item()}, expected 4"


def test_seed_exercise_log_plus_polynomial():
    # F = log x + x²y + y² at (2, 3):  ∂F/∂x = 1/x + 2xy = 0.5 + 12 = 12.5,  ∂F/∂y = x² + 2y = 10
    x, y = _scalar(2.0), _scalar(3.0)
    F = x.log() + x**2 * y + y**2
    assert math.isclose(F.item(), math.log(2.0) + 12.0 + 9.0), f"F at (2, 3) is {F.item()}"
    F.backward()
    assert math.isclose(x.grad.item(), 12.5), f"dF/dx at (2, 3) is {x.grad.item()}, expected 12.5"
    assert math.isclose(y.grad.item(), 10.0), f"dF/dy at (2, 3) is {y.grad.item()}, expected 10"


def test_seed_exercise_float32_vectors_as_in_the_docstring():
    x = cr.tensor([2.0], requires_grad=True)
    y = cr.tensor([3.0], requires_grad=True)
    (x.log() + x**2 * y + y**2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [12.5], rtol=1e-6, err_msg="float32 dF/dx at (2, 3)")
    np.testing.assert_allclose(y.grad.data, [10.0], rtol=1e-6, err_msg="float32 dF/dy at (2, 3)")


def test_accumulation_through_a_plus_a():
    # b = a + a = 2a,  c = b + b = 4a  =>  dc/da = 4
    a = _scalar(1.5)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0, f"c = (a + a) + (a + a): dc/da is {a.grad.item()}, expected 4"


def test_tensor_used_in_several_branches_gets_the_sum():
    # f = x·x + 3x + eˣ at x = 2:  f' = 2x + 3 + eˣ = 7 + e²
    x = _scalar(2.0)
    f = x * x + 3.0 * x + x.exp()
    f.backward()
    expected = 7.0 + math.exp(2.0)
    assert math.isclose(x.grad.item(), expected), f"d(x·x + 3x + eˣ)/dx = {x.grad.item()}"


def test_reused_vector_under_a_random_cotangent(rng):
    xd = rng.standard_normal(5)
    g = rng.standard_normal(5)
    x = cr.tensor(xd, requires_grad=True)
    h = x * 2.0  # an intermediate consumed by three ops
    out = h * h + h.sin() - x
    out.backward(grad=g)
    # out = 4x² + sin 2x − x:  out' = 8x + 2 cos 2x − 1
    np.testing.assert_allclose(
        x.grad.data, g * (8 * xd + 2 * np.cos(2 * xd) - 1), rtol=1e-12, err_msg="reused h, (5,)"
    )


def test_backward_function_form():
    x = _scalar(3.0)
    cr.backward(x * x)
    assert x.grad.item() == 6.0, f"cr.backward(x*x) at 3 gave {x.grad.item()}, expected 6"


# --- accumulation across calls, retain_graph, freeing -----------------------------------------
def test_gradients_accumulate_across_backward_calls_and_reset_with_none():
    x = _scalar(2.0)
    (x * 3.0).backward()
    (x * x).backward()
    assert x.grad.item() == 3.0 + 4.0, f"3 + 2x accumulated at x = 2 is {x.grad.item()}, not 7"
    x.grad = None
    (x * 5.0).backward()
    assert x.grad.item() == 5.0, f"after x.grad = None, d(5x)/dx is {x.grad.item()}, not 5"


def test_retain_graph_allows_a_second_backward():
    x = _scalar(2.0)
    y = x**3  # y' = 3x² = 12
    y.backward(retain_graph=True)
    assert x.grad.item() == 12.0, f"first backward of x³ at 2 gave {x.grad.item()}, not 12"
    y.backward()
    assert x.grad.item() == 24.0, f"second backward should double the grad, got {x.grad.item()}"


def test_second_backward_without_retain_graph_raises():
    x = _scalar(2.0)
    y = (x * 3.0).exp()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_third_backward_after_retain_then_free_raises():
    x = _scalar(2.0)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_graph_is_freed_after_backward():
    x = _scalar(2.0)
    h = x * 3.0
    y = h.exp()
    y.backward()
    assert y._parents is None, "the root's _parents should be released after backward"
    assert h._parents is None, "an intermediate's _parents should be released after backward"


def test_graph_is_kept_with_retain_graph():
    x = _scalar(2.0)
    h = x * 3.0
    y = h.exp()
    y.backward(retain_graph=True)
    assert y._parents is not None, "retain_graph=True must keep the root's _parents"
    assert h._parents is not None, "retain_graph=True must keep an intermediate's _parents"


def test_long_chain_backpropagates_without_recursion_error():
    n = 100_000
    x = _scalar(1.0)
    y = x
    for _ in range(n):
        y = y * 1.0000001
    y.backward()
    # y = x·cⁿ  =>  dy/dx = cⁿ
    np.testing.assert_allclose(x.grad.item(), 1.0000001**n, rtol=1e-9, err_msg="chain of 1e5 mul")


# --- backward errors ---------------------------------------------------------------------------
def test_backward_on_non_scalar_without_grad_raises():
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"one element, got shape \(2, 3\)") as info:
        y.backward()
    assert "grad=" in str(info.value), f"message should explain passing grad=: {info.value}"


def test_backward_with_wrong_grad_shape_raises():
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    with pytest.raises(ValueError, match=re.escape("grad has shape (2,)") + ".*" + r"\(3,\)"):
        y.backward(grad=np.ones(2))


def test_backward_on_constant_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(2.0).backward()


def test_backward_on_result_of_no_grad_raises():
    x = _scalar(2.0)
    with cr.no_grad():
        y = x * x
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_backward_on_non_tensor_raises_type_error():
    with pytest.raises(TypeError, match="expected a Tensor, got float"):
        cr.backward(1.0)


# --- grad modes ----------------------------------------------------------------------------------
def _assert_not_recorded(y, what):
    assert y.requires_grad is False, f"{what}: result requires grad"
    assert y.grad_fn is None, f"{what}: result has grad_fn {y.grad_fn}"


def test_no_grad_context_manager():
    x = _scalar(2.0)
    with cr.no_grad():
        assert cr.is_grad_enabled() is False, "is_grad_enabled() inside no_grad"
        y = x * x + 1.0
    _assert_not_recorded(y, "x * x + 1 under no_grad")
    assert cr.is_grad_enabled() is True, "grad mode must be restored after no_grad"
    assert (x * x).requires_grad, "ops after no_grad record again"


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(KeyError), cr.no_grad():
        raise KeyError("boom")
    assert cr.is_grad_enabled() is True, "no_grad must restore grad mode when the block raises"


def test_no_grad_as_decorator():
    @cr.no_grad()
    def double(t):
        """Doubles."""
        return t * 2.0

    x = _scalar(2.0)
    y = double(x)
    _assert_not_recorded(y, "a @no_grad() function's result")
    assert y.item() == 4.0, f"@no_grad() function result is {y.item()}, expected 4"
    assert double.__name__ == "double", "@no_grad() should keep the function's name"
    assert cr.is_grad_enabled() is True, "grad mode after calling a @no_grad() function"
    assert double(x).requires_grad is False, "a @no_grad() function can be called twice"


def test_enable_grad_inside_no_grad():
    x = _scalar(2.0)
    with cr.no_grad():
        with cr.enable_grad():
            y = x * x
        z = x * x
    assert y.requires_grad and y.grad_fn is not None, "enable_grad inside no_grad records"
    _assert_not_recorded(z, "after leaving enable_grad, still inside no_grad")
    y.backward()
    assert x.grad.item() == 4.0, f"grad through a graph made in enable_grad is {x.grad.item()}"


def test_enable_grad_as_decorator_inside_no_grad():
    @cr.enable_grad()
    def square(t):
        return t * t

    x = _scalar(3.0)
    with cr.no_grad():
        y = square(x)
        assert cr.is_grad_enabled() is False, "no_grad mode must come back after the call"
    assert y.requires_grad, "an @enable_grad() function records even under no_grad"


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_context_manager(mode):
    x = _scalar(2.0)
    with cr.set_grad_enabled(mode):
        assert cr.is_grad_enabled() is mode, f"is_grad_enabled() in set_grad_enabled({mode})"
        y = x * x
    assert y.requires_grad is mode, f"x * x under set_grad_enabled({mode})"
    assert cr.is_grad_enabled() is True, f"grad mode restored after set_grad_enabled({mode})"


def test_set_grad_enabled_true_inside_no_grad():
    x = _scalar(2.0)
    with cr.no_grad(), cr.set_grad_enabled(True):
        y = x * x
    assert y.requires_grad, "set_grad_enabled(True) inside no_grad records"


def test_set_grad_enabled_as_decorator():
    @cr.set_grad_enabled(False)
    def square(t):
        return t * t

    _assert_not_recorded(square(_scalar(2.0)), "@set_grad_enabled(False) function")
    assert cr.is_grad_enabled() is True, "grad mode after a @set_grad_enabled(False) function"


def test_set_grad_enabled_as_a_function_call():
    try:
        cr.set_grad_enabled(False)
        off = cr.is_grad_enabled()
    finally:
        cr.set_grad_enabled(True)  # never leak a disabled mode to other tests
    assert off is False, "cr.set_grad_enabled(False) as a call should switch recording off"


# --- dtypes and shapes of leaf gradients -----------------------------------------------------
@pytest.mark.parametrize(
    ("leaf_shape", "reduce"),
    [
        ((1, 4), lambda g: g.sum(axis=0, keepdims=True)),
        ((3, 1), lambda g: g.sum(axis=1, keepdims=True)),
        ((4,), lambda g: g.sum(axis=0)),
        ((), lambda g: g.sum()),
        ((1, 1), lambda g: g.sum(keepdims=True)),
    ],
    ids=["row-(1,n)", "column-(m,1)", "vector-(n,)", "scalar-()", "(1,1)"],
)
def test_broadcast_leaf_gets_gradient_of_its_own_shape_and_dtype(leaf_shape, reduce, rng):
    m = cr.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    b = cr.tensor(rng.standard_normal(leaf_shape).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    (m + b).backward(grad=g)
    assert b.grad.shape == leaf_shape, f"grad of a {leaf_shape} leaf added to (3, 4)"
    assert b.grad.dtype == np.float32, f"grad of a float32 {leaf_shape} leaf is {b.grad.dtype}"
    np.testing.assert_allclose(b.grad.data, reduce(g), rtol=1e-5, err_msg=f"{leaf_shape} + (3, 4)")
    np.testing.assert_allclose(m.grad.data, g, rtol=1e-6, err_msg=f"(3, 4) + {leaf_shape}")


def test_scalar_leaf_broadcast_in_a_product(rng):
    md = rng.standard_normal((3, 4))
    g = rng.standard_normal((3, 4))
    s = _scalar(1.5)
    (s * cr.tensor(md)).backward(grad=g)
    assert s.grad.shape == (), f"grad of a scalar leaf has shape {s.grad.shape}"
    np.testing.assert_allclose(s.grad.item(), np.sum(g * md), rtol=1e-12, err_msg="s · M, s ()")


def test_float32_leaf_mixed_with_float64_constant(rng):
    xd = rng.standard_normal(4).astype(np.float32)
    cd = rng.standard_normal(4)  # a float64 constant array
    g = rng.standard_normal(4)
    x = cr.tensor(xd, requires_grad=True)
    h = x * cd
    assert h.dtype == np.float64, f"float32 * float64 array gives {h.dtype} (NumPy promotion)"
    h.backward(grad=g)
    assert x.grad.dtype == np.float32, f"grad of a float32 leaf is {x.grad.dtype}"
    np.testing.assert_allclose(x.grad.data, g * cd, rtol=1e-6, err_msg="x (f32) * c (f64), (4,)")


def test_gradient_with_respect_to_float64_leaf_mixed_with_float32(rng):
    xd = rng.standard_normal(4).astype(np.float32)
    cd = rng.standard_normal(4)
    g = rng.standard_normal(4)
    x = cr.tensor(xd, requires_grad=True)
    c = cr.tensor(cd, requires_grad=True)
    ((x * c).exp()).backward(grad=g)
    # d/dc e^{xc} = x e^{xc};  d/dx e^{xc} = c e^{xc}
    e = np.exp(xd.astype(np.float64) * cd)
    assert c.grad.dtype == np.float64, f"grad of a float64 leaf is {c.grad.dtype}"
    assert x.grad.dtype == np.float32, f"grad of a float32 leaf is {x.grad.dtype}"
    np.testing.assert_allclose(c.grad.data, g * xd * e, rtol=1e-12, err_msg="exp(x c): c̄, f64")
    np.testing.assert_allclose(x.grad.data, g * cd * e, rtol=1e-6, err_msg="exp(x c): x̄, f32")


# --- gradients are independent arrays ---------------------------------------------------------
@pytest.mark.parametrize("how", ["sum", "cotangent"])
def test_gradients_of_two_leaves_do_not_share_memory(how, rng):
    a = cr.tensor(rng.standard_normal(3), requires_grad=True)
    b = cr.tensor(rng.standard_normal(3), requires_grad=True)
    c = a + b
    if how == "sum":
        c.sum().backward()
    else:
        c.backward(grad=rng.standard_normal(3))
    assert not np.shares_memory(a.grad.data, b.grad.data), f"a.grad and b.grad share ({how})"
    before = b.grad.data.copy()
    a.grad.data += 10.0
    np.testing.assert_array_equal(b.grad.data, before, err_msg=f"editing a.grad changed b ({how})")


@pytest.mark.parametrize(
    "fn",
    [lambda x: x, lambda x: x + 0.0, lambda x: (x + 0.0) + 0.0, lambda x: x * 1.0, lambda x: +x],
    ids=["leaf", "add-zero", "two-adds", "mul-one", "unary-plus"],
)
@pytest.mark.parametrize("seed_kind", ["ndarray", "tensor"])
def test_leaf_grad_is_not_the_seed(fn, seed_kind):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seed = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    if seed_kind == "tensor":
        seed = cr.tensor(seed)
    fn(x).backward(grad=seed)
    seed_values = seed.data if seed_kind == "tensor" else seed
    seed_values[:] = -1.0
    np.testing.assert_array_equal(
        x.grad.data, [1.0, 2.0, 3.0], err_msg=f"x.grad changed with the {seed_kind} seed"
    )
    x.grad.data[:] = 0.0
    np.testing.assert_array_equal(
        seed_values, [-1.0, -1.0, -1.0], err_msg=f"writing x.grad changed the {seed_kind} seed"
    )


def test_gradient_accumulation_does_not_write_into_the_seed():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seed = np.ones(2, dtype=np.float32)
    (x + 0.0).backward(grad=seed)
    (x + 0.0).backward(grad=seed)
    np.testing.assert_array_equal(seed, [1.0, 1.0], err_msg="accumulation wrote into the seed")
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0], err_msg="two backward calls")


# --- detect_anomaly --------------------------------------------------------------------------
def test_detect_anomaly_names_op_that_makes_nan_in_forward():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(FloatingPointError, match="forward of op 'log' produced nan"),
        cr.detect_anomaly(),
    ):
        cr.log(x)


def test_detect_anomaly_names_op_whose_backward_makes_inf():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"), cr.detect_anomaly():
        y = cr.sqrt(x)  # forward fine: [0, 2]
        np.testing.assert_array_equal(y.data, [0.0, 2.0], err_msg="sqrt forward at [0, 4]")
        # d√x/dx = 1/(2√x) is inf at 0
        with pytest.raises(FloatingPointError, match="backward of op 'sqrt' produced inf"):
            y.sum().backward()


def test_without_detect_anomaly_nan_and_inf_pass_silently():
    x = cr.tensor([0.0, -1.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = cr.sqrt(x) + cr.log(x + 2.0)
        y.sum().backward()
    assert np.isnan(y.data[1]), "sqrt(-1) forward is nan without detect_anomaly"
    assert np.isinf(x.grad.data[0]), "sqrt backward at 0 is inf without detect_anomaly"


def test_detect_anomaly_is_off_again_after_raising():
    with np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError), cr.detect_anomaly():
            cr.log(cr.tensor(-1.0))
        y = cr.log(cr.tensor(-1.0))  # must not raise
    assert np.isnan(y.item()), "log(-1) after detect_anomaly exited"


# --- shape errors name the op and the shapes ---------------------------------------------------
def test_add_shape_error_names_op_and_shapes():
    a, b = cr.tensor(np.ones((2, 3))), cr.tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        a + b


def test_matmul_shape_error_names_op_and_shapes():
    a, b = cr.tensor(np.ones((2, 3))), cr.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        a @ b


def test_linear_wrong_input_width_names_feature_counts():
    x = cr.tensor(np.ones((2, 3)))
    w = cr.tensor(np.ones((4, 5)), requires_grad=True)
    b = cr.tensor(np.zeros(5), requires_grad=True)
    with pytest.raises(ValueError, match=r"linear: .*has 3 features.*in_features=4"):
        cr.linear(x, w, b)


# --- higher order ------------------------------------------------------------------------------
def test_create_graph_gives_a_differentiable_gradient():
    x = cr.tensor(3.0, requires_grad=True, dtype=cr.float64)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert g.item() == 27.0, f"dy/dx of x³ at 3 is {g.item()}, expected 3x² = 27"
    assert g.requires_grad, "with create_graph=True, x.grad must require grad"
    x.grad = None
    g.backward()
    assert x.grad.item() == 18.0, f"d²(x³)/dx² at 3 is {x.grad.item()}, expected 6x = 18"


def test_create_graph_gradient_has_the_leaf_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * np.array([2.0, 3.0])).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32, f"create_graph grad of a float32 leaf is {x.grad.dtype}"


def test_create_graph_gradients_are_independent_of_each_other_and_the_seed():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    seed = np.ones(2, dtype=np.float32)
    (a + b).backward(grad=seed, create_graph=True)
    assert not np.shares_memory(a.grad.data, b.grad.data), "a.grad and b.grad share memory"
    assert not np.shares_memory(a.grad.data, seed), "a.grad shares memory with the seed"


def test_no_grad_and_enable_grad_work_as_bare_decorators():
    x = cr.tensor(2.0, requires_grad=True)

    @cr.no_grad
    def off(t):
        return t * t

    @cr.enable_grad
    def on(t):
        return t * t

    assert not off(x).requires_grad, "@cr.no_grad without parentheses should stop recording"
    with cr.no_grad():
        assert on(x).requires_grad, "@cr.enable_grad without parentheses should record"
    assert cr.is_grad_enabled(), "grad mode restored after decorated calls"


def test_a_no_grad_object_can_be_nested_in_itself():
    guard = cr.no_grad()
    with guard:
        with guard:
            pass
        assert not cr.is_grad_enabled(), "inner exit of the same object must restore 'off'"
    assert cr.is_grad_enabled(), "outer exit restores 'on'"
