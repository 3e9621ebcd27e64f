"""One network's forward and backward pass, number by number: by hand, chainrule, scikit-learn.
============================================================================================

The seed exercise, done with chainrule: x = 1, target y = 1, one hidden layer of two ReLU units,
W1 = [[1, 2]], W2 = [[1], [1]], zero biases, and scikit-learn's squared error ½(ŷ − y)².

1. The forward and backward pass worked out by hand (hidden outputs [1, 2], output 3, loss 2,
   ∂L/∂W2 = [[2], [4]], ∂L/∂W1 = [[2, 2]], bias gradients [2] and [2, 2]).
2. The same numbers from chainrule's engine (``backward()``), from the backprop trace table
   (``chainrule.graph.trace``), from ``chainrule.estimators.MLPRegressor`` (weights set through
   ``coefs_``) and from scikit-learn's ``MLPRegressor`` (its ``_backprop``), side by side.
3. Both estimators trained on the digits with the same settings: the same initial weights and
   batches, so the same accuracy; and the time each took.

Run: ``python examples/04_check_against_sklearn.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.estimators import MLPClassifier, MLPRegressor

X = np.array([[1.0]])
Y = np.array([1.0])
W1, W2 = np.array([[1.0, 2.0]]), np.array([[1.0], [1.0]])
B1, B2 = np.zeros(2), np.zeros(1)
QUANTITIES = ("hidden", "output", "loss", "dW1", "dW2", "db1", "db2")


def by_hand() -> dict:
    """z1 = x·W1 + b1, a1 = relu(z1), ŷ = a1·W2 + b2, L = ½(ŷ − y)², then back."""
    z1 = X @ W1 + B1  # [[1, 2]]
    a1 = np.maximum(z1, 0)  # [[1, 2]]
    out = a1 @ W2 + B2  # [[3]]
    loss = 0.5 * (out - Y) ** 2  # ½·(3 − 1)² = 2
    delta2 = out - Y  # ∂L/∂ŷ = ŷ − y = 2
    delta1 = (delta2 @ W2.T) * (z1 > 0)  # [[2, 2]]: relu passes where z1 > 0
    return {
        "hidden": a1[0],
        "output": out[0],
        "loss": float(loss.item()),
        "dW1": X.T @ delta1,  # [[2, 2]]
        "dW2": a1.T @ delta2,  # [[2], [4]]
        "db1": delta1.sum(axis=0),  # [2, 2]
        "db2": delta2.sum(axis=0),  # [2]
    }


def _engine_graph():
    x = cr.tensor(X)
    params = {
        name: cr.tensor(a, requires_grad=True)
        for name, a in (("W1", W1), ("b1", B1), ("W2", W2), ("b2", B2))
    }
    a1 = cr.relu(cr.linear(x, params["W1"], params["b1"]))
    out = cr.linear(a1, params["W2"], params["b2"])
    loss = (0.5 * (out - Y[0]) ** 2).sum()
    return x, params, a1, out, loss


def engine() -> dict:
    """The same network as chainrule tensors; ``backward()`` fills every ``.grad``."""
    _, p, a1, out, loss = _engine_graph()
    loss.backward()
    return {
        "hidden": a1.data[0],
        "output": out.data[0],
        "loss": loss.item(),
        **{f"d{k}": p[k].grad.data for k in ("W1", "W2")},
        **{f"d{k}": p[k].grad.data for k in ("b1", "b2")},
    }


def traced() -> tuple[dict, str]:
    """``chainrule.graph.trace``: every node's value and gradient, grouped by dense layer."""
    x, _, _, _, loss = _engine_graph()
    trace = cr.graph.trace(loss, names={"x": x})
    first, second = trace.layers
    values = {
        "hidden": first.output[0],
        "output": second.output[0],
        "loss": trace.loss,
        "dW1": first.weight_grad,
        "dW2": second.weight_grad,
        "db1": first.bias_grad,
        "db2": second.bias_grad,
    }
    return values, trace.to_markdown()


