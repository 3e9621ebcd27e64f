"""Small float64 estimator fits with ``distributed=True``, with or without ``mpiexec``.

``python _estimator_worker.py --out FOLDER`` fits every case below and writes
``FOLDER/rank<r>.json``: per case the fitted weights, ``loss_curve_``, ``n_iter_``, the
validation records and the predictions. Alone (no ``mpiexec``) it also fits each case with
``distributed=False`` (key ``"<case>/plain"``). 100 training rows, global batch 32: batches of
32, 32, 32 and 4 (at ``-n 3`` shards 11/11/10 and 2/1/1).

Cases: ``adam`` (classifier, 3 classes, sample weights, L2), ``sgd`` (regressor, 2 outputs,
Nesterov momentum, 'invscaling', dropout), ``early`` (classifier, early stopping with a
validation score that stops improving before ``max_iter``), ``lbfgs`` (classifier, sample
weights, 25 L-BFGS-B iterations), ``tiny`` (regressor, batch 10 on
11 rows: the last batch of one row leaves ranks with empty shards). Last, ``mismatch``: each
rank fits X of another length, which must be a ValueError on every rank (its message, or None),
and ``mismatch_values`` the same for X of the same shape but one value apart;
``nan``: ``tiny`` with an overflowing row in the last rank's shard of the first batch and a
``TerminateOnNaNCallback`` (the ``NonFiniteLossError``'s message on each rank). ``sparse``: a
CSR X.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np
from scipy import sparse

from chainrule import distributed
from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.train import Callback, TerminateOnNaNCallback


class _Rows(Callback):
    """Records the rows of each training batch this rank computed."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[int] = []

    def before_batch(self) -> None:
        learner = self.require_learner()
        if learner.training:
            self.rows.append(int(learner.xb[0].shape[0]))


def _cases() -> dict:
    rng = np.random.default_rng(0)  # the data: the same on every rank
    X = rng.normal(size=(100, 5))
    labels = (X @ rng.normal(size=(5, 3))).argmax(axis=1)
    targets = X @ rng.normal(size=(5, 2)) + 0.1 * rng.normal(size=(100, 2))
    weights = rng.uniform(0.5, 2.0, size=100)
    common = dict(hidden_layer_sizes=(16,), batch_size=32, random_state=3, alpha=1e-3)
    return {
        "adam": (
            MLPClassifier(solver="adam", max_iter=4, learning_rate_init=0.01, **common),
            X,
            labels,
            weights,
        ),
        "sgd": (
            MLPRegressor(
                solver="sgd",
                learning_rate="invscaling",
                learning_rate_init=0.05,
                dropout=0.2,
                max_iter=4,
                activation="tanh",
                **common,
            ),
            X,
            targets,
            None,
        ),
        "early": (
            MLPClassifier(
                solver="adam",
                early_stopping=True,
                n_iter_no_change=2,
                max_iter=40,
                learning_rate_init=0.5,
                validation_fraction=0.2,
                verbose=True,
                **common,
            ),
            np.vstack([X, X[:25]]),
            np.concatenate([labels, labels[:25]]),
            None,
        ),
        "lbfgs": (
            MLPClassifier(solver="lbfgs", max_iter=25, **common),
            X,
            labels,
            weights,
        ),
        "sparse": (
            MLPClassifier(solver="adam", max_iter=3, **common),
            sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)),
            labels,
            None,
        ),
        "tiny": (
            MLPRegressor(
                solver="sgd",
                max_iter=3,
                hidden_layer_sizes=(4,),
                batch_size=10,
                random_state=0,
                callbacks=[_Rows()],
            ),
            X[:11],
            targets[:11, 0],
            None,
        ),
    }


def _record(est, X) -> dict:
    return {
        "coefs": [c.tolist() for c in est.coefs_],
        "intercepts": [b.tolist() for b in est.intercepts_],
        "loss_curve": getattr(est, "loss_curve_", [est.loss_]),  # lbfgs: the final loss
        "n_iter": est.n_iter_,
        "t": est.t_,
        "validation_scores": getattr(est, "validation_scores_", None),
        "predictions": np.asarray(est.predict(X), dtype=float).tolist(),
        "shard_rows": [cb.rows for cb in est.callbacks or () if isinstance(cb, _Rows)],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, help="folder for rank<r>.json")
    args = parser.parse_args()
    distributed.init()
    result: dict = {"rank": distributed.rank(), "world_size": distributed.world_size()}
    warnings.simplefilter("ignore")  # max_iter reached: ConvergenceWarning
    for name, (est, X, y, w) in _cases().items():
        result[name] = _record(est.set_params(distributed=True).fit(X, y, sample_weight=w), X)
        if distributed.world_size() == 1:
            plain = est.set_params(distributed=False).fit(X, y, sample_weight=w)
            result[f"{name}/plain"] = _record(plain, X)
    est, X, y, _ = _cases()["tiny"]
    try:  # each rank's X one row longer than the last rank's: an error on every rank
        est.set_params(distributed=True).fit(
            X[: 8 + distributed.rank()], y[: 8 + distributed.rank()]
        )
        result["mismatch"] = None
    except ValueError as err:
        result["mismatch"] = str(err)
    X_other = X.copy()
    X_other[3, 1] += distributed.rank()  # the same shape, one value apart on ranks 1, 2...
    try:
        est.set_params(distributed=True).fit(X_other, y)
        result["mismatch_values"] = None
    except ValueError as err:
        result["mismatch_values"] = str(err)
    X = X.copy()
    X[9, 0] = 1e300  # the first batch's last row: in the last rank's shard
    nan = TerminateOnNaNCallback()
    try:
        est.set_params(callbacks=[nan], shuffle=False).fit(X, y)
        result["nan"] = None
    except ValueError as err:
        result["nan"] = str(err.__cause__)
    with open(f"{args.out}/rank{distributed.rank()}.json", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    sys.exit(main())
