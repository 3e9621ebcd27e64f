"""Findings about what a run achieved rather than how it trained: a test metric no better than
a constant prediction's, and more classes than the rows can teach."""

from __future__ import annotations

import math

from ._finding import Finding

BASELINE_MARGIN = 0.1  # a model must close this share of the gap from the baseline to a perfect 1
MIN_ROWS_PER_CLASS = 5  # training rows per class below this: too many classes for the data


def outcome_findings(
    metric: str,
    value: float,
    baseline: float,
    baseline_name: str,
    n_rows: int | None = None,
    n_classes: int | None = None,
) -> list[Finding]:
    """Compares a test metric with a baseline's, and the classes with the training rows.

    Parameters
    ----------
    metric : str
        The name of a score for which higher is better and 1 is perfect (accuracy, R²).
    value, baseline : float
        The model's test score and the baseline's on the same rows (NaN: not computable,
        e.g. a diverged model, which counts as no better).
    baseline_name : str
        What the baseline predicts, e.g. ``"the most frequent class"``, ``"the mean"``.
    n_rows, n_classes : int, optional
        Training rows and classes (classification).

    Returns
    -------
    list of Finding
        ``too_many_classes`` when there are fewer than ``MIN_ROWS_PER_CLASS`` training rows
        per class; ``no_better_than_baseline`` when ``value`` does not exceed ``baseline`` by
        ``BASELINE_MARGIN`` of the gap from ``baseline`` to 1.
    """
    found = []
    if n_rows is not None and n_classes is not None and n_rows < MIN_ROWS_PER_CLASS * n_classes:
        found.append(
            Finding(
                "too_many_classes",
                "error",
                f"{n_classes} classes for {n_rows} training rows ({n_rows / n_classes:.2g} "
                f"per class; at least {MIN_ROWS_PER_CLASS} per class are needed to learn "
                f"anything about each)",
                "if the target is a quantity (a price, a count, an age), train a regression "
                "on it instead of a classification (chainrule train --task regression); "
                "otherwise merge rare classes or gather more rows",
            )
        )
    need = baseline + BASELINE_MARGIN * (1 - baseline) if math.isfinite(baseline) else math.inf
    if not (math.isfinite(value) and value >= need):
        shown = "not a number" if not math.isfinite(value) else f"{value:.4f}"
        found.append(
            Finding(
                "no_better_than_baseline",
                "error",
                f"test {metric} {shown} against {baseline:.4f} for always predicting "
                f"{baseline_name}; a model must reach {need:.4f} ({BASELINE_MARGIN:.0%} of "
                f"the way from the baseline to 1) to count as better",
                "the model learnt nothing usable: see the other findings (learning rate, "
                "loss curve, classes); check that the features can predict the target",
            )
        )
    return found
