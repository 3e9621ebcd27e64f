"""NumPy formulas that several layers need, written once: the softmax (the ``softmax`` op's
forward, the estimators' ``predict_proba``) and class probabilities from a model's scores
(the plots' decision boundary, the application's predictions)."""

from __future__ import annotations

from typing import Any

import numpy as np


# softmax(x)_i = exp(x_i − m) / Σ_j exp(x_j − m), m = max_j x_j: the shift changes nothing
# mathematically and keeps exp from overflowing (the largest term is exp(0) = 1)
def softmax(x: Any, *, axis: int = -1) -> np.ndarray:
    """Softmax of ``x`` along ``axis``, in ``x``'s floating dtype; same shape as ``x``."""
    e = np.exp(np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True)))
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


def class_probabilities(scores: Any) -> np.ndarray:
    """Class probabilities ``(n, k)`` from logits: ``(n,)`` or ``(n, 1)`` scores are one
    binary logit z, giving columns (1 − σ(z), σ(z)); ``(n, k)`` scores give their softmax
    over the classes. Computed in float64."""
    z = np.asarray(scores, dtype=np.float64)
    if z.ndim == 1 or z.shape[-1] == 1:
        p1 = 0.5 * (1 + np.tanh(0.5 * z.reshape(-1)))  # σ(z) = (1 + tanh(z/2))/2: no overflow
        return np.stack([1 - p1, p1], axis=1)
    return softmax(z, axis=1)
