"""Input checks shared by the estimators, with scikit-learn's own helpers and messages.

scikit-learn's checkers (``validate_data``, ``check_array``, ``_check_sample_weight``) raise the
messages its users know (``Input X contains NaN.``, ``X has 4 features, but MLPClassifier is
expecting 3 features as input.``); the estimators call them rather than writing their own.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.utils.validation import _check_sample_weight

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def validate_data(estimator, X="no_validation", y="no_validation", reset=True, **kw):
        return estimator._validate_data(X, y, reset=reset, **kw)


FLOAT_DTYPES = (np.float64, np.float32)


def model_dtype(X: Any, dtype: Any) -> np.dtype:
    """The dtype the network computes in: ``dtype`` when given; otherwise float64 for float64
    input (kept, as scikit-learn keeps it) and float32 for anything else."""
    if dtype is not None:
        return np.dtype(dtype)
    dt = getattr(X, "dtype", None)
    if dt is None and hasattr(X, "dtypes"):  # a DataFrame: float64 if every column is
        dt = np.float64 if all(d == np.float64 for d in X.dtypes) else None
    return np.dtype(np.float64) if dt == np.float64 else np.dtype(np.float32)


def dense_rows(X: Any, index: Any) -> np.ndarray:
    """The rows ``index`` of ``X`` as a dense array (sparse batches are densified one at a
    time, so a sparse data set is never densified whole)."""
    rows = X[index]
    return rows.toarray() if sparse.issparse(rows) else rows


def sample_weight_or_none(sample_weight: Any, X: Any) -> np.ndarray | None:
    """Validated non-negative sample weights in X's dtype, or None when not given.

    scikit-learn's own checker and messages: ``Negative values in data passed to
    `sample_weight```, ``Sample weights must contain at least one non-zero number.``,
    ``sample_weight.shape == (3,), expected (4,)!``.
    """
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)


def clipped_batch_size(batch_size: Any, n_samples: int) -> int:
    """``min(200, n_samples)`` for 'auto'; otherwise ``batch_size`` clipped to
    ``[1, n_samples]``, with scikit-learn's warning when it is larger than the data."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=4,
        )
    return int(np.clip(batch_size, 1, n_samples))


def hidden_sizes(value: Any) -> list[int]:
    """``hidden_layer_sizes`` as a list of positive ints (scikit-learn's message otherwise)."""
    sizes = list(value) if hasattr(value, "__iter__") else [value]
    if np.any(np.array(sizes) <= 0):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return [int(s) for s in sizes]
