"""The report's figures as inline PNG data URIs: the run's own plots (``chainrule.plot`` and
the callbacks' ``.plot()``) plus the confusion matrix, predicted against true values, and the
validation metric with the learning rate."""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import plot
from chainrule.plot import new_figure

from ._html import METRIC_LABELS
from ._record import Boundary, RunRecord

DPI = 80
PAGE_WIDTH = 12.8  # inches: the report's figure column (1024 px) at DPI, text shown at 100%


def png_uri(fig: Any, dpi: int = DPI) -> str:
    """``fig`` as a ``data:image/png;base64,...`` URI (the figure is closed afterwards)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    fig.clf()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any]) -> Any:
    """Counts of (true, predicted) class pairs, shaded by the share of each true class."""
    k = len(labels)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    size = min(6.5, 2.8 + 0.36 * k)
    fig, (ax,) = new_figure(1, panel_size=(size + 1.0, size))
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="share of the true class", shrink=0.8)
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                color = "white" if share[i, j] > 0.6 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=color)
    names = [str(label)[:14] for label in labels]
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"confusion matrix (test set, {len(y_true)} samples)")
    return fig


def predicted_vs_true(y_true: np.ndarray, y_pred: np.ndarray, target: str) -> Any:
    """Scatter of predictions against true values, with the diagonal y = x."""
    fig, (ax,) = new_figure(1, panel_size=(5.5, 4.8))
    ax.scatter(y_true, y_pred, s=16, alpha=0.7, color="tab:blue", edgecolors="none")
    low = float(min(np.min(y_true), np.min(y_pred)))
    high = float(max(np.max(y_true), np.max(y_pred)))
    ax.plot([low, high], [low, high], "k--", lw=1, label="y = x (perfect)")
    ax.set_xlabel(f"true {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_title(f"predicted vs true (test set, {len(y_true)} samples)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")  # the corner a fitted model leaves empty
    return fig


def curves(run: RunRecord) -> Any:
    """The losses (left), the validation metric per epoch (middle) and the learning rate per
    batch (right)."""
    from matplotlib.ticker import MaxNLocator

    fig, (loss, left, right) = new_figure(3, panel_size=(PAGE_WIDTH / 3, 3.6))
    ylabel = "loss"
    if run.task == "regression":  # the model is trained on (y − mean) / deviation
        ylabel = f"{run.loss} loss (target standardised)"
    run.losses.plot(ax=loss, ylabel=ylabel, best_epoch=run.best_epoch)
    history = run.metric_history
    epochs = np.asarray(history["epoch"]) + 1
    left.plot(epochs, history[run.metric], "o-", color="tab:green", lw=1.8)
    left.set_xlabel("epoch")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    label = METRIC_LABELS[run.metric]
    left.set_ylabel(f"validation {label}")
    left.set_title(f"validation {label}")
    left.grid(alpha=0.3)
    h = run.losses.history
    right.plot(h["iteration"], h["lr"], color="tab:purple", lw=1.5)
    right.set_xlabel("iteration")
    right.set_ylabel("learning rate")
    right.set_title(f"learning rate ({run.schedule})")
    right.grid(alpha=0.3)
    return fig


def decision_boundary(boundary: Boundary) -> Any:
    """The classifier's decision boundary over every row, in the data's own units."""
    return plot.decision_boundary(
        boundary.scores,
        boundary.X,
        boundary.y,
        resolution=120,
        title=f"decision boundary ({len(boundary.X)} rows)",
    )


def figures(run: RunRecord) -> dict[str, str | Exception]:
    """Every figure of the report by name: a PNG data URI, or the error that prevented it.
    Each is at most ``PAGE_WIDTH`` wide, so the page shows its text at full size."""
    y_true, y_pred, _ = run.results["test_predictions"]
    makers: dict[str, Callable[[], Any]] = {"curves": lambda: curves(run)}
    if run.finder is not None:
        makers["lr_finder"] = run.finder.plot
    if run.task == "classification":
        makers["confusion"] = lambda: confusion_matrix(y_true, y_pred, run.classes)
        if run.boundary is not None:
            makers["boundary"] = functools.partial(decision_boundary, run.boundary)
    else:
        makers["scatter"] = lambda: predicted_vs_true(y_true, y_pred, run.target)
    for name in ("activations", "gradients", "parameters"):
        makers[name] = functools.partial(run.telemetry[name].plot, max_cols=3)
    out: dict[str, str | Exception] = {}
    for name, make in makers.items():
        try:
            out[name] = png_uri(make())
        except (ValueError, TypeError, KeyError, RuntimeError) as err:
            out[name] = err
    return out
