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
    from chainrule.train._curve_findings import loss_findings as _loss_findings

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


# -- runs that fail in ways a user sees only at the end: the cases, small ---------------
def noisy_loaders(n: int = 48, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """Two overlapping blobs with a third of the labels flipped: train and validation loaders
    of n rows each. A big network memorises the training rows and fits the noise."""
    rng = np.random.default_rng(seed)
    y = (np.arange(2 * n) % 2).astype(np.float32)
    X = (rng.standard_normal((2 * n, 2)) + 0.8 * y[:, None]).astype(np.float32)
    y = np.where(rng.random(2 * n) < 0.3, 1 - y, y).reshape(-1, 1).astype(np.float32)
    g = cr.Generator(seed)
    train = DataLoader(ArrayDataset(X[:n], y[:n]), batch_size=16, shuffle=True, generator=g)
    return train, DataLoader(ArrayDataset(X[n:], y[n:]), batch_size=64)


def fit_with_validation(
    model, lr, epochs, callbacks=(), baseline_loss=None, sgd=False
) -> list[Finding]:
    opt = (
        optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        if sgd
        else optim.Adam(model.parameters(), lr=lr)
    )
    cbs = [TrainLossCallback(), *callbacks]
    learner = Learner(model, opt, nn.BCEWithLogitsLoss(), cbs, show_progress=False)
    learner.remove_callback(learner.callbacks[0])  # train through blow-ups
    train, valid = noisy_loaders()
    with np.errstate(all="ignore"):
        learner.fit(moons_loader() if sgd else train, epochs, dataloader_valid=valid)
    return diagnose(learner, baseline_loss=baseline_loss)


BALANCED_BCE = float(np.log(2))  # the loss of predicting p = 1/2 for two balanced classes


def test_overfitting_names_the_best_epoch_and_points_to_the_knobs():
    """As ``chainrule train --epochs 300`` on digits: the training loss goes to ~0 while the
    validation loss climbs from its lowest."""
    found = fit_with_validation(mlp([2, 128, 128, 1], nn.ReLU, kaiming=True), 0.02, 40)
    (f,) = [f for f in found if f.name == "overfitting"]
    assert f.severity == "warning"
    assert "(its lowest)" in f.evidence and "while the training loss fell" in f.evidence
    for knob in ("--patience", "--weight-decay", "--dropout"):
        assert knob in f.advice, knob


def test_early_stopping_turns_overfitting_into_information():
    from chainrule.train import EarlyStoppingCallback

    stop = EarlyStoppingCallback(patience=4)
    model = mlp([2, 128, 128, 1], nn.ReLU, kaiming=True)
    found = fit_with_validation(model, 0.02, 40, [stop])
    assert stop.stopped_epoch is not None, "the run was built to overfit"
    (f,) = [f for f in found if f.name == "overfitting"]
    assert f.severity == "info"
    assert f"restored the weights of epoch {stop.best_epoch + 1}" in f.evidence


def test_a_run_that_keeps_improving_is_not_overfitting():
    found = fit_with_validation(mlp([2, 8, 1], nn.ReLU, kaiming=True), 0.01, 6, (), BALANCED_BCE)
    assert "overfitting" not in names(found)


def test_learning_rate_too_low_when_still_improving_far_above_the_baseline():
    found = fit_with_validation(mlp([2, 16, 1], nn.ReLU, kaiming=True), 1e-3, 4, (), BALANCED_BCE)
    (f,) = [f for f in found if f.name == "learning_rate_too_low"]
    assert "still falling at the last epoch" in f.evidence and "--lr-find" in f.advice


def test_nothing_learnt_when_the_loss_ends_at_the_constant_predictions():
    """As the SGD runs at lr 6 and 12 that ended at chance: the loss blows up, then sits at
    the loss of predicting the class frequencies."""
    model = mlp([2, 32, 32, 1], nn.ReLU, kaiming=True)
    found = fit_with_validation(model, 3.0, 3, (), BALANCED_BCE, sgd=True)
    assert "learning_rate_too_high" in names(found)
    (f,) = [f for f in found if f.name == "loss_not_decreasing"]
    assert f.severity == "error" and "learnt nothing a constant does not know" in f.evidence
    flat = fit_with_validation(mlp([2, 8, 1], nn.ReLU, kaiming=True), 1e-7, 3, (), BALANCED_BCE)
    assert [f.name for f in flat] == ["loss_not_decreasing"], "one finding, not two"
    assert "no lower than 0.6931" in flat[0].evidence


def test_outcome_against_the_baseline_and_the_classes():
    from chainrule.train import outcome_findings

    args = ("the most frequent class (0)",)
    assert outcome_findings("accuracy", 0.95, 0.5, *args, n_rows=300, n_classes=2) == []
    (f,) = outcome_findings("accuracy", 0.0963, 0.1, *args)
    assert f.name == "no_better_than_baseline" and f.severity == "error"
    assert "0.0963 against 0.1000" in f.evidence and "must reach 0.1900" in f.evidence
    (f,) = outcome_findings("R²", 0.0386, -0.0083, "the mean")
    assert "must reach 0.0925" in f.evidence, "R² 0.04: not clearly better than the mean"
    (f,) = outcome_findings("accuracy", float("nan"), 0.5, *args)
    assert "not a number" in f.evidence, "a diverged model is no better"
    found = outcome_findings("accuracy", 0.0, 0.0024, *args, n_rows=420, n_classes=499)
    assert [f.name for f in found] == ["too_many_classes", "no_better_than_baseline"]
    assert "499 classes for 420 training rows (0.84 per class" in found[0].evidence
    assert "regression" in found[0].advice
    assert outcome_findings("accuracy", 0.9, 0.1, *args, n_rows=50, n_classes=10) == []
