"""Kinks exactly at 0 and ties (PyTorch's one-sided conventions), and the stable ops at ±1e3 and
±1e4: values and gradients stay finite and equal PyTorch's in float64."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _grads(ours_fn, theirs_fn, *values, dtype=np.float64, seed=0):
    """Output and input gradients of both libraries under one random cotangent."""
    xs = [cr.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    ts = [torch.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    out, tout = ours_fn(*xs), theirs_fn(*ts)
    v = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    out.backward(grad=v)
    (tout * torch.as_tensor(v)).sum().backward()
    return out, tout, [x.grad.data for x in xs], [t.grad.numpy() for t in ts]


KINKS = {
    "relu": (cr.relu, torch.relu),
    "abs": (cr.abs, torch.abs),
    "leaky_relu": (lambda x: cr.leaky_relu(x, negative_slope=0.1), lambda x: F.leaky_relu(x, 0.1)),
    "elu": (lambda x: cr.elu(x, alpha=0.7), lambda x: F.elu(x, 0.7)),
    "clamp": (lambda x: cr.clamp(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0)),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_kinks_take_torchs_one_sided_values(name):
    ours_fn, theirs_fn = KINKS[name]
    x = [-1.0, 0.0, 1.0, -2.0, 2.0]
    out, tout, (g,), (tg,) = _grads(ours_fn, theirs_fn, x)
    np.testing.assert_allclose(
        out.data,
        tout.detach().numpy(),
        rtol=1e-12,
        err_msg=f"{name}: value at the kink differs from torch",
    )
    np.testing.assert_allclose(
        g, tg, rtol=1e-12, atol=0, err_msg=f"{name}: gradient at the kink differs from torch"
    )


def test_relu_and_abs_gradient_at_zero_is_zero():
    x = cr.tensor([0.0], requires_grad=True)
    (cr.relu(x) + cr.abs(x)).sum().backward()
    assert x.grad.item() == 0.0, "relu'(0) + |x|'(0) should be 0 + 0"


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_elementwise_ties_split_the_gradient_in_half(name):
    a, b = [1.0, 2.0, 3.0], [1.0, 5.0, 3.0]
    _, _, (ga, gb), (ta, tb) = _grads(getattr(cr, name), getattr(torch, name), a, b)
    np.testing.assert_allclose(ga, ta, err_msg=f"{name}: first input at ties")
    np.testing.assert_allclose(gb, tb, err_msg=f"{name}: second input at ties")
    x, y = cr.tensor([2.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    getattr(cr, name)(x, y).sum().backward()
    assert x.grad.item() == 0.5 and y.grad.item() == 0.5, f"{name}: a tie gives half to each"


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reduction_ties_share_the_gradient_evenly(reduce, axis):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    tname = "amax" if reduce == "max" else "amin"
    dim = tuple(range(2)) if axis is None else axis
    _, _, (g,), (tg,) = _grads(
        lambda t: getattr(t, reduce)(axis=axis), lambda t: getattr(torch, tname)(t, dim=dim), x
    )
    np.testing.assert_allclose(g, tg, err_msg=f"{reduce} axis={axis}: tied entries' gradients")
    if reduce == "max" and axis == 1:
        plain = cr.tensor(x, requires_grad=True)
        plain.max(axis=1).sum().backward()
        np.testing.assert_allclose(
            plain.grad.data,
            [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]],
            err_msg="k tied maxima get 1/k each",
        )


EXTREME = np.array([-1e4, -1e3, -30.0, 0.0, 30.0, 1e3, 1e4])
STABLE = {
    "sigmoid": (cr.sigmoid, torch.sigmoid),
    "softplus": (cr.softplus, F.softplus),
    "logsumexp": (lambda x: x.logsumexp(axis=-1), lambda x: torch.logsumexp(x, -1)),
    "log_softmax": (lambda x: x.log_softmax(-1), lambda x: F.log_softmax(x, -1)),
    "softmax": (lambda x: x.softmax(-1), lambda x: F.softmax(x, -1)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(STABLE))
def test_stable_ops_at_extreme_inputs(name, dtype):
    ours_fn, theirs_fn = STABLE[name]
    x = np.stack([EXTREME, -EXTREME[::-1] * 0.5])
    out, tout, (g,), (tg,) = _grads(ours_fn, theirs_fn, x, dtype=dtype)
    assert np.all(np.isfinite(out.data)), f"{name}: non-finite value at ±1e3/±1e4: {out.data}"
    assert np.all(np.isfinite(g)), f"{name}: non-finite gradient at ±1e3/±1e4: {g}"
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        out.data,
        tout.detach().numpy(),
        **tol,
        err_msg=f"{name}: value at extremes differs from torch",
    )
    np.testing.assert_allclose(g, tg, **tol, err_msg=f"{name}: gradient at extremes differs")


@pytest.mark.parametrize("scale", [1e3, 1e4])
@pytest.mark.parametrize("target", ["index", "prob"])
def test_cross_entropy_at_extreme_logits(scale, target):
    logits = np.array([[scale, -scale, 0.0], [-scale, -scale, scale], [0.0, scale, -scale]])
    if target == "index":
        t = np.array([1, 2, 2])
        ours_t, theirs_t = cr.tensor(t), torch.as_tensor(t)
    else:
        p = np.array([[0.2, 0.8, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
        ours_t, theirs_t = cr.tensor(p), torch.as_tensor(p)
    out, tout, (g,), (tg,) = _grads(
        lambda x: cr.cross_entropy(x, ours_t, label_smoothing=0.1),
        lambda x: F.cross_entropy(x, theirs_t, label_smoothing=0.1),
        logits,
    )
    assert np.isfinite(out.item()) and np.all(np.isfinite(g)), "cross_entropy not finite"
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-10)
    np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [1e3, 1e4])
def test_bce_with_logits_at_extreme_logits(scale):
    x = np.array([scale, -scale, scale, -scale, 0.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    pw = np.array([2.0, 2.0, 0.5, 0.5, 1.0])
    out, tout, (gx, gy), (tx, ty) = _grads(
        lambda a, b: cr.binary_cross_entropy_with_logits(a, b, pos_weight=pw),
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=torch.as_tensor(pw)),
        x,
        y,
    )
    assert np.isfinite(out.item()) and np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-12)
    np.testing.assert_allclose(gx, tx, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gy, ty, rtol=1e-12, atol=1e-15)


def test_sigmoid_keeps_relative_precision_in_the_tail():
    x = cr.tensor(np.array([-30.0, -700.0]), requires_grad=True)
    out = cr.sigmoid(x)
    expected = 1 / (1 + np.exp(np.array([30.0, 700.0])))
    np.testing.assert_allclose(
        out.data,
        expected,
        rtol=1e-12,
        err_msg="sigmoid should keep full relative precision for x << 0",
    )


def test_logsumexp_of_infinite_rows_matches_torch():
    # a row whose maximum is ±inf takes the guarded branch (the shift is 0 there)
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0], [np.inf, 0.0], [-np.inf, 2.0]])
    with np.errstate(divide="ignore"):  # log 0 = −inf for the all −inf row, as NumPy says
        ours = cr.tensor(x).logsumexp(axis=1).data
    theirs = torch.logsumexp(torch.tensor(x), 1).numpy()
    np.testing.assert_array_equal(np.isinf(ours), [True, False, True, False])
    np.testing.assert_allclose(ours, theirs)
    finite = cr.tensor(x[[1, 3]]).logsumexp(axis=1).data
    np.testing.assert_allclose(finite, [np.log1p(np.e), 2.0])
