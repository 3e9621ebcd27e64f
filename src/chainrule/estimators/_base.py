"""``BaseMLP``: what MLPClassifier and MLPRegressor share (scikit-learn's estimator contract).

``__init__`` only stores the parameters; ``fit`` checks them against ``_parameter_constraints``
(scikit-learn's ``InvalidParameterError`` and message), checks the data with scikit-learn's
own helpers, builds the network on the first call and trains it: on the ``chainrule.train``
``Loop`` for the stochastic solvers (``_training``), with SciPy's L-BFGS-B for 'lbfgs'
(``_scipy_lbfgs``).
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import nn
from .._random import Generator
from .._tensor import Tensor, no_grad
from ..optim import Optimizer
from ..train import Loop
from . import _scipy_lbfgs, _solver, _training
from ._network import (
    HIDDEN_ACTIVATIONS,
    NetworkArrays,
    build_network,
    glorot_init,
    linear_layers,
)
from ._objectives import Objective
from ._sharding import Shard
from ._validation import (
    clipped_batch_size,
    dense_rows,
    hidden_sizes,
    model_dtype,
    sample_weight_or_none,
    validate_data,
)

_PREDICT_CHUNK = 8192  # rows per forward pass at prediction time for sparse input


class BaseMLP(NetworkArrays, BaseEstimator):
    """Base of the MLP estimators; use MLPClassifier or MLPRegressor."""

    # the parameters (stored by __init__, checked at fit)
    hidden_layer_sizes: Any
    activation: str
    solver: str
    alpha: float
    batch_size: int | str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    random_state: Any
    tol: float
    verbose: bool | int
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: int | float
    max_fun: int
    dropout: float
    progress_bar: bool
    early_stopping_monitor: str
    callbacks: list | None
    dtype: Any
    distributed: bool
    # what fit sets
    model_: nn.MLP
    learner_: Loop
    n_iter_: int
    t_: int
    loss_: float
    n_outputs_: int
    n_layers_: int
    out_activation_: str
    loss_curve_: list[float]
    validation_loss_curve_: list[float] | None
    validation_scores_: list[float] | None
    best_loss_: float | None
    best_validation_score_: float | None
    best_validation_loss_: float
    _objective: Objective
    _linear: list[nn.Linear]
    _best_params: list[np.ndarray]
    _optimizer: Optimizer | None
    _no_improvement_count: int
    _random_state: np.random.RandomState
    # what the classifier and the regressor define
    _score_name: str
    _score_function: Callable[..., float]

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "progress_bar": ["boolean"],
        "early_stopping_monitor": [StrOptions({"score", "loss"})],
        "callbacks": [list, None],
        "dtype": [
            Options(type, {np.float32, np.float64}),
            StrOptions({"float32", "float64"}),
            None,
        ],
        "distributed": ["boolean"],
    }

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> BaseMLP:
        """fit (``incremental=False``) and partial_fit, after the parameters were checked."""
        sizes = hidden_sizes(self.hidden_layer_sizes)
        callbacks = _training.check_callbacks(type(self).__name__, self.callbacks)
        self._check_lbfgs_settings(callbacks)
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        dtype = model_dtype(X, self.dtype) if first_pass else self._dtype()
        X, Y, w = self._checked_data(X, y, sample_weight, incremental, first_pass, dtype)
        layer_units = [X.shape[1], *sizes, Y.shape[1]]
        self._random_state = check_random_state(self.random_state)
        shard = Shard.of_job() if self.distributed else Shard()
        shard.check_same_data(type(self).__name__, X, Y, w)
        shard.broadcast_random_state(self._random_state)  # the same weights, batches, split
        if first_pass:
            self._initialize(Y, layer_units, dtype)
        elif self._layer_units() != layer_units:
            raise ValueError(
                f"{type(self).__name__}: warm_start and partial_fit continue the fitted network, "
                f"whose layer sizes are {self._layer_units()}; the data and hidden_layer_sizes "
                f"now give {layer_units}. Set warm_start=False to fit a new network"
            )
        if self.solver == "lbfgs":
            self._optimizer = None  # a later stochastic warm start begins a new one
            _scipy_lbfgs.fit_lbfgs(self, X, Y, w, shard)
        else:
            if not hasattr(self, "loss_curve_"):  # warm start after lbfgs (scikit-learn fails)
                self._start_records()
            self._prepare_optimizer(incremental)
            _training.train(self, X, Y, w, incremental, callbacks, first_pass, shard)
        if not all(np.isfinite(p.data).all() for p in self.model_.parameters()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        return self

    def _check_lbfgs_settings(self, callbacks: list) -> None:
        """What L-BFGS cannot do: it needs a deterministic objective and has no batches."""
        if self.solver != "lbfgs":
            return
        name = type(self).__name__
        if self.dropout:
            raise ValueError(
                f"{name}: solver='lbfgs' needs a deterministic objective, got "
                f"dropout={self.dropout!r}; use dropout=0.0 or solver='adam' / 'sgd'"
            )
        if callbacks:
            raise ValueError(
                f"{name}: callbacks run at the training events of solver='adam' and 'sgd'; "
                f"solver='lbfgs' (SciPy's L-BFGS-B) has none, got {len(callbacks)} callback(s)"
            )

    def _checked_data(self, X, y, sample_weight, incremental, reset, dtype, evaluate=False):
        """X, the targets as a 2-D array and the sample weights (times the class weights),
        or None when the samples are unweighted."""
        X, Y, class_weights = self._validate_input(
            X, y, incremental, reset, dtype, evaluate=evaluate
        )
        w = sample_weight_or_none(sample_weight, X)
        if class_weights is not None:
            w = class_weights.astype(dtype) if w is None else w * class_weights
        return X, Y.reshape(-1, 1) if Y.ndim == 1 else Y, w

    def _initialize(self, Y: np.ndarray, layer_units: list[int], dtype: np.dtype) -> None:
        """A new network with scikit-learn's initial weights, and fresh training records."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        self._objective = self._make_objective()
        masks = Generator() if self.dropout else None
        self.model_ = build_network(layer_units, self.activation, dtype, self.dropout, masks)
        self._linear = linear_layers(self.model_)
        glorot_init(self._linear, self.activation, self._random_state)
        if masks is not None:  # drawn after the weights, which stay scikit-learn's
            masks.manual_seed(int(self._random_state.randint(np.iinfo(np.int32).max)))
        self._best_params = [p.data.copy() for p in self.model_.parameters()]
        self._optimizer = None
        if self.solver != "lbfgs":  # scikit-learn keeps no curve or best loss for lbfgs
            self._start_records()

    def _start_records(self) -> None:
        """The stochastic solvers' records: loss curve, best loss or validation scores."""
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.validation_loss_curve_ = [] if self.early_stopping else None
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_validation_loss_ = np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _prepare_optimizer(self, incremental: bool) -> None:
        """partial_fit continues with the optimiser; fit makes a new one, except with
        warm_start, which keeps its state (momenta, Adam's moments and step count)."""
        params = list(self.model_.parameters())
        if incremental and self._optimizer is not None:
            return
        if self.warm_start and self._optimizer and _solver.matches(self._optimizer, self, params):
            _solver.reset_hyper_parameters(self._optimizer, self)
        else:
            self._optimizer = _solver.make_optimizer(self, params)

    # -- what MLPClassifier and MLPRegressor define --------------------------------------------
    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool, dtype: Any, *, evaluate: bool = False
    ) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """X, the targets as an array, and the class weights (or None)."""
        raise NotImplementedError

    def _out_activation(self) -> str:
        raise NotImplementedError

    def _make_objective(self) -> Objective:
        raise NotImplementedError

    def _stratify_validation(self) -> bool:
        raise NotImplementedError

    def _labels_from_targets(self, Y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _predict_from_output(self, out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _full_objective(
        self, X: Any, targets: np.ndarray, w: np.ndarray | None, shard: Shard | None = None
    ) -> float:
        """The training objective over all of X, its gradient into ``.grad`` (``_scipy_lbfgs``);
        summed over the ranks' shards of X with a parallel ``shard``."""
        return _scipy_lbfgs.full_objective(self, X, targets, w, shard)

    def _batch_size(self, n_samples: int) -> int:
        return clipped_batch_size(self.batch_size, n_samples)

    def _dtype(self) -> np.dtype:
        return self._linear[0].weight.data.dtype

    def _layer_units(self) -> list[int]:
        return [self._linear[0].in_features] + [m.out_features for m in self._linear]

    # -- the network at work -----------------------------------------------------------------
    def _logits(self, X: Any) -> np.ndarray:
        """The output layer's pre-activation for validated X, dropout off."""
        was_training = self.model_.training
        self.model_.eval()
        try:
            with no_grad():
                if not hasattr(X, "toarray"):
                    return self.model_(Tensor._wrap(X)).data
                chunks = [
                    self.model_(Tensor._wrap(dense_rows(X, slice(i, i + _PREDICT_CHUNK)))).data
                    for i in range(0, X.shape[0], _PREDICT_CHUNK)
                ]
                return np.concatenate(chunks)
        finally:
            self.model_.train(was_training)

    def _forward(self, X: Any) -> np.ndarray:
        """Validated X through the network and the output activation."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=self._dtype(), reset=False)
        return self._objective.output(self._logits(X))

    def _score_logits(self, z: np.ndarray, y: Any, sample_weight: Any) -> float:
        """The validation score of logits z (NaN when the predictions are not finite)."""
        y_pred = self._predict_from_output(self._objective.output(z))
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    def loss_and_gradients(
        self, X: Any, y: Any, sample_weight: Any = None
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """The training objective at the current weights and its gradients (dropout off).

        What scikit-learn's ``_backprop`` returns: the data loss as scikit-learn reports it
        plus α/(2·Σw)·Σ‖W‖², and the gradients of the objective (the sum over outputs) with
        respect to ``coefs_`` and ``intercepts_``, computed by chainrule's backward pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels (classifier) or targets (regressor), as for ``fit``.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        loss : float
        coef_grads : list of ndarray, shapes of ``coefs_``
        intercept_grads : list of ndarray, shapes of ``intercepts_``
        """
        check_is_fitted(self, "model_")
        X, Y, w = self._checked_data(X, y, sample_weight, True, False, self._dtype(), True)
        params = list(self.model_.parameters())
        saved = [p.grad for p in params]
        was_training = self.model_.training
        self.model_.eval()
        try:
            for p in params:
                p.grad = None
            value = self._full_objective(X, self._objective.targets(Y, self._dtype()), w)
            coef_grads = [_scipy_lbfgs.gradient_of(m.weight).copy() for m in self._linear]
            intercept_grads = [
                _scipy_lbfgs.gradient_of(m.bias).copy() for m in self._linear if m.bias is not None
            ]
        finally:
            for p, g in zip(params, saved):
                p.grad = g
            self.model_.train(was_training)
        return value, coef_grads, intercept_grads

    def to_onnx(
        self,
        path: Any = None,
        *,
        dtype: Any = None,
        opset: int | None = None,
        preprocessing: Any = None,
        target_scaling: Any = None,
    ) -> Any:
        """The fitted network and its output activation as a checked ONNX graph.

        Input ``'input'`` of shape (batch, n_features_in_). Outputs, plain tensors: a
        classifier's ``'label'`` (batch,) and ``'probabilities'`` (batch, n_classes), as
        ``predict`` and ``predict_proba``; a regressor's ``'predictions'``. ``preprocessing``
        (a fitted StandardScaler, or ``{'mean': ..., 'scale': ...}``) goes into the graph.
        See ``chainrule.export.to_onnx`` for the arguments; returns an ``onnx.ModelProto``
        and writes it to ``path`` when given.
        """
        # chainrule.export knows the estimators; importing it here keeps that arrow one-way
        from ..export import to_onnx

        return to_onnx(
            self,
            path=path,
            dtype=dtype,
            opset=opset,
            preprocessing=preprocessing,
            target_scaling=target_scaling,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
