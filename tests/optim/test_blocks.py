"""Large parameters are updated block by block (optim/_blocks.py): the same bits as in one go.

Blocks are made small here (``BLOCK_SIZE`` 7, every parameter blocked) so that the sizes below
exercise full blocks, a short last block, a parameter smaller than one block and a scalar; one
test uses the real thresholds on a parameter just past them.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import _blocks

SHAPES = [(5, 3), (4, 7), (23,), (2,), ()]  # 15, 28 (a multiple of 7), 23, 2 and 1 elements
CASES = [
    ("SGD", {}),
    ("SGD", {"weight_decay": 0.1, "maximize": True}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"momentum": 0.8, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"weight_decay": 0.1, "maximize": True}),
    ("Adam", {"betas": (0.5, 0.9), "eps": 1e-3, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"maximize": True, "amsgrad": True}),
    ("AdamW", {"weight_decay": 0.3, "maximize": True}),
]
IDS = [name + str(kw) for name, kw in CASES]


def _run(name, kw, dtype, *, blocked, monkeypatch, shapes=SHAPES, n_steps=12, split=None):
    """``n_steps`` steps with random gradients (one parameter skips step 3); with ``split``,
    the optimiser is rebuilt from its state_dict before that step."""
    monkeypatch.setattr(_blocks, "BLOCK_SIZE", 7)
    monkeypatch.setattr(_blocks, "MIN_BYTES", 0 if blocked else 1 << 62)
    rng = np.random.default_rng(1)
    params = [
        cr.tensor(np.asarray(rng.standard_normal(s), dtype), requires_grad=True) for s in shapes
    ]
    make = getattr(optim, name)
    opt = make(params, lr=0.05, foreach=False, **kw)
    for k in range(n_steps):
        if k == split:
            saved = opt.state_dict()
            opt = make(params, lr=0.05, foreach=False, **kw)
            opt.load_state_dict(saved)
        for i, p in enumerate(params):
            g = np.asarray(rng.standard_normal(p.shape), dtype)
            p.grad = None if (k, i) == (3, 1) else cr.tensor(g)
        opt.step()
    used_blocks = np.dtype(dtype) in opt._block_work
    assert used_blocks == blocked, f"{name}({kw}): blocked={blocked} but blocks used={used_blocks}"
    return params, opt


def _assert_same(ours, theirs, label):
    (a_params, a_opt), (b_params, b_opt) = ours, theirs
    for i, (a, b) in enumerate(zip(a_params, b_params)):
        assert a.data.dtype == b.data.dtype, f"{label} param {i}: dtype {a.data.dtype}"
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"{label} param {i} {a.shape}")
        state_a, state_b = a_opt.state[a], b_opt.state[b]
        assert sorted(state_a) == sorted(state_b), f"{label} param {i}: state keys"
        for key, value in state_b.items():
            np.testing.assert_array_equal(state_a[key], value, err_msg=f"{label} {key} {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_blocked_equals_whole(case, dtype, monkeypatch):
    name, kw = case
    blocked = _run(name, kw, dtype, blocked=True, monkeypatch=monkeypatch)
    whole = _run(name, kw, dtype, blocked=False, monkeypatch=monkeypatch)
    _assert_same(blocked, whole, f"{name}({kw}) {dtype.__name__}")


@pytest.mark.parametrize("case", [CASES[5], CASES[10], CASES[13]], ids=[IDS[5], IDS[10], IDS[13]])
def test_blocked_state_dict_round_trip_continues_identically(case, monkeypatch):
    name, kw = case
    resumed = _run(name, kw, np.float32, blocked=True, monkeypatch=monkeypatch, split=5)
    straight = _run(name, kw, np.float32, blocked=False, monkeypatch=monkeypatch)
    _assert_same(resumed, straight, f"{name}({kw}) resumed at step 5")


def test_blocks_cut_views_and_refuse_what_they_cannot_cut(monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK_SIZE", 4)
    monkeypatch.setattr(_blocks, "MIN_BYTES", 0)
    w, g = np.arange(10.0).reshape(2, 5), np.ones((2, 5))
    parts = _blocks.blocks((w, g, None))
    assert parts is not None
    assert [len(p[0]) for p in parts] == [4, 4, 2]
    assert all(p[2] is None and np.shares_memory(p[0], w) for p in parts)
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), w.ravel())
    assert _blocks.blocks((w, g.T.copy().T)) is None, "non-contiguous gradient"
    assert _blocks.blocks((w, np.ones(10))) is None, "gradient of another shape"
    assert _blocks.blocks((w, g.astype(np.float32))) is None, "gradient of another dtype"
    monkeypatch.setattr(_blocks, "MIN_BYTES", w.nbytes + 1)
    assert _blocks.blocks((w, g)) is None, "too small to block"


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_real_thresholds(name, monkeypatch):
    """A float32 parameter just past MIN_BYTES (not a multiple of BLOCK_SIZE), two steps."""
    n = _blocks.MIN_BYTES // 4 + 5
    kw = {"momentum": 0.9, "nesterov": True} if name == "SGD" else {"amsgrad": True}
    results = []
    for min_bytes in (_blocks.MIN_BYTES, 1 << 62):
        monkeypatch.setattr(_blocks, "MIN_BYTES", min_bytes)
        rng = np.random.default_rng(2)
        p = cr.tensor(rng.standard_normal(n, dtype=np.float32), requires_grad=True)
        opt = getattr(optim, name)([p], lr=0.1, **kw)
        for _ in range(3):
            p.grad = cr.tensor(rng.standard_normal(n, dtype=np.float32))
            opt.step()
        blocked = min_bytes < p.data.nbytes
        assert (np.dtype(np.float32) in opt._block_work) == blocked
        assert (p in opt._work) != blocked, "blocked updates need no work arrays of full size"
        results.append(p.data)
    np.testing.assert_array_equal(results[0], results[1], err_msg=f"{name} blocked vs whole")
