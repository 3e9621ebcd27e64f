"""chainrule.train's callbacks on the estimators: telemetry as under a Learner, diagnose, the
cancel exceptions, teardown, a non-finite loss, and callbacks over refits, clones, warm starts
and pickling."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.train import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
    EarlyStoppingCallback,
    Learner,
    NonFiniteLossError,
    TerminateOnNaNCallback,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainLossCallback,
    TrainParametersCallback,
    diagnose,
)

from ..train._helpers import EventRecorder, RaiseAt
from ._helpers import quiet_fit


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def telemetry() -> list[Callback]:
    return [
        TrainLossCallback(),
        TrainGradientsCallback(),
        TrainActivationsCallback(),
        TrainParametersCallback(),
    ]


def weights(est) -> list[np.ndarray]:
    return [p.data.copy() for p in est.model_.parameters()]


def assert_same_weights(a: list[np.ndarray], b: list[np.ndarray], what: str) -> None:
    for i, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_array_equal(x, y, err_msg=f"{what}: parameter {i}, shape {x.shape}")


# -- telemetry and diagnostics ------------------------------------------------------------------
def test_telemetry_records_what_it_records_under_a_learner(rng):
    """The same network, data, batches and SGD steps through ``MLPRegressor.fit`` and through
    ``Learner.fit``: every callback's records are equal."""
    X = rng.standard_normal((30, 3))
    y = np.tanh(X @ [1.0, -2.0, 0.5])
    settings = dict(
        hidden_layer_sizes=(5, 4),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        batch_size=10,
        shuffle=False,
        learning_rate_init=0.05,
        max_iter=3,
        random_state=0,
    )
    start = MLPRegressor(**settings, callbacks=[RaiseAt("before_fit", CancelFitException)])
    model = copy.deepcopy(start.fit(X, y).model_)  # scikit-learn's initial weights, untrained
    ours = telemetry()
    reg = quiet_fit(MLPRegressor(**settings, callbacks=ours), X, y)

    theirs = telemetry()
    learner = Learner(
        model,
        optim.SGD(model.parameters(), lr=0.05),
        lambda pred, target: 0.5 * ((pred - target) ** 2).sum() / pred.shape[0],
        callbacks=theirs,
        show_progress=False,
    )
    learner.fit(DataLoader(ArrayDataset(X, y.reshape(-1, 1)), batch_size=10), 3)

    assert_same_weights(weights(reg), [p.data for p in model.parameters()], "Learner vs fit")
    for key in ("iteration", "epoch", "train_loss", "lr"):
        np.testing.assert_allclose(
            ours[0].history[key], theirs[0].history[key], rtol=1e-12, err_msg=f"loss: {key}"
        )
    for key in ("epoch", "end_iteration", "train_loss"):
        np.testing.assert_allclose(
            ours[0].history["epochs"][key], theirs[0].history["epochs"][key], rtol=1e-12
        )
    np.testing.assert_allclose(ours[0].history["epochs"]["train_loss"], reg.loss_curve_)
    for mine, other in zip(ours[1:], theirs[1:]):
        kind = type(mine).__name__
        assert mine.names == other.names and mine.names, f"{kind}: the same records"
        for name in mine.names:
            a, b = mine.stats(name), other.stats(name)
            for stat in a:
                np.testing.assert_allclose(
                    a[stat], b[stat], rtol=1e-10, atol=1e-14, err_msg=f"{kind} {name} {stat}"
                )
    assert ours[1].names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert len(ours[1].stats("0.weight")["iteration"]) == 9, "3 epochs of 3 batches"


