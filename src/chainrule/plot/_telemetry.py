"""Telemetry plots: statistics over iterations per module, and histograms over time (the
"colorful dimension" image: one column per recorded iteration, colour = the share of that
iteration's values in each bin)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._figure import blank_figure, legend_below, panels

_POSITIVE = ("std", "abs_mean", "abs_p50", "abs_p90", "abs_p99", "norm")


def _check(cb: Any, owner: str) -> None:
    if not hasattr(cb, "records") or not hasattr(cb, "stats"):
        raise TypeError(
            f"{owner}: expected a telemetry callback (TrainActivationsCallback, "
            f"TrainGradientsCallback, TrainParametersCallback), got {type(cb).__name__}"
        )
    if not cb.records:
        why = getattr(cb, "why_empty", "run a fit")
        raise ValueError(f"{owner}: {type(cb).__name__} has recorded nothing yet ({why})")


def _names(cb: Any, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return list(cb.records)
    unknown = [n for n in names if n not in cb.records]
    if unknown:
        raise KeyError(f"no records named {unknown}; have {list(cb.records)}")
    return list(names)


def _label(cb: Any, name: str) -> str:
    return f"{name} ({cb.records[name].kind})"


def telemetry_stats(
    cb: Any,
    stats: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    ax: Any = None,
    legend: bool = True,
) -> Any:
    """One panel per statistic, one line per module (or parameter) over recorded iterations.

    Parameters
    ----------
    cb : telemetry callback
    stats : sequence of str, optional
        From ``chainrule.train.STATS``; the callback's ``default_stats`` by default.
    names : sequence of str, optional
        Records to draw (default: all).
    ax : Axes or sequence of Axes, optional
        One Axes per statistic.
    legend : bool
        Name the lines in a legend under the first panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..train import STATS

    _check(cb, "telemetry_stats")
    stats = list(stats or cb.default_stats)
    bad = [s for s in stats if s not in STATS]
    if bad:
        raise ValueError(f"telemetry_stats: unknown statistics {bad}; expected some of {STATS}")
    names = _names(cb, names)
    fig, axes = panels(ax, len(stats), "telemetry_stats")
    for stat, a in zip(stats, axes):
        for name in names:
            s = cb.stats(name)
            a.plot(s["iteration"], s[stat], lw=1.2, label=_label(cb, name))
        if stat in _POSITIVE and all(np.nanmin(cb.stats(n)[stat], initial=1.0) > 0 for n in names):
            a.set_yscale("log")
        a.set_title(f"{cb.what}: {stat}", fontsize="medium")
        a.set_xlabel("iteration")
        a.grid(alpha=0.3)
    if legend:
        legend_below(axes[0])
    return fig


def telemetry_histograms(cb: Any, names: Sequence[str] | None = None, ax: Any = None) -> Any:
    """Histogram over time per module: x the iteration, y the value (or log10|value|), colour
    log(1 + count).

    Parameters
    ----------
    cb : telemetry callback
    names : sequence of str, optional
    ax : Axes or sequence of Axes, optional
        One Axes per record.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(cb, "telemetry_histograms")
    names = _names(cb, names)
    fig, axes = panels(ax, len(names), "telemetry_histograms", n_cols=4)
    for name, a in zip(names, axes):
        _histogram_image(cb, name, a)
    return fig


def _histogram_image(cb: Any, name: str, a: Any) -> None:
    """Each recorded step's histogram as one column, normalised to the share of that step's
    values in each bin, so that steps over more or fewer values look alike (colour: the
    share, on a square-root scale that keeps the tails visible)."""
    from matplotlib.colors import PowerNorm

    iters, edges, counts = cb.histograms(name)
    if len(iters) == 0:
        return
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    x0, x1 = float(iters[0]), float(iters[-1]) + (1 if len(iters) == 1 else 0)
    a.imshow(
        share.T,
        origin="lower",
        aspect="auto",
        extent=(x0, x1, edges[0], edges[-1]),
        cmap="viridis",
        norm=PowerNorm(0.5, vmin=0.0, vmax=max(float(share.max()), 1e-12)),
        interpolation="nearest",
    )
    a.set_title(f"{_label(cb, name)}", fontsize="medium")
    a.set_xlabel("iteration")
    a.set_ylabel("log10 |value|" if cb.log_histogram else "value")


def telemetry(
    cb: Any,
    stats: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    ax: Any = None,
    max_cols: int = 4,
) -> Any:
    """Statistics over iterations (top row) and the histograms over time (below) of one
    telemetry callback; the title says what was recorded (e.g. parameter gradients dL/dθ, or
    gradients with respect to module outputs dL/dy).

    Parameters
    ----------
    cb : telemetry callback
    stats, names : sequence of str, optional
        As :func:`telemetry_stats`.
    ax : sequence of Axes, optional
        ``len(stats) + len(names)`` Axes: the statistics' panels, then the histograms'.
    max_cols : int
        Histogram panels per row (the statistics take one row whatever their number); fewer
        columns make a narrower figure whose text stays legible when shown at a page's width.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(cb, "telemetry")
    stats = list(stats or cb.default_stats)
    names = _names(cb, names)
    if ax is not None:
        fig, axes = panels(ax, len(stats) + len(names), "telemetry")
    else:
        n_cols = max(len(stats), min(max_cols, len(names)))
        rows = 1 + -(-len(names) // n_cols)
        legend_rows = -(-len(names) // n_cols)
        # placed by hand: a layout engine takes seconds on a figure with this many axes; the
        # legend of the statistics' lines sits under the title, above every panel
        width, top = 4.2 * n_cols, 0.75 + 0.22 * legend_rows
        height = 3.2 * rows + top - 0.6
        fig = blank_figure((width, height), layout=None)
        grid = fig.add_gridspec(
            rows,
            n_cols,
            left=0.65 / width,
            right=1 - 0.2 / width,
            bottom=0.55 / height,
            top=1 - top / height,
            hspace=0.6,
            wspace=0.3,
        )
        axes = [fig.add_subplot(grid[0, i]) for i in range(len(stats))]
        axes += [fig.add_subplot(grid[1 + i // n_cols, i % n_cols]) for i in range(len(names))]
        fig.suptitle(cb.what, y=1 - 0.12 / height, va="top")
    telemetry_stats(cb, stats, names, ax=axes[: len(stats)], legend=ax is not None)
    if ax is None:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 1 - 0.45 / height),
            ncol=n_cols,
            fontsize="small",
            frameon=False,
        )
    for name, a in zip(names, axes[len(stats) :]):
        _histogram_image(cb, name, a)
    return fig
