"""What the estimators add to scikit-learn's: losses, activations, dropout, class weights, early
stopping on the loss, optimiser state across warm starts, progress, pickling, dtypes."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight

from chainrule import nn
from chainrule.estimators import MLPClassifier, MLPRegressor, _training

from ._helpers import quiet_fit


def _numerical_gradient(est, X, y, array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``loss_and_gradients``' loss, perturbing ``array`` in place
    (a view of the network's weights)."""
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        old = array[i]
        array[i] = old + h
        up = est.loss_and_gradients(X, y)[0]
        array[i] = old - h
        down = est.loss_and_gradients(X, y)[0]
        array[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "poisson"])
@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "tanh"])
def test_regression_gradients_match_finite_differences(loss, activation, rng):
    X = rng.standard_normal((12, 3))
    y = np.abs(X @ [1.0, -2.0, 0.5]) * 3 + 1.0  # positive (poisson), far from the fit (abs)
    reg = quiet_fit(
        MLPRegressor(loss, hidden_layer_sizes=(4,), activation=activation, alpha=0.1, max_iter=1),
        X,
        y,
    )
    _, coef_grads, intercept_grads = reg.loss_and_gradients(X, y)
    for name, arrays, grads in (
        ("coefs_", reg.coefs_, coef_grads),
        ("intercepts_", reg.intercepts_, intercept_grads),
    ):
        for i, (a, g) in enumerate(zip(arrays, grads)):
            num = _numerical_gradient(reg, X, y, a)
            np.testing.assert_allclose(
                g, num, rtol=1e-5, atol=1e-7, err_msg=f"{loss}/{activation}: {name}[{i}]"
            )


@pytest.mark.parametrize("loss", ["absolute_error", "huber", "poisson"])
def test_regression_losses_train(loss, rng):
    X = rng.standard_normal((200, 4))
    y = np.exp(0.5 * X @ [0.5, -0.3, 0.2, 0.1]) if loss == "poisson" else X @ [1.0, 2, 0, -1]
    reg = MLPRegressor(
        loss, hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=150, random_state=0
    )
    quiet_fit(reg, X, y)
    assert reg.loss_curve_[-1] < 0.5 * reg.loss_curve_[0], f"{loss}: the loss goes down"
    assert reg.score(X, y) > 0.8, f"{loss}: R² {reg.score(X, y):.3f}"
    if loss == "poisson":
        assert reg.out_activation_ == "exp" and np.all(reg.predict(X) > 0)


def test_dropout_is_active_in_training_only_and_reproducible():
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    a = quiet_fit(MLPClassifier(dropout=0.5, **params), X, y)
    b = quiet_fit(MLPClassifier(dropout=0.5, **params), X, y)
    plain = quiet_fit(MLPClassifier(**params), X, y)
    assert any(isinstance(m, nn.Dropout) for m in a.model_), "a Dropout layer after the hidden one"
    assert a.loss_curve_ == b.loss_curve_, "same random_state, same masks"
    assert a.loss_curve_ != plain.loss_curve_, "dropout changes training"
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X), "no dropout at predict")
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_class_weight_equals_sample_weight():
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    weights = {0: 3.0, 1: 1.0, 2: 0.5}
    by_class = quiet_fit(MLPClassifier(class_weight=weights, **params), X, y)
    by_sample = quiet_fit(MLPClassifier(**params), X, y, sample_weight=[weights[c] for c in y])
    np.testing.assert_allclose(by_class.coefs_[0], by_sample.coefs_[0], rtol=1e-12)
    y_skewed = np.where(np.arange(len(y)) < 120, 0, 1)
    balanced = quiet_fit(MLPClassifier(class_weight="balanced", **params), X, y_skewed)
    expected = quiet_fit(
        MLPClassifier(**params),
        X,
        y_skewed,
        sample_weight=compute_sample_weight("balanced", y_skewed),
    )
    np.testing.assert_allclose(balanced.coefs_[0], expected.coefs_[0], rtol=1e-12)


