"""Shared helpers: scikit-learn's own loss and gradients for given weights."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor


def quiet_fit(est, X, y, **kw):
    """``est.fit`` with ConvergenceWarning and the like silenced (short fits on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kw)


def sklearn_twin(ours, X, y):
    """scikit-learn's MLP with our estimator's settings, fitted once for its arrays (lbfgs,
    so that its packed ``_loss_grad_lbfgs`` is set up)."""
    cls = SkMLPClassifier if hasattr(ours, "classes_") else SkMLPRegressor
    params = dict(
        hidden_layer_sizes=ours.hidden_layer_sizes,
        activation=ours.activation,
        alpha=ours.alpha,
        solver="lbfgs",
        max_iter=1,
        random_state=0,
    )
    if cls is SkMLPRegressor:
        params["loss"] = ours.loss
    return quiet_fit(cls(**params), X, y)


def sklearn_loss_grad(sk, coefs, intercepts, X, y, sample_weight=None):
    """scikit-learn's ``_loss_grad_lbfgs`` at the given weights: (loss, packed gradient)."""
    Y = sk._label_binarizer.transform(y).astype(float) if hasattr(sk, "classes_") else y
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    n_layers = len(coefs) + 1
    packed = np.hstack([a.ravel() for a in list(coefs) + list(intercepts)])
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return sk._loss_grad_lbfgs(
        packed,
        X,
        Y,
        sw,
        [X] + [None] * (n_layers - 1),
        [None] * (n_layers - 1),
        [np.empty_like(c) for c in coefs],
        [np.empty_like(b) for b in intercepts],
    )


def pack(coefs, intercepts) -> np.ndarray:
    return np.hstack([np.asarray(a).ravel() for a in list(coefs) + list(intercepts)])
