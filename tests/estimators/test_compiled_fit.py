"""The estimators train through a recorded and replayed step (``train.CompiledStep``) where it
is valid, with the eager fit's results bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.estimators._training import MLPStep
from chainrule.train import Callback

X, Y = load_digits(return_X_y=True)
X, Y = X[:400] / 16, Y[:400]


def fit_both(monkeypatch, make, y, **fit_kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = make().fit(X, y, **fit_kw)
        with monkeypatch.context() as m:
            m.setattr(MLPStep, "compiled_step", lambda self, loop, loss_fn: None)
            eager = make().fit(X, y, **fit_kw)
    for a, b in zip(compiled.coefs_ + compiled.intercepts_, eager.coefs_ + eager.intercepts_):
        assert np.array_equal(a, b)
    assert compiled.loss_curve_ == eager.loss_curve_
    assert eager.learner_.step.compiled is None
    return compiled.learner_.step.compiled


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPClassifier((16,), max_iter=4, random_state=0),
        lambda: MLPClassifier((16, 8), solver="sgd", activation="tanh", max_iter=4, random_state=0),
        lambda: MLPClassifier((16,), max_iter=4, early_stopping=True, random_state=0),
        lambda: MLPClassifier((16,), alpha=1e-2, batch_size=64, max_iter=4, random_state=0),
    ],
    ids=["adam", "sgd tanh", "early stopping", "l2 penalty, batch 64"],
)
def test_classifiers_replay_with_the_eager_results(monkeypatch, make):
    compiled = fit_both(monkeypatch, make, Y)
    assert compiled.counts["replayed"] > compiled.counts["recorded"] > 0
    assert compiled.counts["eager"] == 0


def test_multilabel_and_regression_replay(monkeypatch):
    multilabel = np.stack([Y % 2, Y > 4], axis=1).astype(int)
    make = lambda: MLPClassifier((16,), max_iter=3, random_state=0)  # noqa: E731
    assert fit_both(monkeypatch, make, multilabel).counts["replayed"] > 0
    for loss in ("squared_error", "absolute_error", "poisson"):

        def make(loss=loss):
            return MLPRegressor(loss=loss, hidden_layer_sizes=(16,), max_iter=3, random_state=0)

        assert fit_both(monkeypatch, make, Y.astype(float)).counts["replayed"] > 0


def test_what_cannot_replay_runs_eagerly(monkeypatch):
    # huber's mask is made with NumPy outside the ops: refused when recorded
    def huber():
        return MLPRegressor(loss="huber", hidden_layer_sizes=(16,), max_iter=3, random_state=0)

    compiled = fit_both(monkeypatch, huber, Y.astype(float))
    assert compiled.counts["replayed"] == 0 and "outside the ops" in compiled.reason
    # weighted samples, and a callback that may need the graph, skip the compiled step
    make = lambda: MLPClassifier((16,), max_iter=2, random_state=0)  # noqa: E731
    w = np.linspace(0.5, 2.0, len(X))
    assert fit_both(monkeypatch, make, Y, sample_weight=w) is None

    class Reads(Callback):
        def after_loss(self):
            pass

    make = lambda: MLPClassifier((16,), max_iter=2, random_state=0, callbacks=[Reads()])  # noqa: E731
    assert fit_both(monkeypatch, make, Y) is None
