"""
Backward passes written by hand, and checked
============================================

The third and fourth seed exercises: a single neuron, a dense layer, the mean squared error and
ReLU, each with its backward pass written out by hand. Writing a rule is half the job; the other
half is checking it. chainrule's checker, ``chainrule.testing.check_grads``, compares a
function's derivatives with central finite differences along random directions, in float64,
for its reverse rules and its forward rules; registering a hand-written rule as an op
(``chainrule.ops.defop``) puts it under that check.
"""

import numpy as np
from _examples import load

import chainrule as cr
from chainrule.ops import defop, unregister
from chainrule.testing import GradientCheckError, NotDifferentiableError, check_grads

rng = np.random.default_rng(0)

# %%
# A neuron
# --------
# y = σ(z) with z = x·w + b, and the squared error L = ½(y − t)². The chain rule, one factor per
# step: ∂L/∂y = y − t, ∂y/∂z = σ'(z) = y(1 − y), ∂z/∂w = x, ∂z/∂b = 1.

x, w, b, t = rng.standard_normal(3), rng.standard_normal(3), 0.1, 1.0
y = 1 / (1 + np.exp(-(x @ w + b)))
delta = (y - t) * y * (1 - y)  # ∂L/∂z
by_hand_w, by_hand_b = delta * x, delta

w_t = cr.tensor(w, dtype=cr.float64, requires_grad=True)
b_t = cr.tensor(b, dtype=cr.float64, requires_grad=True)
L = 0.5 * (cr.sigmoid(cr.tensor(x) @ w_t + b_t) - t) ** 2
L.backward()
print("∂L/∂w by hand:", by_hand_w, " engine:", w_t.grad.data)
print("∂L/∂b by hand:", by_hand_b, " engine:", b_t.grad.item())
np.testing.assert_allclose(w_t.grad.data, by_hand_w, rtol=1e-12)

# %%
# Three layers as ops with hand-written rules
# -------------------------------------------
# Each op below gives its forward function, its reverse rule (``g`` is the gradient arriving from
# above, ``out`` the forward output) and its forward rule (``t`` an input's tangent), one per
# input:
#
# * ReLU: the gradient passes where the input was positive, relu'(0) := 0.
# * Dense, Y = X·W + b: dX = dY·Wᵀ, dW = Xᵀ·dY, db = Σ dY over the rows.
# * MSE, L = mean (p − y)²: ∂L/∂p = 2 (p − y) / n, and the opposite for y.

relu = defop(
    "tutorial_relu",
    lambda x: np.maximum(x, 0),
    vjp=lambda g, out, x: g * (x > 0),
    jvp=lambda t, out, x: t * (x > 0),
    public=False,
)
dense = defop(
    "tutorial_dense",
    lambda x, W, b: x @ W + b,
    vjp=(
        lambda g, out, x, W, b: g @ W.T,
        lambda g, out, x, W, b: x.T @ g,
        lambda g, out, x, W, b: g.sum(axis=0),
    ),
    jvp=(
        lambda t, out, x, W, b: t @ W,
        lambda t, out, x, W, b: x @ t,
        lambda t, out, x, W, b: np.broadcast_to(t, out.shape),
    ),
    public=False,
)
mse = defop(
    "tutorial_mse",
    lambda p, y: np.mean((p - y) ** 2),
    vjp=(
        lambda g, out, p, y: g * 2 * (p - y) / p.size,
        lambda g, out, p, y: -g * 2 * (p - y) / p.size,
    ),
    jvp=(
        lambda t, out, p, y: np.sum(t * 2 * (p - y)) / p.size,
        lambda t, out, p, y: -np.sum(t * 2 * (p - y)) / p.size,
    ),
    public=False,
)

# %%
# Checked against finite differences, in both modes
# -------------------------------------------------
# ``check_grads`` returns quietly when every rule agrees with the finite differences and raises
# otherwise, naming the argument and the mode.

X, W, bias = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
P, Y = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
check_grads(relu, (rng.standard_normal((5, 4)),), modes=("fwd", "rev"))
check_grads(dense, (X, W, bias), modes=("fwd", "rev"))
check_grads(mse, (P, Y), modes=("fwd", "rev"))
print("relu, dense and mse: reverse and forward rules agree with finite differences")

# %%
# A wrong rule does not pass. Here the MSE's reverse rule forgets the factor 2:

wrong_mse = defop(
    "tutorial_wrong_mse",
    lambda p, y: np.mean((p - y) ** 2),
    vjp=(lambda g, out, p, y: g * (p - y) / p.size, lambda g, out, p, y: -g * (p - y) / p.size),
    jvp=(
        lambda t, out, p, y: np.sum(t * 2 * (p - y)) / p.size,
        lambda t, out, p, y: -np.sum(t * 2 * (p - y)) / p.size,
    ),
    public=False,
)
try:
    check_grads(wrong_mse, (P, Y), modes=("rev",))
except GradientCheckError as error:
    print("caught:", error)

# %%
# And at a kink the checker says so instead of passing by luck: ReLU at exactly 0 has no
# derivative, whatever value a rule picks there.

try:
    check_grads(relu, (np.array([0.0, 1.0, -2.0]),))
except NotDifferentiableError as error:
    print("caught:", error)

# %%
# The whole backward pass, by hand and by the engine
# --------------------------------------------------
# ``examples/08_backward_from_scratch.py`` chains the same three rules by hand in NumPy
# (``mse_grad``, ``relu_grad``, ``lin_grad``) through a 10-50-1 network on the diabetes data;
# the engine's ``backward()`` gives the same gradients to rounding.

example = load("08_backward_from_scratch")
data_X, data_y = example.load(200)
weights = example.initial_weights(data_X.shape[1], 0)
results = example.compare_gradients(data_X, data_y, weights)
print("largest |by hand − engine| per gradient:", results["errors"])

# %%
# The tutorial's ops leave the registry as they found it.

for name in ("tutorial_relu", "tutorial_dense", "tutorial_mse", "tutorial_wrong_mse"):
    unregister(name)
