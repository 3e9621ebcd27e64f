"""Gradient descent, mini-batch SGD and SGD with momentum on one-dimensional least squares.
========================================================================================

The seed exercise, done with chainrule: fit y = a·x + b to noisy points (a = 2, b = −1), with
the mean squared error L(a, b) = (1/n) Σ (a·xᵢ + b − yᵢ)² as the loss.

1. The closed-form least-squares solution: the normal equations [Σx² Σx; Σx n]·(a, b) =
   (Σxy, Σy), solved directly, and the smallest loss L*.
2. Three optimisers from the same start (a, b) = (0, 0) for the same number of epochs:
   full-batch gradient descent (one step per epoch), mini-batch SGD (batches of 10, reshuffled
   every epoch) and SGD with momentum, Rumelhart's rule Δw(t) = −ε ∂E/∂w + α Δw(t − 1), which is
   ``optim.SGD(lr=ε, momentum=α)``. Printed: the loss per epoch and the parameters, next to the
   closed form. Mini-batch SGD takes 20 steps per epoch and is near L* within a few epochs,
   then wanders in a cloud around the solution whose size is set by ε (printed: the RMS
   distance over the second half of the steps); full-batch descent is slower per epoch but
   converges to the closed form. The momentum run has the same long-run step ε/(1 − α) = 0.05
   as plain SGD; its velocity averages the gradients of about 1/(1 − α) = 10 batches.
3. The contours of L with the three parameter paths, and the excess loss L − L* per epoch on a
   log scale, drawn to ``sgd_least_squares.png``.

Run: ``python examples/06_sgd_least_squares.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader

TRUE_A, TRUE_B = 2.0, -1.0
RUNS = {  # name: (batch size, lr ε, momentum α); batch None means the whole data set
    "full-batch GD": (None, 0.2, 0.0),
    "mini-batch SGD": (10, 0.05, 0.0),
    "SGD + momentum": (10, 0.005, 0.9),
}


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(1, 1) (not centred, so a and b are coupled), y = 2x − 1 + N(0, 0.5²)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 1.0, n)
    return x, TRUE_A * x + TRUE_B + rng.normal(0.0, 0.5, n)


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Solves the normal equations; returns (a, b) and the smallest mean squared error."""
    n = len(x)
    normal = np.array([[x @ x, x.sum()], [x.sum(), n]])
    ab = np.linalg.solve(normal, np.array([x @ y, y.sum()]))
    return ab, float(np.mean((ab[0] * x + ab[1] - y) ** 2))


def train(x, y, batch_size, lr, momentum, epochs, seed) -> dict:
    """Fits (a, b) from (0, 0) with ``optim.SGD``; records every step and every epoch."""
    a = cr.tensor([0.0], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([0.0], dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([a, b], lr=lr, momentum=momentum)
    loss_fn = nn.MSELoss()
    data = ArrayDataset(x, y)
    loader = DataLoader(
        data,
        batch_size=batch_size or len(x),
        shuffle=batch_size is not None,
        generator=cr.Generator(seed),
    )
    xt, yt = cr.tensor(x), cr.tensor(y)
    path, losses = [(0.0, 0.0)], []
    for _ in range(epochs):
        with cr.no_grad():
            losses.append(float(loss_fn(a * xt + b, yt).item()))
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(a * xb + b, yb).backward()
            opt.step()
            path.append((a.item(), b.item()))
    with cr.no_grad():
        losses.append(float(loss_fn(a * xt + b, yt).item()))
    return {"path": np.array(path), "loss": np.array(losses), "params": np.array(path[-1])}


def compare(x, y, epochs: int, seed: int) -> dict:
    ab, best = least_squares(x, y)
    print(
        f"1. {len(x)} points y = a·x + b + noise, true a = {TRUE_A:g}, b = {TRUE_B:g}; normal "
        f"equations: a = {ab[0]:.6f}, b = {ab[1]:.6f}, L* = {best:.6f}"
    )
    runs = {}
    for name, (batch, lr, momentum) in RUNS.items():
        runs[name] = train(x, y, batch, lr, momentum, epochs, seed)
    print(f"2. {epochs} epochs from (0, 0): loss L per epoch")
    marks = sorted({0, 1, 2, 5, epochs // 4, epochs // 2, epochs})
    print(f"   {'epoch':>5}  " + "  ".join(f"{name:>15}" for name in runs))
    for e in marks:
        print(f"   {e:5d}  " + "  ".join(f"{run['loss'][e]:15.6f}" for run in runs.values()))
    print(
        f"   {'name':15s} {'batch':>5} {'ε':>6} {'α':>4} {'steps':>6} {'a':>10} {'b':>10} "
        f"{'|(a,b) − LS|':>13} {'cloud RMS':>10}"
    )
    for name, run in runs.items():
        batch, lr, momentum = RUNS[name]
        run["distance"] = float(np.linalg.norm(run["params"] - ab))
        tail = run["path"][len(run["path"]) // 2 :]
        run["cloud_rms"] = float(np.sqrt(np.mean(np.sum((tail - ab) ** 2, axis=1))))
        print(
            f"   {name:15s} {batch or len(x):5d} {lr:6g} {momentum:4g} {len(run['path']) - 1:6d} "
            f"{run['params'][0]:10.6f} {run['params'][1]:10.6f} "
            f"{run['distance']:13.2e} {run['cloud_rms']:10.2e}"
        )
    print(f"   {'least squares':15s} {'':5s} {'':6s} {'':4s} {'':6s} {ab[0]:10.6f} {ab[1]:10.6f}")
    return {"least_squares": ab, "best_loss": best, "runs": runs}


def plot(x, y, result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ab, best = result["least_squares"], result["best_loss"]
    A, B = np.meshgrid(np.linspace(-0.3, 2.8, 200), np.linspace(-1.8, 1.2, 200))
    L = np.mean((A[..., None] * x + B[..., None] - y) ** 2, axis=-1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.contour(A, B, L, levels=best + np.geomspace(0.01, 10, 12), colors="0.75", linewidths=0.8)
    for i, (name, run) in enumerate(result["runs"].items()):
        p = run["path"]
        left.plot(p[:, 0], p[:, 1], "-", color=f"C{i}", lw=1, alpha=0.8, label=name)
        right.semilogy(np.maximum(run["loss"] - best, 1e-16), color=f"C{i}", label=name)
    left.plot(*ab, "k*", ms=12, label="least squares")
    left.set(xlabel="slope a", ylabel="intercept b", title="parameter paths on the contours of L")
    left.legend(fontsize=8)
    right.set(xlabel="epoch", ylabel="L − L*", title="excess loss per epoch")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"3. paths and loss curves drawn in {path}")
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs (for tests)")
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    x, y = make_data(200, args.seed)
    result = compare(x, y, 60 if args.fast else 200, args.seed)
    result["plot"] = plot(x, y, result, args.out / "sgd_least_squares.png")
    return result


if __name__ == "__main__":
    main()
