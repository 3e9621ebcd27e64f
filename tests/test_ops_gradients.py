"""Every case of the op table against central finite differences (float64, random cotangent)
and against PyTorch autograd (forward value and every input's gradient, float32 and float64)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.testing import missing_cases
from chainrule.testing._check import central_difference
from chainrule.testing._gradcheck import torch_parity
from chainrule.testing.cases import CASES, Arg, Const

EPS = 1e-6


def _ours_inputs(case, values, dtype):
    out = []
    for spec, v in zip(case.args, values):
        if isinstance(spec, Arg):
            out.append(cr.tensor(v.astype(dtype), requires_grad=True))
        elif isinstance(spec, Const):
            out.append(cr.tensor(v))
        else:
            out.append(v)
    return out


def _phi(case, values, v):
    """⟨v, f(values)⟩ evaluated without recording a graph."""
    with cr.no_grad():
        args = [
            cr.tensor(x) if isinstance(s, (Arg, Const)) else x for s, x in zip(case.args, values)
        ]
        return float(np.sum(case.ours(*args).data * v))


def _numeric_grad(case, values, i, v):
    """Central differences of ⟨v, f⟩ with respect to input ``i``, one element at a time."""
    x = values[i]
    grad = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[j] = 1.0

        def moved(t, e=e):
            return values[:i] + [x + t * e] + values[i + 1 :]

        grad[j] = central_difference(lambda t: _phi(case, moved(t), v), EPS)
    return grad


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_finite_differences(case):
    values = case.inputs()
    tensors = _ours_inputs(case, values, np.float64)
    out = case.ours(*tensors)
    assert out.dtype == np.float64, f"{case.id}: float64 inputs gave {out.dtype}"
    v = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(grad=v)
    for i in case.diff_positions():
        numeric = _numeric_grad(case, values, i, v)
        got = tensors[i].grad
        assert got is not None, f"{case.id}: input {i} received no gradient"
        np.testing.assert_allclose(
            got.data,
            numeric,
            rtol=1e-5,
            atol=1e-7,
            err_msg=f"{case.id}: reverse rule of input {i} (shape {values[i].shape}) "
            f"disagrees with finite differences",
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_torch(case, dtype):
    """Forward value, output dtype and every input's gradient under a random cotangent."""
    pytest.importorskip("torch")
    torch_parity(case, dtype)


def test_every_registered_op_has_a_case():
    missing, _ = missing_cases()
    assert not missing, f"ops or public functions without a case in testing/cases*.py: {missing}"


def test_every_case_names_a_registered_op():
    _, unknown = missing_cases()
    assert not unknown, f"cases for ops that are not registered: {unknown}"


def test_an_op_or_function_registered_without_cases_is_reported():
    ops.defop("no_cases_yet", np.negative, vjp=lambda g, out, x: -g, jvp=ops.LINEAR)
    ops.export(lambda x: ops.neg(ops.neg(x)), name="no_cases_either")
    try:
        assert missing_cases()[0] == ["no_cases_either", "no_cases_yet"]
    finally:
        ops.unregister("no_cases_yet")
        ops.unregister("no_cases_either")
    assert missing_cases() == ([], [])
