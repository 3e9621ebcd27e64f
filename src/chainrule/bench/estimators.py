"""W6: ``chainrule.estimators.MLPClassifier.fit`` next to scikit-learn's MLPClassifier, in one
process, the same settings and epochs, printed as ratios.

digits   1,797 × 64 (scaled to [0, 1], float64 as loaded), 100 ReLU units, Adam, batch 200
         (scikit-learn's defaults), ``--digits-epochs`` epochs; test accuracy on a held-out 25%.
large    real MNIST's first ``--large-samples`` (60,000) training rows, float32 in [0, 1], from
         ../shared/data/mnist.npz or ``--mnist PATH``, tested on its 10,000 test rows; where
         MNIST is absent, a random 784-feature, 10-class ``make_classification`` set of that
         size (float32) and 10,000 more rows to test on (the case's name says which). 256-128
         ReLU units, Adam, batch 128, ``--large-epochs`` epochs.

Both estimators start from the same weights and see the same batches (chainrule's estimators
follow scikit-learn's random draws), so the runs do the same arithmetic and only the time
differs. Each fit is timed ``--repeats`` times after a warm-up fit, alternating, and the
fastest kept.

``--threads N`` limits the BLAS threads of both (threadpoolctl, installed with scikit-learn):
on a machine shared with other work, an oversubscribed BLAS can make single fits several times
slower, in either library, which one thread avoids.

Run: ``python benchmarks/bench_estimators.py [--json] [--only digits large] [--repeats 3]
[--threads 1]``; ``chainrule bench`` adds the summary that judges the goals.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from ..data import load_mnist
from ..estimators import MLPClassifier
from ._summary import describe
from ._timing import best_of
from .training import default_mnist


def _time_fits(X, y, params: dict, repeats: int) -> dict:
    """Fastest of ``repeats`` fits of each estimator, alternating; the fitted models."""
    models = {}

    def fit(name, cls):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                models[name] = cls(**params).fit(X, y)

        return run

    fits = {
        name: fit(name, cls)
        for name, cls in [("chainrule", MLPClassifier), ("sklearn", SkMLPClassifier)]
    }
    return {"seconds": best_of(fits, repeats), "models": models}


def _fit_result(case: str, epochs: int, run: dict, X_test, y_test) -> dict:
    accuracy = {name: float(model.score(X_test, y_test)) for name, model in run["models"].items()}
    return {
        "workload": "W6",
        "name": "fit",
        "case": f"{case}, {epochs} epoch{'s' * (epochs != 1)}",
        "unit": "s/fit",
        "figures": run["seconds"],
        "test_accuracy": accuracy,
    }


def digits(epochs: int, repeats: int) -> dict:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
    params = dict(
        hidden_layer_sizes=(100,),
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    run = _time_fits(X_train, y_train, params, repeats)
    return _fit_result("digits", epochs, run, X_test, y_test)


def large_data(n: int, path: Path | None = None):
    """MNIST's first ``n`` training rows and its test set (float32 in [0, 1]) when ``path``
    (default :func:`training.default_mnist`) exists, else ``n`` training and 10,000 test rows
    of a 784-feature, 10-class ``make_classification`` set; and which of the two it is."""
    path = Path(path) if path is not None else default_mnist()
    if path.exists():
        (X, y), (X_test, y_test) = load_mnist(path)
        return X[:n], y[:n], X_test, y_test, "MNIST"
    X, y = make_classification(
        n + 10_000, 784, n_informative=64, n_classes=10, n_clusters_per_class=1, random_state=0
    )
    X = X.astype(np.float32)
    return X[:n], y[:n], X[n:], y[n:], "random"


def large(epochs: int, repeats: int, n: int = 60_000, path: Path | None = None) -> dict:
    X, y, X_test, y_test, source = large_data(n, path)
    params = dict(
        hidden_layer_sizes=(256, 128),
        batch_size=128,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    run = _time_fits(X, y, params, repeats)
    return _fit_result(f"{len(X)}x784 {source}", epochs, run, X_test, y_test)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", choices=["digits", "large"], default=["digits", "large"]
    )
    parser.add_argument("--digits-epochs", type=int, default=50)
    parser.add_argument("--large-epochs", type=int, default=1)
    parser.add_argument("--large-samples", type=int, default=60_000)
    parser.add_argument("--mnist", type=Path, default=None, help="mnist.npz or IDX folder")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    results = []
    for name in args.only:
        if name == "digits":
            r = digits(args.digits_epochs, args.repeats)
        else:
            r = large(args.large_epochs, args.repeats, args.large_samples, args.mnist)
        results.append(r | {"blas_threads": args.threads})
        if not args.json:
            print(describe(r))
    if args.json:
        print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
