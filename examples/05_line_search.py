"""Steepest descent with exact line search zig-zags across a narrow valley; Armijo for contrast.
=============================================================================================

The seed exercise, done with chainrule: f(x, y) = ½(x² + b·y²) from (x₀, y₀) = (b, 1), b > 0.

1. ``optim.GradientDescent(params, line_search="exact")`` with a closure: every step goes to the
   minimum of f along −∇f, so consecutive steps are orthogonal and the path zig-zags. The
   iterates have a closed form (Boyd and Vandenberghe, *Convex Optimization*, §9.3.2)::

       x_k = b·((b − 1)/(b + 1))^k,   y_k = ((1 − b)/(1 + b))^k,
       f_k = ((b − 1)/(b + 1))^(2k) · f₀,

   printed next to what the optimiser did. The larger the condition number b, the closer the
   ratio (b − 1)/(b + 1) is to 1 and the slower the descent.
2. The same problem with Armijo backtracking (``line_search="armijo"``, trial step 1, halved
   until f falls by at least c₁·α·‖∇f‖²): how many steps and function evaluations each needs.
   Being exact along −∇f does not make the path short: at b = 10 the inexact steps get there
   in fewer steps (each exact step costs three closure calls: f and ∇f, a gradient for the
   Hessian-vector product, the trial point).
3. The contours of f with both paths drawn to ``line_search_zigzag.png``.

Run: ``python examples/05_line_search.py [--fast] [--b B] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import optim


def closed_form(b: float, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x_k, y_k, f_k) of exact-line-search steepest descent on ½(x² + b·y²) from (b, 1)."""
    r = (b - 1) / (b + 1)
    f0 = 0.5 * (b * b + b)
    return b * r**k, (-r) ** k, r ** (2 * k) * f0


def descend(b: float, line_search: str, steps: int, tol: float = 0.0) -> dict:
    """Runs ``steps`` steps (fewer if f < tol) from (b, 1); returns the path and the costs."""
    x = cr.tensor([b], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    opt = optim.GradientDescent([x, y], lr=1.0, line_search=line_search)

    def closure():
        loss = 0.5 * (x * x + b * y * y).sum()
        loss.backward()
        return loss

    path, losses, sizes = [(b, 1.0)], [float(closure().item())], []
    for _ in range(steps):
        if losses[-1] < tol:
            break
        opt.step(closure)
        path.append((x.item(), y.item()))
        losses.append(0.5 * (path[-1][0] ** 2 + b * path[-1][1] ** 2))
        sizes.append(opt.state[x]["step_size"])
    return {
        "path": np.array(path),
        "f": np.array(losses),
        "step_sizes": np.array(sizes),
        "func_evals": opt.state[x]["func_evals"],
    }


def exact_vs_formula(b: float, steps: int) -> dict:
    run = descend(b, "exact", steps)
    k = np.arange(len(run["f"]))
    xs, ys, fs = closed_form(b, k)
    print(f"1. exact line search on f = ½(x² + {b:g}·y²) from ({b:g}, 1)")
    r = (b - 1) / (b + 1)
    print(f"   r = (b − 1)/(b + 1) = {r:.6f}: every step multiplies f by r² = {r * r:.6f}")
    print(
        f"   {'k':>3} {'x_k':>12} {'formula':>12} {'y_k':>12} {'formula':>12} {'f_k':>12} "
        f"{'formula':>12} {'step α':>9}"
    )
    alphas = np.append(run["step_sizes"], np.nan)
    for i in k:
        px, py = run["path"][i]
        print(
            f"   {i:3d} {px:12.8f} {xs[i]:12.8f} {py:12.8f} {ys[i]:12.8f} {run['f'][i]:12.6e} "
            f"{fs[i]:12.6e} {alphas[i]:9.6f}"
        )
    error = float(np.max(np.abs(run["path"] - np.column_stack([xs, ys]))))
    f_error = float(np.max(np.abs(run["f"] - fs) / fs))
    # consecutive steps of an exact line search are orthogonal: ⟨d_k, d_{k+1}⟩ = 0
    d = np.diff(run["path"], axis=0)
    cosines = (
        np.sum(d[:-1] * d[1:], axis=1)
        / np.linalg.norm(d[:-1], axis=1)
        / np.linalg.norm(d[1:], axis=1)
    )
    print(f"   max |iterate − formula| = {error:.2e}, max relative f error = {f_error:.2e}")
    print(f"   largest |cos| between consecutive steps = {np.max(np.abs(cosines)):.2e} (zig-zag)")
    return {
        **run,
        "formula": np.column_stack([xs, ys]),
        "f_formula": fs,
        "max_error": error,
        "f_relative_error": f_error,
        "max_cosine": float(np.max(np.abs(cosines))),
    }


def exact_vs_armijo(b: float, tol: float, max_steps: int) -> dict:
    print(f"2. steps to reach f < {tol:g} (at most {max_steps})")
    runs = {}
    for search in ("exact", "armijo"):
        run = descend(b, search, max_steps, tol)
        runs[search] = run
        steps = len(run["f"]) - 1
        print(
            f"   {search:6s}: {steps:4d} steps, {run['func_evals']:4d} closure calls, "
            f"final f = {run['f'][-1]:.3e}, step sizes {np.unique(np.round(run['step_sizes'], 6))}"
        )
    exact, armijo = (len(runs[name]["f"]) - 1 for name in ("exact", "armijo"))
    if armijo < exact:
        print(
            f"   the exact step is the best along −∇f, not the best overall: Armijo's inexact "
            f"steps get there in {armijo} steps to exact's {exact}"
        )
    return runs


def plot(b: float, paths: dict[str, np.ndarray], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = np.concatenate(list(paths.values()))
    top = 1.15 * np.max(np.abs(points[:, 1]))
    X, Y = np.meshgrid(np.linspace(-0.1 * b, 1.1 * b, 400), np.linspace(-top, top, 200))
    fig, ax = plt.subplots(figsize=(10, 3.8))
    levels = 0.5 * (b * b + b) * np.geomspace(1e-4, 1, 12)
    ax.contour(X, Y, 0.5 * (X**2 + b * Y**2), levels=levels, colors="0.75", linewidths=0.8)
    styles = {"exact": ("C0", "o-"), "armijo": ("C3", "s--")}
    for name, points in paths.items():
        color, style = styles[name]
        label = f"{name} line search ({len(points) - 1} steps)"
        ax.plot(points[:, 0], points[:, 1], style, color=color, ms=3, lw=1.2, label=label)
    ax.plot(0, 0, "k*", ms=10, label="minimum")
    ax.set_aspect("equal")  # at equal scales the exact steps are visibly orthogonal
    ax.set(xlabel="x", ylabel="y", title=f"steepest descent on f = ½(x² + {b:g}y²) from ({b:g}, 1)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"3. contours and both paths drawn in {path}")
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer steps (for tests)")
    parser.add_argument("--b", type=float, default=10.0, help="condition number b of f (> 0)")
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    b = args.b
    exact = exact_vs_formula(b, 12 if args.fast else 25)
    tol = 1e-6 if args.fast else 1e-10
    runs = exact_vs_armijo(b, tol, 400 if args.fast else 2000)
    png = plot(
        b, {name: run["path"] for name, run in runs.items()}, args.out / "line_search_zigzag.png"
    )
    return {"b": b, "exact": exact, "race": runs, "plot": png}


if __name__ == "__main__":
    main()
