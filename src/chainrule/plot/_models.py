"""What a model computes: the decision boundary of a 2-D classifier, and a 1-D regression's
predictions at intermediate epochs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._numerics import class_probabilities
from .._tensor import Tensor, no_grad, tensor
from ..nn import Module
from ._figure import legend_below, single


def _scores(predict: Any, points: np.ndarray, dtype: Any) -> np.ndarray:
    """``predict(points)`` as an ndarray; a Module is run in eval mode without a graph."""
    if isinstance(predict, Module):
        was = predict.training
        predict.eval()
        try:
            with no_grad():
                out = predict(tensor(points.astype(dtype)))
        finally:
            predict.train(was)
    elif callable(predict):
        out = predict(points)
    else:
        raise TypeError(
            f"decision_boundary: predict must be an nn.Module or a callable, got "
            f"{type(predict).__name__}"
        )
    return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def _probabilities(scores: np.ndarray, from_logits: bool) -> np.ndarray:
    """(n, k) class probabilities from (n,), (n, 1) or (n, k) scores."""
    if from_logits:
        return class_probabilities(scores)
    if scores.ndim == 1 or scores.shape[-1] == 1:
        p1 = scores.reshape(-1)
        return np.stack([1 - p1, p1], axis=1)
    return scores


def decision_boundary(
    predict: Any,
    X: Any,
    y: Any,
    ax: Any = None,
    resolution: int = 200,
    padding: float = 0.5,
    from_logits: bool = True,
    title: str = "decision boundary",
) -> Any:
    """The classifier's probability over a mesh under the data (binary: P(class 1) from blue
    to red with the 0.5 contour; multi-class: the predicted class, paler where less sure).

    Parameters
    ----------
    predict : nn.Module or callable
        Maps points ``(n, 2)`` to scores ``(n,)``, ``(n, 1)`` or ``(n, k)``.
    X : array_like, shape (n_samples, 2)
    y : array_like, shape (n_samples,) or (n_samples, 1)
        Class labels, for the scatter's colours.
    ax : matplotlib Axes, optional
    resolution : int
        Mesh points per axis.
    padding : float
        Margin around the data, in data units.
    from_logits : bool
        The scores are logits (sigmoid/softmax applied); False if probabilities.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary: X must have shape (n_samples, 2), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"decision_boundary: X has {len(X)} samples, y has {len(y)}")
    (x0, y0), (x1, y1) = X.min(axis=0) - padding, X.max(axis=0) + padding
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    points = np.column_stack([gx.ravel(), gy.ravel()])
    dtype = np.float32
    if hasattr(predict, "parameters"):
        first = next(iter(predict.parameters()), None)
        dtype = first.dtype if first is not None else dtype
    proba = _probabilities(_scores(predict, points, dtype), from_logits)
    fig, ax = single(ax, "decision_boundary", size=(6.0, 5.0))
    if proba.shape[1] == 2:
        p1 = proba[:, 1].reshape(gx.shape)
        mesh = ax.contourf(gx, gy, p1, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.8)
        ax.contour(gx, gy, p1, levels=[0.5], colors="k", linewidths=1.5)
        fig.colorbar(mesh, ax=ax, label="P(class 1)")
        colors = ["tab:blue", "tab:red"]
    else:
        k = proba.shape[1]
        cls = proba.argmax(axis=1).reshape(gx.shape)
        sure = proba.max(axis=1).reshape(gx.shape)
        from matplotlib.colors import ListedColormap

        colors = [f"C{i % 10}" for i in range(k)]
        ax.contourf(
            gx, gy, cls, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.35
        )
        ax.contour(gx, gy, sure, levels=[0.5, 0.9], colors="k", linewidths=0.6, alpha=0.5)
    for c in np.unique(y):
        mask = y == c
        color = colors[int(c) % len(colors)] if np.issubdtype(type(c), np.number) else None
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=18,
            c=color,
            edgecolors="k",
            linewidths=0.5,
            label=f"class {c}",
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title)
    legend_below(ax, n_cols=4)
    return fig


def regression_predictions(
    x: Any,
    y: Any,
    predictions: Mapping[Any, Any],
    ax: Any = None,
    truth: Callable[[np.ndarray], np.ndarray] | None = None,
    title: str = "predictions during training",
) -> Any:
    """A 1-D regression's data and the model's predictions at intermediate epochs.

    Parameters
    ----------
    x, y : array_like, shape (n_samples,) or (n_samples, 1)
        The data.
    predictions : mapping
        ``{epoch: predictions at x}``, drawn in order from pale to dark.
    ax : matplotlib Axes, optional
    truth : callable, optional
        The noiseless function, drawn dashed.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"regression_predictions: x has {len(x)} values, y has {len(y)}")
    fig, ax = single(ax, "regression_predictions")
    order = np.argsort(x)
    ax.scatter(x, y, s=10, color="0.6", label="data")
    if truth is not None:
        ax.plot(x[order], np.asarray(truth(x[order])).reshape(-1), "k--", lw=1, label="truth")
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = len(predictions)
    for i, (epoch, pred) in enumerate(predictions.items()):
        p = np.asarray(pred, dtype=np.float64).reshape(-1)
        if len(p) != len(x):
            raise ValueError(
                f"regression_predictions: predictions at {epoch!r} have {len(p)} values, x has "
                f"{len(x)}"
            )
        ax.plot(
            x[order],
            p[order],
            color=cmap(0.15 + 0.75 * i / max(1, n - 1)),
            lw=1.6,
            label=f"epoch {epoch}",
        )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title)
    legend_below(ax, n_cols=4)
    ax.grid(alpha=0.3)
    return fig
