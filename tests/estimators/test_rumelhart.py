"""Rumelhart, Hinton and Williams (1986): the generalised delta rule, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from chainrule import Tensor
from chainrule.estimators import Rumelhart1986PerceptronClassifier

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([0, 1, 1, 0])


def _initial_weights(units, init_range, seed):
    """The documented initialisation: per layer, weights then biases from U(−r, r)."""
    rs = np.random.RandomState(seed)
    layers = []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        W = rs.uniform(-init_range, init_range, (fan_in, fan_out))
        b = rs.uniform(-init_range, init_range, fan_out)
        layers.append([W, b])
    return layers


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _delta_rule_gradients(layers, X, d):
    """∂E/∂w for E = ½ΣΣ(o − d)², written out: δ_out = (o − d)·o(1 − o),
    δ_hidden = (δ_next·W_nextᵀ)·h(1 − h), ∂E/∂W = inputᵀ·δ, ∂E/∂b = Σ δ (over all cases)."""
    outputs = [X]
    for W, b in layers:
        outputs.append(_sigmoid(outputs[-1] @ W + b))
    o = outputs[-1]
    error = 0.5 * np.sum((o - d) ** 2)
    delta = (o - d) * o * (1 - o)
    grads = []
    for k in range(len(layers) - 1, -1, -1):
        grads.insert(0, [outputs[k].T @ delta, delta.sum(axis=0)])
        if k:
            delta = (delta @ layers[k][0].T) * outputs[k] * (1 - outputs[k])
    return error, grads


@pytest.mark.parametrize("alpha", [0.0, 0.9])
def test_sweeps_follow_the_delta_rule_by_hand(alpha):
    """Δw(t) = −ε ∂E/∂w(t) + α Δw(t − 1), once per sweep, from the gradient summed over all
    cases; three sweeps written out in NumPy."""
    eps, sweeps, seed = 0.5, 3, 7
    clf = Rumelhart1986PerceptronClassifier(
        n_hidden=(3,), eps=eps, alpha=alpha, epochs=sweeps, random_state=seed, init_range=0.3
    ).fit(X_XOR, Y_XOR)
    layers = _initial_weights([2, 3, 1], 0.3, seed)
    d = Y_XOR.reshape(-1, 1).astype(float)
    previous = [[np.zeros_like(W), np.zeros_like(b)] for W, b in layers]
    errors = []
    for _ in range(sweeps):
        error, grads = _delta_rule_gradients(layers, X_XOR, d)
        errors.append(error)
        for k, ((gW, gb), (pW, pb)) in enumerate(zip(grads, previous)):
            dW, db = -eps * gW + alpha * pW, -eps * gb + alpha * pb
            layers[k] = [layers[k][0] + dW, layers[k][1] + db]
            previous[k] = [dW, db]
    np.testing.assert_allclose(clf.errors_, errors, rtol=1e-12, err_msg="E before each sweep")
    for k, (W, b) in enumerate(layers):
        np.testing.assert_allclose(clf.coefs_[k], W, rtol=1e-12, err_msg=f"W{k + 1}")
        np.testing.assert_allclose(clf.intercepts_[k], b, rtol=1e-12, err_msg=f"b{k + 1}")


def test_sigmoid_derivative_stays_finite_for_huge_inputs():
    """The seed computed σ'(z) = e⁻ᶻ/(1 + e⁻ᶻ)², which is inf/inf = NaN at z = −1e4."""
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(1e4) / (1 + np.exp(1e4)) ** 2
    assert np.isnan(naive), "the seed's formula breaks down"
    clf = Rumelhart1986PerceptronClassifier(n_hidden=(2,), epochs=1).fit(X_XOR, Y_XOR)
    clf.coefs_ = [np.array([[1e4, -1e4], [1e4, -1e4]]), np.array([[1e4], [-1e4]])]
    with np.errstate(all="raise"):
        out = clf.model_(Tensor(X_XOR))
        error = clf._error(out, Y_XOR.reshape(-1, 1).astype(float))
        error.backward()
    for p in clf.model_.parameters():
        assert np.all(np.isfinite(p.grad.data)), "finite gradients at |z| = 1e4"
    with np.errstate(all="raise"):
        big = Rumelhart1986PerceptronClassifier(epochs=3).fit(X_XOR * 1e4, Y_XOR)
    assert np.all(np.isfinite(big.errors_)), "training on huge inputs stays finite"


def test_learns_xor_with_momentum():
    clf = Rumelhart1986PerceptronClassifier(
        n_hidden=(4,), eps=0.5, alpha=0.9, epochs=1500, random_state=0
    ).fit(X_XOR, Y_XOR)
    np.testing.assert_array_equal(clf.predict(X_XOR), Y_XOR)
    assert clf.errors_[-1] < 0.01 < clf.errors_[0], "E falls below 0.01"
    assert len(clf.errors_) == clf.n_iter_ == 1500


def test_output_units_and_probabilities():
    X, y = load_iris(return_X_y=True)
    clf = Rumelhart1986PerceptronClassifier(epochs=200, eps=0.01, alpha=0.9).fit(X, y)
    assert clf.model_[-2].out_features == 3, "one output unit per class beyond two"
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, err_msg="rows sum to 1")
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert clf.score(X, y) > 0.9
    binary = Rumelhart1986PerceptronClassifier().fit(X_XOR, np.array(["no", "yes", "yes", "no"]))
    assert binary.model_[-2].out_features == 1, "one output unit for two classes"
    assert binary.predict_proba(X_XOR).shape == (4, 2)
    assert set(binary.predict(X_XOR)) <= {"no", "yes"}


def test_seed_defaults_and_progress_bar(capsys):
    clf = Rumelhart1986PerceptronClassifier(verbose=True)
    assert clf.get_params() == dict(
        n_hidden=(10, 5),
        eps=0.1,
        alpha=0.0,
        epochs=10,
        random_state=42,
        verbose=True,
        init_range=0.3,
    )
    clf.fit(X_XOR, Y_XOR)
    assert "Rumelhart1986PerceptronClassifier" in capsys.readouterr().err, "tqdm bar"
    assert len(clf.errors_) == 10
    still = Rumelhart1986PerceptronClassifier(epochs=1, eps=1e-12).fit(X_XOR, Y_XOR)
    for a in still.coefs_ + still.intercepts_:
        assert np.abs(a).max() <= 0.3, "initial weights from U(−0.3, 0.3)"
    assert [W.shape for W in still.coefs_] == [(2, 10), (10, 5), (5, 1)], "n_hidden=(10, 5)"
