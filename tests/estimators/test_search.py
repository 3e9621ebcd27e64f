"""The estimators under scikit-learn's searches with joblib's process-based loky backend: the
estimators are cloned, pickled to worker processes and fitted there, with the same scores as
in one process."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from chainrule.estimators import MLPClassifier


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _search(kind, n_jobs, X, y):
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    grid = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]}
    search = (
        GridSearchCV(est, grid, cv=2, n_jobs=n_jobs)
        if kind == "grid"
        else RandomizedSearchCV(est, grid, n_iter=3, cv=2, n_jobs=n_jobs, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with parallel_backend("loky", n_jobs=n_jobs):
            return search.fit(X, y)


@pytest.mark.parametrize("kind", ["grid", "random"])
def test_search_with_loky_workers_equals_one_process(kind, iris):
    X, y = iris
    alone = _search(kind, 1, X, y)
    workers = _search(kind, 2, X, y)
    np.testing.assert_array_equal(
        workers.cv_results_["mean_test_score"], alone.cv_results_["mean_test_score"]
    )
    assert workers.best_params_ == alone.best_params_
    assert workers.best_estimator_.score(X, y) == alone.best_estimator_.score(X, y)
