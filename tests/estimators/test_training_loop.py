"""The training loop's structure: Ctrl-C, the events it announces, and the callbacks parameter."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.estimators._batches import IndexBatches
from chainrule.estimators._training import MLPStep
from chainrule.train import EVENTS, Callback, Learner, TrainLossCallback

from ..train._helpers import EventRecorder
from ._helpers import quiet_fit


def _interrupt_at(monkeypatch, epoch: int) -> list[list[np.ndarray]]:
    """Makes the ``epoch``-th training pass raise KeyboardInterrupt as it starts (as Ctrl-C
    would, midway through training); returns the weights after each completed epoch."""
    original = MLPStep.end_epoch
    seen: list[list[np.ndarray]] = []

    def end_epoch(self, loop):
        stop = original(self, loop)
        seen.append([p.data.copy() for p in self.est.model_.parameters()])
        return stop

    def batches(self):
        if len(seen) + 1 == epoch:
            raise KeyboardInterrupt
        return original_iter(self)

    original_iter = IndexBatches.__iter__
    monkeypatch.setattr(MLPStep, "end_epoch", end_epoch)
    monkeypatch.setattr(IndexBatches, "__iter__", batches)
    return seen


def test_ctrl_c_stops_cleanly_with_the_best_weights(monkeypatch):
    X, y = load_iris(return_X_y=True)
    snapshots = _interrupt_at(monkeypatch, epoch=3)
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
    snapshots = _interrupt_at(monkeypatch, epoch=4)
    clf = MLPClassifier((8,), max_iter=50, early_stopping=True, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.validation_scores_) == 3
    best = int(np.argmax(clf.validation_scores_))
    for p, kept in zip(clf.model_.parameters(), snapshots[best]):
        np.testing.assert_array_equal(p.data, kept, err_msg="best validation weights")


def _learner_documented_sequence() -> list[str]:
    """The literal block in ``Learner.fit``'s docstring (two training batches, one validation
    batch)."""
    block = Learner.fit.__doc__.split("exactly these events", 1)[1].split("::", 1)[1]
    return block.strip().split("\n\n")[0].split()


def test_events_are_the_learners_documented_sequence():
    rec = EventRecorder()
    X, y = np.random.default_rng(0).standard_normal((40, 3)), np.arange(40.0)
    reg = MLPRegressor(
        hidden_layer_sizes=(4,),
        batch_size=18,
        early_stopping=True,
        validation_fraction=0.1,
        max_iter=1,
        callbacks=[rec],
    )
    quiet_fit(reg, X, y)  # 36 training samples: batches of 18 and 18; one validation batch
    assert rec.events == _learner_documented_sequence(), "MLPRegressor: the Learner's events"
    cancels = {e for e in EVENTS if "cancel" in e}
    assert set(rec.events) == set(EVENTS) - cancels, "every event but the cancel ones"


def test_callbacks_must_be_free_callback_instances():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((4,), max_iter=1, callbacks=[object()])
    with pytest.raises(TypeError, match="callbacks must hold chainrule.train.Callback.*object"):
        clf.fit(X, y)
    with pytest.raises(TypeError, match="got ABCMeta|a class; call it"):
        clf.set_params(callbacks=[TrainLossCallback]).fit(X, y)
    loss = TrainLossCallback()
    with pytest.raises(ValueError, match="the same callback instance twice"):
        clf.set_params(callbacks=[loss, loss]).fit(X, y)

    class Owned(Callback):
        pass

    owned = Owned()
    owned.learner = object.__new__(Learner)  # attached to a Learner
    with pytest.raises(ValueError, match="Owned is attached to a Learner; pass a new instance"):
        clf.set_params(callbacks=[owned]).fit(X, y)
    assert not hasattr(clf, "model_"), "nothing was fitted"
    quiet_fit(clf.set_params(callbacks=[]), X, y)  # an empty list is no callbacks
    assert clf.n_iter_ == 1


@pytest.mark.parametrize("first", [False, True])
def test_a_warm_start_that_switches_early_stopping_is_refused(first):
    X, y = load_iris(return_X_y=True)
    clf = quiet_fit(MLPClassifier((4,), max_iter=2, warm_start=True, early_stopping=first), X, y)
    curve = list(clf.loss_curve_)
    with pytest.raises(ValueError, match=f"made with early_stopping={first}; fit with"):
        clf.set_params(early_stopping=not first).fit(X, y)
    assert clf.loss_curve_ == curve, "nothing was trained"
    quiet_fit(clf.set_params(warm_start=False), X, y)  # afresh: fine
    assert len(clf.loss_curve_) == 2
