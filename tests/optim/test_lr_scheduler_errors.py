"""Every error path of the learning-rate schedules: a clear message naming the argument."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as sched


def _decay(epoch):
    return 0.95**epoch


def _opt(**kw):
    return optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1, **kw)


BAD = [
    (
        lambda: sched.StepLR("opt", step_size=2),
        TypeError,
        "StepLR: optimizer must be a chainrule Optimizer, got str",
    ),
    (
        lambda: sched.StepLR(_opt(), step_size=0),
        ValueError,
        "StepLR: step_size must be a positive integer, got 0",
    ),
    (
        lambda: sched.StepLR(_opt(), step_size=2.5),
        ValueError,
        "step_size must be a positive integer, got 2.5",
    ),
    (
        lambda: sched.StepLR(_opt(), step_size=2, gamma=-0.1),
        ValueError,
        "StepLR: gamma must be a positive number, got -0.1",
    ),
    (
        lambda: sched.MultiStepLR(_opt(), milestones=[5, 2]),
        ValueError,
        r"milestones must be increasing, got \[5, 2\]",
    ),
    (
        lambda: sched.MultiStepLR(_opt(), milestones=[-1]),
        ValueError,
        "milestones must be an integer >= 0, got -1",
    ),
    (
        lambda: sched.ExponentialLR(_opt(), gamma=0),
        ValueError,
        "ExponentialLR: gamma must be a positive number",
    ),
    (
        lambda: sched.CosineAnnealingLR(_opt(), T_max=0),
        ValueError,
        "T_max must be a positive integer, got 0",
    ),
    (
        lambda: sched.CosineAnnealingLR(_opt(), T_max=5, eta_min=-1.0),
        ValueError,
        "eta_min must be a non-negative number",
    ),
    (
        lambda: sched.LinearLR(_opt(), start_factor=0.0),
        ValueError,
        r"start_factor must be in \(0, 1\], got 0.0",
    ),
    (
        lambda: sched.LinearLR(_opt(), end_factor=1.5),
        ValueError,
        r"end_factor must be in \[0, 1\], got 1.5",
    ),
    (
        lambda: sched.LinearLR(_opt(), total_iters=0),
        ValueError,
        "total_iters must be a positive integer",
    ),
    (
        lambda: sched.LambdaLR(_opt(), [_decay, _decay]),
        ValueError,
        r"one function per parameter group \(1\), got 2",
    ),
    (lambda: sched.LambdaLR(_opt(), 0.5), TypeError, "lr_lambda must be callable, got float"),
    (
        lambda: sched.OneCycleLR(_opt(momentum=0.9), max_lr=1.0),
        ValueError,
        "give either total_steps or both epochs and steps_per_epoch",
    ),
    (
        lambda: sched.OneCycleLR(_opt(momentum=0.9), max_lr=1.0, total_steps=0),
        ValueError,
        "total_steps must be a positive integer, got 0",
    ),
    (
        lambda: sched.OneCycleLR(_opt(momentum=0.9), max_lr=1.0, epochs=0, steps_per_epoch=5),
        ValueError,
        "epochs must be a positive integer",
    ),
    (
        lambda: sched.OneCycleLR(_opt(momentum=0.9), max_lr=1.0, epochs=2, steps_per_epoch=-5),
        ValueError,
        "steps_per_epoch must be a positive integer",
    ),
    (
        lambda: sched.OneCycleLR(_opt(momentum=0.9), max_lr=1.0, total_steps=10, pct_start=1.5),
        ValueError,
        r"pct_start must be in \[0, 1\], got 1.5",
    ),
    (
        lambda: sched.OneCycleLR(
            _opt(momentum=0.9), max_lr=1.0, total_steps=10, anneal_strategy="exp"
        ),
        ValueError,
        "anneal_strategy must be 'cos' or 'linear', got 'exp'",
    ),
    (
        lambda: sched.OneCycleLR(_opt(momentum=0.9), max_lr=[1.0, 2.0], total_steps=10),
        ValueError,
        r"max_lr must have one value per parameter group \(1\), got 2",
    ),
    (
        lambda: sched.OneCycleLR(_opt(momentum=0.9), max_lr=-1.0, total_steps=10),
        ValueError,
        "max_lr must be a non-negative number",
    ),
    (
        lambda: sched.OneCycleLR(
            optim.Adagrad([cr.tensor([1.0], requires_grad=True)]), max_lr=1.0, total_steps=10
        ),
        ValueError,
        "cycle_momentum=True needs an optimizer with 'momentum' or 'betas', got Adagrad",
    ),
    (
        lambda: sched.ReduceLROnPlateau(_opt(), factor=1.0),
        ValueError,
        r"factor must be in \[0, 1\), got 1.0",
    ),
    (
        lambda: sched.ReduceLROnPlateau(_opt(), mode="avg"),
        ValueError,
        "mode must be 'min' or 'max', got 'avg'",
    ),
    (
        lambda: sched.ReduceLROnPlateau(_opt(), threshold_mode="pct"),
        ValueError,
        "threshold_mode must be 'rel' or 'abs'",
    ),
    (
        lambda: sched.ReduceLROnPlateau(_opt(), patience=-1),
        ValueError,
        "patience must be an integer >= 0, got -1",
    ),
    (
        lambda: sched.ReduceLROnPlateau(_opt(), min_lr=[0.1, 0.2]),
        ValueError,
        r"min_lr must have one value per parameter group \(1\), got 2",
    ),
    (
        lambda: sched.ReduceLROnPlateau(None),
        TypeError,
        "ReduceLROnPlateau: optimizer must be a chainrule Optimizer, got NoneType",
    ),
    (lambda: sched.StepLR(_opt(), step_size=2, last_epoch=4), KeyError, "has no 'initial_lr'"),
    (
        lambda: sched.StepLR(_opt(), step_size=2, last_epoch=-2),
        ValueError,
        "last_epoch must be an integer >= -1",
    ),
    (
        lambda: sched.LRScheduler(_opt()),
        NotImplementedError,
        "LRScheduler.get_lr is not implemented",
    ),
]


@pytest.mark.parametrize("make, error, match", BAD, ids=[m for _, _, m in BAD])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()
