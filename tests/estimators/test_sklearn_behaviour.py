"""What a scikit-learn user sees besides the weights, side by side with scikit-learn 1.9: the
``verbose`` lines on stdout, and a fit whose loss blows up (non-finite losses)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from chainrule.estimators import MLPClassifier, MLPRegressor

VERBOSE_RUNS = [
    dict(solver="adam", max_iter=4),
    dict(solver="sgd", tol=10.0, n_iter_no_change=2, max_iter=30),
    dict(solver="sgd", learning_rate="adaptive", tol=10.0, n_iter_no_change=1, max_iter=8),
    dict(solver="adam", early_stopping=True, n_iter_no_change=2, tol=0.5, max_iter=30),
    dict(solver="lbfgs", max_iter=5),
]


def _printed(est, capsys, X, y, fit="fit"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        getattr(est, fit)(X, y)
    out = capsys.readouterr()
    return out.out.splitlines(), out.err


@pytest.mark.parametrize("settings", VERBOSE_RUNS, ids=lambda s: "-".join(map(str, s.values())))
def test_verbose_prints_sklearns_lines(settings, capsys):
    X, y = load_iris(return_X_y=True)
    common = dict(hidden_layer_sizes=(6,), random_state=0, verbose=True, **settings)
    est = MLPClassifier(**common)
    ours, ours_err = _printed(est, capsys, X, y)
    theirs, _ = _printed(SkMLPClassifier(**common), capsys, X, y)
    assert ours_err == "", "nothing on stderr (no progress bar unless asked)"
    assert len(ours) == len(theirs), f"{len(ours)} lines vs scikit-learn's {len(theirs)}"
    number = re.compile(r"-?\d+\.\d+|nan")
    for a, b in zip(ours, theirs):
        assert number.sub("#", a) == number.sub("#", b), f"format: {a!r} vs {b!r}"
        for x, z in zip(number.findall(a), number.findall(b)):
            assert float(x) == pytest.approx(float(z), rel=1e-6, abs=2e-6), f"{a!r} vs {b!r}"
    if settings["solver"] != "lbfgs":
        assert ours[0] == f"Iteration 1, loss = {est.loss_curve_[0]:.8f}", "the value printed"


def test_verbose_partial_fit_prints_its_iteration(capsys):
    X, y = load_iris(return_X_y=True)
    est = MLPRegressor(hidden_layer_sizes=(3,), random_state=0, verbose=True)
    ours, _ = _printed(est, capsys, X, y * 1.0, fit="partial_fit")
    assert ours == [f"Iteration 1, loss = {est.loss_:.8f}"]


def _outcome(est, X, y):
    """(error message or None, the ConvergenceWarnings' texts)."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            est.fit(X, y)
            error = None
        except ValueError as err:
            error = str(err)
    texts = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    return error, texts


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("cls", ["classifier", "regressor"])
def test_a_diverging_fit_ends_as_sklearns(cls, solver, early_stopping):
    """An absurd learning rate on iris: the loss becomes NaN after the first epoch. As in
    scikit-learn 1.9.1, training goes on (NaN counts as no worse), NaN is recorded, and the
    fit raises its ValueError at the end unless early stopping restored finite weights."""
    X, y = load_iris(return_X_y=True)
    ours_cls, sk_cls = (
        (MLPClassifier, SkMLPClassifier) if cls == "classifier" else (MLPRegressor, SkMLPRegressor)
    )
    if cls == "regressor":
        y = X[:, 0] * 100
    common = dict(
        solver=solver,
        learning_rate_init=1e200,
        max_iter=15,
        random_state=0,
        early_stopping=early_stopping,
    )
    ours, sk = ours_cls(**common), sk_cls(**common)
    error, texts = _outcome(ours, X, y)
    sk_error, sk_texts = _outcome(sk, X, y)
    assert error == sk_error and texts == sk_texts, (error, texts, sk_error, sk_texts)
    assert ours.n_iter_ == sk.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, sk.loss_curve_, rtol=1e-9)
    assert np.isnan(ours.loss_curve_[1]), "the NaN loss is recorded"
    assert ours._no_improvement_count == sk._no_improvement_count
    if early_stopping:
        np.testing.assert_allclose(ours.validation_scores_, sk.validation_scores_)
        for a, b in zip(ours.coefs_, sk.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-9, err_msg="the best weights, restored")
    else:
        assert ours.best_loss_ == pytest.approx(sk.best_loss_, rel=1e-12)
