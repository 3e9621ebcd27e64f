"""Second derivatives through ``backward(create_graph=True)``: every twice-differentiable case of
the op table against ``torch.autograd.grad`` (random cotangent, random second direction).

The reverse rules are written with NumPy functions that tensors dispatch back to the ops, so
the same rules that run on arrays in first order build a differentiable graph here.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing.cases import CASES, Arg, Const

torch = pytest.importorskip("torch")


def _inputs(case, values):
    ours, theirs = [], []
    for spec, v in zip(case.args, values):
        if isinstance(spec, Arg):
            ours.append(cr.tensor(v, dtype=cr.float64, requires_grad=True))
            theirs.append(torch.tensor(v, dtype=torch.float64, requires_grad=True))
        elif isinstance(spec, Const):
            ours.append(cr.tensor(v))
            theirs.append(torch.as_tensor(v))
        else:
            ours.append(v)
            theirs.append(v)
    return ours, theirs


@pytest.mark.parametrize("case", [c for c in CASES if c.twice], ids=lambda c: c.id)
def test_second_derivatives_match_torch(case):
    values = case.inputs()
    ours, theirs = _inputs(case, values)
    pos = case.diff_positions()
    out, tout = case.ours(*ours), case.theirs(*theirs)
    v = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(grad=v, create_graph=True)
    grads = [ours[i].grad for i in pos]
    tgrads = torch.autograd.grad(
        (tout * torch.as_tensor(v)).sum(), [theirs[i] for i in pos], create_graph=True
    )
    for i in pos:
        ours[i].grad = None
    us = [np.random.default_rng(2 + k).standard_normal(g.shape) for k, g in enumerate(grads)]
    total = sum(((g * cr.tensor(u)).sum() for g, u in zip(grads, us)), cr.tensor(0.0))
    ttotal = sum((g * torch.as_tensor(u)).sum() for g, u in zip(tgrads, us))
    if ttotal.requires_grad:
        expected = torch.autograd.grad(ttotal, [theirs[i] for i in pos], allow_unused=True)
    else:
        expected = [None] * len(pos)
    if total.requires_grad:
        total.backward()
    # else: the first derivative does not depend on the inputs (piecewise linear), so the
    # second derivative is zero, which torch must agree with
    for i, ref in zip(pos, expected):
        ref = np.zeros(values[i].shape) if ref is None else ref.numpy(force=True)
        got = np.zeros(values[i].shape) if ours[i].grad is None else ours[i].grad.data
        np.testing.assert_allclose(
            got, ref, rtol=1e-8, atol=1e-10, err_msg=f"{case.id}: second derivative of input {i}"
        )


def test_hessian_vector_product_of_a_seed_function():
    # F = log x + x²y + y²:  H = [[−1/x² + 2y, 2x], [2x, 2]]; at (2, 3): [[5.75, 4], [4, 2]]
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    y = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    F = x.log() + x**2 * y + y**2
    F.backward(create_graph=True)
    gx, gy = x.grad, y.grad
    assert (gx.item(), gy.item()) == pytest.approx((12.5, 10.0))
    x.grad = y.grad = None
    (gx * 1.0 + gy * 0.0).backward()
    assert (x.grad.item(), y.grad.item()) == pytest.approx((5.75, 4.0))


@pytest.mark.parametrize("case", [c for c in CASES if c.twice], ids=lambda c: c.id)
def test_second_order_matches_finite_differences_in_both_modes(case):
    from chainrule.testing import check_grads
    from chainrule.testing._gradcheck import _diff_function

    f, primals = _diff_function(case, case.inputs())
    check_grads(f, primals, modes=("fwd", "rev"), order=2, rtol=1e-4, atol=1e-6)
