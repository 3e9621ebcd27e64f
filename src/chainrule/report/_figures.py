"""The report's figures as inline data URIs: the training curves, the confusion matrix or
predicted against true values, and the three telemetry figures are SVG written by ``_svg``
(no matplotlib: the page of the default run is drawn in milliseconds); the LR finder and the
decision boundary are the run's own matplotlib plots as PNG, drawn only for the runs that show
them."""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import plot
from chainrule.plot import TelemetryData
from chainrule.train import TelemetryCallback

from ._html import METRIC_LABELS, e
from ._record import Boundary, RunRecord
from ._scales import BLUES, TAB10, VIRIDIS, colormap, num, png, text_width
from ._svg import MUTED, Figure, Panel

DPI = 80
PAGE_WIDTH = 1000  # px: the report's figure column (1024 px) less its frame, text at 100%
ROW = 16  # px: a line of 11 px text


def png_uri(fig: Any, dpi: int = DPI) -> str:
    """A matplotlib ``fig`` as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any]) -> Figure:
    """Counts of (true, predicted) class pairs, shaded by the share of each true class."""
    k = len(labels)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    names = [str(label)[:14] for label in labels]
    rotate = max(map(len, names)) > 3
    side = min(400.0, 240.0 + 28.0 * k)  # px: as large as the title for a few classes
    cell = side / k
    left = 24 + max(text_width(n, 11) for n in names)
    below = 52 + (max(text_width(n, 11) for n in names) * 0.71 if rotate else 0)
    fig = Figure(left + side + 110, 40 + side + below)
    ax = fig.panel(
        left,
        32,
        side,
        side,
        title=f"confusion matrix (test set, {len(y_true)} samples)",
        xlabel="" if rotate else "predicted class",
        ylabel="true class",
        grid=False,
        xlim=(-0.5, k - 0.5),
        ylim=(k - 0.5, -0.5),  # the first class at the top
        xticks=[] if rotate else list(enumerate(names)),
        yticks=list(enumerate(names)),
    )
    ax.image(colormap(BLUES, share), (-0.5, k - 0.5, k - 0.5, -0.5))
    for i, j in zip(*np.nonzero(counts)):
        ax.text(j, i, str(counts[i, j]), "white" if share[i, j] > 0.6 else "black")
    bottom = 32 + side
    if rotate:  # long class names: the x labels slanted under their columns
        for j, name in enumerate(names):
            x = left + (j + 0.5) * cell
            fig.extra.append(
                f'<text transform="translate({x:.1f},{bottom + 12}) rotate(-45)" '
                f'text-anchor="end" font-size="11">{e(name)}</text>'
            )
        fig.text(left + side / 2, fig.height - 8, "predicted class")
    _colorbar(fig, left + side + 22, 32 + side * 0.1, side * 0.8, "share of the true class")
    return fig


def _colorbar(fig: Figure, x: float, y: float, height: float, label: str) -> None:
    """A vertical Blues scale from 0 (bottom) to 1 (top) with its ticks and label."""
    rgb = colormap(BLUES, np.linspace(1, 0, 64))[:, None, :]
    uri = base64.b64encode(png(rgb)).decode("ascii")
    fig.extra.append(
        f'<image x="{x}" y="{num(y)}" width="14" height="{num(height)}" '
        f'preserveAspectRatio="none" href="data:image/png;base64,{uri}"/>'
        f'<rect x="{x}" y="{num(y)}" width="14" height="{num(height)}" fill="none" '
        f'stroke="{MUTED}" stroke-width="0.8"/>'
    )
    for v in np.linspace(0, 1, 6):
        ty = num(y + height * (1 - v))
        fig.extra.append(
            f'<line x1="{x + 14}" x2="{x + 18}" y1="{ty}" y2="{ty}" stroke="{MUTED}"/>'
            f'<text x="{x + 21}" y="{ty}" dy="0.35em" font-size="11">{v:.1f}</text>'
        )
    cx, cy = num(x + 54), num(y + height / 2)
    fig.extra.append(
        f'<text transform="translate({cx},{cy}) rotate(-90)" text-anchor="middle" '
        f'font-size="12">{e(label)}</text>'
    )


def predicted_vs_true(y_true: np.ndarray, y_pred: np.ndarray, target: str) -> Figure:
    """Scatter of predictions against true values, with the diagonal y = x."""
    fig = Figure(520, 470)
    title = f"predicted vs true (test set, {len(y_true)} samples)"
    ax = fig.panel(78, 32, 420, 340, title, f"true {target}", f"predicted {target}")
    low = float(min(np.min(y_true), np.min(y_pred)))
    high = float(max(np.max(y_true), np.max(y_pred)))
    ax.plot(y_true, y_pred, TAB10[0], width=0, marker="o", size=5, opacity=0.7, label="test rows")
    ax.plot([low, high], [low, high], "black", width=1, dash="5 3", label="y = x (perfect)")
    fig.legend(ax.series, 78 + 210, 32 + 340 + 46, n_cols=2)
    return fig


def curves(run: RunRecord) -> Figure:
    """The losses (left), the validation metric per epoch (middle) and the learning rate per
    batch (right)."""
    column = PAGE_WIDTH / 3
    fig = Figure(PAGE_WIDTH, 350)
    ylabel = "loss"
    if run.task == "regression":  # the model is trained on (y − mean) / deviation
        ylabel = f"{run.loss} loss (target standardised)"
    label = METRIC_LABELS[run.metric]
    titles = [
        ("loss", "iteration", ylabel),
        (f"validation {label}", "epoch", f"validation {label}"),
        (f"learning rate ({run.schedule})", "iteration", "learning rate"),
    ]
    loss, left, right = (
        fig.panel(i * column + 66, 30, column - 82, 230, *text) for i, text in enumerate(titles)
    )
    _losses(loss, run.losses.history, run.best_epoch)
    fig.legend(loss.series, loss.x + loss.w / 2, 306, n_cols=2)
    history = run.metric_history
    left.xinteger = True
    epochs = np.asarray(history["epoch"]) + 1
    left.plot(epochs, history[run.metric], TAB10[2], width=1.8, marker="o", size=6)
    h = run.losses.history
    right.plot(h["iteration"], h["lr"], TAB10[4], width=1.5)
    return fig


def _losses(ax: Panel, h: dict[str, Any], best_epoch: int | None) -> None:
    """Training loss per batch, raw and smoothed as ``plot.loss_curves`` draws it, and the
    validation loss per epoch; the best epoch marked."""
    it, values = np.asarray(h["iteration"]), np.asarray(h["train_loss"], dtype=np.float64)
    if len(values):
        ax.plot(it, values, TAB10[0], width=0.8, opacity=0.3, label="train (per batch)")
        ax.plot(it, plot.ema(values, 0.9), TAB10[0], width=1.8, label="train (smoothed)")
    epochs = h.get("epochs", {})
    valid = np.asarray(epochs.get("valid_loss", []), dtype=np.float64)
    ends = np.asarray(epochs.get("end_iteration", []), dtype=np.float64) - 1
    if valid.size and np.any(np.isfinite(valid)):
        ax.plot(
            ends, valid, TAB10[1], width=1.8, marker="o", size=6, label="validation (per epoch)"
        )
    if best_epoch is not None and best_epoch in list(epochs.get("epoch", [])):
        i = list(epochs["epoch"]).index(best_epoch)
        ax.vline(ends[i], TAB10[2])
        star = f"best epoch ({best_epoch + 1})"
        ax.plot([ends[i]], [valid[i]], TAB10[2], width=0, marker="*", size=13, label=star)


def telemetry(data: TelemetryData) -> Figure:
    """One telemetry callback's record: its statistics over the iterations, one line per
    module or parameter (top row), and each one's histogram over time (below; colour: the
    share of that iteration's values in each bin, on a square-root scale), as
    ``plot.telemetry`` draws them."""
    stats, names = list(data.default_stats), data.names
    n_cols = max(len(stats), min(3, len(names)))
    column = PAGE_WIDTH / n_cols
    legend_rows = -(-len(names) // n_cols)
    top = 40 + ROW * legend_rows + 30
    row = 250
    fig = Figure(PAGE_WIDTH, top + row * (1 + -(-len(names) // n_cols)) - 30)
    fig.text(PAGE_WIDTH / 2, 22, data.what, size=15)
    for i, stat in enumerate(stats):
        ax = fig.panel(i * column + 66, top, column - 82, 170, stat, "iteration")
        ax.ylog = data.log_scale(stat, names)
        for j, name in enumerate(names):
            s, label = data.stats[name], _label(data, name) if i == 0 else ""
            ax.plot(s["iteration"], s[stat], TAB10[j % 10], width=1.2, label=label)
    fig.legend(fig.panels[0].series, PAGE_WIDTH / 2, 36, n_cols)
    ylabel = "log10 |value|" if data.log_histogram else "value"
    for i, name in enumerate(names):
        x, y = (i % n_cols) * column + 66, top + row * (1 + i // n_cols)
        ax = fig.panel(x, y, column - 82, 170, _label(data, name), "iteration", ylabel)
        ax.grid = False
        _histogram(ax, *data.histograms[name])
    return fig


def _label(data: TelemetryData, name: str) -> str:
    kind = data.kinds.get(name)
    return f"{name} ({kind})" if kind else name


def _histogram(ax: Panel, iters: np.ndarray, edges: np.ndarray, counts: np.ndarray) -> None:
    """Each recorded step's histogram as one column of the image, as the share of that step's
    values in each bin, so that steps over more or fewer values look alike."""
    if len(iters) == 0:
        return
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    norm = np.sqrt(share / max(float(share.max()), 1e-12))  # matplotlib's PowerNorm(0.5)
    x0, x1 = float(iters[0]), float(iters[-1]) + (1 if len(iters) == 1 else 0)
    ax.image(colormap(VIRIDIS, norm.T[::-1]), (x0, x1, float(edges[0]), float(edges[-1])))


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
    """Every figure of the report by name: an SVG or PNG data URI, or the error that
    prevented it.
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
        makers[name] = functools.partial(_telemetry, run.telemetry[name])
    out: dict[str, str | Exception] = {}
    for name, make in makers.items():
        try:
            fig = make()
            out[name] = fig.uri() if isinstance(fig, Figure) else png_uri(fig)
        except (ValueError, TypeError, KeyError, RuntimeError) as err:
            out[name] = err
    return out


def _telemetry(callback: TelemetryCallback) -> Figure:
    """The telemetry figure of a callback, or why it has none."""
    if not callback.records:
        raise ValueError(
            f"{type(callback).__name__} has recorded nothing yet ({callback.why_empty})"
        )
    return telemetry(callback.data())
