"""Function transforms (grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp), the
``gradients`` function, and the cost statistics of the two modes."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def seed_f(x, y):
    """F = log x + x²y + y² (the seed exercise)."""
    return x.log() + x**2 * y + y**2


def test_grad_of_the_seed_function_in_both_arguments():
    x, y = cr.tensor(2.0, dtype=cr.float64), cr.tensor(3.0, dtype=cr.float64)
    gx, gy = cr.grad(seed_f, argnums=(0, 1))(x, y)
    assert (gx.item(), gy.item()) == pytest.approx((12.5, 10.0))
    assert cr.grad(seed_f)(x, y).item() == pytest.approx(12.5), "argnums=0 returns one tensor"
    assert x.grad is None, "grad must not accumulate into .grad"


def test_value_and_grad_and_has_aux():
    f = lambda v: ((v**2).sum(), v.mean())
    (value, aux), g = cr.value_and_grad(f, has_aux=True)(np.array([1.0, 2.0, 3.0]))
    assert value.item() == pytest.approx(14.0) and aux.item() == pytest.approx(2.0)
    np.testing.assert_allclose(g.data, [2.0, 4.0, 6.0])
    g2, aux2 = cr.grad(f, has_aux=True)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g2.data, [2.0, 4.0, 6.0])


def test_grad_of_a_non_scalar_function_points_to_jacobian():
    with pytest.raises(ValueError, match=r"one-element tensor.*jacobian or cr.vjp"):
        cr.grad(lambda v: v * 2)(np.array([1.0, 2.0]))


def test_grad_of_a_constant_function_is_zero():
    g = cr.grad(lambda v: cr.tensor(3.0))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g.data, [0.0, 0.0])


def test_grad_of_grad_is_the_second_derivative():
    # d²/dx² x³ = 6x
    d2 = cr.grad(cr.grad(lambda x: x**3))(cr.tensor(2.0, dtype=cr.float64))
    assert d2.item() == pytest.approx(12.0)


def test_vjp_matches_torch_under_a_random_cotangent(rng):
    x = rng.standard_normal((3, 4))
    w = rng.standard_normal((4, 2))
    ct = rng.standard_normal((3, 2))
    out, pullback = cr.vjp(lambda a, b: (a @ b).tanh(), x, w)
    gx, gw = pullback(ct)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tout = torch.tanh(tx @ tw)
    ex, ew = torch.autograd.grad(tout, (tx, tw), torch.as_tensor(ct))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.data, ex.numpy(), rtol=1e-10)
    np.testing.assert_allclose(gw.data, ew.numpy(), rtol=1e-10)
    gx2, _ = pullback(2 * ct)  # the graph is kept: the pullback can be called again
    np.testing.assert_allclose(gx2.data, 2 * ex.numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match=r"cotangent has shape \(2,\) but the output has shape"):
        pullback(np.ones(2))


def test_jvp_of_the_seed_function():
    y = cr.tensor(3.0, dtype=cr.float64)
    out, t = cr.jvp(lambda x: seed_f(x, y), (cr.tensor(2.0, dtype=cr.float64),), (1.0,))
    assert out.item() == pytest.approx(np.log(2) + 12 + 9) and t.item() == pytest.approx(12.5)


def test_jvp_builds_no_reverse_graph():
    x = np.array([1.0, 2.0])
    out, t = cr.jvp(lambda v: (v * v).exp(), (x,), (np.ones(2),))
    assert not out.requires_grad and out.grad_fn is None, "jvp must not record a reverse graph"
    np.testing.assert_allclose(t.data, 2 * x * np.exp(x * x))


def test_jvp_errors_name_the_mismatched_tangent():
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"tangents\[1\] has shape \(2,\) but primals\[1\] has"):
        cr.jvp(lambda a, b: a + b, (x, x), (np.ones(3), np.ones(2)))
    with pytest.raises(TypeError, match=r"tangents\[0\] has dtype float32 but primals\[0\]"):
        cr.jvp(lambda a: a, (x,), (np.ones(3, np.float32),))
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        cr.jvp(lambda a, b: a, (x, x), (x,))


@pytest.mark.parametrize("mode", ["reverse", "forward", None])
def test_jacobian_matches_torch(mode, rng):
    x = rng.standard_normal(4)
    w = rng.standard_normal((3, 4))

    def f(v):
        return (cr.tensor(w) @ v).sin() * v[:3]

    J = cr.jacobian(f, x, mode=mode)
    expected = torch.func.jacrev(lambda v: torch.sin(torch.as_tensor(w) @ v) * v[:3])(
        torch.as_tensor(x)
    )
    assert J.shape == (3, 4)
    np.testing.assert_allclose(J.data, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_jacobian_of_matrix_to_matrix_has_both_shapes(rng):
    x = rng.standard_normal((2, 3))
    for mode in ("reverse", "forward"):
        J = cr.jacobian(lambda v: v.T * 2.0, x, mode=mode)
        assert J.shape == (3, 2, 2, 3), f"{mode}: jacobian shape is out.shape + x.shape"
        assert J.data[1, 0, 0, 1] == 2.0 and J.data[1, 0, 1, 0] == 0.0


@pytest.mark.parametrize("mode", ["reverse", "forward", None])
def test_jacobian_of_an_empty_input_has_the_output_shape_in_front(mode):
    # f: R^0 -> R^3; there are no columns, but the shape is still out.shape + x.shape
    J = cr.jacobian(lambda v: v.sum() + cr.ones(3, dtype=np.float64), np.zeros(0), mode=mode)
    expected = torch.autograd.functional.jacobian(lambda v: v.sum() + torch.ones(3), torch.zeros(0))
    assert J.shape == tuple(expected.shape) == (3, 0), f"{mode}: jacobian shape {J.shape}"


def test_jacobian_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be 'reverse', 'forward' or None, got 'fast'"):
        cr.jacobian(lambda v: v, np.zeros(2), mode="fast")


def test_hessian_and_hvp_match_torch(rng):
    x = rng.standard_normal(4)
    v = rng.standard_normal(4)
    a = rng.standard_normal((4, 4))

    def f(z):
        return ((cr.tensor(a) @ z).tanh() ** 2).sum() + (z**3).sum()

    def tf(z):
        return (torch.tanh(torch.as_tensor(a) @ z) ** 2).sum() + (z**3).sum()

    H = cr.hessian(f, x)
    expected = torch.func.hessian(tf)(torch.as_tensor(x))
    np.testing.assert_allclose(H.data, expected.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cr.hvp(f, x, v).data, expected.numpy() @ v, rtol=1e-9)
    # reverse over reverse agrees with forward over reverse
    H2 = cr.jacobian(cr.grad(f), x, mode="reverse")
    np.testing.assert_allclose(H2.data, H.data, rtol=1e-10, atol=1e-12)


def test_seed_function_hessian():
    H = cr.hessian(lambda v: seed_f(v[0], v[1]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(H.data, [[-1 / 4 + 6, 4.0], [4.0, 2.0]])


@pytest.mark.parametrize("n", [2, 8, 32])
def test_cost_of_the_two_modes_for_a_scalar_function(n):
    x = np.linspace(0.1, 1.0, n)
    f = lambda v: (v.sin() * v).sum()
    _, rev = cr.jacobian(f, x, mode="reverse", return_stats=True)
    _, fwd = cr.jacobian(f, x, mode="forward", return_stats=True)
    assert rev.passes == 1 and fwd.passes == n
    # reverse: 3 forward ops + 4 reverse rules, whatever n is; forward: n passes of 3 ops + rules
    assert rev.primitive_evaluations == 7
    assert fwd.primitive_evaluations == n * 6
    _, auto = cr.jacobian(f, x, return_stats=True)
    assert auto.mode == "reverse", "R^n -> R picks reverse mode"
    assert auto.primitive_evaluations == rev.primitive_evaluations, "the probe is not counted"
    assert auto.multiply_adds == rev.multiply_adds


@pytest.mark.parametrize("m", [2, 8, 32])
def test_cost_of_the_two_modes_for_a_vector_valued_function(m):
    f = lambda t: (t * cr.tensor(np.linspace(0.0, 1.0, m))).sin()
    _, rev = cr.jacobian(f, np.array([0.5]), mode="reverse", return_stats=True)
    _, fwd = cr.jacobian(f, np.array([0.5]), mode="forward", return_stats=True)
    assert fwd.passes == 1 and rev.passes == m
    assert fwd.primitive_evaluations == 4, "2 ops and 2 forward rules, whatever m is"
    assert rev.primitive_evaluations == 2 + 2 * m
    assert cr.jacobian(f, np.array([0.5]), return_stats=True)[1].mode == "forward"


def test_count_ops_counts_matrix_products_by_size():
    a, b = cr.tensor(np.ones((3, 4))), cr.tensor(np.ones((4, 5)))
    with cr.count_ops() as c:
        a @ b
    assert c.forward == 1 and c.multiply_adds == 3 * 4 * 5 and c.by_op["matmul"] == 1


def test_gradients_of_intermediates_leave_grad_alone():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    y = (h**2).sum()
    gh, gx = cr.gradients(y, [h, x], retain_graph=True)
    np.testing.assert_allclose(gh.data, [6.0, 12.0])
    np.testing.assert_allclose(gx.data, [18.0, 36.0])
    assert x.grad is None, "gradients() returns, it does not accumulate"
    z = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"inputs\[0\] was not used.*allow_unused=True"):
        cr.gradients(y, [z], retain_graph=True)
    assert cr.gradients(y, [z], allow_unused=True) == (None,)
    with pytest.raises(ValueError, match=r"inputs\[0\] must be a Tensor that requires grad"):
        cr.gradients(y, [cr.tensor([1.0])])