def _fitted_once(cls, **params):
    """A regressor of the seed's shape, fitted for one step so that it has its arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(
            hidden_layer_sizes=[2],
            activation="relu",
            alpha=0.0,
            max_iter=1,
            random_state=0,
            **params,
        ).fit(X, Y)


def estimator() -> dict:
    """chainrule's MLPRegressor with the seed's weights written into ``coefs_`` in place."""
    reg = _fitted_once(MLPRegressor, solver="sgd")
    reg.coefs_[0][:] = W1  # coefs_ are the network's own arrays
    reg.coefs_[1][:] = W2
    reg.intercepts_ = [B1, B2]
    loss, coef_grads, intercept_grads = reg.loss_and_gradients(X, Y)
    hidden = reg.model_[:2](cr.tensor(X)).data  # Linear + ReLU
    return {
        "hidden": hidden[0],
        "output": reg.predict(X),
        "loss": loss,
        "dW1": coef_grads[0],
        "dW2": coef_grads[1],
        "db1": intercept_grads[0],
        "db2": intercept_grads[1],
    }


def scikit_learn() -> dict:
    """scikit-learn's MLPRegressor with the same weights, through its own ``_backprop``."""
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    reg = _fitted_once(SkMLPRegressor, solver="sgd")
    reg.coefs_, reg.intercepts_ = [W1.copy(), W2.copy()], [B1.copy(), B2.copy()]
    activations = [X, None, None]
    coef_grads = [np.empty_like(W1), np.empty_like(W2)]
    intercept_grads = [np.empty_like(B1), np.empty_like(B2)]
    loss, coef_grads, intercept_grads = reg._backprop(
        X, Y.reshape(-1, 1), None, activations, [None, None], coef_grads, intercept_grads
    )
    return {
        "hidden": activations[1][0],
        "output": reg.predict(X),
        "loss": float(loss),
        "dW1": coef_grads[0],
        "dW2": coef_grads[1],
        "db1": intercept_grads[0],
        "db2": intercept_grads[1],
    }


def _fmt(value) -> str:
    """Numbers as ``2``, arrays as nested lists on one line: ``[[2], [4]]``."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return f"{a:.6g}"
    return "[" + ", ".join(_fmt(v) for v in a) + "]"


def side_by_side(columns: dict[str, dict]) -> float:
    """Prints one row per quantity, one column per source; returns the largest difference
    from the hand-worked numbers."""
    names = list(columns)
    print(f"   {'':7s}" + "".join(f"{n:>16s}" for n in names))
    worst = 0.0
    for q in QUANTITIES:
        print(f"   {q:7s}" + "".join(f"{_fmt(columns[n][q]):>16s}" for n in names))
        for n in names[1:]:
            diff = np.max(np.abs(np.asarray(columns[n][q], float) - columns[names[0]][q]))
            worst = max(worst, float(diff))
    return worst


def digits(max_iter: int) -> dict:
    """Both MLPClassifiers on the digits, same settings: accuracy and seconds."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    data_X, data_y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data_X / 16.0, data_y, test_size=0.25, random_state=0
    )
    settings = dict(hidden_layer_sizes=(64,), max_iter=max_iter, random_state=0)
    result = {}
    for name, cls in (("chainrule", MLPClassifier), ("scikit-learn", SkMLPClassifier)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            clf = cls(**settings).fit(X_train, y_train)
            seconds = time.perf_counter() - start
        result[name] = {"accuracy": clf.score(X_test, y_test), "seconds": seconds}
    print(f"3. digits, 64 ReLU units, Adam, {max_iter} epochs, same random_state")
    for name, r in result.items():
        print(f"   {name:13s} test accuracy {r['accuracy']:.4f} in {r['seconds']:.2f} s")
    ratio = result["chainrule"]["seconds"] / result["scikit-learn"]["seconds"]
    print(f"   time ratio chainrule / scikit-learn = {ratio:.2f}")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs (for tests)")
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    hand = by_hand()
    print("1. by hand: x = 1, y = 1, W1 = [[1, 2]], W2 = [[1], [1]], zero biases, ReLU")
    print("   z1 = x·W1 = [1, 2], a1 = relu(z1) = [1, 2], ŷ = a1·W2 = 1 + 2 = 3")
    print("   L = ½(ŷ − y)² = ½·(3 − 1)² = 2;  δ2 = ŷ − y = 2")
    print("   ∂L/∂W2 = a1ᵀ·δ2 = [[2], [4]],  ∂L/∂b2 = δ2 = [2]")
    print("   δ1 = (δ2·W2ᵀ) ⊙ relu'(z1) = [2, 2],  ∂L/∂W1 = xᵀ·δ1 = [[2, 2]],  ∂L/∂b1 = [2, 2]")
    trace_values, table = traced()
    columns = {
        "by hand": hand,
        "engine": engine(),
        "trace": trace_values,
        "estimator": estimator(),
        "scikit-learn": scikit_learn(),
    }
    print("2. the same numbers from each source")
    worst = side_by_side(columns)
    print(f"   largest difference from the hand-worked numbers: {worst:.1e}")
    (args.out / "seed_network_trace.md").write_text(table)
    results = {
        "columns": {
            k: {q: np.asarray(v[q]).tolist() for q in QUANTITIES} for k, v in columns.items()
        },
        "max_difference": worst,
        "digits": digits(5 if args.fast else 100),
    }
    path = args.out / "check_against_sklearn.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"   written: {path} and {args.out / 'seed_network_trace.md'}")
    results["json"] = path
    return results


if __name__ == "__main__":
    main()
