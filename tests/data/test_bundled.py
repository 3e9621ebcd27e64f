"""Bundled data sets: shapes, dtypes, reproducibility, and lazy scikit-learn imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data

pytest.importorskip("sklearn")


@pytest.mark.parametrize(
    "load, n, d, classes",
    [
        (data.load_iris, 150, 4, 3),
        (data.load_digits, 1797, 64, 10),
        (data.load_breast_cancer, 569, 30, 2),
        (data.load_wine, 178, 13, 3),
    ],
)
def test_classification_sets(load, n, d, classes):
    X, y = load()
    assert X.shape == (n, d) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert sorted(set(y.tolist())) == list(range(classes))
    assert load(dtype=np.float64)[0].dtype == np.float64


def test_digits_subset_and_diabetes():
    X, y = data.load_digits(n_class=3)
    assert set(y.tolist()) == {0, 1, 2} and X.max() == 16.0
    X, y = data.load_diabetes()
    assert X.shape == (442, 10) and X.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-6)
    assert 25 <= y.min() and y.max() <= 346
    assert data.load_diabetes(scaled=False)[0][:, 0].max() > 1.0  # ages in years


def test_generators_match_sklearn_for_an_int_seed():
    from sklearn import datasets

    X, y = data.make_blobs(50, 3, centers=4, cluster_std=0.5, random_state=5)
    Xs, ys = datasets.make_blobs(50, n_features=3, centers=4, cluster_std=0.5, random_state=5)
    np.testing.assert_array_equal(X, Xs.astype(np.float32))
    np.testing.assert_array_equal(y, ys)
    assert X.dtype == np.float32 and y.dtype == np.int64
    X, y = data.make_moons(40, noise=0.1, random_state=1)
    assert X.shape == (40, 2) and set(y.tolist()) == {0, 1}


def test_make_regression_returns_the_coefficients():
    X, y, w = data.make_regression(
        200, 5, n_informative=3, bias=2.0, coef=True, random_state=0, dtype=np.float64
    )
    assert X.shape == (200, 5) and y.shape == (200,) and w.shape == (5,)
    assert (w != 0).sum() == 3
    np.testing.assert_allclose(X @ w + 2.0, y, rtol=1e-10)
    assert len(data.make_regression(10, 2, random_state=0)) == 2


def test_generators_follow_manual_seed_not_numpy_global_state():
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checks it is untouched)
    cr.manual_seed(11)
    a = data.make_moons(30, noise=0.2)[0]
    cr.manual_seed(11)
    b = data.make_moons(30, noise=0.2)[0]
    c = data.make_moons(30, noise=0.2)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    g = data.make_blobs(20, random_state=cr.Generator(4))[0]
    np.testing.assert_array_equal(g, data.make_blobs(20, random_state=cr.Generator(4))[0])
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002 (checks it is untouched)


def test_bad_random_state():
    with pytest.raises(
        TypeError,
        match="random_state must be an int, a chainrule.Generator or None, got RandomState",
    ):
        data.make_moons(10, random_state=np.random.RandomState(0))


def test_imports_are_lazy():
    code = (
        "import sys, chainrule.data, chainrule.optim, chainrule.optim.lr_scheduler; "
        "bad = [m for m in ('torch', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n_class", [10, 3, 1])
def test_digits_are_scikit_learns_values_without_importing_its_datasets(n_class):
    from sklearn.datasets import load_digits

    X, y = data.load_digits(n_class=n_class)
    Xs, ys = load_digits(n_class=n_class, return_X_y=True)
    np.testing.assert_array_equal(X, Xs.astype(np.float32))
    np.testing.assert_array_equal(y, ys)
    assert X.dtype == np.float32 and y.dtype == np.int64
    code = (
        "import sys; from chainrule import data; X, y = data.load_digits(); "
        "assert X.shape == (1797, 64), X.shape; "
        "assert 'sklearn.datasets' not in sys.modules, 'sklearn.datasets was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_digits_fall_back_to_scikit_learn_where_its_file_is_elsewhere(monkeypatch):
    from chainrule.data import _bundled

    monkeypatch.setattr(_bundled, "_bundled_file", lambda name: None)
    X, y = data.load_digits(n_class=4)
    assert X.shape[1] == 64 and set(y.tolist()) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    "n_class, error, match",
    [
        (0, ValueError, r"load_digits: n_class must be in 1..10, got 0"),
        (11, ValueError, r"load_digits: n_class must be in 1..10, got 11"),
        (2.0, TypeError, r"load_digits: n_class must be an int, got float"),
        (True, TypeError, r"load_digits: n_class must be an int, got bool"),
    ],
)
def test_digits_bad_n_class(n_class, error, match):
    with pytest.raises(error, match=match):
        data.load_digits(n_class=n_class)
