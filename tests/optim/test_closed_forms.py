"""Closed forms: Rumelhart's momentum rule on a quadratic; steepest descent with line searches."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim


# -- Rumelhart, Hinton and Williams (1986): Δw(t) = −ε ∂E/∂w(t) + α Δw(t−1) ----------------------
def _momentum_closed_form(lam, w0, eps, alpha, t):
    """w_t on E = Σ λ w² / 2 under the delta rule with momentum, solved in closed form.

    w_{t+1} = (1 + α − ελ) w_t − α w_{t−1} with w_1 = (1 − ελ) w_0, so w_t = c₁ r₁ᵗ + c₂ r₂ᵗ
    with r₁, r₂ the roots of r² − (1 + α − ελ) r + α = 0 (complex when the motion oscillates).
    """
    trace = 1 + alpha - eps * lam
    root = np.sqrt(trace.astype(complex) ** 2 - 4 * alpha)
    r1, r2 = (trace + root) / 2, (trace - root) / 2
    w1 = (1 - eps * lam) * w0
    c1 = (w1 - r2 * w0) / (r1 - r2)
    c2 = w0 - c1
    return (c1 * r1**t + c2 * r2**t).real


@pytest.mark.parametrize("eps, alpha", [(0.1, 0.9), (0.1, 0.5), (0.02, 0.95)])
def test_rumelhart_momentum_is_sgd_with_momentum(eps, alpha):
    lam = np.array([0.5, 2.0, 10.0, 3.0])
    w0 = np.array([1.0, -2.0, 0.5, 3.0])
    w = cr.tensor(w0.copy(), requires_grad=True)
    opt = optim.SGD([w], lr=eps, momentum=alpha)
    for t in range(1, 41):
        opt.zero_grad()
        (0.5 * cr.tensor(lam) * w * w).sum().backward()
        opt.step()
        expected = _momentum_closed_form(lam, w0, eps, alpha, t)
        np.testing.assert_allclose(
            w.data,
            expected,
            rtol=1e-9,
            atol=1e-12,
            err_msg=f"SGD(lr={eps}, momentum={alpha}) at t={t}",
        )


def test_rumelhart_delta_rule_written_out_equals_sgd(rng):
    """The rule as Rumelhart writes it, on a non-quadratic error, gives the same weights."""
    eps, alpha = 0.05, 0.8
    w0 = rng.standard_normal(5)
    w = cr.tensor(w0.copy(), requires_grad=True)
    opt = optim.SGD([w], lr=eps, momentum=alpha)
    w_rule, delta = w0.copy(), np.zeros(5)
    for _ in range(30):
        opt.zero_grad()
        (w**4 / 4 + w.sin()).sum().backward()
        opt.step()
        delta = -eps * (w_rule**3 + np.cos(w_rule)) + alpha * delta
        w_rule = w_rule + delta
    np.testing.assert_allclose(w.data, w_rule, rtol=1e-12, atol=1e-12)


# -- GradientDescent ---------------------------------------------------------------------------
def _quadratic(b, dtype=np.float64):
    """f = (x² + b y²) / 2 from (b, 1), as two scalar parameters, and its closure."""
    x = cr.tensor(np.array(b, dtype), requires_grad=True)
    y = cr.tensor(np.array(1.0, dtype), requires_grad=True)

    def closure():
        loss = 0.5 * (x * x + b * y * y)
        loss.backward()
        return loss

    return x, y, closure


@pytest.mark.parametrize("b", [10.0, 3.0, 0.25])
def test_exact_line_search_closed_form(b):
    """x_k = b((b−1)/(b+1))^k, y_k = ((1−b)/(1+b))^k, f_k = ((1−b)/(1+b))^(2k) f_0."""
    x, y, closure = _quadratic(b)
    opt = optim.GradientDescent([x, y], line_search="exact")
    f0 = 0.5 * (b * b + b)
    r = (b - 1) / (b + 1)
    for k in range(1, 16):
        loss = opt.step(closure)
        assert float(loss) == pytest.approx(r ** (2 * (k - 1)) * f0, rel=1e-7), f"f_{k - 1}"
        np.testing.assert_allclose(x.data, b * r**k, rtol=1e-7, err_msg=f"x_{k}, b={b}")
        np.testing.assert_allclose(y.data, (-r) ** k, rtol=1e-7, err_msg=f"y_{k}, b={b}")
        f_k = 0.5 * (x.data**2 + b * y.data**2)
        assert f_k == pytest.approx(r ** (2 * k) * f0, rel=1e-7), f"f_{k}, b={b}"
        assert opt.state[x]["step_size"] == pytest.approx(2 / (1 + b), rel=1e-7)
    assert opt.state[x]["step"] == 15


def test_exact_line_search_float32():
    b = 4.0
    x, y, closure = _quadratic(b, np.float32)
    opt = optim.GradientDescent([x, y], line_search="exact")
    r = (b - 1) / (b + 1)
    for k in range(1, 8):
        opt.step(closure)
        np.testing.assert_allclose([x.data, y.data], [b * r**k, (-r) ** k], rtol=2e-3)
        assert x.data.dtype == np.float32


def test_exact_line_search_on_a_matrix_quadratic(rng):
    """f = ½ wᵀAw − bᵀw: each step is α = gᵀg / gᵀAg, the classical steepest-descent step."""
    m = rng.standard_normal((4, 4))
    a, bvec = m @ m.T + 4 * np.eye(4), rng.standard_normal(4)
    w = cr.tensor(np.zeros(4), requires_grad=True)
    at, bt = cr.tensor(a), cr.tensor(bvec)

    def closure():
        loss = 0.5 * (w * (at @ w)).sum() - (bt * w).sum()
        loss.backward()
        return loss

    opt = optim.GradientDescent([w], line_search="exact")
    w_ref = np.zeros(4)
    for _ in range(10):
        opt.step(closure)
        g = a @ w_ref - bvec
        w_ref = w_ref - (g @ g) / (g @ a @ g) * g
    np.testing.assert_allclose(w.data, w_ref, rtol=1e-7, atol=1e-9)


def test_armijo_converges_where_the_fixed_step_diverges():
    b = 10.0
    x, y, closure = _quadratic(b)
    fixed = optim.GradientDescent([x, y], lr=1.0)
    for _ in range(5):
        fixed.zero_grad()
        fixed.step(closure)
    assert abs(float(y.data)) > 1e4  # |1 − b| = 9 > 1: the fixed step blows up

    x, y, closure = _quadratic(b)
    opt = optim.GradientDescent([x, y], lr=1.0, line_search="armijo", c1=1e-4, shrink=0.5)
    f_prev = float(opt.step(closure))
    for _ in range(60):
        f = float(opt.step(closure))
        t = opt.state[x]["step_size"]
        assert t in {0.5**i for i in range(10)}, f"step {t} is not lr · shrink^i"
        assert f < f_prev, "Armijo steps must decrease f"
        f_prev = f
    assert 0.5 * (x.data**2 + b * y.data**2) < 1e-8


def test_armijo_sufficient_decrease_on_rosenbrock():
    x = cr.tensor(np.array([-1.2, 1.0]), requires_grad=True)

    def closure():
        loss = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        loss.backward()
        return loss

    opt = optim.GradientDescent([x], lr=1.0, line_search="armijo")
    losses = [float(opt.step(closure)) for _ in range(200)]
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.1 * losses[0]


def test_exact_falls_back_to_backtracking_without_positive_curvature():
    """f = −cos(x) at x = 3 (curvature −cos'' < 0 there): still a descent step."""
    x = cr.tensor(np.array([3.0]), requires_grad=True)

    def closure():
        loss = -x.cos().sum()
        loss.backward()
        return loss

    opt = optim.GradientDescent([x], lr=1.0, line_search="exact")
    f0 = float(opt.step(closure))
    assert float(-np.cos(x.data).sum()) < f0


def test_search_that_never_succeeds_leaves_parameters_unchanged():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)

    def closure():  # reports −f but backpropagates f: the direction is never a descent
        loss = (x * x).sum()
        loss.backward()
        return -loss

    opt = optim.GradientDescent([x], line_search="armijo", max_evals=5)
    opt.step(closure)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    assert opt.state[x]["step_size"] == 0.0 and opt.state[x]["func_evals"] == 5


def test_without_line_search_is_plain_gradient_descent(rng):
    w0 = rng.standard_normal(3)
    w = cr.tensor(w0.copy(), requires_grad=True)
    opt = optim.GradientDescent([{"params": [w], "lr": 0.1}])
    (w * w).sum().backward()
    assert opt.step() is None
    np.testing.assert_allclose(w.data, w0 - 0.1 * 2 * w0)


@pytest.mark.parametrize(
    "kw, error, match",
    [
        ({"line_search": "wolfe"}, ValueError, "line_search must be one of"),
        ({"lr": 0.0}, ValueError, "GradientDescent: lr must be a positive number, got 0.0"),
        ({"c1": 1.0}, ValueError, r"c1 must be in \(0, 1\), got 1.0"),
        ({"shrink": 0.0}, ValueError, r"shrink must be in \(0, 1\), got 0.0"),
        ({"max_evals": 1}, ValueError, "max_evals must be an integer >= 2, got 1"),
    ],
)
def test_gradient_descent_bad_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        optim.GradientDescent([cr.tensor([1.0], requires_grad=True)], **kw)


def test_line_search_needs_a_closure_and_one_group():
    p, q = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="needs a single parameter group, got 2"):
        optim.GradientDescent([{"params": [p]}, {"params": [q]}], line_search="armijo")
    opt = optim.GradientDescent([p], line_search="exact")
    with pytest.raises(ValueError, match="line_search='exact' needs a closure"):
        opt.step()


def test_group_options_are_checked_too():
    p, q = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="line_search must be one of .* got 'wolfe'"):
        optim.GradientDescent([{"params": [p], "line_search": "wolfe"}])
    with pytest.raises(ValueError, match="line_search='armijo' moves all parameters together"):
        optim.GradientDescent([{"params": [p], "line_search": "armijo"}, {"params": [q]}])
