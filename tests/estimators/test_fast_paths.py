"""The training loop's fast path against the general code it stands in for: batches gathered
into reused buffers (``take_rows``) rather than made by indexing, alone and through whole
fits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_iris

from chainrule.estimators import MLPClassifier, MLPRegressor, _batches
from chainrule.estimators._batches import batch_buffer, take_rows
from chainrule.train import Callback

from ._helpers import quiet_fit

# --- the helpers alone ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, bool])
@pytest.mark.parametrize("trailing", [(), (3,)])
def test_take_rows_gathers_what_fancy_indexing_gives_into_the_buffer(rng, dtype, trailing):
    a = (rng.standard_normal((20, *trailing)) * 4).astype(dtype)
    buffer = batch_buffer(a, 8)
    assert buffer.shape == (8, *trailing) and buffer.dtype == a.dtype, "one batch of rows"
    for index in (rng.permutation(20)[:8], rng.permutation(20)[:5], np.array([19, 0, 19])):
        rows = take_rows(a, index, buffer)
        np.testing.assert_array_equal(
            rows, a[index], err_msg=f"take_rows {dtype.__name__} shape {a.shape} rows {index}"
        )
        assert np.shares_memory(rows, buffer) and rows.flags.c_contiguous, "a view of the buffer"


def test_take_rows_without_a_buffer_is_dense_rows(rng):
    X = sparse.random(20, 6, density=0.3, format="csr", random_state=0)
    assert batch_buffer(X, 8) is None, "sparse data gets no buffer"
    assert batch_buffer(None, 8) is None, "nor do absent sample weights"
    index = rng.permutation(20)[:8]
    rows = take_rows(X, index, None)
    assert isinstance(rows, np.ndarray), "a sparse batch is densified"
    np.testing.assert_array_equal(rows, X.toarray()[index], err_msg="sparse rows")


# --- whole fits: the fast paths against the general ones ------------------------------------


class BatchRecorder(Callback):
    """Copies of every training batch's arrays, as a callback sees them in ``before_batch``."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def before_batch(self):
        learner = self.learner
        if learner.training:
            self.batches.append([np.array(t.data) for t in (*learner.xb, *learner.yb)])


def _fit_twice(monkeypatch, make, X, y, **fit_kw):
    """The estimator fitted with the fast path, then with the general one (batches as fresh
    arrays by indexing): both fits and the batches their callbacks saw."""
    fits = []
    for general in (False, True):
        if general:
            monkeypatch.setattr(_batches, "batch_buffer", lambda a, batch_size: None)
        recorder = BatchRecorder()
        fits.append((quiet_fit(make([recorder]), X, y, **fit_kw), recorder.batches))
    return fits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_shuffled_weighted_fit_is_the_general_paths_fit(monkeypatch, rng, dtype):
    X, y = load_iris(return_X_y=True)
    w = rng.uniform(0.5, 2.0, len(y))

    def make(callbacks):
        return MLPClassifier(
            (8,),
            alpha=1e-2,
            batch_size=32,
            max_iter=5,
            random_state=0,
            callbacks=callbacks,
            dtype=dtype,
        )

    (fast, fast_batches), (general, general_batches) = _fit_twice(
        monkeypatch, make, X, y, sample_weight=w
    )
    assert len(fast_batches) == len(general_batches) == 5 * 5, "5 epochs of 5 batches"
    for i, (a, b) in enumerate(zip(fast_batches, general_batches)):
        for name, p, q in zip(("xb", "yb"), a, b):
            np.testing.assert_array_equal(p, q, err_msg=f"{name} of batch {i}")
    np.testing.assert_array_equal(fast.loss_curve_, general.loss_curve_, err_msg="loss curve")
    for name in ("coefs_", "intercepts_"):
        for i, (p, q) in enumerate(zip(getattr(fast, name), getattr(general, name))):
            np.testing.assert_array_equal(p, q, err_msg=f"{name}[{i}] {dtype}")


def test_a_sparse_multi_output_regression_is_the_general_paths_fit(monkeypatch, rng):
    X = sparse.random(50, 6, density=0.4, format="csr", random_state=0)
    y = rng.standard_normal((50, 2))

    def make(callbacks):
        return MLPRegressor(
            hidden_layer_sizes=(5,),
            batch_size=16,
            max_iter=3,
            random_state=0,
            callbacks=callbacks,
        )

    (fast, fast_batches), (general, general_batches) = _fit_twice(monkeypatch, make, X, y)
    for i, (a, b) in enumerate(zip(fast_batches, general_batches)):
        for name, p, q in zip(("xb", "yb"), a, b):
            np.testing.assert_array_equal(p, q, err_msg=f"{name} of batch {i}")
    for i, (p, q) in enumerate(zip(fast.coefs_, general.coefs_)):
        np.testing.assert_array_equal(p, q, err_msg=f"coefs_[{i}]")


def test_unshuffled_batches_are_views_of_the_data():
    X, y = load_iris(return_X_y=True)
    X = np.ascontiguousarray(X)
    seen = []

    class SharesMemory(Callback):
        def before_batch(self):
            if self.learner.training:
                seen.append(np.shares_memory(self.learner.xb[0].data, X))

    quiet_fit(MLPClassifier((4,), shuffle=False, max_iter=1, callbacks=[SharesMemory()]), X, y)
    assert seen and all(seen), "no copy of the rows when the order is the data's"
