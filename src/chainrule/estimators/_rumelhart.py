"""``Rumelhart1986PerceptronClassifier``: the network of "Learning representations by
back-propagating errors" (Rumelhart, Hinton and Williams, Nature 323, 1986).

Logistic units everywhere, the error E = ½ Σ_c Σ_j (y_j,c − d_j,c)² summed over the cases c and
output units j, and one weight change per sweep through the training set from the gradient
accumulated over all cases, by the paper's rule (eq. 9)

    Δw(t) = −ε ∂E/∂w(t) + α Δw(t − 1),

which ``optim.SGD(lr=ε, momentum=α)`` computes exactly (see its docstring). The sigmoid and its
derivative σ(1 − σ) come from chainrule's stable ``sigmoid`` op, finite for any input.

A fit that has not learned says so (a ConvergenceWarning): when E stopped falling over the last
sweeps, or when the outputs do not separate the classes on the training set.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .. import nn, optim
from .._tensor import Tensor, no_grad
from ..train import progress_bar
from ._network import NetworkArrays, bias_of, build_network, linear_layers
from ._validation import hidden_sizes, model_dtype, validate_data

SEPARATION = 0.1  # least gap between a class's mean output on its own samples and on the others'
LAST_SWEEPS = 10  # how far back the fall of E is measured
SATURATED = 0.05  # output units whose mean distance to 0 or 1 is below this are saturated


class Rumelhart1986PerceptronClassifier(NetworkArrays, ClassifierMixin, BaseEstimator):
    """A multi-layer network of logistic units trained with the generalised delta rule.

    Parameters
    ----------
    n_hidden : int or sequence of int, default=(10, 5)
        Units in each hidden layer.
    eps : float, default=0.1
        The learning rate ε (> 0). E is summed over the samples, so the step ε·∂E/∂w grows
        with their number n: a large data set may need a smaller ε (E that rises or
        oscillates), a small one a larger ε or more epochs.
    alpha : float, default=0.0
        The momentum α in [0, 1]: the share of the previous weight change added to this one.
    epochs : int, default=100
        Sweeps through the training set (one weight change each). The seed used 10, too few
        for scikit-learn's ``check_classifiers_train`` (which 50 pass).
    random_state : int, RandomState instance or None, default=42
        Source of the initial weights.
    verbose : bool, default=False
        Show a progress bar over the sweeps (tqdm) with the error.
    init_range : float, default=0.3
        Initial weights and biases are drawn from U(−init_range, init_range).
    tol : float, default=1e-4
        A ConvergenceWarning is given when E fell by less than ``tol`` (relative, per sweep)
        over the last 10 sweeps, or when the network has not separated the classes: for some
        class c, the mean output for c on c's training samples is less than 0.1 above its
        mean on the other samples. It suggests more epochs or a larger ``eps``; a smaller one
        when E rose, or when the output units are saturated (on average within 0.05 of 0 or
        1) without separating the classes.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    errors_ : list of float
        E = ½ ΣΣ (y − d)² at each sweep, before that sweep's weight change.
    model_ : chainrule.nn.Sequential
        Linear and Sigmoid layers, output units included: one output unit for two classes,
        one per class beyond two.
    coefs_, intercepts_ : list of ndarray
        The network's own weight and bias arrays, (n_in, n_out) and (n_out,).
    n_iter_ : int
        Sweeps run.
    n_features_in_, feature_names_in_ : as scikit-learn's.

    Examples
    --------
    >>> clf = Rumelhart1986PerceptronClassifier(n_hidden=(2,), eps=0.5, alpha=0.9, epochs=500)
    >>> clf.fit(X_xor, y_xor).errors_[-1]                           # doctest: +SKIP
    """

    _parameter_constraints: dict = {
        "n_hidden": ["array-like", Interval(Integral, 1, None, closed="left")],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "init_range": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_hidden=(10, 5),
        eps=0.1,
        alpha=0.0,
        epochs=100,
        random_state=42,
        verbose=False,
        init_range=0.3,
        tol=1e-4,
    ):
        self.n_hidden = n_hidden
        self.eps = eps
        self.alpha = alpha
        self.epochs = epochs
        self.random_state = random_state
        self.verbose = verbose
        self.init_range = init_range
        self.tol = tol

    def fit(self, X: Any, y: Any) -> Rumelhart1986PerceptronClassifier:
        """Trains the network for ``epochs`` sweeps; returns self."""
        self._validate_params()
        sizes = hidden_sizes(self.n_hidden)
        dtype = model_dtype(X, None)
        X, y = validate_data(self, X, y, dtype=dtype)
        check_classification_targets(y)
        self._label_binarizer = LabelBinarizer().fit(y)
        self.classes_ = self._label_binarizer.classes_
        targets = self._label_binarizer.transform(y).astype(dtype)
        self.model_ = self._build([X.shape[1], *sizes, targets.shape[1]], dtype)
        opt = optim.SGD(self.model_.parameters(), lr=self.eps, momentum=self.alpha)
        self.errors_ = []
        sweeps: Any = range(self.epochs)  # a range, or tqdm's bar over it
        if self.verbose:
            sweeps = progress_bar(
                iterable=sweeps, only_on_terminal=False, desc=type(self).__name__, unit="sweep"
            )
        x = Tensor._wrap(X)
        for _ in sweeps:
            error = self._error(self.model_(x), targets)
            opt.zero_grad()
            error.backward()
            opt.step()
            self.errors_.append(float(error.item()))
            if self.verbose:
                sweeps.set_postfix(E=f"{self.errors_[-1]:.6g}")
        self.n_iter_ = self.epochs
        self._warn_if_not_learned(X, y)
        return self

    def _warn_if_not_learned(self, X: np.ndarray, y: np.ndarray) -> None:
        """The ConvergenceWarning of ``tol``'s description, naming what failed."""
        problems = []
        k = min(LAST_SWEEPS, len(self.errors_) - 1)
        before, last = (self.errors_[-k - 1], self.errors_[-1]) if k else (0.0, 0.0)
        if before > 0 and (before - last) / before / k < self.tol:
            problems.append(
                f"E fell by less than tol={self.tol:g} per sweep over the last {k} sweeps "
                f"({before:.6g} to {last:.6g})"
            )
        with no_grad():
            d = self.model_(Tensor._wrap(X)).data
        saturated = float(np.minimum(d, 1 - d).mean()) < SATURATED
        gap = self._separation(d, y)
        if gap < SEPARATION:
            problems.append(
                f"the outputs do not separate the classes (a class's mean output on its own "
                f"samples is only {gap:.3g} above its mean on the others; at least "
                f"{SEPARATION:g} wanted)" + (", and the output units are saturated" * saturated)
            )
        if problems:
            smaller = last > before or (saturated and gap < SEPARATION)
            advice = "a smaller eps" if smaller else "more epochs or a larger eps"
            warnings.warn(
                f"{type(self).__name__}: the network has not learned after {self.n_iter_} "
                f"sweeps: {'; '.join(problems)}. Try {advice} (E is summed over the "
                f"{X.shape[0]} samples, so the step eps·dE/dw grows with their number).",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _separation(self, d: np.ndarray, y: np.ndarray) -> float:
        """min over classes c of mean P(c) on c's samples − mean P(c) on the others', from the
        output units' activations d."""
        if len(self.classes_) < 2:
            return np.inf
        P = self._probabilities(d.copy())
        gaps = [P[y == c, i].mean() - P[y != c, i].mean() for i, c in enumerate(self.classes_)]
        return float(min(gaps))

    @staticmethod
    def _error(d: Tensor, y: np.ndarray) -> Tensor:
        """E = ½ Σ_c Σ_j (y_j,c − d_j,c)², summed over cases and output units."""
        diff = d - y
        return (diff * diff).sum() * 0.5

    def _build(self, units: list[int], dtype: np.dtype) -> nn.Sequential:
        """Linear + Sigmoid per layer, weights and biases from U(−init_range, init_range)."""
        rs = check_random_state(self.random_state)
        model = build_network(units, "logistic", dtype).append(nn.Sigmoid())
        for layer in linear_layers(model):
            layer.weight.data[...] = rs.uniform(
                -self.init_range, self.init_range, layer.weight.shape
            )
            bias = bias_of(layer)
            bias.data[...] = rs.uniform(-self.init_range, self.init_range, bias.shape)
        return model

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        dtype = linear_layers(self.model_)[0].weight.data.dtype
        X = validate_data(self, X, dtype=dtype, reset=False)
        with no_grad():
            return self.model_(Tensor._wrap(X)).data

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes): [1 − d, d] for two classes; the
        output units normalised to sum to 1 beyond two."""
        return self._probabilities(self._outputs(X))

    def _probabilities(self, d: np.ndarray) -> np.ndarray:
        """predict_proba from the output units' activations d (overwritten)."""
        if len(self.classes_) == 1:
            return np.ones((d.shape[0], 1), dtype=d.dtype)
        if d.shape[1] == 1:
            return np.hstack([1 - d, d])
        total = d.sum(axis=1, keepdims=True)
        flat = total[:, 0] == 0  # every unit underflowed to 0: no preference
        d[flat], total[flat] = 1.0, d.shape[1]
        return d / total

    def predict(self, X: Any) -> np.ndarray:
        """The class of the most active output unit (d > 0.5 for two classes)."""
        d = self._outputs(X)
        if len(self.classes_) == 1:
            return np.repeat(self.classes_, d.shape[0])
        if d.shape[1] == 1:
            return self.classes_[(d[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(d, axis=1)]