def test_telemetry_changes_nothing_and_plots(iris):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    X, y = iris
    settings = dict(hidden_layer_sizes=(8,), batch_size=50, max_iter=5, random_state=0)
    plain = quiet_fit(MLPClassifier(**settings), X, y)
    cbs = telemetry()
    watched = quiet_fit(MLPClassifier(**settings, callbacks=cbs), X, y)
    assert_same_weights(weights(watched), weights(plain), "with and without telemetry")
    assert watched.loss_curve_ == plain.loss_curve_
    assert len(cbs[0].losses) == 5 * 3 and watched.learner_.iteration == 15, "3 batches/epoch"
    last = watched.model_[0].weight.grad.data  # gradients stay until the next batch
    norms = cbs[1].stats("0.weight")["norm"]
    np.testing.assert_allclose(norms[-1], np.linalg.norm(last), rtol=1e-6, err_msg="with L2")
    assert cbs[2].names == ["0", "1", "2"], "Linear, ReLU, Linear"
    for cb in cbs:
        fig = cb.plot()
        assert isinstance(fig, Figure), f"{type(cb).__name__}.plot"
        plt.close(fig)


def test_diagnose_a_healthy_fit_finds_nothing(iris):
    X, y = iris
    cbs = telemetry()
    clf = quiet_fit(MLPClassifier((16,), max_iter=30, random_state=0, callbacks=cbs), X, y)
    assert diagnose(clf.learner_) == []
    assert clf.learner_.model is clf.model_ and clf.learner_.optimizer is clf._optimizer


def test_diagnose_finds_vanishing_gradients_in_a_deep_logistic_network(iris):
    X, y = iris
    clf = MLPClassifier(
        (16,) * 6, activation="logistic", max_iter=10, random_state=0, callbacks=telemetry()
    )
    names = [f.name for f in diagnose(quiet_fit(clf, X, y).learner_)]
    assert "vanishing_gradients" in names, names
    assert [f.name for f in diagnose(clf)] == names, "diagnose(estimator) reads its learner_"


def test_diagnose_rejects_what_is_not_a_learner():
    with pytest.raises(TypeError, match="expected a Learner or a fitted chainrule estimator"):
        diagnose(object())


def test_diagnose_finds_a_learning_rate_too_high(iris):
    X, y = iris
    clf = MLPClassifier((16,), learning_rate_init=1.0, max_iter=20, random_state=0)
    clf.set_params(callbacks=telemetry())
    findings = diagnose(quiet_fit(clf, X, y).learner_)
    assert [f.name for f in findings] == ["learning_rate_too_high"], findings
    assert "blew up" in findings[0].evidence


# -- order, the cancel exceptions and teardown --------------------------------------------------
def test_callbacks_run_in_order(iris):
    X, y = iris
    seen: list[str] = []

    def make(tag, order):
        cls = type(f"C{tag}", (Callback,), {"order": order})
        cls.before_fit = lambda self: seen.append(tag)
        return cls()

    cbs = [make("b", 5), make("a", -5), make("c", 5), make("d", 0)]
    clf = quiet_fit(MLPClassifier((4,), max_iter=1, callbacks=cbs), X, y)
    assert seen == ["a", "d", "b", "c"], "by order; ties in the order given"
    kinds = [type(cb).__name__ for cb in clf.learner_.callbacks]
    assert kinds == ["Ca", "Cd", "Cb", "Cc"], "no NaN guard unless given (scikit-learn's way)"
    assert all(cb.learner is clf.learner_ for cb in clf.learner_.callbacks)


def _fit_with(est, X, y, *callbacks):
    rec = EventRecorder()
    est.set_params(callbacks=[rec, *callbacks])
    quiet_fit(est, X, y)
    return rec.events