def test_early_stopping_on_the_validation_loss_keeps_the_best_weights(monkeypatch):
    X, y = make_regression(300, 5, noise=20.0, random_state=0)
    held = {}
    original = _training.split_data

    def spy(*args):
        batches, validation = original(*args)
        held.update(X=validation.X, y=validation.labels)
        return batches, validation

    monkeypatch.setattr(_training, "split_data", spy)
    reg = quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(64,),
            learning_rate_init=0.05,
            early_stopping=True,
            early_stopping_monitor="loss",
            n_iter_no_change=3,
            max_iter=300,
            random_state=0,
        ),
        X,
        y,
    )
    curve = reg.validation_loss_curve_
    assert len(curve) == reg.n_iter_ == len(reg.validation_scores_), "one value per epoch"
    best = int(np.argmin(curve))
    assert reg.n_iter_ < 300, "stopped early"
    assert reg.n_iter_ - 1 - best == reg.n_iter_no_change + 1, "stopped 4 epochs after the best"
    assert reg.best_validation_loss_ == curve[best]
    loss, *_ = reg.loss_and_gradients(held["X"], held["y"].ravel())
    assert loss == pytest.approx(curve[best], rel=1e-10), "the best weights were restored"


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_and_partial_fit_keep_the_optimiser_state(solver):
    X, y = load_iris(return_X_y=True)
    params = dict(
        hidden_layer_sizes=(8,), solver=solver, shuffle=False, tol=0, random_state=0, alpha=1e-3
    )
    once = quiet_fit(MLPClassifier(max_iter=5, **params), X, y)
    warm = quiet_fit(MLPClassifier(max_iter=2, warm_start=True, **params), X, y)
    quiet_fit(warm.set_params(max_iter=3), X, y)
    partial = MLPClassifier(**params)
    for _ in range(5):
        partial.partial_fit(X, y, classes=np.unique(y))
    for other, how in ((warm, "warm_start"), (partial, "partial_fit")):
        for a, b in zip(once.coefs_ + once.intercepts_, other.coefs_ + other.intercepts_):
            np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=f"{solver}: 2 + 3 epochs ({how})")
    assert once.loss_curve_ == warm.loss_curve_, "the loss curve continues"
    state = warm._optimizer.state_dict()["state"][0]
    key = "step" if solver == "adam" else "momentum_buffer"
    assert key in state, f"{solver}: the optimiser kept its {key}"


def test_pickle_keeps_the_network_and_the_optimiser():
    X, y = load_iris(return_X_y=True)
    a = quiet_fit(
        MLPClassifier((8,), solver="sgd", shuffle=False, max_iter=3, random_state=0), X, y
    )
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert b.coefs_[0] is next(iter(b.model_.parameters())).data, "still views after unpickling"
    a.partial_fit(X, y)
    b.partial_fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0], "momentum continues the same way")


def test_convergence_warning_at_max_iter():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)


def test_progress_bar_is_opt_in(capsys):
    X, y = load_iris(return_X_y=True)
    quiet_fit(MLPClassifier((4,), max_iter=3, verbose=True), X, y)
    assert "epoch" not in capsys.readouterr().err, "verbose alone prints lines, no bar"
    quiet_fit(MLPClassifier((4,), max_iter=3, progress_bar=True), X, y)
    out = capsys.readouterr()
    assert "MLPClassifier" in out.err and "epoch" in out.err, "tqdm bar named after the estimator"
    assert out.out == "", "the bar alone prints no lines"


@pytest.mark.parametrize(
    "X, dtype, expected",
    [
        (np.ones((6, 2)), None, np.float64),
        (np.ones((6, 2), np.float32), None, np.float32),
        (np.ones((6, 2), np.int64), None, np.float32),
        ([[1.0, 0.0]] * 6, None, np.float32),
        (np.ones((6, 2)), "float32", np.float32),
        (np.ones((6, 2), np.float32), np.float64, np.float64),
    ],
)
def test_dtype_float32_by_default_float64_input_kept(X, dtype, expected):
    reg = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=1, dtype=dtype), X, np.arange(6.0)
    )
    assert reg.coefs_[0].dtype == expected, f"input {np.asarray(X).dtype}, dtype={dtype}"
    assert reg.predict(X).dtype == expected


def test_multilabel_and_multioutput(rng):
    X = rng.standard_normal((60, 4))
    Y = (X[:, :3] > 0).astype(int)
    clf = quiet_fit(MLPClassifier((32,), max_iter=500, random_state=0), X, Y)
    assert clf.predict(X).shape == (60, 3) and clf.predict_proba(X).shape == (60, 3)
    assert clf.score(X, Y) > 0.8
    reg = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, random_state=0), X, X[:, :2] * 2
    )
    assert reg.predict(X).shape == (60, 2) and reg.n_outputs_ == 2


def test_import_needs_no_torch_or_matplotlib():
    code = (
        "import sys, chainrule.estimators; "
        "print(sorted(m for m in ('torch', 'matplotlib', 'tqdm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"imported at module level: {out.stdout}"
