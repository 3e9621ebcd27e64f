"""Telemetry plots: statistics over iterations per module, and histograms over time (the
"colorful dimension" image: one column per recorded iteration, colour = the share of that
iteration's values in each bin).

They draw a :class:`TelemetryData`, plain arrays by record name; a telemetry callback of
``chainrule.train`` hands its records over as one (``callback.plot()`` does so)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._figure import blank_figure, legend_below, panels

_POSITIVE = ("std", "abs_mean", "abs_p50", "abs_p90", "abs_p99", "norm")


@dataclass(frozen=True)
class TelemetryData:
    """What the telemetry plots draw: per record (a module or a parameter, by name), its
    statistics over the recorded iterations and one histogram per recorded iteration.

    Parameters
    ----------
    what : str
        What was recorded, for titles (e.g. ``"parameter gradients dL/dθ"``).
    stats : mapping of str to mapping of str to ndarray
        ``{name: {"iteration": (n,), statistic: (n,), ...}}``; the statistics that can be
        drawn are the keys other than ``"iteration"``.
    histograms : mapping of str to (ndarray, ndarray, ndarray)
        ``{name: (iterations (n,), edges (n_bins + 1,), counts (n, n_bins))}``.
    kinds : mapping of str to str
        ``{name: kind}`` shown in labels, e.g. the module's class name.
    default_stats : sequence of str
        The statistics drawn when none are asked for.
    log_histogram : bool
        The histograms' values are log10|x| (the axis label says so).
    """

    what: str
    stats: Mapping[str, Mapping[str, np.ndarray]]
    histograms: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    kinds: Mapping[str, str] = field(default_factory=dict)
    default_stats: Sequence[str] = ("mean", "std")
    log_histogram: bool = False

    @property
    def names(self) -> list[str]:
        """The records' names, in order."""
        return list(self.stats)

    @property
    def available_stats(self) -> list[str]:
        """The statistics every record holds, in the first record's order."""
        columns = [list(s) for s in self.stats.values()] or [[]]
        return [k for k in columns[0] if k != "iteration" and all(k in c for c in columns)]

    def log_scale(self, stat: str, names: Sequence[str] | None = None) -> bool:
        """Whether ``stat`` is drawn on a log axis: a statistic that cannot be negative whose
        every value over ``names`` (default: all records) is above 0."""
        names = self.names if names is None else names
        return stat in _POSITIVE and all(
            np.nanmin(self.stats[n][stat], initial=1.0) > 0 for n in names
        )


def _check(data: Any, owner: str) -> TelemetryData:
    if not isinstance(data, TelemetryData):
        raise TypeError(
            f"{owner}: expected TelemetryData (a telemetry callback's .data()), got "
            f"{type(data).__name__}; a telemetry callback draws itself with .plot()"
        )
    if not data.stats:
        raise ValueError(f"{owner}: the TelemetryData of {data.what!r} holds no records")
    if set(data.histograms) != set(data.stats):
        raise ValueError(
            f"{owner}: TelemetryData must hold statistics and histograms of the same records, "
            f"got {sorted(data.stats)} and {sorted(data.histograms)}"
        )
    return data


def _names(data: TelemetryData, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return data.names
    unknown = [n for n in names if n not in data.stats]
    if unknown:
        raise KeyError(f"no records named {unknown}; have {data.names}")
    return list(names)


def _label(data: TelemetryData, name: str) -> str:
    kind = data.kinds.get(name)
    return f"{name} ({kind})" if kind else name


def telemetry_stats(
    data: TelemetryData,
    stats: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    ax: Any = None,
    legend: bool = True,
) -> Any:
    """One panel per statistic, one line per module (or parameter) over recorded iterations.

    Parameters
    ----------
    data : TelemetryData
    stats : sequence of str, optional
        Among ``data.available_stats``; ``data.default_stats`` by default.
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
    _check(data, "telemetry_stats")
    stats = list(stats or data.default_stats)
    known = data.available_stats
    bad = [s for s in stats if s not in known]
    if bad:
        raise ValueError(f"telemetry_stats: unknown statistics {bad}; expected some of {known}")
    names = _names(data, names)
    fig, axes = panels(ax, len(stats), "telemetry_stats")
    for stat, a in zip(stats, axes):
        for name in names:
            s = data.stats[name]
            a.plot(s["iteration"], s[stat], lw=1.2, label=_label(data, name))
        if data.log_scale(stat, names):
            a.set_yscale("log")
        a.set_title(f"{data.what}: {stat}", fontsize="medium")
        a.set_xlabel("iteration")
        a.grid(alpha=0.3)
    if legend:
        legend_below(axes[0])
    return fig


def telemetry_histograms(
    data: TelemetryData, names: Sequence[str] | None = None, ax: Any = None
) -> Any:
    """Histogram over time per module: x the iteration, y the value (or log10|value|), colour
    log(1 + count).

    Parameters
    ----------
    data : TelemetryData
    names : sequence of str, optional
    ax : Axes or sequence of Axes, optional
        One Axes per record.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(data, "telemetry_histograms")
    names = _names(data, names)
    fig, axes = panels(ax, len(names), "telemetry_histograms", n_cols=4)
    for name, a in zip(names, axes):
        _histogram_image(data, name, a)
    return fig


def _histogram_image(data: TelemetryData, name: str, a: Any) -> None:
    """Each recorded step's histogram as one column, normalised to the share of that step's
    values in each bin, so that steps over more or fewer values look alike (colour: the
    share, on a square-root scale that keeps the tails visible)."""
    from matplotlib.colors import PowerNorm

    iters, edges, counts = data.histograms[name]
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
    a.set_title(_label(data, name), fontsize="medium")
    a.set_xlabel("iteration")
    a.set_ylabel("log10 |value|" if data.log_histogram else "value")


def telemetry(
    data: TelemetryData,
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
    data : TelemetryData
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
    _check(data, "telemetry")
    stats = list(stats or data.default_stats)
    names = _names(data, names)
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
        fig.suptitle(data.what, y=1 - 0.12 / height, va="top")
    telemetry_stats(data, stats, names, ax=axes[: len(stats)], legend=ax is not None)
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
        _histogram_image(data, name, a)
    return fig
