"""20 steps of every optimiser, for every option, against PyTorch on the same gradient sequence.

The gradients are those of a fixed quadratic at each side's own current parameters plus a
random term drawn once per step (so state, feedback and noise are all exercised), and one
parameter gets no gradient at one step (both libraries then skip it).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import _blocks

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), ()]
N_STEPS = 20
TOL = {np.float32: 1e-5, np.float64: 1e-10}

CASES = {
    "SGD": [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "dampening": 0.5},
        {"momentum": 0.9, "nesterov": True},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"momentum": 0.8, "weight_decay": 0.1, "maximize": True},
        {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
        {"momentum": 0.5, "dampening": 0.2, "weight_decay": 0.1, "maximize": True},
    ],
    "Adam": [
        {},
        {"amsgrad": True},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"betas": (0.5, 0.9), "eps": 1e-6},
        {"amsgrad": True, "weight_decay": 0.1, "maximize": True},
    ],
    "AdamW": [
        {},
        {"weight_decay": 0.3},
        {"amsgrad": True},
        {"maximize": True, "weight_decay": 0.1},
        {"betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.0},
    ],
    "RMSprop": [
        {},
        {"centered": True},
        {"momentum": 0.9},
        {"centered": True, "momentum": 0.5},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"alpha": 0.9, "eps": 1e-6, "centered": True, "weight_decay": 0.1, "maximize": True},
    ],
    "Adagrad": [
        {},
        {"lr_decay": 0.1},
        {"weight_decay": 0.1},
        {"initial_accumulator_value": 0.5},
        {"eps": 1e-6},
        {"maximize": True},
        {"lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.2, "maximize": True},
    ],
}
PARAMS = [(name, kw) for name, kws in CASES.items() for kw in kws]


def _ids(case: tuple[str, dict]) -> str:
    name, kw = case
    return name + "-" + ("-".join(f"{k}={v}" for k, v in kw.items()) or "default")


class Problem:
    """Gradients g_k = c ⊙ p + noise_k of f(p) = Σ c p² / 2 + noise_k · p, for both libraries."""

    def __init__(self, rng: np.random.Generator, dtype: type) -> None:
        self.dtype = dtype
        self.start = [np.asarray(rng.standard_normal(s), dtype) for s in SHAPES]
        self.curv = [np.asarray(rng.uniform(0.5, 2.0, s), dtype) for s in SHAPES]
        self.noise = [
            [np.asarray(rng.standard_normal(s), dtype) for s in SHAPES] for _ in range(N_STEPS)
        ]

    def grad(self, k: int, i: int, value: np.ndarray) -> np.ndarray | None:
        if k == 5 and i == 2:
            return None  # no gradient for the scalar at step 5: both skip it
        return np.asarray(self.curv[i] * value + self.noise[k][i], self.dtype)

    def run_ours(self, make, n_steps: int = N_STEPS) -> list[np.ndarray]:
        params = [cr.tensor(v, requires_grad=True) for v in self.start]
        opt = make(params)
        buffers = [p.data for p in params]
        for k in range(n_steps):
            for i, p in enumerate(params):
                g = self.grad(k, i, p.data)
                p.grad = None if g is None else cr.tensor(g)
            opt.step()
        for p, buf in zip(params, buffers):
            assert p.data is buf, "the update must be in place"
            assert p.data.dtype == self.dtype, f"dtype changed to {p.data.dtype}"
        return [p.data for p in params]

    def run_torch(self, make, n_steps: int = N_STEPS) -> list[np.ndarray]:
        params = [torch.tensor(v, requires_grad=True) for v in self.start]
        opt = make(params)
        for k in range(n_steps):
            for i, p in enumerate(params):
                g = self.grad(k, i, p.detach().numpy())
                p.grad = None if g is None else torch.from_numpy(g)
            opt.step()
        return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", PARAMS, ids=[_ids(c) for c in PARAMS])
def test_matches_torch(case, dtype, rng):
    name, kw = case
    problem = Problem(rng, dtype)
    kw = {"lr": 0.05, **kw}
    ours = problem.run_ours(lambda ps: getattr(optim, name)(ps, **kw))
    theirs = problem.run_torch(lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kw))
    tol = TOL[dtype]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(
            a, b, rtol=tol, atol=tol, err_msg=f"{name}({kw}) param {i} shape {a.shape} {dtype}"
        )
    moved = [not np.array_equal(a, s) for a, s in zip(ours, problem.start)]
    assert all(moved), f"{name}({kw}): some parameter never moved"


BLOCKED = [(name, kw) for name, kw in PARAMS if name in ("SGD", "Adam", "AdamW")]


@pytest.mark.parametrize("case", BLOCKED, ids=[_ids(c) for c in BLOCKED])
def test_blocked_updates_match_torch(case, rng, monkeypatch):
    """The block-by-block update of large parameters (optim/_blocks.py), made to run here on
    small ones in blocks of 5 elements, against PyTorch."""
    monkeypatch.setattr(_blocks, "BLOCK_SIZE", 5)
    monkeypatch.setattr(_blocks, "MIN_BYTES", 0)
    name, kw = case
    problem = Problem(rng, np.float64)
    kw = {"lr": 0.05, **kw}
    ours = problem.run_ours(lambda ps: getattr(optim, name)(ps, foreach=False, **kw))
    theirs = problem.run_torch(lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kw))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(
            a, b, rtol=1e-10, atol=1e-10, err_msg=f"blocked {name}({kw}) param {i} {a.shape}"
        )


@pytest.mark.parametrize("name", list(CASES))
def test_defaults_match_torch(name, rng):
    ours = getattr(optim, name)([cr.tensor([1.0], requires_grad=True)])
    theirs = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)])
    for key, value in ours.defaults.items():
        assert theirs.defaults[key] == value, f"{name}: default {key} {value} vs torch's"
    problem = Problem(rng, np.float64)
    a = problem.run_ours(lambda ps: getattr(optim, name)(ps))
    b = problem.run_torch(lambda ps: getattr(torch.optim, name)(ps, foreach=False))
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-10, err_msg=f"{name} defaults")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_param_groups_match_torch(dtype, rng):
    """Groups with their own lr and momentum; the last group takes the defaults."""
    problem = Problem(rng, dtype)

    def groups(ps):
        return [{"params": ps[:1], "lr": 0.1, "momentum": 0.5}, {"params": ps[1:]}]

    ours = problem.run_ours(lambda ps: optim.SGD(groups(ps), lr=0.02, momentum=0.9))
    theirs = problem.run_torch(lambda ps: torch.optim.SGD(groups(ps), lr=0.02, momentum=0.9))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


def test_through_the_engine_matches_torch(rng):
    """Gradients from chainrule's backward pass, Adam with amsgrad, against torch end to end."""
    a0, x = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    w, wt = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    opt, opt_t = optim.Adam([w], lr=0.1, amsgrad=True), torch.optim.Adam([wt], 0.1, amsgrad=True)
    xs, xt = cr.tensor(x), torch.tensor(x)
    for _ in range(N_STEPS):
        opt.zero_grad()
        opt_t.zero_grad()
        ((xs @ w).tanh() ** 2).sum().backward()
        ((xt @ wt).tanh() ** 2).sum().backward()
        opt.step()
        opt_t.step()
    np.testing.assert_allclose(w.data, wt.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "case",
    [
        ("SGD", {"momentum": 0.9}),
        ("Adam", {"amsgrad": True}),
        ("RMSprop", {"centered": True, "momentum": 0.9}),
        ("Adagrad", {"lr_decay": 0.01}),
    ],
    ids=_ids,
)
def test_state_dict_layout_matches_torch(case, rng):
    """Same keys, same values after 20 steps, parameters referred to by the same indices."""
    name, kw = case
    problem = Problem(rng, np.float64)
    holder = {}

    def keep(opt):
        holder[type(opt).__module__.split(".")[0]] = opt
        return opt

    problem.run_ours(lambda ps: keep(getattr(optim, name)(ps, lr=0.05, **kw)))
    problem.run_torch(lambda ps: keep(getattr(torch.optim, name)(ps, lr=0.05, **kw)))
    ours, theirs = holder["chainrule"].state_dict(), holder["torch"].state_dict()
    assert ours["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for index, state in theirs["state"].items():
        assert sorted(ours["state"][index]) == sorted(state), f"{name} state keys"
        for key, value in state.items():
            np.testing.assert_allclose(
                ours["state"][index][key],
                value.numpy(),
                rtol=1e-10,
                err_msg=f"{name} state[{index}][{key}]",
            )
