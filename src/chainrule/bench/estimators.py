"""W6: ``chainrule.estimators.MLPClassifier.fit`` next to scikit-learn's MLPClassifier, in one
process, the same settings and epochs, printed as ratios.

digits   1,797 × 64 (scaled to [0, 1], float64 as loaded), 100 ReLU units, Adam, batch 200
         (scikit-learn's defaults), ``--digits-epochs`` epochs; test accuracy on a held-out 25%.
random   60,000 × 784 standard normal, float32, 10 classes, 256-128 ReLU units, Adam, batch
         128, ``--random-epochs`` epochs (MNIST-sized work; the labels are noise).

Both estimators start from the same weights and see the same batches (chainrule's estimators
follow scikit-learn's random draws), so the runs do the same arithmetic and only the time
differs. Each fit is timed ``--repeats`` times after a warm-up fit, alternating, and the
fastest kept.

``--threads N`` limits the BLAS threads of both (threadpoolctl, installed with scikit-learn):
on a machine shared with other work, an oversubscribed BLAS can make single fits several times
slower, in either library, which one thread avoids.

Run: ``python benchmarks/bench_estimators.py [--json] [--only digits random] [--repeats 3]
[--threads 1]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from ..estimators import MLPClassifier
from ._timing import best_of, threads


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
    result = {"workload": "W6 digits", "epochs": epochs, "unit": "s/fit", **run["seconds"]}
    for name, model in run["models"].items():
        result[f"{name}_test_accuracy"] = float(model.score(X_test, y_test))
    return result


def random_mnist_sized(epochs: int, repeats: int, n: int = 60_000) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    params = dict(
        hidden_layer_sizes=(256, 128),
        batch_size=128,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    run = _time_fits(X, y, params, repeats)
    result = {"workload": f"W6 random {n}x784", "epochs": epochs, "unit": "s/fit"}
    result.update(run["seconds"])
    losses = {k: m.loss_curve_[-1] for k, m in run["models"].items()}
    result["final_loss_difference"] = float(abs(losses["chainrule"] - losses["sklearn"]))
    return result


def _print(r: dict) -> None:
    ratio = r["chainrule"] / r["sklearn"]
    print(f"{r['workload']} ({r['epochs']} epochs, {r['unit']})")
    print(f"  chainrule {r['chainrule']:9.3f}")
    print(f"  sklearn   {r['sklearn']:9.3f}   chainrule/sklearn = {ratio:.2f}x")
    for key in ("chainrule_test_accuracy", "sklearn_test_accuracy", "final_loss_difference"):
        if key in r:
            print(f"  {key}: {r[key]:.4g}")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", choices=["digits", "random"], default=["digits", "random"]
    )
    parser.add_argument("--digits-epochs", type=int, default=50)
    parser.add_argument("--random-epochs", type=int, default=1)
    parser.add_argument("--random-samples", type=int, default=60_000)
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
            r = random_mnist_sized(args.random_epochs, args.repeats, args.random_samples)
        r["ratio"] = r["chainrule"] / r["sklearn"]
        results.append(r)
        if not args.json:
            _print(r)
    if args.json:
        machine = f"{platform.machine()}, {threads()} threads, Python {platform.python_version()}"
        report = {"machine": machine, "blas_threads": args.threads, "results": results}
        print(json.dumps(report, indent=2))
    return results


if __name__ == "__main__":
    main()
