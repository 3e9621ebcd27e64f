"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's MLP estimators on chainrule's engine."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels

from ._base import BaseMLP
from ._docs import SHARED_ATTRIBUTES, SHARED_PARAMETERS
from ._objectives import REGRESSION, objective
from ._validation import validate_data


def _mlp_init(est: BaseMLP, params: dict[str, Any]) -> None:
    """Stores the constructor's arguments (scikit-learn's contract: nothing else)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def _stochastic_solver(est: BaseMLP) -> bool:
    """partial_fit's condition (scikit-learn's ``available_if``, with its message)."""
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is not "
            "stochastic."
        )
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        progress_bar=False,
        class_weight=None,
        early_stopping_monitor="score",
        callbacks=None,
        dtype=None,
        distributed=False,
    ):
        _mlp_init(self, locals())

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Trains the network on X and labels y; returns self."""
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic_solver)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """One epoch over X, y, continuing the network and the optimiser's state.

        ``classes`` (all labels) is required on the first call.
        """
        self._validate_params()
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. Use "
                "compute_class_weight('balanced', classes=classes, y=y) on a large enough "
                "sample of the targets and pass the resulting dict as class_weight."
            )
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset, dtype, *, evaluate=False):
        """X as floats of ``dtype``, y binarised, and class weights (or None), with
        scikit-learn's rules for ``classes_``; ``evaluate``: y only needs known classes."""
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, dtype=dtype, reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not evaluate and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                )
            if len(np.setdiff1d(classes, self.classes_)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        weights = None
        if self.class_weight is not None:
            weights = compute_sample_weight(self.class_weight, y)
        return X, self._label_binarizer.transform(y).astype(bool), weights

    def _out_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _make_objective(self):
        return objective(self.out_activation_)

    def _stratify_validation(self) -> bool:
        return self.n_outputs_ == 1

    def _labels_from_targets(self, Y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(Y)

    def _predict_from_output(self, out: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            out = out.ravel()
        return self._label_binarizer.inverse_transform(out)

    _score_function = staticmethod(accuracy_score)
    _score_name = "accuracy"  # the validation score's key in learner_.epoch_log

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape (n_samples,) (or (n_samples, n_classes) for multilabel)."""
        return self._predict_from_output(self._forward(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        p = self._forward(X)
        if len(self.classes_) == 1:  # one class seen in fit: it is certain
            return np.ones((p.shape[0], 1), dtype=p.dtype)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log(predict_proba(X)), shape (n_samples, n_classes)."""
        p = self.predict_proba(X)
        return np.log(p, out=p)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION))],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        progress_bar=False,
        early_stopping_monitor="score",
        callbacks=None,
        dtype=None,
        distributed=False,
    ):
        _mlp_init(self, locals())

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Trains the network on X and targets y; returns self."""
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over X, y, continuing the network and the optimiser's state."""
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset, dtype, *, evaluate=False):
        """X and y (numbers) as floats of ``dtype``; no class weights."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=dtype,
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"MLPRegressor: y must hold numbers, got dtype {y.dtype}; a regressor's targets "
                f"are values (for labels use MLPClassifier)"
            )
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression."
            )
        return X, y, None

    def _out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _make_objective(self):
        return objective(None, self.loss)

    def _stratify_validation(self) -> bool:
        return False

    def _labels_from_targets(self, Y: np.ndarray) -> np.ndarray:
        return Y

    def _predict_from_output(self, out: np.ndarray) -> np.ndarray:
        return out.ravel() if out.shape[1] == 1 else out

    _score_function = staticmethod(r2_score)
    _score_name = "r2"

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) or (n_samples, n_outputs)."""
        return self._predict_from_output(self._forward(X))


MLPClassifier.__doc__ = f"""Multi-layer perceptron classifier: scikit-learn's MLPClassifier,
trained by chainrule's engine.

Log loss on logistic outputs (binary, multilabel) or a softmax output (multiclass), with the
same initial weights, batches, gradients and updates as scikit-learn's for the same
``random_state`` (with ``solver='lbfgs'``, SciPy's L-BFGS-B on the same objective), plus
dropout, class weights, early stopping on the loss, other hidden activations, optimiser state
kept across warm starts, Ctrl-C that stops cleanly with the best weights, and an opt-in
progress bar.

Parameters
----------
{SHARED_PARAMETERS}class_weight : dict, 'balanced' or None, default=None
    Weights of the classes, multiplied into the sample weights.

Attributes
----------
classes_ : ndarray of shape (n_classes,)
{SHARED_ATTRIBUTES}
Examples
--------
>>> from chainrule.estimators import MLPClassifier
>>> clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=50, random_state=0).fit(X, y)
>>> clf.predict_proba(X[:2]).shape   # (2, n_classes)

Telemetry and diagnostics, as with a ``chainrule.train.Learner``:

>>> from chainrule.train import TrainGradientsCallback, TrainLossCallback, diagnose
>>> loss = TrainLossCallback()
>>> clf = MLPClassifier(callbacks=[loss, TrainGradientsCallback()]).fit(X, y)
>>> loss.plot()                                  # the loss per iteration and per epoch
>>> for finding in diagnose(clf.learner_): print(finding)
"""

MLPRegressor.__doc__ = f"""Multi-layer perceptron regressor: scikit-learn's MLPRegressor,
trained by chainrule's engine.

Parameters
----------
loss : {{'squared_error', 'absolute_error', 'huber', 'poisson'}}, default='squared_error'
    squared_error is scikit-learn's half squared error; huber uses δ = 1; poisson is the
    half Poisson deviance with a log link (predictions exp(z), y ≥ 0 required).
{SHARED_PARAMETERS}
Attributes
----------
{SHARED_ATTRIBUTES}
Examples
--------
>>> from chainrule.estimators import MLPRegressor
>>> reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=50, random_state=0).fit(X, y)
>>> reg.predict(X[:2]).shape   # (2,)
"""

__all__ = ["MLPClassifier", "MLPRegressor"]
