"""The chain rule from the inputs or from the output: forward and reverse mode side by side.
=========================================================================================

The seed exercise, done with chainrule:

1. F(x, y) = log x + x²y + y² at (2, 3): reverse mode gets both partial derivatives from one
   backward pass; forward mode needs one pass per input direction. Both give 12.5 and 10.
2. What each mode costs, counted: for f: Rⁿ → R reverse mode's work stays flat in n while
   forward mode's grows with n; for f: R → Rᵐ it is the other way round.
3. Why: a Jacobian of a composition is a matrix chain. Multiplying it left to right is forward
   mode, right to left is reverse mode, and dynamic programming finds the cheapest order
   (the textbook chain (30, 35, 15, 5, 10, 20, 25) costs 15,125 multiplications).
4. The computational graph of F drawn to ``F_graph.svg`` (values and gradients in the nodes)
   and the backward pass written out as a table.

Run: ``python examples/01_forward_vs_reverse.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr


def F(x, y):
    return x.log() + x**2 * y + y**2


def both_modes() -> dict:
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    y = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    value = F(x, y)
    value.backward()
    reverse = (x.grad.item(), y.grad.item())
    x0, y0 = cr.tensor(2.0, dtype=cr.float64), cr.tensor(3.0, dtype=cr.float64)
    _, dx = cr.jvp(F, (x0, y0), (1.0, 0.0))  # direction (1, 0): ∂F/∂x
    _, dy = cr.jvp(F, (x0, y0), (0.0, 1.0))  # direction (0, 1): ∂F/∂y
    forward = (dx.item(), dy.item())
    print(f"1. F(2, 3) = log 2 + 2²·3 + 3² = {value.item():.6f}")
    print(f"   reverse mode, 1 backward pass:  dF/dx = {reverse[0]}, dF/dy = {reverse[1]}")
    print(f"   forward mode, 2 forward passes: dF/dx = {forward[0]}, dF/dy = {forward[1]}")
    print("   by hand: dF/dx = 1/x + 2xy = 0.5 + 12 = 12.5, dF/dy = x² + 2y = 4 + 6 = 10")
    return {"value": value.item(), "reverse": reverse, "forward": forward}


def costs(sizes: list[int]) -> dict:
    print("2. cost of the Jacobian, counted (passes / primitive evaluations / multiply-adds)")
    table = {}
    for n in sizes:
        x = np.linspace(0.1, 1.0, n)
        scalar = lambda v: (v.sin() * v).sum()  # Rⁿ → R
        vector = lambda t, n=n: (t * cr.tensor(np.linspace(0.0, 1.0, n))).sin()  # R → Rⁿ
        row = {}
        for label, f, point in (("R^n->R", scalar, x), ("R->R^m", vector, np.array([0.5]))):
            for mode in ("forward", "reverse"):
                _, s = cr.jacobian(f, point, mode=mode, return_stats=True)
                row[(label, mode)] = (s.passes, s.primitive_evaluations, s.multiply_adds)
        table[n] = row
        cells = "   ".join(
            f"{label} {mode[:3]}: {p}/{e}/{m}" for (label, mode), (p, e, m) in row.items()
        )
        print(f"   n = m = {n:3d}   {cells}")
    return table


def matrix_chain() -> dict:
    chain = cr.graph.matrix_chain_order((30, 35, 15, 5, 10, 20, 25))
    print("3. matrix chain (30, 35, 15, 5, 10, 20, 25)")
    print(f"   best order {chain.order}: {chain.cost:,} multiplications")
    print(
        f"   left to right (forward mode): {chain.forward_cost:,}; "
        f"right to left (reverse mode): {chain.reverse_cost:,}"
    )
    return {
        "cost": chain.cost,
        "forward": chain.forward_cost,
        "reverse": chain.reverse_cost,
        "order": chain.order,
    }


def graph(out: Path) -> Path:
    x = cr.tensor([2.0], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([3.0], dtype=cr.float64, requires_grad=True)
    value = F(x, y).sum()
    table = cr.graph.trace(value, names={"x": x, "y": y})
    path = table.draw().save(out / "F_graph.svg")
    print(f"4. the graph of F with values and gradients: {path}")
    print(table.to_markdown())
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="smaller sizes (for tests)")
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return {
        "modes": both_modes(),
        "costs": costs([2, 8] if args.fast else [2, 8, 32, 128]),
        "chain": matrix_chain(),
        "svg": graph(args.out),
    }


if __name__ == "__main__":
    main()
