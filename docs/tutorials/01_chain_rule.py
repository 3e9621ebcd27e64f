"""
The chain rule by hand, forward and reverse mode, and the matrix chain
======================================================================

Every gradient chainrule computes is the chain rule applied to a few primitives. This tutorial
works it out by hand on the seed exercise, F(x, y) = log x + x²y + y² at (2, 3), then lets the
engine do it both ways, counts what each way costs, and shows why the costs differ: a Jacobian
of a composition is a product of matrices, and the order of a matrix product matters.
"""

import numpy as np

import chainrule as cr

# %%
# By hand
# -------
# Write F as a chain of primitives, each with an intermediate value:
#
# .. math::
#
#    v_1 = \log x,\quad v_2 = x^2,\quad v_3 = v_2 y,\quad v_4 = v_1 + v_3,\quad
#    v_5 = y^2,\quad F = v_4 + v_5.
#
# The chain rule multiplies local derivatives along every path from an input to F and sums the
# paths: ∂F/∂x = 1/x + 2x·y = 0.5 + 12 = 12.5 and ∂F/∂y = x² + 2y = 4 + 6 = 10.

x0, y0 = 2.0, 3.0
v1, v2 = np.log(x0), x0**2
v3 = v2 * y0
v5 = y0**2
F_value = v1 + v3 + v5
dF_dx = 1 / x0 + 2 * x0 * y0  # through v1, and through v2 then v3
dF_dy = v2 + 2 * y0  # through v3, and through v5
print(f"F(2, 3) = {F_value:.6f}, dF/dx = {dF_dx}, dF/dy = {dF_dy}")

# %%
# Reverse mode: one backward pass for every input
# -----------------------------------------------
# ``backward()`` starts from the output with ∂F/∂F = 1 and walks the graph backwards, each op
# multiplying the incoming gradient by its local derivative (its *reverse rule*). One pass fills
# the gradient of every input.


def F(x, y):
    return x.log() + x**2 * y + y**2


x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
y = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
F(x, y).backward()
print("reverse mode:", x.grad.item(), y.grad.item())
assert (x.grad.item(), y.grad.item()) == (dF_dx, dF_dy)

# %%
# Forward mode: one pass per input direction
# ------------------------------------------
# Forward mode pushes a *tangent* from the inputs to the output alongside the values, each op
# applying its *forward rule*. One pass gives the derivative along one direction of the inputs,
# so the two partial derivatives take two passes.

_, along_x = cr.jvp(F, (2.0, 3.0), (1.0, 0.0))
_, along_y = cr.jvp(F, (2.0, 3.0), (0.0, 1.0))
print("forward mode:", float(along_x), float(along_y))

# %%
# The graph the engine recorded, with every node's value and gradient, is the table a teacher
# writes on the board. The forward pass fills the *value* column from the top; the backward pass
# fills the gradient column from the bottom.

xs = cr.tensor([2.0], dtype=cr.float64, requires_grad=True)
ys = cr.tensor([3.0], dtype=cr.float64, requires_grad=True)
table = cr.graph.trace(F(xs, ys).sum(), names={"x": xs, "y": ys})
print(table.to_markdown())

# %%
# What each mode costs
# --------------------
# ``cr.jacobian(..., return_stats=True)`` counts the passes, the primitive evaluations and the
# multiply-adds. For f: Rⁿ → R (a loss of n parameters) reverse mode needs one backward pass
# whatever n is, forward mode n passes; for g: R → Rᵐ it is the other way round. That is why
# training uses reverse mode: one loss, many parameters.

rows = []
for n in (2, 8, 32):
    point = np.linspace(0.1, 1.0, n)
    weights = cr.tensor(np.linspace(0.0, 1.0, n))
    for label, f, at in (
        ("Rⁿ → R", lambda v: (v.sin() * v).sum(), point),
        ("R → Rᵐ", lambda t, w=weights: (t * w).sin(), np.array([0.5])),
    ):
        for mode in ("forward", "reverse"):
            _, stats = cr.jacobian(f, at, mode=mode, return_stats=True)
            rows.append((n, label, mode, stats.passes, stats.multiply_adds))
print(f"{'n = m':>6} {'function':>8} {'mode':>8} {'passes':>7} {'multiply-adds':>14}")
for n, label, mode, passes, madds in rows:
    print(f"{n:>6} {label:>8} {mode:>8} {passes:>7} {madds:>14}")

# %%
# Why: the matrix chain
# ---------------------
# The Jacobian of a composition is the product of its steps' Jacobians. Written in the order
# the steps run (chainrule's row-vector convention y = x·W, so a step from n to m values has an
# n × m Jacobian A), forward mode multiplies the chain A₁A₂⋯ from the left, starting at the
# input, and reverse mode from the right, starting at the output. When the shapes differ the
# order changes the work, and dynamic programming finds the cheapest order. On the textbook
# chain of matrices with dimensions 30 × 35 × 15 × 5 × 10 × 20 × 25:

chain = cr.graph.matrix_chain_order((30, 35, 15, 5, 10, 20, 25))
print(f"best order {chain.order}: {chain.cost:,} multiplications")
print(f"forward-mode order: {chain.forward_cost:,}; reverse-mode order: {chain.reverse_cost:,}")

# %%
# A network's loss ends in a k × 1 Jacobian (one number out), which makes the reverse-mode
# order the cheap one: every product in it is a matrix times a column vector. For a
# 784-100-100-10 network and its loss:

loss_chain = cr.graph.matrix_chain_order((784, 100, 100, 10, 1))
print(
    f"loss of a 784-100-100-10 network: reverse {loss_chain.reverse_cost:,}, "
    f"forward {loss_chain.forward_cost:,}, best {loss_chain.cost:,}"
)
