"""No gradient is lost silently: converting a tensor that records a graph to an ndarray raises
(as PyTorch's ``numpy()``), a list holding tensors is stacked differentiably, and a NumPy
function without a rule raises naming the function users typed."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr

DETACH = r"requires grad.*detach\(\)"


@pytest.fixture
def x():
    return cr.tensor([1.0, 2.0, 3.0], requires_grad=True)


@pytest.mark.parametrize(
    "convert",
    [
        lambda t: np.asarray(t),
        lambda t: np.array(t),
        lambda t: np.array([t, t]),
        lambda t: t.__array__(),
        lambda t: t.numpy(),
        lambda t: np.r_[t, t],
        lambda t: np.c_[t, t],
        lambda t: np.asarray(t * 2),  # a non-leaf records a graph too
        lambda t: cr.tensor([t, t]),
    ],
    ids=["asarray", "array", "array-list", "__array__", "numpy", "r_", "c_", "non-leaf", "tensor"],
)
def test_converting_a_tensor_that_requires_grad_raises(x, convert):
    with pytest.raises(TypeError, match=DETACH):
        convert(x)


@pytest.mark.parametrize(
    "reduce", [np.mean, np.std, np.var, np.sum], ids=["mean", "std", "var", "sum"]
)
def test_numpy_reductions_of_a_list_of_tensors_raise(x, reduce):
    with pytest.raises(TypeError, match=DETACH):
        reduce([x, x + 2])


def test_detached_tensors_and_constants_convert(x):
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0, 3.0])
    c = cr.tensor([4.0, 5.0])
    np.testing.assert_array_equal(np.asarray(c), [4.0, 5.0])
    with cr.no_grad():
        np.testing.assert_array_equal(np.asarray(c * 2), [8.0, 10.0])


@pytest.mark.parametrize(
    "op, expected_grad",
    [
        # mean of the 6 stacked values: each x_i appears twice, so d/dx_i = 2/6
        (lambda x: cr.mean([x, x + 2]), np.full(3, 2 / 6)),
        (lambda x: cr.sum([x, x]), np.full(3, 2.0)),
        (lambda x: cr.sum([[x, x], [x, 3 * x]]), np.full(3, 6.0)),
        (lambda x: cr.exp([x, x]).sum(), 2 * np.exp([1.0, 2.0, 3.0])),
        (lambda x: cr.mul([x, x], 2.0).sum(), np.full(3, 4.0)),
        (lambda x: cr.add(1.0, [x, x]).sum(), np.full(3, 2.0)),
    ],
    ids=["mean", "sum", "sum-nested", "exp", "mul-left", "add-right"],
)
def test_ops_stack_a_list_of_tensors_differentiably(x, op, expected_grad):
    out = op(x)
    out.backward()
    np.testing.assert_allclose(x.grad.data, expected_grad, rtol=1e-6, err_msg="list operand")


def test_a_list_of_plain_numbers_stays_a_constant():
    out = cr.exp([0.0, 1.0])
    assert not out.requires_grad
    np.testing.assert_allclose(out.data, np.exp([0.0, 1.0]), rtol=1e-6)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda t: np.fft.fft(t), "np.fft.fft"),
        (lambda t: np.polyval(t, 2.0), "np.polyval"),
        (lambda t: np.frexp(t), "np.frexp"),
    ],
    ids=["fft", "polyval", "frexp"],
)
def test_a_numpy_function_without_a_rule_is_named(x, call, name):
    with pytest.raises(TypeError, match="^" + re.escape(name) + " has no differentiable rule"):
        call(x)


# --- the power rule at 0 ------------------------------------------------------------------
# d/dx x**b = b·x^(b−1), and 0 for b = 0 (also at x = 0, where x^(b−1) is infinite), as torch
@pytest.mark.parametrize("b", [0, 0.0, 1, 2, 3])
def test_power_rule_at_zero_matches_torch(b):
    torch = pytest.importorskip("torch")
    xs = np.array([0.0, 1.5, -2.0])
    x = cr.tensor(xs, requires_grad=True)
    (x**b).backward(grad=cr.ones_like(x), create_graph=True)
    g = x.grad
    tx = torch.tensor(xs, requires_grad=True)
    (tg,) = torch.autograd.grad((tx**b).sum(), tx, create_graph=True)
    np.testing.assert_array_equal(g.data, tg.detach().numpy(), err_msg=f"d/dx x**{b}")
    x.grad = None
    if g.requires_grad:
        g.sum().backward()
    second = np.zeros(3) if x.grad is None else x.grad.data
    (tg2,) = torch.autograd.grad(tg.sum(), tx, allow_unused=True) if tg.requires_grad else (None,)
    expected = np.zeros(3) if tg2 is None else tg2.numpy()
    np.testing.assert_array_equal(second, expected, err_msg=f"d²/dx² x**{b}")
    _, tangent = cr.jvp(lambda t: t**b, (cr.tensor(xs),), (np.ones(3),))
    np.testing.assert_array_equal(tangent.data, tg.detach().numpy(), err_msg=f"jvp x**{b}")


def test_power_rule_at_zero_with_a_tensor_exponent():
    a = cr.tensor([0.0, 0.0, 2.0], requires_grad=True)
    b = cr.tensor([0.0, 2.0, 0.0], requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0, 0.0])
    # ∂/∂b aᵇ = aᵇ log a, taken as 0 at a = 0
    np.testing.assert_allclose(b.grad.data, [0.0, 0.0, np.log(2.0)], rtol=1e-6)


def test_metrics_read_a_model_output_that_requires_grad():
    """Value-only library code reads a tensor's numbers through .detach(), not np.asarray."""
    from chainrule.train import accuracy, f1_score, r2_score

    logits = cr.tensor([[2.0, 0.1], [0.3, 1.5], [1.0, -1.0]], requires_grad=True) * 1.0
    target = np.array([0, 1, 1])
    assert accuracy(logits, target) == pytest.approx(2 / 3)
    assert f1_score(logits, target) == f1_score(logits.detach().numpy(), target)
    assert r2_score(logits, logits.detach().numpy()) == 1.0
    assert logits.requires_grad, "reading the metric must not change the tensor"


def test_every_exported_name_exists():
    missing = [n for n in cr.__all__ if not hasattr(cr, n)]
    assert not missing, f"chainrule.__all__ names missing from the package: {missing}"
    missing = [n for n in cr.linalg.__all__ if not hasattr(cr.linalg, n)]
    assert not missing, f"chainrule.linalg.__all__ names missing: {missing}"


def test_every_op_function_is_exported_by_name():
    missing = sorted(set(cr.ops.FUNCTIONS) - set(cr.__all__))
    assert not missing, f"op functions missing from chainrule.__all__: {missing}"
