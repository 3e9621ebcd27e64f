"""The estimators against scikit-learn's MLP: the seed's hand-worked network, loss and every
gradient at the same weights (to 1e-10 in float64), and whole training runs step for step."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

import chainrule as cr
from chainrule.estimators import MLPClassifier, MLPRegressor

from ._helpers import pack, quiet_fit, sklearn_loss_grad, sklearn_twin

# --- the seed's hand-worked network --------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seed_network_by_hand(dtype):
    """x = 1, y = 1, hidden [2] ReLU, W1 = [[1, 2]], W2 = [[1], [1]], zero biases:
    z1 = a1 = [1, 2], ŷ = 3, L = ½(3 − 1)² = 2, δ2 = 2, ∂L/∂W2 = a1ᵀδ2 = [[2], [4]],
    δ1 = δ2·W2ᵀ = [2, 2], ∂L/∂W1 = xᵀδ1 = [[2, 2]], ∂L/∂b1 = [2, 2], ∂L/∂b2 = [2]."""
    X, y = np.array([[1.0]], dtype=dtype), np.array([1.0])
    reg = MLPRegressor(hidden_layer_sizes=[2], alpha=0.0, max_iter=1, random_state=0)
    quiet_fit(reg, X, y)
    reg.coefs_[0][:] = [[1, 2]]
    reg.coefs_[1][:] = [[1], [1]]
    reg.intercepts_ = [np.zeros(2), np.zeros(1)]
    assert reg.coefs_[0].dtype == dtype, "float input keeps its dtype"
    hidden = reg.model_[:2](cr.tensor(X)).data
    np.testing.assert_array_equal(hidden, [[1, 2]], err_msg="hidden ReLU outputs")
    np.testing.assert_array_equal(reg.predict(X), [3], err_msg="network output")
    loss, coef_grads, intercept_grads = reg.loss_and_gradients(X, y)
    assert loss == 2.0, f"½(3 − 1)² = 2, got {loss}"
    np.testing.assert_array_equal(coef_grads[0], [[2, 2]], err_msg="∂L/∂W1")
    np.testing.assert_array_equal(coef_grads[1], [[2], [4]], err_msg="∂L/∂W2")
    np.testing.assert_array_equal(intercept_grads[0], [2, 2], err_msg="∂L/∂b1")
    np.testing.assert_array_equal(intercept_grads[1], [2], err_msg="∂L/∂b2")


def test_coefs_are_the_networks_own_arrays():
    X, y = np.array([[1.0], [2.0]]), np.array([1.0, 2.0])
    reg = quiet_fit(MLPRegressor(hidden_layer_sizes=[2], max_iter=1), X, y)
    layers = [m for m in reg.model_ if hasattr(m, "weight")]
    assert all(c is m.weight.data for c, m in zip(reg.coefs_, layers)), "coefs_ are views"
    assert all(b is m.bias.data for b, m in zip(reg.intercepts_, layers)), "intercepts_ too"
    reg.coefs_[0][:] = 0.0
    reg.intercepts_[0][:] = 0.0
    np.testing.assert_array_equal(
        reg.predict(X), np.full(2, reg.intercepts_[1][0]), err_msg="zeroed first layer"
    )
    before = reg.coefs_[1]
    reg.coefs_ = [np.ones((1, 2)), np.full((2, 1), 3.0)]
    assert reg.coefs_[1] is before, "assigning coefs_ copies into the same arrays"
    np.testing.assert_array_equal(reg.coefs_[1], np.full((2, 1), 3.0))


# --- loss and gradients at the same weights -------------------------------------------------


def _classification(kind: str, rng):
    if kind == "binary":
        X, y = make_classification(60, 5, n_informative=3, random_state=0)
    elif kind == "multiclass":
        X, y = load_iris(return_X_y=True)
    else:  # multilabel indicator
        X = rng.standard_normal((50, 4))
        y = (X @ rng.standard_normal((4, 3)) > 0).astype(int)
    return X, y


CASES = [
    ("binary", "logistic", "tanh"),
    ("binary", "logistic", "relu"),
    ("multiclass", "softmax", "logistic"),
    ("multiclass", "softmax", "relu"),
    ("multilabel", "logistic", "identity"),
]


@pytest.mark.parametrize("kind, out, activation", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_classifier_loss_and_gradients_equal_sklearn(kind, out, activation, weighted, rng):
    X, y = _classification(kind, rng)
    sw = rng.uniform(0.5, 2.0, len(X)) if weighted else None
    ours = MLPClassifier(hidden_layer_sizes=(7, 4), activation=activation, alpha=0.3, max_iter=3)
    quiet_fit(ours, X, y)
    assert ours.out_activation_ == out, f"{kind}: output activation"
    sk = sklearn_twin(ours, X, y)
    # our weights into scikit-learn (packed), and its loss and gradient at them
    sk_loss, sk_grad = sklearn_loss_grad(sk, ours.coefs_, ours.intercepts_, X, y, sw)
    loss, coef_grads, intercept_grads = ours.loss_and_gradients(X, y, sample_weight=sw)
    assert abs(loss - sk_loss) < 1e-10, f"{kind}/{activation}: loss {loss} vs {sk_loss}"
    err = np.max(np.abs(pack(coef_grads, intercept_grads) - sk_grad))
    assert err < 1e-10, f"{kind}/{activation}: gradients differ by {err}"


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("activation", ["identity", "relu", "tanh"])
def test_regressor_loss_and_gradients_equal_sklearn(n_outputs, activation, rng):
    X, y = make_regression(40, 6, n_targets=n_outputs, noise=0.5, random_state=1)
    sw = rng.uniform(0.5, 2.0, len(X))
    sk = quiet_fit(
        SkMLPRegressor(
            hidden_layer_sizes=(5,), activation=activation, alpha=0.7, solver="lbfgs", max_iter=2
        ),
        X,
        y,
    )
    ours = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(5,), activation=activation, alpha=0.7, max_iter=1), X, y
    )
    # scikit-learn's weights into ours this time
    ours.coefs_, ours.intercepts_ = sk.coefs_, sk.intercepts_
    for weights in (None, sw):
        sk_loss, sk_grad = sklearn_loss_grad(sk, sk.coefs_, sk.intercepts_, X, y, weights)
        loss, coef_grads, intercept_grads = ours.loss_and_gradients(X, y, weights)
        assert abs(loss - sk_loss) < 1e-10 * max(1.0, abs(sk_loss)), f"loss {loss} vs {sk_loss}"
        err = np.max(np.abs(pack(coef_grads, intercept_grads) - sk_grad))
        assert err < 1e-10 * max(1.0, np.abs(sk_grad).max()), f"gradients differ by {err}"


def test_poisson_loss_and_gradients_equal_sklearn(rng):
    X = rng.standard_normal((30, 3))
    y = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1]))
    sk = quiet_fit(
        SkMLPRegressor(hidden_layer_sizes=(4,), loss="poisson", alpha=0.2, solver="lbfgs"), X, y
    )
    ours = quiet_fit(MLPRegressor("poisson", hidden_layer_sizes=(4,), alpha=0.2, max_iter=1), X, y)
    ours.coefs_, ours.intercepts_ = sk.coefs_, sk.intercepts_
    sk_loss, sk_grad = sklearn_loss_grad(sk, sk.coefs_, sk.intercepts_, X, y)
    loss, coef_grads, intercept_grads = ours.loss_and_gradients(X, y)
    assert abs(loss - sk_loss) < 1e-10, f"poisson loss {loss} vs {sk_loss}"
    assert np.max(np.abs(pack(coef_grads, intercept_grads) - sk_grad)) < 1e-10
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), rtol=1e-12)


def test_log_loss_is_clipped_as_sklearn_reports_it():
    """A confidently wrong prediction: scikit-learn clips p to eps, so each such term is
    −log(eps) ≈ 36.04 in float64, where the exact log loss would be about 1000."""
    X, y = np.array([[1.0], [-1.0]]), np.array([0, 1])
    ours = quiet_fit(MLPClassifier((2,), alpha=0.0, max_iter=1), X, y)
    sk = sklearn_twin(ours, X, y)
    ours.coefs_ = [np.array([[1.0, -1.0]]), np.array([[500.0], [-500.0]])]
    ours.intercepts_ = [np.zeros(2), np.zeros(1)]
    loss, *_ = ours.loss_and_gradients(X, y)
    sk_loss, _ = sklearn_loss_grad(sk, ours.coefs_, ours.intercepts_, X, y)
    assert loss == pytest.approx(-np.log(np.finfo(float).eps)), "clipped at −log eps"
    assert loss == pytest.approx(sk_loss, abs=1e-12)


# --- whole training runs ---------------------------------------------------------------------

RUNS = [
    dict(solver="adam"),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    dict(solver="sgd", momentum=0.5, nesterovs_momentum=False, learning_rate_init=0.05),
    dict(solver="sgd", learning_rate="invscaling", power_t=0.25, learning_rate_init=0.1),
    dict(solver="sgd", learning_rate="adaptive", tol=0.05, n_iter_no_change=1),
    dict(solver="adam", early_stopping=True, validation_fraction=0.2, n_iter_no_change=2),
    dict(solver="sgd", early_stopping=True, shuffle=False, batch_size=16),
]


@pytest.mark.parametrize("settings", RUNS, ids=lambda s: "-".join(f"{v}" for v in s.values()))
def test_training_follows_sklearn_step_for_step(settings):
    """Same random_state: the same initial weights, batches and updates, so after several
    epochs the same weights, loss curve and (with early stopping) validation scores."""
    X, y = load_iris(return_X_y=True)
    common = dict(hidden_layer_sizes=(8,), max_iter=12, random_state=3, alpha=1e-3, **settings)
    ours = quiet_fit(MLPClassifier(**common), X, y)
    sk = quiet_fit(SkMLPClassifier(**common), X, y)
    assert ours.n_iter_ == sk.n_iter_, "same number of epochs"
    np.testing.assert_allclose(ours.loss_curve_, sk.loss_curve_, rtol=1e-9, err_msg="loss curve")
    for a, b in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg="weights")
    if settings.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, sk.validation_scores_)
        assert ours.best_validation_score_ == sk.best_validation_score_


def test_regressor_training_with_weights_and_sparse_input_follows_sklearn(rng):
    from scipy import sparse

    X, y = make_regression(80, 5, n_targets=2, noise=1.0, random_state=0)
    X[np.abs(X) < 0.5] = 0.0
    sw = rng.integers(0, 4, len(X)).astype(float)
    common = dict(hidden_layer_sizes=(6,), max_iter=8, random_state=0, batch_size=20)
    ours = quiet_fit(MLPRegressor(**common), sparse.csr_matrix(X), y, sample_weight=sw)
    sk = quiet_fit(SkMLPRegressor(**common), X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.loss_curve_, sk.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), rtol=1e-8)
