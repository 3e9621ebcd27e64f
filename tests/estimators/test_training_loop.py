"""The training loop's structure: Ctrl-C, the events it announces, and callbacks."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from sklearn.datasets import load_iris

from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.estimators._training import EVENTS

from ._helpers import quiet_fit


def _interrupt_at(monkeypatch, cls, epoch: int) -> list[list[np.ndarray]]:
    """Makes the ``epoch``-th call of ``_fit_epoch`` raise KeyboardInterrupt (as Ctrl-C would,
    midway through training); returns the weights after each completed epoch."""
    original = cls._fit_epoch
    seen: list[list[np.ndarray]] = []

    def fit_epoch(self, run):
        if len(seen) + 1 == epoch:
            raise KeyboardInterrupt
        stop = original(self, run)
        seen.append([p.data.copy() for p in self.model_.parameters()])
        return stop

    monkeypatch.setattr(cls, "_fit_epoch", fit_epoch)
    return seen


def test_ctrl_c_stops_cleanly_with_the_best_weights(monkeypatch):
    X, y = load_iris(return_X_y=True)
    snapshots = _interrupt_at(monkeypatch, MLPClassifier, epoch=3)
    clf = MLPClassifier((8,), max_iter=50, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        clf.fit(X, y)  # no KeyboardInterrupt escapes
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2, "two epochs completed"
    best = int(np.argmin(clf.loss_curve_))
    assert clf.best_loss_ == clf.loss_curve_[best]
    for p, kept in zip(clf.model_.parameters(), snapshots[best]):
        np.testing.assert_array_equal(p.data, kept, err_msg="the best epoch's weights")
    assert not clf.model_.training, "the network is left in evaluation mode"
    assert clf.predict(X).shape == (150,), "usable after the interrupt"


def test_ctrl_c_with_early_stopping_restores_the_best_validation_weights(monkeypatch):
    X, y = load_iris(return_X_y=True)
    snapshots = _interrupt_at(monkeypatch, MLPClassifier, epoch=4)
    clf = MLPClassifier((8,), max_iter=50, early_stopping=True, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.validation_scores_) == 3
    best = int(np.argmax(clf.validation_scores_))
    for p, kept in zip(clf.model_.parameters(), snapshots[best]):
        np.testing.assert_array_equal(p.data, kept, err_msg="best validation weights")


def test_events_come_in_fastai_order(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(MLPRegressor, "_emit", lambda self, event: seen.append(event))
    X, y = np.random.default_rng(0).standard_normal((40, 3)), np.arange(40.0)
    reg = MLPRegressor(
        hidden_layer_sizes=(4,), batch_size=18, early_stopping=True, validation_fraction=0.1
    )
    quiet_fit(reg.set_params(max_iter=1), X, y)  # 36 training samples: batches of 18 and 18
    batch = [
        "before_batch",
        "after_pred",
        "after_loss",
        "before_backward",
        "after_backward",
        "before_step",
        "after_step",
        "after_batch",
    ]
    epoch = ["before_epoch", "before_train", *batch, *batch, "after_train"]
    validation = ["before_batch", "after_pred", "after_loss", "after_batch"]  # one batch
    epoch += ["before_validate", *validation, "after_validate", "after_epoch"]
    assert seen == ["before_fit", *epoch, "after_fit"], "events of one epoch of two batches"
    assert set(seen) == set(EVENTS), "every documented event is announced"


def test_callbacks_raise_until_chainrule_train_is_wired(monkeypatch):
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((4,), max_iter=1, callbacks=[object()])
    monkeypatch.setitem(sys.modules, "chainrule.train", None)  # not importable
    with pytest.raises(NotImplementedError, match="callbacks need chainrule.train"):
        clf.fit(X, y)
    monkeypatch.setitem(sys.modules, "chainrule.train", types.ModuleType("chainrule.train"))
    with pytest.raises(NotImplementedError, match="not wired yet"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_"), "nothing was fitted"
    quiet_fit(clf.set_params(callbacks=[]), X, y)  # an empty list is no callbacks
    assert clf.n_iter_ == 1
