"""The estimators under ``GridSearchCV`` on a Dask cluster through joblib's Dask backend:
cloned, pickled to two worker processes of a ``LocalCluster`` and fitted there, with the same
scores as in one process. Skipped without ``dask.distributed`` (the ``test`` extra has it)."""

from __future__ import annotations

import faulthandler
import os
import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from chainrule.estimators import MLPClassifier

distributed = pytest.importorskip("dask.distributed")

SRC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "src")


def _search(X: np.ndarray, y: np.ndarray, backend: str | None) -> GridSearchCV:
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    grid = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]}
    search = GridSearchCV(est, grid, cv=2, n_jobs=1 if backend is None else -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if backend is None:
            return search.fit(X, y)
        with parallel_backend(backend):
            return search.fit(X, y)


def _fitted_here() -> str | None:
    """The file of the chainrule this worker process imported, if it fitted an estimator."""
    import sys

    module = sys.modules.get("chainrule.estimators")
    return None if module is None else str(module.__file__)


def test_grid_search_on_a_dask_cluster_equals_one_process(monkeypatch):
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    alone = _search(X, y, None)
    # the workers import this checkout's chainrule, as the test process does
    src = os.path.abspath(SRC)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    faulthandler.dump_traceback_later(60, exit=True)  # a hung cluster ends the test run
    try:
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster, timeout=30) as client,
        ):
            on_dask = _search(X, y, "dask")
            fitted = client.run(_fitted_here)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert len(fitted) == 2  # two worker processes, and the fits ran in them, on this checkout
    assert any(fitted.values()), fitted
    assert all(f is None or f.startswith(src) for f in fitted.values()), fitted
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], alone.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        on_dask.cv_results_["split0_test_score"], alone.cv_results_["split0_test_score"]
    )
    assert on_dask.best_params_ == alone.best_params_
    assert on_dask.best_estimator_.score(X, y) == alone.best_estimator_.score(X, y)
