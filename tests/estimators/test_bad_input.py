"""Bad input: the same behaviour and the same message as scikit-learn's MLP estimators, checked
by running both on the same input."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.utils._param_validation import InvalidParameterError

from chainrule.estimators import MLPClassifier, MLPRegressor, Rumelhart1986PerceptronClassifier

from ._helpers import quiet_fit

RNG = np.random.default_rng(0)
X = RNG.standard_normal((30, 3))
Y_CLASS = np.arange(30) % 3
Y_REG = X @ [1.0, -1.0, 0.5]
PAIRS = {
    "classifier": (MLPClassifier, SkMLPClassifier),
    "regressor": (MLPRegressor, SkMLPRegressor),
}


def _with(a: np.ndarray, index, value) -> np.ndarray:
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def _fitted(cls, y):
    return quiet_fit(cls(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X, y)


# (kind, constructor params, action on a fresh estimator)
ERRORS = {
    "nan_in_X": ("classifier", {}, lambda e: e.fit(_with(X, (0, 0), np.nan), Y_CLASS)),
    "inf_in_X": ("regressor", {}, lambda e: e.fit(_with(X, (2, 1), np.inf), Y_REG)),
    "nan_in_y": ("regressor", {}, lambda e: e.fit(X, _with(Y_REG, 3, np.nan))),
    "inf_in_y": ("regressor", {}, lambda e: e.fit(X, _with(Y_REG, 3, -np.inf))),
    "X_1d": ("classifier", {}, lambda e: e.fit(X[:, 0], Y_CLASS)),
    "X_3d": ("regressor", {}, lambda e: e.fit(X.reshape(30, 3, 1), Y_REG)),
    "too_few_y": ("classifier", {}, lambda e: e.fit(X, Y_CLASS[:20])),
    "zero_sample_weights": ("classifier", {}, lambda e: e.fit(X, Y_CLASS, np.zeros(30))),
    "sample_weight_shape": ("regressor", {}, lambda e: e.fit(X, Y_REG, np.ones(3))),
    "features_at_predict": (
        "classifier",
        {},
        lambda e: _fitted(type(e), Y_CLASS).predict(X[:, :2]),
    ),
    "features_at_proba": (
        "classifier",
        {},
        lambda e: _fitted(type(e), Y_CLASS).predict_proba(np.ones((2, 4))),
    ),
    "predict_before_fit": ("regressor", {}, lambda e: e.predict(X)),
    "proba_before_fit": ("classifier", {}, lambda e: e.predict_proba(X)),
    "hidden_size_zero": ("classifier", {"hidden_layer_sizes": (3, 0)}, lambda e: e.fit(X, Y_CLASS)),
    "negative_alpha": ("regressor", {"alpha": -1.0}, lambda e: e.fit(X, Y_REG)),
    "momentum_above_1": ("regressor", {"momentum": 1.5}, lambda e: e.fit(X, Y_REG)),
    "partial_fit_without_classes": ("classifier", {}, lambda e: e.partial_fit(X, Y_CLASS)),
    "partial_fit_early_stopping": (
        "regressor",
        {"early_stopping": True},
        lambda e: e.partial_fit(X, Y_REG),
    ),
    "partial_fit_new_class": (
        "classifier",
        {},
        lambda e: e.partial_fit(X, Y_CLASS, classes=[0, 1, 2]).partial_fit(X, Y_CLASS + 1),
    ),
    "warm_start_new_classes": (
        "classifier",
        {"warm_start": True, "max_iter": 1},
        lambda e: quiet_fit(e, X, Y_CLASS).fit(X, Y_CLASS % 2),
    ),
    "validation_set_too_small": (
        "classifier",
        {"early_stopping": True, "validation_fraction": 0.05},
        lambda e: e.fit(X[:12], Y_CLASS[:12] % 2),
    ),
    "diverging_weights": (
        "regressor",
        {"solver": "sgd", "learning_rate_init": 0.1, "max_iter": 5},
        lambda e: quiet_fit(e, X * 1e100, Y_REG * 1e100),
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_same_error_and_message_as_sklearn(case):
    kind, params, action = ERRORS[case]
    ours_cls, sk_cls = PAIRS[kind]
    with pytest.raises(Exception) as sk_error:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            action(sk_cls(**params))
    with pytest.raises(type(sk_error.value), match=re.escape(str(sk_error.value))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            action(ours_cls(**params))


def test_invalid_parameter_names_the_parameter():
    with pytest.raises(InvalidParameterError, match="The 'solver' parameter of MLPClassifier"):
        MLPClassifier(solver="newton").fit(X, Y_CLASS)
    with pytest.raises(InvalidParameterError, match="The 'dropout' parameter of MLPRegressor"):
        MLPRegressor(dropout=1.0).fit(X, Y_REG)
    with pytest.raises(InvalidParameterError, match="'early_stopping_monitor' parameter"):
        MLPRegressor(early_stopping_monitor="accuracy").fit(X, Y_REG)
    with pytest.raises(InvalidParameterError, match="The 'eps' parameter of Rumelhart"):
        Rumelhart1986PerceptronClassifier(eps=0).fit(X, Y_CLASS)


def test_unknown_activation_lists_ours():
    with pytest.raises(InvalidParameterError, match="'activation' parameter of MLPClassifier") as e:
        MLPClassifier(activation="softmax").fit(X, Y_CLASS)
    assert "'gelu'" in str(e.value) and "Got 'softmax' instead." in str(e.value)


def test_string_targets_of_a_regressor_are_refused():
    """scikit-learn's MLPRegressor fails inside its training loop with a UFuncTypeError."""
    with pytest.raises(ValueError, match="MLPRegressor: y must hold numbers, got dtype <U"):
        MLPRegressor().fit(X, np.array(["a", "b", "c"])[Y_CLASS])


