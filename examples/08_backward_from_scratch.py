"""The bare training loop with every gradient written by hand in NumPy, checked against the engine.
================================================================================================

The seed exercise ("backward from scratch"), done with chainrule: a 10-50-1 network on the
diabetes data (scikit-learn's, target standardised), forward::

    l1 = x·W1 + b1,   l2 = relu(l1),   out = l2·W2 + b2,   loss = mse(out, y) = mean (out − y)²

and the backward pass as three small functions, applied in the reverse order::

    mse_grad(out, y)      = 2 (out − y) / n                         ∂loss/∂out
    relu_grad(l1, g)      = g ⊙ [l1 > 0]                            ∂loss/∂l1 from ∂loss/∂l2
    lin_grad(x, W, g)     = (g·Wᵀ, xᵀ·g, Σ g)                       ∂loss/∂x, ∂loss/∂W, ∂loss/∂b

1. One forward and backward pass by hand and the same pass with the engine (``cr.linear``,
   ``cr.relu``, ``nn.functional.mse_loss``, ``backward()``) on the same float64 weights:
   every gradient compared number by number (largest absolute difference).
2. A few steps of plain gradient descent, once with the hand-written gradients and once with
   the engine and ``optim.SGD``: the two loss sequences side by side, equal to rounding.
3. The two loss curves drawn to ``backward_from_scratch.png``.

Run: ``python examples/08_backward_from_scratch.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.data import load_diabetes
from chainrule.nn import functional as F

N_HIDDEN = 50
NAMES = ("W1", "b1", "W2", "b2")


# ---- the hand-written network: plain NumPy, nothing from chainrule ----------------------------
def lin(x, w, b):
    return x @ w + b


def relu(x):
    return np.maximum(x, 0.0)


def mse(out, targ):
    return float(np.mean((out - targ) ** 2))


def mse_grad(out, targ):
    """∂/∂out of mean (out − targ)² over n rows: 2 (out − targ) / n."""
    return 2.0 * (out - targ) / out.shape[0]


def relu_grad(inp, g_out):
    """relu passes the gradient where its input was positive (relu'(0) := 0)."""
    return g_out * (inp > 0)


def lin_grad(inp, w, g_out):
    """y = x·W + b: dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy."""
    return g_out @ w.T, inp.T @ g_out, g_out.sum(axis=0)


def forward_and_backward(x, targ, W1, b1, W2, b2) -> tuple[float, dict]:
    """One pass by hand; returns the loss and the gradients of every input and weight."""
    l1 = lin(x, W1, b1)
    l2 = relu(l1)
    out = lin(l2, W2, b2)
    loss = mse(out, targ)
    g_out = mse_grad(out, targ)
    g_l2, g_W2, g_b2 = lin_grad(l2, W2, g_out)
    g_l1 = relu_grad(l1, g_l2)
    g_x, g_W1, g_b1 = lin_grad(x, W1, g_l1)
    return loss, {"x": g_x, "W1": g_W1, "b1": g_b1, "W2": g_W2, "b2": g_b2}


# ---- the same network on the engine ----------------------------------------------------------
def engine_pass(x, targ, params: dict) -> cr.Tensor:
    """The forward pass with chainrule's ops; ``backward()`` on the result does the rest."""
    out = cr.linear(cr.relu(cr.linear(x, params["W1"], params["b1"])), params["W2"], params["b2"])
    return F.mse_loss(out, targ)


def initial_weights(n_in: int, seed: int) -> dict[str, np.ndarray]:
    """He-scaled weights, zero biases (as the seed lesson), float64."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((n_in, N_HIDDEN)) * np.sqrt(2 / n_in),
        "b1": np.zeros(N_HIDDEN),
        "W2": rng.standard_normal((N_HIDDEN, 1)) * np.sqrt(2 / N_HIDDEN),
        "b2": np.zeros(1),
    }


def load(n_samples: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Diabetes features and target, standardised, float64; the target as a column, (n, 1),
    the shape of the network's output."""
    X, y = load_diabetes(dtype=np.float64)
    X, y = X[:n_samples], y[:n_samples]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, ((y - y.mean()) / y.std()).reshape(-1, 1)


def compare_gradients(X, y, weights) -> dict:
    loss, by_hand = forward_and_backward(X, y, *(weights[k] for k in NAMES))
    x = cr.tensor(X, requires_grad=True)
    params = {k: cr.tensor(v, requires_grad=True) for k, v in weights.items()}
    engine_loss = engine_pass(x, cr.tensor(y), params)
    engine_loss.backward()
    engine = {"x": x.grad.data, **{k: p.grad.data for k, p in params.items()}}
    print(f"1. one pass on {X.shape[0]} samples, {X.shape[1]}-{N_HIDDEN}-1 network, float64")
    print(f"   loss by hand {loss:.15f}   engine {engine_loss.item():.15f}")
    columns = ("gradient", 10), ("shape", 9), ("by hand [0]", 14), ("engine [0]", 14)
    print("   " + " ".join(f"{name:>{width}}" for name, width in columns) + f" {'max |diff|':>11}")
    errors = {}
    for name in ("b2", "W2", "b1", "W1", "x"):  # in the order backward produces them
        hand, eng = by_hand[name], engine[name]
        errors[name] = float(np.max(np.abs(hand - eng)))
        print(
            f"   {'d' + name:>10} {str(hand.shape):>9} {hand.flat[0]:14.10f} {eng.flat[0]:14.10f} "
            f"{errors[name]:11.2e}"
        )
    return {"loss": loss, "engine_loss": float(engine_loss.item()), "errors": errors}


def train_both(X, y, weights, steps: int, lr: float) -> dict:
    """``steps`` full-batch gradient steps with each; returns both loss sequences."""
    hand = {k: v.copy() for k, v in weights.items()}
    hand_losses = []
    for _ in range(steps):
        loss, grads = forward_and_backward(X, y, *(hand[k] for k in NAMES))
        hand_losses.append(loss)
        for k in NAMES:
            hand[k] -= lr * grads[k]

    params = {k: cr.tensor(v, requires_grad=True) for k, v in weights.items()}
    opt = optim.SGD(params.values(), lr=lr)
    x, t = cr.tensor(X), cr.tensor(y)
    engine_losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = engine_pass(x, t, params)
        loss.backward()
        opt.step()
        engine_losses.append(float(loss.item()))

    hand_losses, engine_losses = np.array(hand_losses), np.array(engine_losses)
    weight_error = max(float(np.max(np.abs(hand[k] - params[k].data))) for k in NAMES)
    print(
        f"2. {steps} steps of gradient descent (lr {lr}), by hand and with the engine + optim.SGD"
    )
    print(f"   {'step':>4} {'by hand':>18} {'engine':>18} {'|diff|':>9}")
    for i in sorted({0, 1, 2, steps // 2, steps - 1}):
        print(
            f"   {i:4d} {hand_losses[i]:18.15f} {engine_losses[i]:18.15f} "
            f"{abs(hand_losses[i] - engine_losses[i]):9.1e}"
        )
    print(f"   weights after training: max |by hand − engine| = {weight_error:.2e}")
    return {"hand": hand_losses, "engine": engine_losses, "weight_error": weight_error}


def plot(losses: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(losses["hand"], "o", ms=6, mfc="none", label="hand-written mse_grad/relu_grad/lin_grad")
    ax.plot(losses["engine"], ".-", ms=4, label="chainrule engine + optim.SGD")
    ax.set(xlabel="step", ylabel="training MSE", title="the same training run, two backward passes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"3. both loss curves drawn in {path}")
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer samples and steps (for tests)")
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    X, y = load(200 if args.fast else None)
    weights = initial_weights(X.shape[1], args.seed)
    results = {"gradients": compare_gradients(X, y, weights)}
    results["training"] = train_both(X, y, weights, 20 if args.fast else 100, lr=0.03)
    results["plot"] = plot(results["training"], args.out / "backward_from_scratch.png")
    return results


if __name__ == "__main__":
    main()