def test_cancel_fit_after_an_epoch_returns_a_consistent_estimator(iris):
    X, y = iris
    stop = RaiseAt("after_epoch", CancelFitException, lambda lr: lr.epoch == 2)
    clf = MLPClassifier((8,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        events = _fit_with(clf, X, y, stop)
    assert events[-3:] == ["after_epoch", "after_cancel_fit", "after_fit"]
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3 and clf.loss_ == clf.loss_curve_[-1]
    assert clf.learner_.epoch == 3 and clf.t_ == 3 * 150
    assert not clf.model_.training and clf.predict(X).shape == (150,)
    ref = quiet_fit(MLPClassifier((8,), max_iter=3, random_state=0), X, y)
    assert_same_weights(weights(clf), weights(ref), "cancelled after 3 epochs vs max_iter=3")


def test_cancel_fit_mid_epoch_records_only_whole_epochs(iris):
    X, y = iris
    stop = RaiseAt("after_batch", CancelFitException, lambda lr: lr.iteration == 5)
    clf = MLPClassifier((8,), batch_size=50, max_iter=50, random_state=0)
    events = _fit_with(clf, X, y, stop)
    assert events[-3:] == ["after_batch", "after_cancel_fit", "after_fit"]
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1 and clf.t_ == 150, "one whole epoch"
    assert clf.learner_.iteration == 6 and clf.learner_.epoch == 1
    assert clf.predict(X).shape == (150,)


def test_cancel_fit_with_early_stopping_restores_the_best_validation_weights(iris):
    X, y = iris
    stop = RaiseAt("after_epoch", CancelFitException, lambda lr: lr.epoch == 5)
    clf = MLPClassifier((8,), max_iter=50, early_stopping=True, random_state=0)
    events = _fit_with(clf, X, y, stop)
    assert events[-1] == "after_fit" and len(clf.validation_scores_) == 6
    assert_same_weights(weights(clf), clf._best_params, "the best validation epoch's weights")
    log = clf.learner_.epoch_log
    assert log["accuracy"] == clf.validation_scores_[-1]
    assert log["valid_loss"] == clf.validation_loss_curve_[-1]
    assert log["train_loss"] == clf.loss_ and log["epoch"] == 5


def test_cancel_step_and_cancel_backward_keep_the_weights(iris):
    X, y = iris
    for solver in ("adam", "sgd"):
        for event, exc in (
            ("before_step", CancelStepException),
            ("before_backward", CancelBackwardException),
        ):
            start = MLPClassifier((8,), solver=solver, max_iter=1, random_state=0)
            start.set_params(callbacks=[RaiseAt("before_fit", CancelFitException)])
            initial = weights(start.fit(X, y))
            clf = MLPClassifier((8,), solver=solver, batch_size=50, max_iter=2, random_state=0)
            events = _fit_with(clf, X, y, RaiseAt(event, exc))
            what = f"{solver}, {exc.__name__}"
            assert_same_weights(weights(clf), initial, what)
            cancel = event.replace("before_", "after_cancel_")
            assert events.count(cancel) == 6, what
            assert clf.n_iter_ == 2, what
            assert clf.loss_curve_[0] == pytest.approx(clf.loss_curve_[1], rel=1e-12), what


def test_cancel_batch_before_the_loss_leaves_the_epoch_unrecorded(iris):
    X, y = iris
    skip_first = RaiseAt("after_pred", CancelBatchException, lambda lr: lr.epoch == 0)
    clf = MLPClassifier((8,), batch_size=50, max_iter=3, random_state=0)
    events = _fit_with(clf, X, y, skip_first)
    assert events.count("after_cancel_batch") == 3
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2 and clf.t_ == 300
    assert clf.learner_.epoch == 3 and clf.learner_.iteration == 9, "cancelled batches count"


def test_cancel_train_still_validates_and_records_the_batches_done(iris):
    X, y = iris
    stop = RaiseAt("after_batch", CancelTrainException, lambda lr: lr.training)
    clf = MLPClassifier((8,), batch_size=27, early_stopping=True, max_iter=2, random_state=0)
    events = _fit_with(clf, X, y, stop)
    i = events.index("after_cancel_train")
    assert events[i + 1 : i + 3] == ["after_train", "before_validate"]
    assert clf.t_ == 2 * 27, "one batch of 27 per epoch"
    assert len(clf.validation_scores_) == 2 and np.isfinite(clf.validation_scores_).all()


def test_cancel_validate_records_nan(iris):
    X, y = iris
    clf = MLPClassifier((8,), early_stopping=True, max_iter=2, random_state=0)
    events = _fit_with(clf, X, y, RaiseAt("before_validate", CancelValidateException))
    assert events.count("after_cancel_validate") == 2
    assert np.isnan(clf.validation_scores_).all() and np.isnan(clf.validation_loss_curve_).all()
    assert len(clf.loss_curve_) == 2


def test_cancel_epoch_goes_on_with_the_next(iris):
    X, y = iris
    skip = RaiseAt("before_train", CancelEpochException, lambda lr: lr.epoch % 2 == 0)
    clf = MLPClassifier((8,), max_iter=4, random_state=0)
    events = _fit_with(clf, X, y, skip)
    assert events.count("after_cancel_epoch") == 2 and events.count("after_epoch") == 4
    assert clf.n_iter_ == 2 and clf.learner_.epoch == 4 and clf.learner_.iteration == 2


def test_an_epoch_stopping_callback_reads_the_epoch_log(iris):
    X, y = iris
    early = EarlyStoppingCallback("train_loss", patience=1, min_delta=1.0)
    clf = MLPClassifier((8,), max_iter=50, random_state=0)
    _fit_with(clf, X, y, early)
    assert early.stopped_epoch == 1 and clf.n_iter_ == 2
    assert early.best == clf.loss_curve_[0]


class Teardowns(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def teardown(self) -> None:
        self.count += 1


def test_teardown_runs_after_every_fit_however_it_ends(iris):
    X, y = iris
    done, acts = Teardowns(), TrainActivationsCallback()
    clf = MLPClassifier((8,), max_iter=2, random_state=0, callbacks=[done, acts])
    quiet_fit(clf, X, y)
    clf.partial_fit(X, y)
    assert done.count == 2
    boom = RaiseAt("after_pred", RuntimeError, lambda lr: lr.iteration == 1)
    clf.set_params(callbacks=[done, acts, boom])
    with pytest.raises(RuntimeError):
        clf.fit(X, y)
    assert done.count == 3, "also after an exception"
    assert not any(m._forward_hooks for m in clf.model_.modules()), "the hooks are removed"
    assert clf.learner_.pred is None and clf.learner_.xb == () and not clf.learner_.in_fit


def test_ctrl_c_from_a_callback_keeps_the_best_weights_and_tears_down(iris):
    X, y = iris
    done = Teardowns()
    ctrl_c = RaiseAt("before_epoch", KeyboardInterrupt, lambda lr: lr.epoch == 3)
    rec = EventRecorder()
    clf = MLPClassifier((8,), max_iter=50, random_state=0, callbacks=[rec, done, ctrl_c])
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        clf.fit(X, y)
    events = rec.events
    assert events[-1] == "before_epoch", "no events after an exception other than Cancel*"
    assert done.count == 1 and clf.n_iter_ == 3
    assert_same_weights(weights(clf), clf._best_params, "the best loss's weights")


def test_a_given_nan_guard_stops_before_the_step_with_a_value_error(rng):
    X = rng.standard_normal((50, 3))
    y = X @ [1.0, 2.0, 3.0]
    loss = TrainLossCallback()
    reg = MLPRegressor(
        hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0, max_iter=50
    ).set_params(random_state=0, callbacks=[loss, TerminateOnNaNCallback()])
    with pytest.raises(
        ValueError, match="MLPRegressor stopped at the first non-finite training"
    ) as info:
        with np.errstate(all="ignore"):
            reg.fit(X, y)
    assert isinstance(info.value.__cause__, NonFiniteLossError), "the guard's error as cause"
    assert np.all(np.isfinite(loss.losses)), "the non-finite loss stopped it before recording"
    assert all(np.isfinite(p.data).all() for p in reg.model_.parameters()), "no step on it"
    assert reg.n_iter_ == len(reg.loss_curve_) == len(loss.losses) < 50, "whole epochs recorded"
    with np.errstate(all="ignore"):  # huge weights, but finite
        assert reg.predict(X).shape == (50,)
    with pytest.raises(ValueError, match="Solver produced non-finite") as info:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.set_params(callbacks=None).fit(X, y)
    assert info.value.__cause__ is None, "unguarded: scikit-learn's check of the final weights"
    assert reg.n_iter_ == 50 and np.isnan(reg.loss_curve_[-1]), "ran on through NaN to max_iter"


def test_a_given_terminate_on_nan_callback_is_the_only_guard(iris):
    X, y = iris
    guard = TerminateOnNaNCallback()
    clf = quiet_fit(MLPClassifier((4,), max_iter=1, callbacks=[guard]), X, y)
    assert clf.learner_.callbacks == [guard]


# -- refits, clones, warm starts, pickling ------------------------------------------------------
def test_a_fresh_fit_takes_the_callbacks_over_and_restarts_the_counters(iris):
    X, y = iris
    loss = TrainLossCallback()
    clf = quiet_fit(MLPClassifier((4,), max_iter=2, random_state=0, callbacks=[loss]), X, y)
    first = clf.learner_
    quiet_fit(clf, X, y)
    assert clf.learner_ is not first and loss.learner is clf.learner_
    assert loss not in first.callbacks and clf.learner_.iteration == 2
    np.testing.assert_array_equal(loss.history["iteration"], [0, 1, 0, 1], "records are kept")


def test_warm_start_and_partial_fit_continue_the_learner(iris):
    X, y = iris
    loss, grads = TrainLossCallback(), TrainGradientsCallback()
    clf = MLPClassifier((4,), max_iter=2, warm_start=True, random_state=0)
    quiet_fit(clf.set_params(callbacks=[loss, grads]), X, y)
    learner = clf.learner_
    quiet_fit(clf, X, y)
    clf.partial_fit(X, y)
    assert clf.learner_ is learner and learner.iteration == 5 and learner.epoch == 5
    np.testing.assert_array_equal(loss.history["iteration"], np.arange(5))
    np.testing.assert_array_equal(grads.stats("0.weight")["iteration"], np.arange(5))
    clf.set_params(callbacks=[loss]).partial_fit(X, y)
    assert grads.learner is None and grads not in learner.callbacks, "no longer listed: detached"
    assert len(grads.stats("0.weight")["iteration"]) == 5 and len(loss.losses) == 6


def test_clones_of_a_fitted_estimator_fit_with_their_own_callbacks(iris):
    X, y = iris
    loss = TrainLossCallback()
    clf = quiet_fit(MLPClassifier((4,), max_iter=2, random_state=0, callbacks=[loss]), X, y)
    twin = quiet_fit(clone(clf), X, y)
    (copied,) = twin.callbacks
    assert copied is not loss and copied.learner is twin.learner_ and loss.learner is clf.learner_
    assert len(loss.losses) == 2, "the original's records are untouched"


def test_a_fitted_estimator_with_callbacks_pickles(iris):
    X, y = iris
    fitted = MLPClassifier((16,), max_iter=30, random_state=0, callbacks=telemetry())
    clf = pickle.loads(pickle.dumps(quiet_fit(fitted, X, y)))
    assert diagnose(clf.learner_) == [] and clf.learner_.step.est is clf
    np.testing.assert_array_equal(clf.predict(X), fitted.predict(X))
    assert len(clf.learner_.get_callback(TrainLossCallback).losses) == 30
    assert clf.learner_.model is clf.model_ and isinstance(clf.model_, nn.Sequential)
    assert "Loop(model=MLP, optimizer=Adam, step=MLPStep, epoch=30" in repr(clf.learner_)