def test_not_fitted_everywhere():
    for est in (MLPClassifier(), MLPRegressor(), Rumelhart1986PerceptronClassifier()):
        for call in (lambda e: e.predict(X), lambda e: e.coefs_, lambda e: e.intercepts_):
            with pytest.raises(NotFittedError, match="is not fitted yet"):
                call(est)
    with pytest.raises(NotFittedError):
        MLPRegressor().loss_and_gradients(X, Y_REG)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_batch_size_larger_than_the_data_is_clipped_with_sklearn_warning(kind):
    ours_cls, sk_cls = PAIRS[kind]
    y = Y_CLASS if kind == "classifier" else Y_REG
    message = "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped"
    for cls in (ours_cls, sk_cls):
        with pytest.warns(UserWarning, match=re.escape(message)):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Stochastic Optimizer")
                cls(hidden_layer_sizes=(4,), batch_size=100, max_iter=1).fit(X, y)


def test_string_labels_are_supported_as_in_sklearn():
    labels = np.array(["cat", "dog", "emu"])[Y_CLASS]
    ours = _fitted(MLPClassifier, labels)
    sk = _fitted(SkMLPClassifier, labels)
    np.testing.assert_array_equal(ours.classes_, sk.classes_)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    assert set(ours.predict(X)) <= set(labels)


@pytest.mark.parametrize("label", [7, "only"])
def test_a_single_class_is_predicted_as_sklearn_does(label):
    y = np.full(30, label)
    ours, sk = _fitted(MLPClassifier, y), _fitted(SkMLPClassifier, y)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    np.testing.assert_array_equal(ours.predict(X), y)
    np.testing.assert_array_equal(ours.predict_proba(X), np.ones((30, 1)), "certain")


def test_negative_sample_weights_are_refused():
    """scikit-learn's MLP accepts them silently (and then minimises a loss unbounded below);
    chainrule refuses them with scikit-learn's own sample-weight message."""
    weights = np.ones(30)
    weights[4] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        MLPClassifier().fit(X, Y_CLASS, sample_weight=weights)


def test_poisson_needs_non_negative_targets():
    with pytest.raises(ValueError, match="Some value\\(s\\) of y are negative"):
        MLPRegressor("poisson").fit(X, Y_REG)


def test_coefs_of_the_wrong_shape_are_refused():
    reg = _fitted(MLPRegressor, Y_REG)
    with pytest.raises(ValueError, match=r"coefs_\[1\] must have shape \(4, 1\), got \(4, 2\)"):
        reg.coefs_ = [np.zeros((3, 4)), np.zeros((4, 2))]
    with pytest.raises(ValueError, match="intercepts_ must be a list of 2 arrays"):
        reg.intercepts_ = [np.zeros(4)]


def test_warm_start_with_other_layer_sizes_is_refused():
    reg = quiet_fit(MLPRegressor(hidden_layer_sizes=(4,), warm_start=True, max_iter=1), X, Y_REG)
    with pytest.raises(ValueError, match=r"sizes are \[3, 4, 1\]; .* now give \[3, 5, 1\]"):
        reg.set_params(hidden_layer_sizes=(5,)).fit(X, Y_REG)


def test_balanced_class_weight_needs_all_the_data():
    clf = MLPClassifier(class_weight="balanced")
    with pytest.raises(
        ValueError, match="class_weight 'balanced' is not supported for partial_fit"
    ):
        clf.partial_fit(X, Y_CLASS, classes=[0, 1, 2])
