"""Every learning-rate schedule against PyTorch's: the rates (and momenta) exactly, step by step."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as sched

torch = pytest.importorskip("torch")
tsched = torch.optim.lr_scheduler

N_STEPS = 30
START = [np.linspace(-1.0, 1.0, 6).reshape(2, 3), np.array([0.5, -0.25])]


def _decay(epoch):
    return 0.95**epoch


def _wave(epoch):
    return 1.0 + 0.5 * math.sin(epoch)


CASES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.25, "end_factor": 0.9, "total_iters": 6}),
    ("LambdaLR", {"lr_lambda": _decay}),
    ("LambdaLR", {"lr_lambda": [_decay, _wave]}),
    ("OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": N_STEPS}),
    ("OneCycleLR", {"max_lr": 2.0, "total_steps": N_STEPS, "anneal_strategy": "linear"}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": N_STEPS, "three_phase": True}),
    (
        "OneCycleLR",
        {
            "max_lr": 1.0,
            "epochs": 3,
            "steps_per_epoch": 10,
            "pct_start": 0.25,
            "div_factor": 10.0,
            "final_div_factor": 100.0,
        },
    ),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": N_STEPS, "cycle_momentum": False}),
    (
        "OneCycleLR",
        {
            "max_lr": 1.0,
            "total_steps": 40,
            "base_momentum": [0.8, 0.7],
            "max_momentum": [0.9, 0.99],
            "three_phase": True,
            "anneal_strategy": "linear",
        },
    ),
]
OPTIMIZERS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adam", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
]


def _ids(case):
    name, kw = case

    def show(v):
        return "+".join(map(show, v)) if isinstance(v, list) else getattr(v, "__name__", str(v))

    parts = [f"{k}={show(v)}" for k, v in kw.items()]
    return name + "-" + "-".join(parts)


def _groups(make_tensor, opt_kw):
    a, b = (make_tensor(v) for v in START)
    second = {"params": [b], "lr": opt_kw["lr"] / 2}
    return [{"params": [a]}, second], [a, b]


def _run(lib, opt_name, opt_kw, sched_name, sched_kw, n_steps=N_STEPS):
    """Trains both groups on a fixed quadratic; returns the rates, momenta and parameters."""
    if lib == "torch":
        groups, params = _groups(lambda v: torch.tensor(v, requires_grad=True), opt_kw)
        opt = getattr(torch.optim, opt_name)(groups, **opt_kw)
        scheduler = getattr(tsched, sched_name)(opt, **sched_kw)
    else:
        groups, params = _groups(lambda v: cr.tensor(v, requires_grad=True), opt_kw)
        opt = getattr(optim, opt_name)(groups, **opt_kw)
        scheduler = getattr(sched, sched_name)(opt, **sched_kw)
    lrs, momenta = [scheduler.get_last_lr()], [_momenta(opt)]
    for _ in range(n_steps):
        for p in params:
            value = p.detach().numpy() if lib == "torch" else p.data
            grad = 2.0 * value + 0.1
            p.grad = torch.from_numpy(grad) if lib == "torch" else cr.tensor(grad)
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
        momenta.append(_momenta(opt))
    values = [p.detach().numpy() if lib == "torch" else p.data for p in params]
    return lrs, momenta, values


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


@pytest.mark.parametrize("opt_case", OPTIMIZERS, ids=[o for o, _ in OPTIMIZERS])
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_matches_torch_exactly(case, opt_case):
    sched_name, sched_kw = case
    opt_name, opt_kw = opt_case
    n = 40 if sched_kw.get("total_steps") == 40 else N_STEPS
    ours = _run("chainrule", opt_name, opt_kw, sched_name, sched_kw, n)
    theirs = _run("torch", opt_name, opt_kw, sched_name, sched_kw, n)
    for t, (a, b) in enumerate(zip(ours[0], theirs[0])):
        assert a == b, f"{sched_name}({sched_kw}) lr at step {t}: {a} vs torch {b}"
        assert all(type(x) is float for x in a), f"lr should be a Python float, got {a}"
    for t, (a, b) in enumerate(zip(ours[1], theirs[1])):
        assert a == b, f"{sched_name}({sched_kw}) momentum at step {t}: {a} vs torch {b}"
    assert len(set(map(tuple, ours[0]))) > 1 or sched_name == "StepLR", "lr never changed"
    for a, b in zip(ours[2], theirs[2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


PLATEAU = [
    {},
    {"patience": 2},
    {"patience": 1, "cooldown": 2, "factor": 0.5},
    {"patience": 0, "min_lr": 0.02, "factor": 0.5},
    {"patience": 0, "min_lr": [0.03, 0.001], "factor": 0.5},
    {"mode": "max", "patience": 1, "threshold": 0.05},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.2, "patience": 1},
    {"threshold_mode": "abs", "threshold": 0.3, "patience": 0, "factor": 0.7},
    {"patience": 0, "factor": 0.999, "eps": 1e-3},
]


@pytest.mark.parametrize("kw", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_on_plateau_matches_torch(kw):
    metrics = np.random.default_rng(3).standard_normal(40).cumsum() * 0.3 + 5.0
    metrics[15:25] = metrics[15]  # a flat stretch
    results = []
    for lib, module, opt_module in (("torch", tsched, torch.optim), ("cr", sched, optim)):
        make = (
            (lambda v: torch.tensor(v, requires_grad=True))
            if lib == "torch"
            else (lambda v: cr.tensor(v, requires_grad=True))
        )
        groups, _ = _groups(make, {"lr": 0.1})
        opt = opt_module.SGD(groups, lr=0.1)
        scheduler = module.ReduceLROnPlateau(opt, **kw)
        lrs = []
        for m in metrics:
            scheduler.step(m if lib == "cr" else float(m))
            lrs.append(scheduler.get_last_lr())
        results.append((lrs, scheduler.num_bad_epochs, scheduler.best))
    assert results[0] == results[1]
    reduced = results[1][0][0] != results[1][0][-1]
    assert reduced != ("eps" in kw), "eps=1e-3 must block the 1e-4 reductions; others reduce"


def test_plateau_accepts_a_tensor_metric():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    s = sched.ReduceLROnPlateau(opt, patience=0)
    s.step(cr.tensor(2.0))
    s.step(cr.tensor(3.0))
    assert s.get_last_lr() == [0.1]


ROUND_TRIP = [
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 20}),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.01}),
    ("MultiStepLR", {"milestones": [3, 12]}),
    ("LinearLR", {"total_iters": 15}),
    ("LambdaLR", {"lr_lambda": _decay}),
]


@pytest.mark.parametrize("case", ROUND_TRIP, ids=[c for c, _ in ROUND_TRIP])
def test_state_dict_round_trip(case):
    """Resuming optimiser and schedule from their state dicts equals the uninterrupted run."""
    name, kw = case
    groups, params = _groups(lambda v: cr.tensor(v, requires_grad=True), {"lr": 0.1})
    opt = optim.SGD(groups, lr=0.1, momentum=0.9)
    scheduler = getattr(sched, name)(opt, **kw)

    def train(opt, scheduler, params, n):
        lrs = []
        for _ in range(n):
            for p in params:
                p.grad = cr.tensor(2.0 * p.data + 0.1)
            opt.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return lrs

    train(opt, scheduler, params, 10)
    saved = ([p.data.copy() for p in params], opt.state_dict(), scheduler.state_dict())
    expected_lrs = train(opt, scheduler, params, 10)
    expected = [p.data.copy() for p in params]

    groups2, params2 = _groups(lambda v: cr.tensor(v, requires_grad=True), {"lr": 0.1})
    for p, v in zip(params2, saved[0]):
        p.data[...] = v
    opt2 = optim.SGD(groups2, lr=0.1, momentum=0.9)
    scheduler2 = getattr(sched, name)(opt2, **kw)
    opt2.load_state_dict(saved[1])
    scheduler2.load_state_dict(saved[2])
    assert train(opt2, scheduler2, params2, 10) == expected_lrs
    for a, b in zip(params2, expected):
        np.testing.assert_array_equal(a.data, b)


def test_plateau_state_dict_round_trip():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    s = sched.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for m in [3.0, 2.0, 2.5, 2.6]:
        s.step(m)
    state = s.state_dict()
    assert "optimizer" not in state and state["best"] == 2.0
    s2 = sched.ReduceLROnPlateau(optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0))
    s2.load_state_dict(state)
    assert (s2.patience, s2.cooldown_counter, s2.best) == (1, s.cooldown_counter, 2.0)


def test_lambda_state_dict_keeps_callable_objects():
    class Warmup:
        def __init__(self):
            self.scale = 1.0

        def __call__(self, epoch):
            return self.scale * min(1.0, (epoch + 1) / 5)

    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    warmup = Warmup()
    s = sched.LambdaLR(opt, [warmup])
    warmup.scale = 0.5
    state = s.state_dict()
    assert state["lr_lambdas"] == [{"scale": 0.5}]
    other = Warmup()
    s2 = sched.LambdaLR(optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0), other)
    s2.load_state_dict(state)
    assert other.scale == 0.5
    assert sched.LambdaLR(opt, _decay).state_dict()["lr_lambdas"] == [None]


def test_scheduler_sets_initial_lr_and_base_lrs():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.3)
    s = sched.ExponentialLR(opt, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 0.3 and s.base_lrs == [0.3]
    assert s.last_epoch == 0 and s.get_last_lr() == [0.3]
    s.step()
    assert s.last_epoch == 1 and opt.param_groups[0]["lr"] == 0.15


def test_one_cycle_refuses_to_step_past_the_end():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 4 times, but total_steps is 3"):
        s.step()
