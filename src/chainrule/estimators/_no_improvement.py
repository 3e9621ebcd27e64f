"""scikit-learn's no-improvement rule (``tol``, ``n_iter_no_change``) and the best weights.

The rule reads the last epoch's record: the validation score with ``early_stopping`` (or the
validation loss, with ``early_stopping_monitor='loss'``), otherwise the training loss. An epoch
that does not improve on the best by more than ``tol`` counts; after more than
``n_iter_no_change`` such epochs in a row the fit stops, or 'adaptive' SGD divides η by 5
(``_solver.on_plateau``). The weights of the best epoch are kept, and restored with
``early_stopping`` (and on Ctrl-C).

The records live on the estimator under scikit-learn's names (``best_loss_``,
``best_validation_score_``, ``_no_improvement_count``), so warm starts go on from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _solver

if TYPE_CHECKING:
    from ._base import BaseMLP


def update_no_improvement_count(est: BaseMLP) -> None:
    """scikit-learn's rule on the epoch just recorded; copies the weights when they are the
    best so far."""
    tol, scores, best_score = est.tol, est.validation_scores_, est.best_validation_score_
    losses, best_loss = est.validation_loss_curve_, est.best_loss_
    if scores is not None and losses is not None and best_score is not None:  # early_stopping
        score = scores[-1]
        if est.early_stopping_monitor == "score":
            worse, better = score < best_score + tol, score > best_score
        else:
            loss = losses[-1]
            worse = loss > est.best_validation_loss_ - tol
            better = loss < est.best_validation_loss_
            if better:
                est.best_validation_loss_ = loss
        if score > best_score:
            est.best_validation_score_ = score
    elif best_loss is not None:
        loss = est.loss_curve_[-1]
        worse, better = loss > best_loss - tol, loss < best_loss
        if better:
            est.best_loss_ = loss
    else:
        raise RuntimeError(f"{type(est).__name__}: no best loss or score to compare with")
    est._no_improvement_count = est._no_improvement_count + 1 if worse else 0
    if better:
        for best, p in zip(est._best_params, est.model_.parameters()):
            np.copyto(best, p.data)


def on_plateau(est: BaseMLP) -> tuple[bool, str]:
    """After ``n_iter_no_change`` epochs without improvement: stop, or lower η. Returns
    (stop, scikit-learn's verbose line, empty when the rule did not fire)."""
    if est._no_improvement_count <= est.n_iter_no_change:
        return False, ""
    what = "Validation score" if est.early_stopping else "Training loss"
    if est.early_stopping and est.early_stopping_monitor == "loss":
        what = "Validation loss"
    if est._optimizer is None:
        return True, "Stopping."
    stop, action = _solver.on_plateau(est._optimizer, est)
    if not stop:
        est._no_improvement_count = 0
    message = (
        f"{what} did not improve more than tol={est.tol:f} for "
        f"{est.n_iter_no_change} consecutive epochs. {action}"
    )
    return stop, message


def check_records(est: BaseMLP) -> None:
    """Refuses a warm start whose records were kept for the other setting of
    ``early_stopping`` (scikit-learn fails there with an AttributeError)."""
    kept = est.validation_scores_ is not None
    if est.early_stopping != kept:
        raise ValueError(
            f"{type(est).__name__}: warm_start continues the records of the last fit, made "
            f"with early_stopping={kept}; fit with early_stopping={kept} again, or set "
            "warm_start=False to start afresh"
        )


def restore_best(est: BaseMLP) -> None:
    """Copies the best weights seen back into the network (in place)."""
    for p, best in zip(est.model_.parameters(), est._best_params):
        p.data[...] = best
