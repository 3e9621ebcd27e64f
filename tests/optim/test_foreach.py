"""SGD's fused (foreach) path gives the same bits as the per-parameter path."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

SHAPES = [(4, 3), (3,), (3, 2), ()]
MOMENTUM_CASES = [
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"momentum": 0.8, "weight_decay": 0.1, "maximize": True},
    {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
]


def _run(optimizer, rng_seed, dtype, missing, **kw):
    """20 steps of ``optimizer`` with random gradients; ``missing`` lists (step, param) pairs
    without a grad."""
    rng = np.random.default_rng(rng_seed)
    params = [
        cr.tensor(np.asarray(rng.standard_normal(s), dtype), requires_grad=True) for s in SHAPES
    ]
    opt = optimizer(params, lr=0.05, **kw)
    for k in range(20):
        for i, p in enumerate(params):
            g = np.asarray(rng.standard_normal(p.shape), dtype)
            p.grad = None if (k, i) in missing else cr.tensor(g)
        opt.step()
    return params, opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "missing",
    [set(), {(5, 1)}, {(0, 2), (1, 2), (7, 0)}],
    ids=["all-grads", "one-missing", "missing-at-start"],
)
@pytest.mark.parametrize("kw", MOMENTUM_CASES, ids=[str(k) for k in MOMENTUM_CASES])
def test_fused_equals_per_parameter(kw, missing, dtype):
    fused, opt_f = _run(optim.SGD, 0, dtype, missing, foreach=True, **kw)
    single, opt_s = _run(optim.SGD, 0, dtype, missing, foreach=False, **kw)
    for i, (a, b) in enumerate(zip(fused, single)):
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"param {i} ({kw})")
        np.testing.assert_array_equal(
            opt_f.state[a]["momentum_buffer"], opt_s.state[b]["momentum_buffer"]
        )
    buffers = [opt_f.state[p]["momentum_buffer"] for p in fused]
    assert all(b.base is not None and b.base is buffers[0].base for b in buffers), (
        "fused momentum buffers are views of one flat array"
    )


def test_auto_fuses_small_groups_only(rng):
    small = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (2,)]]
    big = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in [(300, 300), (300,)]]
    mixed = [
        cr.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True),
        cr.tensor(rng.standard_normal(3), requires_grad=True),
    ]
    opt = optim.SGD([{"params": small}, {"params": big}, {"params": mixed}], lr=0.1, momentum=0.9)
    for p in small + big + mixed:
        p.grad = cr.tensor(np.ones_like(p.data))
    opt.step()
    views = [opt.state[p]["momentum_buffer"].base is not None for p in small + big + mixed]
    assert views == [True, True, False, False, False, False]
    assert mixed[0].data.dtype == np.float32 and mixed[1].data.dtype == np.float64


def test_fused_survives_state_replacement(rng):
    """After load_state_dict (or a cleared state) the fused path rebinds or starts afresh."""
    params = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (2,)]]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = cr.tensor(np.ones_like(p.data))
    opt.step()
    opt.step()
    opt.load_state_dict(opt.state_dict())  # per-parameter copies, bound again at the next step
    opt.step()
    np.testing.assert_allclose(opt.state[params[0]]["momentum_buffer"], 1 + 0.9 + 0.81)
    opt.state.clear()
    opt.step()
    np.testing.assert_allclose(opt.state[params[1]]["momentum_buffer"], 1.0)


ADAM_CASES = [{}, {"maximize": True}, {"betas": (0.5, 0.9), "eps": 1e-3}]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("missing", [set(), {(5, 1)}], ids=["all-grads", "one-missing"])
@pytest.mark.parametrize("kw", ADAM_CASES, ids=[str(k) for k in ADAM_CASES])
def test_adam_fused_equals_per_parameter(kw, missing, dtype):
    fused, opt_f = _run(optim.Adam, 1, dtype, missing, foreach=True, **kw)
    single, opt_s = _run(optim.Adam, 1, dtype, missing, foreach=False, **kw)
    for i, (a, b) in enumerate(zip(fused, single)):
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"param {i} ({kw})")
        for key in ("step", "exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(opt_f.state[a][key], opt_s.state[b][key], err_msg=key)
    if not missing:
        m = [opt_f.state[p]["exp_avg"] for p in fused]
        assert all(b.base is not None and b.base is m[0].base for b in m), (
            "fused Adam moments are views of one flat array"
        )


def test_adam_fused_state_dict_round_trip_continues_identically(rng):
    def run(split):
        params = [cr.tensor(np.ones(s), requires_grad=True) for s in SHAPES]
        opt = optim.Adam(params, lr=0.1, foreach=True)
        grads = np.random.default_rng(3)
        for k in range(10):
            if k == split:
                state = opt.state_dict()
                opt = optim.Adam(params, lr=0.1, foreach=True)
                opt.load_state_dict(state)
            for p in params:
                p.grad = cr.tensor(grads.standard_normal(p.shape))
            opt.step()
        return [p.data.copy() for p in params]

    for a, b in zip(run(split=None), run(split=4)):
        np.testing.assert_array_equal(a, b)
