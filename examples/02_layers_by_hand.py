"""Layers with their backward passes written out, checked against the engine, then trained.
========================================================================================

The seed exercise, done with chainrule:

1. a single sigmoid neuron with squared error: the chain rule written out by hand, and the
   same gradients from ``backward()``;
2. a dense layer Y = X W + b: dX = dY·Wᵀ, dW = Xᵀ·dY, db = Σ dY by hand, and from the engine;
3. mini-batch gradient descent recovering the coefficients of ``make_regression``;
4. a 1-10-1 ReLU network fitted to y = x² + noise, its predictions at intermediate epochs
   plotted to ``fit_x_squared.png``.

Run: ``python examples/02_layers_by_hand.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader, make_regression


def neuron(rng: np.random.Generator) -> float:
    """y = σ(x·w + b), L = ½(y − t)²: ∂L/∂w = (y − t)·y(1 − y)·x, ∂L/∂b = (y − t)·y(1 − y)."""
    x, t = rng.standard_normal(3), 1.0
    w, b = rng.standard_normal(3), 0.1
    z = x @ w + b
    y = 1 / (1 + np.exp(-z))
    delta = (y - t) * y * (1 - y)
    by_hand = np.append(delta * x, delta)

    wt = cr.tensor(w, requires_grad=True)
    bt = cr.tensor(b, dtype=cr.float64, requires_grad=True)
    loss = 0.5 * (cr.sigmoid(cr.tensor(x) @ wt + bt) - t) ** 2
    loss.backward()
    engine = np.append(wt.grad.data, bt.grad.data)
    print("1. one sigmoid neuron, L = ½(σ(x·w + b) − t)²")
    print(f"   by hand: dL/dw = {np.round(by_hand[:3], 6)}, dL/db = {by_hand[3]:.6f}")
    print(f"   engine:  dL/dw = {np.round(engine[:3], 6)}, dL/db = {engine[3]:.6f}")
    return float(np.max(np.abs(by_hand - engine)))


def dense_layer(rng: np.random.Generator) -> float:
    """Y = X W + b with a random cotangent dY: the three blackboard formulas."""
    X, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    dY = rng.standard_normal((4, 2))
    by_hand = {"dX": dY @ W.T, "dW": X.T @ dY, "db": dY.sum(axis=0)}

    Xt, Wt, bt = (cr.tensor(a, requires_grad=True) for a in (X, W, b))
    cr.linear(Xt, Wt, bt).backward(grad=dY)
    engine = {"dX": Xt.grad.data, "dW": Wt.grad.data, "db": bt.grad.data}
    print("2. dense layer Y = X W + b (X 4x3, W 3x2) under a random dY")
    worst = 0.0
    for name, formula in (("dX", "dY·Wᵀ"), ("dW", "Xᵀ·dY"), ("db", "Σ dY")):
        err = float(np.max(np.abs(by_hand[name] - engine[name])))
        worst = max(worst, err)
        print(f"   {name} = {formula:6s} max |hand − engine| = {err:.2e}")
    return worst


def regression(epochs: int) -> float:
    """Mini-batch SGD on a linear model recovers make_regression's coefficients."""
    X, y, coef = make_regression(200, 5, n_informative=5, noise=0.1, coef=True, random_state=0)
    cr.manual_seed(0)
    model = nn.Linear(5, 1)
    opt = optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.MSELoss()
    loader = DataLoader(ArrayDataset(X, y.reshape(-1, 1)), batch_size=16, shuffle=True)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    learned = model.weight.data[:, 0]
    print(f"3. mini-batch gradient descent on make_regression ({epochs} epochs, batch 16)")
    print(f"   true coefficients    {np.round(coef, 2)}")
    print(f"   learned coefficients {np.round(learned, 2)}")
    return float(np.max(np.abs(learned - coef) / np.abs(coef)))


def fit_x_squared(epochs: int, out: Path) -> tuple[float, Path]:
    """A 1-10-1 ReLU network fitted to y = x² + noise; predictions drawn at a few epochs."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (256, 1)).astype(np.float32)
    y = (x**2 + rng.normal(0, 0.1, x.shape)).astype(np.float32)
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(1, 10), nn.ReLU(), nn.Linear(10, 1))
    opt = optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.MSELoss()
    grid = np.linspace(-2, 2, 200, dtype=np.float32).reshape(-1, 1)
    snapshots = {}
    marks = sorted({0, epochs // 10, epochs // 3, epochs})
    loader = DataLoader(ArrayDataset(x, y), batch_size=32, shuffle=True)
    for epoch in range(epochs + 1):
        if epoch in marks:
            with cr.no_grad():
                snapshots[epoch] = model(cr.tensor(grid)).data[:, 0]
        if epoch == epochs:
            break
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    with cr.no_grad():
        mse = float(loss_fn(model(cr.tensor(x)), cr.tensor(y)).item())
    path = out / "fit_x_squared.png"
    _plot(x, y, grid, snapshots, path)
    print(
        f"4. 1-10-1 ReLU network on y = x² + noise: training MSE after {epochs} epochs "
        f"{mse:.4f}; predictions at epochs {marks} drawn in {path}"
    )
    return mse, path


def _plot(x, y, grid, snapshots, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x[:, 0], y[:, 0], s=6, color="0.6", label="data")
    for epoch, pred in snapshots.items():
        ax.plot(grid[:, 0], pred, label=f"epoch {epoch}")
    ax.set(xlabel="x", ylabel="y", title="1-10-1 ReLU network fitting y = x²")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs (for tests)")
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    results = {"neuron_error": neuron(rng), "dense_error": dense_layer(rng)}
    results["coef_relative_error"] = regression(10 if args.fast else 40)
    results["x_squared_mse"], results["plot"] = fit_x_squared(60 if args.fast else 300, args.out)
    return results


if __name__ == "__main__":
    main()
