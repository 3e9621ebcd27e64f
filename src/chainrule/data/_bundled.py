"""Small bundled data sets: thin loaders over scikit-learn's (imported only when called).

Every function returns NumPy arrays ``(X, y)``: ``X`` as ``dtype`` (float32 unless asked),
``y`` as int64 class indices for classification sets and as ``dtype`` for regression targets.
The generators draw their seed from chainrule's generator when ``random_state`` is None, so
``cr.manual_seed(n)`` makes them reproducible (NumPy's global state is never used).
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from .._random import Generator, get_generator


def _seed(random_state: int | Generator | None) -> int:
    """An integer seed for scikit-learn: ``random_state`` itself, or drawn from a Generator."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    if random_state is None or isinstance(random_state, Generator):
        return int(get_generator(random_state).integers(2**31 - 1))
    raise TypeError(
        f"random_state must be an int, a chainrule.Generator or None, got "
        f"{type(random_state).__name__}"
    )


def _classification(bunch: Any, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(bunch.data, dtype=dtype), np.asarray(bunch.target, dtype=np.int64)


def load_iris(*, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers: X (150, 4) sepal and petal lengths and widths in cm; y (150,)
    int64 species 0 setosa, 1 versicolor, 2 virginica."""
    from sklearn.datasets import load_iris as load

    return _classification(load(), dtype)


def _bundled_file(name: str) -> Path | None:
    """scikit-learn's bundled copy of a data file (``sklearn/datasets/data/NAME``), found
    without importing ``sklearn.datasets``; None where scikit-learn keeps it elsewhere."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / name
    return path if path.is_file() else None


def load_digits(*, n_class: int = 10, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits, 8×8: X (n, 64) pixel counts 0–16 (1797 samples for all ten
    classes); y (n,) int64 digits 0 to ``n_class`` − 1.

    The values of ``sklearn.datasets.load_digits``, read from scikit-learn's bundled
    ``digits.csv.gz`` as it reads them, without importing ``sklearn.datasets`` (about 50 ms,
    a share of ``chainrule train``'s default run).
    """
    if isinstance(n_class, bool) or not isinstance(n_class, (int, np.integer)):
        raise TypeError(f"load_digits: n_class must be an int, got {type(n_class).__name__}")
    if not 1 <= n_class <= 10:
        raise ValueError(f"load_digits: n_class must be in 1..10, got {n_class}")
    path = _bundled_file("digits.csv.gz")
    if path is None:
        from sklearn.datasets import load_digits as load

        return _classification(load(n_class=int(n_class)), dtype)
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")  # rows of 64 pixels, then the digit
    y = data[:, -1].astype(np.int64)
    keep = y < n_class
    return np.asarray(data[keep, :-1], dtype=dtype), y[keep]


def load_breast_cancer(*, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Wisconsin diagnostic breast cancer: X (569, 30) cell-nucleus features (unscaled);
    y (569,) int64, 0 malignant and 1 benign."""
    from sklearn.datasets import load_breast_cancer as load

    return _classification(load(), dtype)


def load_wine(*, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Wine recognition: X (178, 13) chemical analyses (unscaled); y (178,) int64 cultivar
    0, 1 or 2."""
    from sklearn.datasets import load_wine as load

    return _classification(load(), dtype)


def load_diabetes(*, scaled: bool = True, dtype: Any = np.float32) -> tuple[np.ndarray, ...]:
    """Diabetes progression (regression): X (442, 10) age, sex, BMI, blood pressure and six
    serum measurements (mean-centred and scaled to unit norm per column when ``scaled``);
    y (442,) as ``dtype``, disease progression one year later (25 to 346)."""
    from sklearn.datasets import load_diabetes as load

    bunch = load(scaled=scaled)
    return np.asarray(bunch.data, dtype=dtype), np.asarray(bunch.target, dtype=dtype)


def make_blobs(
    n_samples: int = 100,
    n_features: int = 2,
    centers: int | np.ndarray | None = None,
    cluster_std: float = 1.0,
    *,
    random_state: int | Generator | None = None,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters (``sklearn.datasets.make_blobs``): X (n_samples, n_features);
    y (n_samples,) int64 cluster index (3 clusters when ``centers`` is None)."""
    from sklearn.datasets import make_blobs as make

    X, y = make(
        n_samples=n_samples,
        n_features=n_features,
        centers=centers,
        cluster_std=cluster_std,
        random_state=_seed(random_state),
    )
    return np.asarray(X, dtype=dtype), np.asarray(y, dtype=np.int64)


def make_moons(
    n_samples: int = 100,
    *,
    noise: float | None = None,
    random_state: int | Generator | None = None,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (``sklearn.datasets.make_moons``): X (n_samples, 2);
    y (n_samples,) int64 moon 0 or 1; ``noise`` is the standard deviation added to X."""
    from sklearn.datasets import make_moons as make

    X, y = make(n_samples=n_samples, noise=noise, random_state=_seed(random_state))
    return np.asarray(X, dtype=dtype), np.asarray(y, dtype=np.int64)


def make_regression(
    n_samples: int = 100,
    n_features: int = 100,
    *,
    n_informative: int = 10,
    noise: float = 0.0,
    bias: float = 0.0,
    coef: bool = False,
    random_state: int | Generator | None = None,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, ...]:
    """A random linear regression problem (``sklearn.datasets.make_regression``).

    Returns X (n_samples, n_features) standard normal; y (n_samples,) = X @ w + bias + noise,
    as ``dtype``; and, when ``coef`` is True, the true weights w (n_features,) (only
    ``n_informative`` are non-zero) as a third array.
    """
    from sklearn.datasets import make_regression as make

    out = make(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        noise=noise,
        bias=bias,
        coef=coef,
        random_state=_seed(random_state),
    )
    return tuple(np.asarray(a, dtype=dtype) for a in out)
