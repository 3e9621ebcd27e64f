"""Validation metrics from raw model outputs, and ``MetricsCallback``.

Classification metrics take the model's raw outputs: ``(n, k)`` scores (logits or
probabilities) with ``k >= 2`` give the arg-max class; ``(n,)`` or ``(n, 1)`` outputs are one
binary score each, positive above ``threshold`` (0 for logits, as with ``BCEWithLogitsLoss``).
Targets are class indices, one-hot rows, or 0/1 values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._callback import Callback


def _values(x: Any) -> np.ndarray:
    """The numbers of ``x``; a tensor's are read without its graph (metrics are not
    differentiated, and ``np.asarray`` refuses a tensor that requires grad)."""
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


def _labels(pred: np.ndarray, threshold: float) -> np.ndarray:
    pred = _values(pred)
    if pred.ndim >= 2 and pred.shape[-1] > 1:
        return pred.argmax(axis=-1).ravel()
    return (pred.ravel() > threshold).astype(np.int64)


def _targets(target: np.ndarray) -> np.ndarray:
    target = _values(target)
    if target.ndim >= 2 and target.shape[-1] > 1:
        return target.argmax(axis=-1).ravel()
    flat = target.ravel()
    return (flat > 0.5).astype(np.int64) if flat.dtype.kind == "f" else flat.astype(np.int64)


def _check_lengths(name: str, a: np.ndarray, b: np.ndarray) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name}: predictions give {len(a)} samples, targets {len(b)}")


def accuracy(pred: Any, target: Any, threshold: float = 0.0) -> float:
    """Fraction of samples whose predicted class equals the target class."""
    p, t = _labels(pred, threshold), _targets(target)
    _check_lengths("accuracy", p, t)
    return float(np.mean(p == t))


def f1_score(pred: Any, target: Any, threshold: float = 0.0) -> float:
    """F1 of the positive class for binary outputs; the unweighted mean of the classes' F1
    (macro average) for multi-class outputs. A class never predicted nor present counts 0."""
    pred = _values(pred)
    p, t = _labels(pred, threshold), _targets(target)
    _check_lengths("f1_score", p, t)
    binary = not (pred.ndim >= 2 and pred.shape[-1] > 1)
    classes = [1] if binary else range(pred.shape[-1])
    scores = []
    for c in classes:
        tp = np.sum((p == c) & (t == c))
        denom = np.sum(p == c) + np.sum(t == c)
        scores.append(2.0 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def _regression(name: str, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    p = _values(pred).astype(np.float64)
    t = _values(target).astype(np.float64).reshape(p.shape) if np.size(target) == p.size else None
    if t is None:
        raise ValueError(
            f"{name}: predictions of shape {p.shape} and targets of shape {np.shape(target)} "
            f"do not have the same number of values"
        )
    return p, t


def r2_score(pred: Any, target: Any) -> float:
    """Coefficient of determination 1 − Σ(y − ŷ)² / Σ(y − ȳ)² (averaged over outputs)."""
    p, t = _regression("r2_score", pred, target)
    p, t = p.reshape(len(p), -1), t.reshape(len(t), -1)
    ss_res = np.sum((t - p) ** 2, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


def mean_absolute_error(pred: Any, target: Any) -> float:
    """Mean of |y − ŷ|."""
    p, t = _regression("mean_absolute_error", pred, target)
    return float(np.mean(np.abs(t - p)))


def mean_squared_error(pred: Any, target: Any) -> float:
    """Mean of (y − ŷ)²."""
    p, t = _regression("mean_squared_error", pred, target)
    return float(np.mean((t - p) ** 2))


def root_mean_squared_error(pred: Any, target: Any) -> float:
    """√ mean (y − ŷ)²."""
    return float(np.sqrt(mean_squared_error(pred, target)))


METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "f1": f1_score,
    "r2": r2_score,
    "mae": mean_absolute_error,
    "mse": mean_squared_error,
    "rmse": root_mean_squared_error,
}
"""Metric functions by the names ``MetricsCallback`` and ``Learner(metrics=...)`` accept."""


def _resolve(metric: Any) -> tuple[str, Callable[[Any, Any], float]]:
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(
                f"MetricsCallback: unknown metric {metric!r}; expected one of {sorted(METRICS)} "
                f"or a callable f(pred, target) -> float"
            )
        return metric, METRICS[metric]
    if isinstance(metric, tuple) and len(metric) == 2 and callable(metric[1]):
        return str(metric[0]), metric[1]
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise TypeError(
        f"MetricsCallback: a metric must be a name, a callable or a (name, callable) pair, "
        f"got {type(metric).__name__}"
    )


class MetricsCallback(Callback):
    """Computes metrics over each validation pass and puts them in ``learner.epoch_log``.

    Predictions and targets of the pass are gathered (memory: one validation set) and the
    metrics computed at ``after_validate``; ``Learner.validate`` returns them too.

    Parameters
    ----------
    metrics : sequence
        Names from ``METRICS`` (``"accuracy"``, ``"f1"``, ``"r2"``, ``"mae"``, ``"mse"``,
        ``"rmse"``), callables ``f(pred, target) -> float`` (named by ``__name__``), or
        ``(name, callable)`` pairs.

    Attributes
    ----------
    history : dict of str to list of float
        Each metric's value per validation pass of a fit, and ``"epoch"``.
    """

    needs_graph = False  # reads values only

    order = -10

    def __init__(self, metrics: Sequence[Any] = ("accuracy",)) -> None:
        super().__init__()
        if isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        self.metrics = [_resolve(m) for m in metrics]
        if not self.metrics:
            raise ValueError("MetricsCallback: give at least one metric")
        self.history: dict[str, list[float]] = {"epoch": [], **{n: [] for n, _ in self.metrics}}
        self._preds: list[np.ndarray] = []
        self._targets: list[np.ndarray] = []

    def before_validate(self) -> None:
        self._preds, self._targets = [], []

    def after_loss(self) -> None:
        learner = self.require_learner()
        if not learner.training:
            self._preds.append(np.array(learner.pred.data))
            self._targets.append(np.array(learner.yb[0].data))

    def after_validate(self) -> None:
        learner = self.require_learner()
        if not self._preds:
            return
        pred, target = np.concatenate(self._preds), np.concatenate(self._targets)
        self._preds, self._targets = [], []
        for name, fn in self.metrics:
            learner.epoch_log[name] = float(fn(pred, target))
        if learner.in_fit:
            self.history["epoch"].append(learner.epoch)
            for name, _ in self.metrics:
                self.history[name].append(learner.epoch_log[name])

    def state_dict(self) -> dict[str, Any]:
        return {k: list(v) for k, v in self.history.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state) != set(self.history):
            raise ValueError(
                f"MetricsCallback: checkpoint has metrics {sorted(state)}, this callback "
                f"{sorted(self.history)}"
            )
        self.history = {k: list(v) for k, v in state.items()}
