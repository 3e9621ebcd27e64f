"""Each finding of ``diagnose`` on a network built to trigger it; none on a healthy one."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import (
    Finding,
    Learner,
    NonFiniteLossError,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainLossCallback,
    diagnose,
)
from chainrule.train._diagnostics import FINDINGS


def moons_loader() -> DataLoader:
    """Two interleaved half circles, standardised: 200 points, batches of 10."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, 200)
    upper = np.arange(200) % 2 == 0
    X = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    X = (X + 0.1 * rng.standard_normal(X.shape) - X.mean(0)) / X.std(0)
    y = upper.astype(np.float32).reshape(-1, 1)
    return DataLoader(
        ArrayDataset(X.astype(np.float32), y),
        batch_size=10,
        shuffle=True,
        generator=cr.Generator(0),
    )


def mlp(sizes, act, kaiming=False, gain=1.0, seed=0):
    g = cr.Generator(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b, generator=g)
        if kaiming:
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu", generator=g)
            nn.init.zeros_(lin.bias)
        lin.weight.data *= gain
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def run(model, lr=0.1, adam=False, epochs=3) -> list[Finding]:
    opt = (optim.Adam if adam else optim.SGD)(model.parameters(), lr=lr)
    cbs = [TrainLossCallback(), TrainActivationsCallback(), TrainGradientsCallback()]
    learner = Learner(model, opt, nn.BCEWithLogitsLoss(), cbs, show_progress=False)
    learner.remove_callback(learner.callbacks[0])  # train through blow-ups
    with np.errstate(all="ignore"):
        learner.fit(moons_loader(), epochs)
    return diagnose(learner)


def names(findings) -> set[str]:
    return {f.name for f in findings}


def test_a_healthy_network_triggers_nothing():
    assert run(mlp([2, 32, 32, 1], nn.ReLU, kaiming=True), lr=0.01, adam=True) == []
    assert run(mlp([2, 32, 32, 32, 1], nn.ReLU, kaiming=True), lr=0.05) == []
    assert run(mlp([2, 10, 1], nn.Sigmoid), lr=0.5) == [], "the example's sigmoid network"


def test_vanishing_gradients_in_a_deep_sigmoid_network():
    found = run(mlp([2] + [32] * 7 + [1], nn.Sigmoid), lr=0.1)
    assert "vanishing_gradients" in names(found)
    (f,) = [f for f in found if f.name == "vanishing_gradients"]
    assert f.severity == "warning" and "0.weight" in f.evidence and "ReLU" in f.advice


def test_exploding_gradients_with_too_large_initial_weights():
    found = run(mlp([2] + [32] * 6 + [1], nn.ReLU, kaiming=True, gain=6.0), lr=1e-9)
    assert "exploding_gradients" in names(found)
    assert "activation_scale_with_depth" in names(found), "the forward pass grows too"


def test_dead_relus_when_biases_push_every_unit_negative():
    model = mlp([2, 32, 32, 1], nn.ReLU, kaiming=True)
    model[0].bias.data[:] = -10.0
    found = run(model, lr=0.05)
    (f,) = [f for f in found if f.name == "dead_relus"]
    assert "1 100% of 32 units" in f.evidence


def test_saturated_sigmoid_units_with_huge_weights():
    found = run(mlp([2, 32, 1], nn.Sigmoid, gain=100.0), lr=0.01)
    assert "saturated_units" in names(found)


def test_loss_not_decreasing_with_a_tiny_learning_rate():
    found = run(mlp([2, 32, 32, 1], nn.ReLU, kaiming=True), lr=1e-7)
    assert names(found) == {"loss_not_decreasing"}


def test_learning_rate_too_high_when_the_loss_blows_up():
    found = run(mlp([2, 32, 32, 1], nn.ReLU, kaiming=True), lr=30.0)
    assert "learning_rate_too_high" in names(found)


def test_learning_rate_too_high_on_a_nan_loss():
    from chainrule.train._diagnostics import _loss_findings

    (f,) = _loss_findings(np.array([0.7, 0.6, np.nan]), np.arange(3))
    assert (
        f.name == "learning_rate_too_high" and f.severity == "error" and "iteration 2" in f.evidence
    )
    calm = 1.0 + 0.01 * np.sin(np.arange(30))
    oscillating = np.r_[calm, 1.1 + np.tile([-0.6, 0.6], 15)]
    (f,) = _loss_findings(oscillating, np.arange(60))
    assert f.name == "learning_rate_too_high" and "swings by" in f.evidence
    assert _loss_findings(np.r_[calm, calm], np.arange(60))[0].name == "loss_not_decreasing"


def test_activation_scale_shrinking_with_depth_under_default_init():
    found = run(mlp([2] + [64] * 5 + [1], nn.ReLU), lr=0.05)
    (f,) = [f for f in found if f.name == "activation_scale_with_depth"]
    assert "shrinks" in f.evidence and "2/fan_in" in f.advice and "Hanin" in f.advice


def test_findings_are_named_and_printable():
    f = Finding("dead_relus", "warning", "evidence", "advice")
    assert str(f) == "[warning] dead_relus: evidence\n    advice: advice"
    assert set(FINDINGS) >= {"vanishing_gradients", "exploding_gradients", "dead_relus"}
    with pytest.raises(AttributeError):
        f.name = "other"  # frozen


def test_without_telemetry_nothing_is_judged():
    model = mlp([2, 4, 1], nn.ReLU)
    learner = Learner(
        model, optim.SGD(model.parameters(), lr=1e-9), nn.BCEWithLogitsLoss(), show_progress=False
    )
    learner.fit(moons_loader(), 1)
    assert diagnose(learner) == []
    with pytest.raises(NonFiniteLossError):
        model[0].weight.data[...] = np.nan
        with np.errstate(all="ignore"):
            learner.fit(moons_loader(), 1)
