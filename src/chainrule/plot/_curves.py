"""Loss curves and the LR-finder curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._figure import legend_below, single


def ema(values: np.ndarray, beta: float) -> np.ndarray:
    """Debiased exponential moving average of ``values`` (n,) with factor ``beta`` in [0, 1),
    as the loss curves and the LR finder smooth; returns (n,) float64."""
    out = np.empty(len(values))
    avg = 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out[i] = avg / (1 - beta ** (i + 1))
    return out


def loss_curves(
    history: Mapping[str, Any],
    ax: Any = None,
    smooth: float = 0.9,
    logy: bool = False,
    ylabel: str = "loss",
    best_epoch: int | None = None,
) -> Any:
    """Training loss per iteration (raw and smoothed) and validation loss per epoch.

    Parameters
    ----------
    history : dict
        ``"iteration"`` and ``"train_loss"`` (one value per batch) and optionally
        ``"epochs"``: a dict with ``"epoch"``, ``"end_iteration"`` and ``"valid_loss"`` (one
        value per epoch), as ``TrainLossCallback.history`` holds them.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    smooth : float
        Smoothing factor of the training curve in [0, 1) (0: none).
    logy : bool
        Logarithmic loss axis.
    ylabel : str
        The loss axis' label (e.g. to say that the target was standardised).
    best_epoch : int, optional
        Marks this epoch's validation loss (0-based, as ``history["epochs"]["epoch"]``), e.g.
        the one early stopping restored.

    Returns
    -------
    matplotlib.figure.Figure
    """
    h = history
    if not isinstance(h, Mapping) or "train_loss" not in h or "iteration" not in h:
        raise TypeError(
            f"loss_curves: history must be a dict with 'iteration' and 'train_loss' (as "
            f"TrainLossCallback.history), got {type(history).__name__}"
        )
    if not 0 <= smooth < 1:
        raise ValueError(f"loss_curves: smooth must be in [0, 1), got {smooth!r}")
    fig, ax = single(ax, "loss_curves")
    it, loss = np.asarray(h["iteration"]), np.asarray(h["train_loss"], dtype=np.float64)
    if len(loss):
        ax.plot(it, loss, color="tab:blue", alpha=0.3, lw=0.8, label="train (per batch)")
        if smooth:
            ax.plot(it, ema(loss, smooth), color="tab:blue", lw=1.8, label="train (smoothed)")
    epochs = h.get("epochs", {})
    valid = np.asarray(epochs.get("valid_loss", []), dtype=np.float64)
    if valid.size and np.any(np.isfinite(valid)):
        ax.plot(
            np.asarray(epochs["end_iteration"]) - 1,
            valid,
            "o-",
            color="tab:orange",
            lw=1.8,
            label="validation (per epoch)",
        )
    if best_epoch is not None and best_epoch in list(epochs.get("epoch", [])):
        i = list(epochs["epoch"]).index(best_epoch)
        x = epochs["end_iteration"][i] - 1
        ax.axvline(x, color="tab:green", ls="--", lw=1.2, zorder=1)
        ax.plot(
            [x],
            [valid[i]],
            "*",
            color="tab:green",
            ms=13,
            zorder=5,
            label=f"best epoch ({best_epoch + 1})",
        )
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.set_title("loss")
    ax.grid(alpha=0.3)
    if len(loss) or valid.size:
        legend_below(ax, n_cols=3)
    return fig


# how each suggestion is marked; a name not listed gets the last style
_MARKS = {"steep": ("tab:red", "o"), "valley": ("tab:green", "D"), "": ("tab:purple", "s")}


def lr_finder(curve: Any, ax: Any = None, suggestions: Mapping[str, float] | None = None) -> Any:
    """The LR range test: smoothed loss against the learning rate (log axis), with suggested
    rates marked.

    Parameters
    ----------
    curve : (lrs, losses)
        Two arrays of shape ``(n,)``: the rates tried and the smoothed losses
        (``LRFinderCallback.lrs`` and ``.losses``).
    ax : matplotlib Axes, optional
    suggestions : dict of str to float, optional
        Rates to mark by name, e.g. ``{"steep": 1e-2, "valley": 3e-3}`` (as
        ``LRFinderCallback.suggestion()._asdict()``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    try:
        lrs, losses = (np.asarray(a, dtype=np.float64) for a in curve)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"lr_finder: curve must be (lrs, losses), two arrays of numbers, got "
            f"{type(curve).__name__}; an LRFinderCallback draws itself with .plot()"
        ) from err
    if lrs.ndim != 1 or lrs.shape != losses.shape:
        raise ValueError(
            f"lr_finder: lrs and losses must have one shape (n,), got {lrs.shape} and "
            f"{losses.shape}"
        )
    fig, ax = single(ax, "lr_finder")
    ax.plot(lrs, losses, color="tab:blue", lw=1.8, label="smoothed loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("learning-rate finder")
    ax.grid(alpha=0.3, which="both")
    finite = losses[np.isfinite(losses)]
    if finite.size:
        top = min(finite.max(), 4.5 * finite.min()) if finite.min() > 0 else finite.max()
        low = finite.min()
        ax.set_ylim(low - 0.05 * (top - low + 1e-12), top + 0.05 * (top - low + 1e-12))
    for name, lr in (suggestions or {}).items():
        color, marker = _MARKS.get(name, _MARKS[""])
        y = np.interp(np.log(lr), np.log(lrs), losses)
        ax.axvline(lr, color=color, ls=":", lw=1.2, zorder=1)
        ax.plot([lr], [y], marker, color=color, ms=9, zorder=5, label=f"{name}: {lr:.2e}")
    legend_below(ax, n_cols=3)
    return fig
