"""Figures without pyplot: each is a ``matplotlib.figure.Figure`` on an Agg canvas, so plotting
works headless, keeps no global state and leaks no windows (Jupyter still displays them)."""

from __future__ import annotations

from typing import Any, Literal


def blank_figure(
    size: tuple[float, float],
    layout: Literal["constrained", "compressed", "tight"] | None = "constrained",
) -> Any:
    """An empty Figure of ``size`` inches on an Agg canvas (``layout``: a matplotlib layout
    engine, or None to place axes by hand, which draws several times faster)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def new_figure(
    n_panels: int = 1, n_cols: int | None = None, panel_size: tuple[float, float] = (4.2, 3.0)
) -> tuple[Any, list[Any]]:
    """A Figure with ``n_panels`` axes in a grid of ``n_cols`` columns; returns (fig, axes)."""
    n_cols = min(n_panels, n_cols or n_panels)
    n_rows = -(-n_panels // n_cols)
    fig = blank_figure((panel_size[0] * n_cols, panel_size[1] * n_rows))
    axes = [fig.add_subplot(n_rows, n_cols, i + 1) for i in range(n_panels)]
    return fig, axes


def panels(ax: Any, n: int, owner: str, n_cols: int | None = None) -> tuple[Any, list[Any]]:
    """The ``n`` axes to draw into: ``ax`` (one Axes when ``n == 1``, else a sequence of ``n``)
    or those of a new figure. Returns (figure, axes)."""
    if ax is None:
        return new_figure(n, n_cols)
    axes = [ax] if hasattr(ax, "plot") else list(getattr(ax, "flat", ax))
    if len(axes) != n:
        raise ValueError(f"{owner}: ax must hold {n} Axes (one per panel), got {len(axes)}")
    return axes[0].figure, axes


def single(ax: Any, owner: str, size: tuple[float, float] = (6.0, 4.0)) -> tuple[Any, Any]:
    """``ax`` and its figure, or a new one-panel figure."""
    if ax is None:
        fig, axes = new_figure(1, panel_size=size)
        return fig, axes[0]
    if not hasattr(ax, "plot"):
        raise TypeError(f"{owner}: ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax.figure, ax


def legend_below(ax: Any, n_cols: int = 2) -> Any:
    """The axes' legend under its x-axis label, outside the plotting area, so that it never
    covers a curve or a marker (the figure's constrained layout makes room for it)."""
    return ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=n_cols,
        fontsize="small",
        frameon=False,
    )
