"""A fit whose matrix products are small runs its BLAS on one thread; a larger one keeps the
library's setting (chainrule._blas)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from chainrule import _blas, nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import Callback, Learner
from chainrule.train._loop import largest_product


def blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


class SeesThreads(Callback):
    needs_graph = False

    def before_fit(self):
        self.threads = blas_threads()


@pytest.mark.parametrize(("width", "batch", "single"), [(16, 32, True), (2048, 2048, False)])
def test_the_fit_limits_blas_for_small_products_only(width, batch, single):
    model = nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 2))
    X = np.zeros((batch, 4), np.float32)
    dl = DataLoader(ArrayDataset(X, np.zeros(batch, np.int64)), batch_size=batch)
    assert largest_product(model, dl) == batch * 4 * width
    cb = SeesThreads()
    before = blas_threads()
    if all(t == 1 for t in before):
        pytest.skip("BLAS already runs on one thread here")
    learner = Learner(
        model, optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), callbacks=[cb]
    )
    learner.show_progress = False
    learner.fit(dl, 1)
    assert cb.threads == ([1] * len(before) if single else before)
    assert blas_threads() == before  # restored after the fit


def test_unknown_sizes_change_nothing():
    before = blas_threads()
    with _blas.threads_for(None):
        assert blas_threads() == before
    assert largest_product(nn.Sequential(nn.ReLU()), [1, 2]) is None
