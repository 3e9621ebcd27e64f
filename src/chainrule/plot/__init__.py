"""Plots of training and of what a model computes, headless (Agg) and without pyplot.

They draw plain data (arrays, dicts, :class:`TelemetryData`), never objects of
``chainrule.train``: a callback's ``.plot()`` hands its data over. Every function returns a
``matplotlib.figure.Figure`` and accepts ``ax=`` (one Axes, or one per panel for multi-panel
plots) to draw into an existing figure. matplotlib is imported when a plot is made, not by
``import chainrule.plot``.

>>> from chainrule import plot
>>> plot.loss_curves(loss_callback.history).savefig("loss.png")   # or loss_callback.plot()
>>> plot.decision_boundary(model, X, y).savefig("boundary.png")
"""

from ._curves import ema, loss_curves, lr_finder
from ._figure import new_figure
from ._models import decision_boundary, regression_predictions
from ._telemetry import TelemetryData, telemetry, telemetry_histograms, telemetry_stats

__all__ = [
    "TelemetryData",
    "decision_boundary",
    "ema",
    "loss_curves",
    "lr_finder",
    "new_figure",
    "regression_predictions",
    "telemetry",
    "telemetry_histograms",
    "telemetry_stats",
]
