"""Findings from the loss curves: the training loss per iteration and per epoch (too high a
learning rate, no progress, too low a rate) and the validation loss per epoch (overfitting).

The thresholds are module constants, stated in each finding's evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._finding import Finding

MIN_DECREASE = 0.01  # relative decrease of the loss below this: not decreasing
RISE_FACTOR = 1.5  # loss at the end above this multiple of the start: diverging
SPIKE_FACTOR = 10.0  # any loss above this multiple of the first one: a blow-up
SPREAD = 0.5  # late swing (p90 − p10) / median above this and twice the early swing: oscillating
MIN_ITERATIONS = 20  # losses needed before judging the loss curve
OVERFIT_EPOCHS = 3  # the validation loss lowest at least this many epochs before the end ...
OVERFIT_RISE = 0.1  # ... and the last one above the lowest by more than this fraction
LOW_FRACTION = 0.2  # still improving at the end, the training loss above this × baseline: too low
REGULARISE = (
    "stop at the best epoch (chainrule train --patience 3, or EarlyStoppingCallback("
    "patience=3), which restores its weights); regularise (--weight-decay 1e-4 or AdamW's "
    "weight_decay, --dropout 0.2 or nn.Dropout); or use more data or a smaller network"
)


def loss_findings(
    losses: np.ndarray,
    iterations: np.ndarray,
    epochs: Mapping[str, Any] | None = None,
    baseline_loss: float | None = None,
    restored_epoch: int | None = None,
) -> list[Finding]:
    """Every loss-curve finding.

    Parameters
    ----------
    losses, iterations : ndarray, shape (n_iterations,)
        The training loss of each batch and its iteration.
    epochs : mapping, optional
        ``TrainLossCallback.history["epochs"]``: ``"epoch"``, ``"train_loss"`` and
        ``"valid_loss"`` (mean per epoch; NaN without validation).
    baseline_loss : float, optional
        The training loss of the best constant prediction.
    restored_epoch : int, optional
        The epoch whose weights early stopping restored.
    """
    epochs = epochs or {}
    train = np.asarray(epochs.get("train_loss", []), dtype=np.float64)
    found = _curve_findings(losses, iterations, train if len(train) else None)
    if len(train) and baseline_loss is not None:
        low = [f for f in found if f.name != "loss_not_decreasing"]
        found = low + _against_baseline(epochs, float(baseline_loss), found, allow_low=not found)
    if len(train):
        found += _overfitting(epochs, restored_epoch)
    return found


def _curve_findings(
    losses: np.ndarray, iterations: np.ndarray, epoch_losses: np.ndarray | None = None
) -> list[Finding]:
    """Findings from the per-iteration losses; ``epoch_losses`` (mean training loss of each
    epoch) judge progress when there are two or more: a model that does not change has the
    same epoch mean however the batches are shuffled, so they are free of batch noise."""
    if len(losses) == 0:
        return []
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        return [
            Finding(
                "learning_rate_too_high",
                "error",
                f"the training loss became {losses[bad[0]]} at iteration {int(iterations[bad[0]])}",
                "lower the learning rate (run learner.find_learning_rate), check the inputs "
                "for NaN and extreme values, or clip gradients",
            )
        ]
    n = len(losses)
    if n < MIN_ITERATIONS:
        return []
    w = max(5, n // 10)
    first, last = float(np.median(losses[:w])), float(np.median(losses[-w:]))
    where = (f"median of the first {w} iterations", f"median of the last {w}")
    if epoch_losses is not None and len(epoch_losses) >= 2 and np.all(np.isfinite(epoch_losses)):
        first, last = float(epoch_losses[0]), float(epoch_losses[-1])
        where = ("mean of the first epoch", f"mean of epoch {len(epoch_losses) - 1}")
    change = f"from {first:.4g} ({where[0]}) to {last:.4g} ({where[1]})"
    scale = max(abs(first), 1e-12)
    early, spread = _spread(losses[: n // 2]), _spread(losses[n // 2 :])
    span = f"iterations {int(iterations[0])}–{int(iterations[-1])}"
    peak = int(np.argmax(losses))
    if losses[0] > 0 and losses[peak] > SPIKE_FACTOR * losses[0]:
        return [
            _too_high(
                f"the loss blew up to {losses[peak]:.4g} at iteration {int(iterations[peak])}, "
                f"{losses[peak] / losses[0]:.3g}× its first value {losses[0]:.4g}"
            )
        ]
    if last > RISE_FACTOR * first:
        return [_too_high(f"the loss rose {change}, {span}")]
    if (first - last) / scale >= MIN_DECREASE:
        return []
    if spread > max(SPREAD, 2 * early):
        return [
            _too_high(
                f"the loss did not decrease ({change}) and swings by "
                f"{spread:.2g}× its median over the second half (the first half: {early:.2g}×)"
            )
        ]
    if abs(first) < 1e-8:
        return []
    return [
        Finding(
            "loss_not_decreasing",
            "warning",
            f"the loss went {change}, a decrease of {(first - last) / scale:.2%}, under "
            f"{MIN_DECREASE:.0%}",
            "raise the learning rate (run learner.find_learning_rate); check that the "
            "optimizer holds the model's parameters, that they require grad, and that the "
            "targets match the loss",
        )
    ]


def _spread(losses: np.ndarray) -> float:
    """(p90 − p10) / median: how much the loss swings, relative to its level."""
    p10, p50, p90 = np.percentile(losses, (10, 50, 90))
    return float((p90 - p10) / max(abs(p50), 1e-12))


def _too_high(evidence: str) -> Finding:
    return Finding(
        "learning_rate_too_high",
        "warning",
        evidence,
        "lower the learning rate (try a tenth, or run learner.find_learning_rate), or use a "
        "schedule that warms up (OneCycleLR)",
    )


def _against_baseline(
    epochs: Mapping[str, Any], baseline: float, found: list[Finding], allow_low: bool
) -> list[Finding]:
    """Nothing learnt (the loss no longer falls and ends no lower than a constant
    prediction's; this replaces a ``loss_not_decreasing`` in ``found``, which is kept
    otherwise), or too low a rate (still falling at the end, far above where a trained model
    gets, when ``allow_low``)."""
    train = np.asarray(epochs["train_loss"], dtype=np.float64)
    valid = np.asarray(epochs.get("valid_loss", []), dtype=np.float64)
    last, n = float(train[-1]), len(train)
    curve, which = (train, "training")
    if valid.size == n and np.all(np.isfinite(valid)):
        curve, which = valid, "validation"
    # still improving: the last epoch is the best so far, by a margin over the one before
    falling = (
        n >= 2 and int(np.argmin(curve)) == n - 1 and curve[-1] < curve[-2] * (1 - MIN_DECREASE)
    )
    what = f"{baseline:.4g}, the loss of the best constant prediction (class frequencies or mean)"
    flat = [f for f in found if f.name == "loss_not_decreasing"]
    if last >= baseline and not falling:
        return [
            Finding(
                "loss_not_decreasing",
                "error",
                f"the training loss ended at {last:.4g} (mean of epoch {n}), no lower than "
                f"{what}, and was no longer falling: the model learnt nothing a constant does "
                f"not know",
                "if the loss first blew up, lower the learning rate; if it stayed flat, raise "
                "it (--lr-find, or learner.find_learning_rate); check that the targets match "
                "the loss and that the features carry information",
            )
        ]
    if flat or not allow_low or not falling or last <= LOW_FRACTION * baseline:
        return flat
    return [
        Finding(
            "learning_rate_too_low",
            "warning",
            f"the {which} loss was still falling at the last epoch ({curve[-2]:.4g} → "
            f"{curve[-1]:.4g}, its lowest) and the training loss ended at {last:.4g}, "
            f"{last / baseline:.0%} of {what} (above {LOW_FRACTION:.0%})",
            "raise the learning rate (chainrule train --lr-find, or learner.find_learning_rate) "
            "or train for more epochs",
        )
    ]


def _overfitting(epochs: Mapping[str, Any], restored_epoch: int | None) -> list[Finding]:
    """The validation loss rising for several epochs after its lowest while the training loss
    keeps falling; ``info`` when early stopping put the best epoch's weights back."""
    valid = np.asarray(epochs.get("valid_loss", []), dtype=np.float64)
    train = np.asarray(epochs["train_loss"], dtype=np.float64)
    if len(valid) != len(train) or not np.all(np.isfinite(valid)) or len(valid) < 2:
        return []
    best = int(np.argmin(valid))
    after = len(valid) - 1 - best
    rise = valid[-1] / valid[best] - 1 if valid[best] > 0 else 0.0
    if after < OVERFIT_EPOCHS or rise <= OVERFIT_RISE or not train[-1] < train[best]:
        return []
    number = np.asarray(epochs.get("epoch", np.arange(len(valid))), dtype=np.int64) + 1
    evidence = (
        f"the validation loss rose from {valid[best]:.4g} at epoch {number[best]} (its lowest) "
        f"to {valid[-1]:.4g} at epoch {number[-1]} (+{rise:.0%}, over {after} epochs; the limit "
        f"is +{OVERFIT_RISE:.0%} after {OVERFIT_EPOCHS}) while the training loss fell from "
        f"{train[best]:.4g} to {train[-1]:.4g}"
    )
    if restored_epoch is not None:
        return [
            Finding(
                "overfitting",
                "info",
                f"{evidence}; early stopping restored the weights of epoch {restored_epoch + 1}",
                "the model kept is the best epoch's; " + REGULARISE.split("; ", 1)[1],
            )
        ]
    return [Finding("overfitting", "warning", evidence, REGULARISE)]
