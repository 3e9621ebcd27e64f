"""Forward mode on every case of the op table: the JVP of random tangents against central
finite differences and against ``torch.func.jvp``, and ⟨v, J u⟩ computed three ways (numeric,
reverse rule, forward rule) agreeing."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing._check import central_difference
from chainrule.testing._gradcheck import _diff_function
from chainrule.testing.cases import CASES, Arg

EPS = 1e-6


def _directions(primals, seed=3):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(p)) for p in primals]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_jvp_matches_finite_differences_and_vjp(case):
    values = case.inputs()
    f, primals = _diff_function(case, values)
    us = _directions(primals)
    out, tangent = cr.jvp(f, [cr.tensor(p, dtype=cr.float64) for p in primals], us)
    assert tangent.shape == out.shape, f"{case.id}: tangent shape {tangent.shape} vs {out.shape}"
    with cr.no_grad():
        numeric = central_difference(
            lambda t: f(*[cr.tensor(p + t * u) for p, u in zip(primals, us)]).data, EPS
        )
    np.testing.assert_allclose(
        tangent.data,
        numeric,
        rtol=1e-5,
        atol=1e-7,
        err_msg=f"{case.id}: forward rule disagrees with finite differences",
    )
    # ⟨v, J u⟩ by the forward rule equals Σ_i ⟨J_iᵀ v, u_i⟩ by the reverse rules
    v = np.random.default_rng(4).standard_normal(out.shape)
    _, pullback = cr.vjp(f, *[cr.tensor(p, dtype=cr.float64) for p in primals])
    by_reverse = sum(float(np.sum(g.data * u)) for g, u in zip(pullback(v), us))
    by_forward = float(np.sum(v * tangent.data))
    assert by_forward == pytest.approx(by_reverse, rel=1e-9, abs=1e-11), (
        f"{case.id}: <v, J u> forward {by_forward} vs reverse {by_reverse}"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_jvp_matches_torch_func(case):
    torch = pytest.importorskip("torch")
    values = case.inputs()
    f, primals = _diff_function(case, values)
    us = _directions(primals)
    _, ours = cr.jvp(f, [cr.tensor(p, dtype=cr.float64) for p in primals], us)
    pos = case.diff_positions()

    def tf(*diff):
        args = [torch.as_tensor(v) if isinstance(v, np.ndarray) else v for v in values]
        for i, d in zip(pos, diff):
            args[i] = d
        return case.theirs(*args)

    try:
        _, theirs = torch.func.jvp(
            tf, tuple(torch.as_tensor(p) for p in primals), tuple(torch.as_tensor(u) for u in us)
        )
    except (NotImplementedError, RuntimeError) as e:  # torch lacks forward AD for a few ops
        pytest.skip(f"torch.func.jvp cannot run {case.id}: {e}")
    np.testing.assert_allclose(
        ours.data,
        theirs.numpy(),
        rtol=1e-9,
        atol=1e-11,
        err_msg=f"{case.id}: JVP differs from torch.func.jvp",
    )


def test_every_op_has_a_forward_rule():
    missing = [name for name, op in cr.ops.REGISTRY.items() if op.jvp is None]
    assert not missing, f"ops without a forward rule: {missing}"


def test_diff_positions_exist_for_every_case():
    assert all(any(isinstance(a, Arg) for a in c.args) for c in CASES), "a case with no input"


def test_set_tangent_outside_forward_mode_is_refused():
    from chainrule._forward import get_tangent, set_tangent

    x = cr.tensor([1.0])
    assert get_tangent(x) is None
    with pytest.raises(RuntimeError, match="set_tangent: no forward-mode pass is running"):
        set_tangent(x, np.ones(1))
