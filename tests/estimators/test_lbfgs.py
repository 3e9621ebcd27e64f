"""solver='lbfgs' side by side with scikit-learn 1.9's: the objective and gradient at every point
L-BFGS-B visits, the first iterates, the converged weights and ``n_iter_``, the stopping
warnings, ``warm_start``, and ``partial_fit``'s absence.

L-BFGS on a non-convex network amplifies rounding differences of 1e-16 from iteration to
iteration, so the iterates are compared to 1e-10 only over the first evaluations, and the
converged weights on problems that L-BFGS-B solves to its ``tol`` (a strong enough L2 term on
scaled data) well within ``max_iter``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.train import TrainLossCallback

from ._helpers import pack, quiet_fit


def _data(kind: str):
    """(X, y, sample_weight, classifier?) for each kind of problem."""
    rng = np.random.default_rng(0)
    if kind == "poisson":
        X = rng.standard_normal((60, 3))
        return X, rng.poisson(np.exp(X @ [0.3, -0.2, 0.1])), None, False
    if kind in ("regression", "multi-output"):
        n_targets = 1 if kind == "regression" else 3
        X, y = make_regression(80, 5, n_targets=n_targets, noise=1.0, random_state=0)
        return X, y / 50, None, False
    if kind == "binary":
        X, y = make_classification(80, 5, n_informative=3, random_state=0)
        return X, y, None, True
    if kind == "multilabel":
        X = rng.standard_normal((60, 4))
        return X, (X @ rng.standard_normal((4, 3)) > 0).astype(int), None, True
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    if kind == "weighted":
        return X, y, rng.uniform(0.1, 2.0, len(X)), True
    if kind in ("csr", "csc"):
        X = getattr(sparse, f"{kind}_matrix")(np.where(np.abs(X) > 0.8, X, 0.0))
    return X, y, None, True


# (kind, activation): each solved by L-BFGS-B to tol=1e-4 with alpha=1 within 200 iterations
CONVERGED = [
    ("binary", "tanh"),
    ("multiclass", "logistic"),
    ("multilabel", "tanh"),
    ("regression", "tanh"),
    ("multi-output", "tanh"),
    ("poisson", "relu"),
    ("csr", "logistic"),
    ("csc", "logistic"),
    ("weighted", "logistic"),
]


def _pair(kind: str, activation: str, **settings):
    X, y, sw, classifier = _data(kind)
    params = dict(
        hidden_layer_sizes=(5,),
        activation=activation,
        solver="lbfgs",
        alpha=1.0,
        max_iter=200,
        random_state=0,
    )
    if kind == "poisson":
        params["loss"] = "poisson"
    params.update(settings)
    ours_cls, sk_cls = (
        (MLPClassifier, SkMLPClassifier) if classifier else (MLPRegressor, SkMLPRegressor)
    )
    return ours_cls(**params), sk_cls(**params), X, y, sw


def _recorded_sklearn_fit(sk, X, y, sw):
    """Fits scikit-learn's estimator, recording every point its L-BFGS-B evaluates and the
    objective and gradient there."""
    points, values = [], []
    original = sk._loss_grad_lbfgs

    def recorder(x, *args):
        points.append(x.copy())
        loss, grad = original(x, *args)
        values.append((loss, grad.copy()))
        return loss, grad

    sk._loss_grad_lbfgs = recorder
    quiet_fit(sk, X, y, sample_weight=sw)
    del sk._loss_grad_lbfgs
    return points, values


def _recorded_fit(ours, X, y, sw):
    """Fits our estimator, recording the packed weights at every objective evaluation."""
    points = []
    original = ours._full_objective

    def recorder(*args):
        points.append(pack(ours.coefs_, ours.intercepts_))
        return original(*args)

    ours._full_objective = recorder
    quiet_fit(ours, X, y, sample_weight=sw)
    del ours._full_objective
    return points


def _set_packed(est, x):
    sizes = [a.size for a in est.coefs_ + est.intercepts_]
    parts = np.split(x, np.cumsum(sizes)[:-1])
    n = len(est.coefs_)
    est.coefs_ = [p.reshape(c.shape) for p, c in zip(parts[:n], est.coefs_)]
    est.intercepts_ = parts[n:]


@pytest.mark.parametrize("kind, activation", CONVERGED)
def test_lbfgs_follows_sklearn(kind, activation):
    ours, sk, X, y, sw = _pair(kind, activation)
    sk_points, sk_values = _recorded_sklearn_fit(sk, X, y, sw)
    points = _recorded_fit(ours, X, y, sw)
    label = f"{kind}/{activation}"
    # the objective and gradient at every point scikit-learn's L-BFGS-B evaluated
    fitted = pack(ours.coefs_, ours.intercepts_)
    for i, (x, (sk_loss, sk_grad)) in enumerate(zip(sk_points, sk_values)):
        _set_packed(ours, x)
        loss, coef_grads, intercept_grads = ours.loss_and_gradients(X, y, sw)
        assert abs(loss - sk_loss) <= 1e-12 * max(1.0, abs(sk_loss)), (
            f"{label}: objective at evaluation {i}: {loss} vs {sk_loss}"
        )
        err = np.max(np.abs(pack(coef_grads, intercept_grads) - sk_grad))
        assert err <= 1e-12 * max(1.0, np.abs(sk_grad).max()), (
            f"{label}: gradient at evaluation {i} differs by {err}"
        )
    _set_packed(ours, fitted)
    # the first iterates, then the converged weights and iteration count
    for i, (a, b) in enumerate(zip(points[:12], sk_points[:12])):
        err = np.max(np.abs(a - b)) / np.max(np.abs(b))
        assert err <= 1e-10, f"{label}: evaluation point {i} differs by {err:.2e} (relative)"
    assert ours.n_iter_ == sk.n_iter_ < 200, f"{label}: n_iter_ {ours.n_iter_} vs {sk.n_iter_}"
    ref = pack(sk.coefs_, sk.intercepts_)
    err = np.max(np.abs(fitted - ref)) / np.max(np.abs(ref))
    assert err <= 1e-6, f"{label}: converged weights differ by {err:.2e} (relative)"
    assert ours.loss_ == pytest.approx(sk.loss_, rel=1e-9), f"{label}: loss_"
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), rtol=1e-5, err_msg=f"{label}")


def test_lbfgs_sets_what_sklearn_sets():
    ours, sk, X, y, _ = _pair("binary", "tanh")
    quiet_fit(ours, X, y)
    quiet_fit(sk, X, y)
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "learner_"):
        assert not hasattr(ours, name), f"a fresh lbfgs fit sets no {name}"
    assert ours.t_ == sk.t_ == 0 and isinstance(ours.loss_, float)
    assert ours.coefs_[0].dtype == np.float64


def test_lbfgs_in_float32_keeps_the_network_in_float32():
    ours, sk, X, y, _ = _pair("multiclass", "logistic")
    quiet_fit(ours, X.astype(np.float32), y)
    quiet_fit(sk, X, y)
    assert ours.coefs_[0].dtype == np.float32
    assert ours.loss_ == pytest.approx(sk.loss_, rel=1e-4), "float32: same minimum, roughly"
    assert (ours.predict(X) == sk.predict(X)).mean() >= 0.95


def _warning_texts(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [str(w.message) for w in caught if w.category is ConvergenceWarning]


@pytest.mark.parametrize(
    "limit, stop",
    [
        (dict(max_iter=4), "TOTAL NO. OF ITERATIONS REACHED LIMIT"),
        (dict(max_fun=6), "TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"),
    ],
)
def test_max_iter_and_max_fun_stop_with_sklearns_warning(limit, stop):
    ours, sk, X, y, _ = _pair("multiclass", "logistic", **limit)
    texts, sk_texts = _warning_texts(ours, X, y), _warning_texts(sk, X, y)
    assert len(texts) == 1 and stop in texts[0], texts
    assert texts == sk_texts, "the same ConvergenceWarning text"
    assert ours.n_iter_ == sk.n_iter_
    np.testing.assert_allclose(pack(ours.coefs_, ours.intercepts_), pack(sk.coefs_, sk.intercepts_))


def test_warm_start_continues_as_sklearn():
    ours, sk, X, y, _ = _pair("multiclass", "logistic", max_iter=3, warm_start=True)
    for _ in range(3):
        quiet_fit(ours, X, y)
        quiet_fit(sk, X, y)
        assert ours.n_iter_ == sk.n_iter_ == 3
    np.testing.assert_allclose(
        pack(ours.coefs_, ours.intercepts_), pack(sk.coefs_, sk.intercepts_), rtol=1e-10
    )
    fresh = quiet_fit(MLPClassifier(**{**ours.get_params(), "warm_start": False}), X, y)
    assert not np.allclose(fresh.coefs_[0], ours.coefs_[0]), "warm start went on from the fit"


def test_a_warm_start_may_switch_between_lbfgs_and_adam():
    """scikit-learn fails here (no ``loss_curve_`` after lbfgs); ours starts the records."""
    ours, _, X, y, _ = _pair("multiclass", "logistic", max_iter=5, warm_start=True)
    quiet_fit(ours, X, y)
    lbfgs_loss = ours.loss_
    quiet_fit(ours.set_params(solver="adam", learning_rate_init=1e-3), X, y)
    assert len(ours.loss_curve_) == 5, "adam's records started"
    assert ours.loss_curve_[0] == pytest.approx(lbfgs_loss, rel=1e-6), (
        "from lbfgs's weights (one batch)"
    )
    quiet_fit(ours.set_params(solver="lbfgs"), X, y)
    assert len(ours.loss_curve_) == 5, "lbfgs leaves the stochastic records alone"


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_is_not_available_with_lbfgs(cls):
    est = cls(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match=f"This '{cls.__name__}' has no attribute") as info:
        est.partial_fit(np.ones((2, 1)), [0, 1])
    assert str(info.value.__cause__) == (
        "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic."
    ), "scikit-learn's message, as the cause"
    assert hasattr(est.set_params(solver="sgd"), "partial_fit")


def test_lbfgs_refuses_dropout_and_callbacks():
    X, y = np.eye(4), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="solver='lbfgs' needs a deterministic objective"):
        MLPClassifier(solver="lbfgs", dropout=0.5).fit(X, y)
    with pytest.raises(ValueError, match="solver='lbfgs' .* has none, got 1 callback"):
        MLPClassifier(solver="lbfgs", callbacks=[TrainLossCallback()]).fit(X, y)


def test_max_fun_is_checked_at_fit():
    with pytest.raises(ValueError, match="'max_fun' parameter of MLPRegressor must be an int"):
        MLPRegressor(solver="lbfgs", max_fun=0).fit(np.eye(3), [1.0, 2.0, 3.0])
