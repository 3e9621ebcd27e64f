"""Rumelhart, Hinton and Williams (1986): the generalised delta rule, checked by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning

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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
def test_seed_defaults_and_progress_bar(capsys):
    clf = Rumelhart1986PerceptronClassifier(verbose=True)
    assert clf.get_params() == dict(
        n_hidden=(10, 5),
        eps=0.1,
        alpha=0.0,
        epochs=100,
        random_state=42,
        verbose=True,
        init_range=0.3,
        tol=1e-4,
    )
    with pytest.warns(ConvergenceWarning):  # 100 sweeps of eps=0.1 do not learn XOR
        clf.fit(X_XOR, Y_XOR)
    assert "Rumelhart1986PerceptronClassifier" in capsys.readouterr().err, "tqdm bar"
    assert len(clf.errors_) == 100
    still = Rumelhart1986PerceptronClassifier(epochs=1, eps=1e-12).fit(X_XOR, Y_XOR)
    for a in still.coefs_ + still.intercepts_:
        assert np.abs(a).max() <= 0.3, "initial weights from U(−0.3, 0.3)"
    assert [W.shape for W in still.coefs_] == [(2, 10), (10, 5), (5, 1)], "n_hidden=(10, 5)"


# -- saying when it has not learned ----------------------------------------------------------
def _blobs():
    X, y = make_blobs(800, centers=2, random_state=0)
    return X.astype(np.float32), y


def test_the_seeds_call_warns_that_it_has_not_learned():
    """The seed's arguments on 800 blob points: E 100.5 → 100.2 in 10 sweeps, outputs all
    about 0.49: the warning names the unseparated classes and suggests the remedies."""
    X, y = _blobs()
    clf = Rumelhart1986PerceptronClassifier(n_hidden=(10, 5), epochs=10, eps=1e-3, alpha=1e-3)
    with pytest.warns(ConvergenceWarning, match="do not separate the classes") as caught:
        clf.fit(X, y)
    (warning,) = [w for w in caught if w.category is ConvergenceWarning]
    text = str(warning.message)
    assert "after 10 sweeps" in text and "more epochs or a larger eps" in text, text
    assert "summed over the 800 samples" in text, text
    assert "E fell by less" not in text, "E still falls by more than tol per sweep"
    assert len(clf.errors_) == 10, "the seed's call still works as written"


def test_a_stalled_error_warns_even_when_separated():
    X, y = _blobs()
    clf = Rumelhart1986PerceptronClassifier(epochs=150, tol=0.05)  # E falls by < 5% per sweep
    with pytest.warns(ConvergenceWarning, match=r"E fell by less than tol=0.05 per sweep") as w:
        clf.fit(X, y)
    assert "do not separate" not in str(w[0].message), "the classes are separated"
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize(
    "eps, why", [(0.5, "E rose: 199.52 to 199.67"), (2.0, "the output units are saturated")]
)
def test_a_rising_error_or_saturated_units_suggest_a_smaller_eps(eps, why):
    X, y = _blobs()
    clf = Rumelhart1986PerceptronClassifier(epochs=12, eps=eps, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Try a smaller eps") as caught:
        clf.fit(X, y)
    text = str(caught[0].message)
    if eps == 2.0:
        assert "output units are saturated" in text, text
        assert clf.errors_[-1] == clf.errors_[-11], "E stuck at the saturated value"
    else:
        assert clf.errors_[-1] > clf.errors_[-11], why


def test_a_fit_that_learned_does_not_warn():
    X, y = _blobs()
    clf = Rumelhart1986PerceptronClassifier(n_hidden=(4,), eps=0.005, alpha=0.9, epochs=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.9
