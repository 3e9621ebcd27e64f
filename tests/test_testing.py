"""The user-facing gradient checker: it passes correct rules, names the argument and mode of a
wrong one, reports kinks, and checks second order."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import LINEAR, defop, unregister
from chainrule.testing import (
    GradientCheckError,
    NotDifferentiableError,
    assert_matches_torch,
    check_grads,
    numerical_jacobian,
)


@pytest.fixture
def user_op():
    """Registers ops for one test and removes them afterwards."""
    names = []

    def make(name, *a, **kw):
        names.append(name)
        return defop(name, *a, **kw)

    yield make
    for n in names:
        unregister(n)


def test_correct_rules_pass_in_both_modes_to_second_order(rng):
    f = lambda x, y: x.log() + x**2 * y + y**2
    check_grads(f, (np.array([2.0]), np.array([3.0])), order=2)
    check_grads(
        lambda a, b: (a @ b).tanh().softmax(-1),
        (rng.standard_normal((3, 4)), rng.standard_normal((4, 2))),
        order=2,
    )


def test_a_wrong_reverse_rule_is_named(user_op):
    cube = user_op(
        "bad_cube",
        lambda x: x**3,
        vjp=lambda g, out, x: g * 2 * x**2,
        jvp=lambda t, out, x: t * 3 * x**2,
    )
    with pytest.raises(GradientCheckError, match=r"args\[0\].*mode 'rev'"):
        check_grads(lambda x: cube(x), (np.array([1.5, -0.5]),))
    check_grads(lambda x: cube(x), (np.array([1.5, -0.5]),), modes=("fwd",))


def test_a_wrong_forward_rule_is_named_with_its_argument(user_op):
    mul = user_op(
        "bad_mul",
        np.multiply,
        vjp=(lambda g, out, a, b: g * b, lambda g, out, a, b: g * a),
        jvp=(lambda t, out, a, b: t * b, lambda t, out, a, b: t),
    )
    with pytest.raises(GradientCheckError, match=r"args\[1\].*mode 'fwd'"):
        check_grads(lambda a, b: mul(a, b), (np.array([2.0, 3.0]), np.array([0.5, 4.0])))


def test_a_wrong_second_derivative_is_caught(user_op):
    # first derivative right, but the rule is not written with differentiable operations on
    # the input (it treats cos x as a constant), so second order is wrong
    sin = user_op(
        "bad_sin",
        np.sin,
        vjp=lambda g, out, x: g * np.cos(getattr(x, "data", x)),
        jvp=lambda t, out, x: t * np.cos(x),
    )
    check_grads(lambda x: sin(x), (np.array([0.3, 1.2]),), modes=("rev",))
    with pytest.raises(GradientCheckError, match="second order"):
        check_grads(lambda x: sin(x), (np.array([0.3, 1.2]),), modes=("rev",), order=2)


def test_linear_marker_ops_check(user_op):
    twice = user_op("twice_linear", lambda x: 2 * x, vjp=lambda g, out, x: 2 * g, jvp=LINEAR)
    check_grads(lambda x: twice(x), (np.array([1.0, -2.0]),), order=2)


def test_a_kink_is_reported_not_passed():
    with pytest.raises(NotDifferentiableError, match=r"not differentiable.*args\[0\]"):
        check_grads(cr.relu, (np.array([0.0, 1.0]),))
    with pytest.raises(NotDifferentiableError):
        check_grads(lambda x: x.abs().sum(), (np.array([0.0]),))
    check_grads(cr.relu, (np.array([0.5, 1.0]),))  # off the kink it passes


def test_float32_is_upcast_with_a_warning():
    with pytest.warns(UserWarning, match=r"args\[0\] is float32.*upcast"):
        check_grads(cr.exp, (np.array([1.0], np.float32),))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_grads(cr.exp, (np.array([1.0]),))  # float64: no warning


def test_bad_arguments():
    with pytest.raises(ValueError, match="order must be 1 or 2, got 3"):
        check_grads(cr.exp, (np.ones(2),), order=3)
    with pytest.raises(ValueError, match="modes must be a non-empty subset"):
        check_grads(cr.exp, (np.ones(2),), modes=("sideways",))


def test_numerical_jacobian_of_a_known_function():
    J = numerical_jacobian(lambda v: cr.stack([v[0] * v[1], v[0] ** 2]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(J, [[3.0, 2.0], [4.0, 0.0]], atol=1e-8)


def test_assert_matches_torch_passes_and_fails():
    pytest.importorskip("torch")
    assert_matches_torch(
        lambda a, b: (a @ b).sigmoid(), lambda a, b: (a @ b).sigmoid(), [(2, 3), (3, 4)]
    )
    with pytest.raises(AssertionError, match="gradient of input 0"):
        assert_matches_torch(lambda a: a * a.detach(), lambda a: a * a, [(3,)])


def test_assert_matches_torch_skips_without_torch(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("no torch here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(pytest.skip.Exception, match="PyTorch is not installed"):
        assert_matches_torch(lambda a: a, lambda a: a, [(2,)])


def test_central_difference_is_second_order_and_takes_arrays():
    from chainrule.testing._check import central_difference

    # d/dt sin(1 + t) at 0 is cos(1); the error of the central difference is ≈ ε²/6·cos(1)
    for eps in (1e-2, 1e-3):
        err = central_difference(lambda t: np.sin(1.0 + t), eps) - np.cos(1.0)
        assert abs(err + eps**2 / 6 * np.cos(1.0)) < 1e-3 * eps**2, (eps, err)
    got = central_difference(lambda t: np.array([t**2, 3 * t, np.exp(t)]), 1e-5)
    np.testing.assert_allclose(got, [0.0, 3.0, 1.0], atol=1e-9)


def test_assert_matches_torch_on_given_inputs_and_strict_dtypes():
    pytest.importorskip("torch")
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    assert_matches_torch(lambda a: a.exp() * a, lambda a: a.exp() * a, inputs=[x], strict=True)
    with pytest.raises(AssertionError, match="float32 inputs gave a float64 output"):
        assert_matches_torch(
            lambda a: a.astype(np.float64), lambda a: a, inputs=[x], dtype=np.float32, strict=True
        )
    with pytest.raises(AssertionError, match=r"input 1 got gradient None"):
        assert_matches_torch(
            lambda a, b: a * 2, lambda a, b: a * 2 + 0 * b, inputs=[x, x], strict=True
        )
    with pytest.raises(TypeError, match="give either shapes or inputs"):
        assert_matches_torch(lambda a: a, lambda a: a)


def test_torch_parity_of_a_case_names_the_case(monkeypatch):
    pytest.importorskip("torch")
    from chainrule.testing import _gradcheck
    from chainrule.testing.cases import CASES

    case = next(c for c in CASES if c.op == "exp")
    _gradcheck.torch_parity(case, np.float64)
    broken = type(case)(**{**vars(case), "ours": lambda x: x.exp() * 1.001})
    with pytest.raises(AssertionError) as caught:
        _gradcheck.torch_parity(broken, np.float64)
    text = str(caught.value)
    assert text.startswith(f"{case.id}: ") and "forward values differ" in text, text
