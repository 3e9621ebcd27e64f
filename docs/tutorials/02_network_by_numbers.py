"""
A two-layer network, number by number
=====================================

The second seed exercise: one input x = 1 with target y = 1, a hidden layer of two ReLU units
with weights W1 = [[1, 2]], one linear output unit with W2 = [[1], [1]], zero biases and the
squared error L = ½(ŷ − y)². First every number of the forward and backward pass by hand, then
the same numbers from chainrule's engine, from its trace table, from
``chainrule.estimators.MLPRegressor`` and from scikit-learn's own ``MLPRegressor``.
"""

import numpy as np
from _examples import load

import chainrule as cr

x, y = np.array([[1.0]]), np.array([1.0])
W1, b1 = np.array([[1.0, 2.0]]), np.zeros(2)
W2, b2 = np.array([[1.0], [1.0]]), np.zeros(1)

# %%
# The forward pass
# ----------------
# chainrule stores a dense layer's weight as (inputs, outputs), so a layer is z = x·W + b, as on
# the blackboard.

z1 = x @ W1 + b1  # [[1, 2]]
a1 = np.maximum(z1, 0)  # relu: [[1, 2]]
y_hat = a1 @ W2 + b2  # 1·1 + 2·1 = [[3]]
loss = 0.5 * (y_hat - y) ** 2  # ½·(3 − 1)² = 2
print(f"z1 = {z1}, a1 = {a1}, ŷ = {y_hat}, L = {loss.item()}")

# %%
# The backward pass
# -----------------
# Each layer's *delta* is the gradient of the loss with respect to its pre-activation. The
# output's is ∂L/∂ŷ = ŷ − y = 2. Going down a layer multiplies by the weights transposed and by
# the activation's derivative (relu' = 1 where z1 > 0). A weight's gradient is its layer's input
# transposed times its delta, a bias's gradient the delta summed over the batch.

delta2 = y_hat - y  # [[2]]
delta1 = (delta2 @ W2.T) * (z1 > 0)  # [[2, 2]]
by_hand = {
    "dW2": a1.T @ delta2,  # [[1·2], [2·2]] = [[2], [4]]
    "db2": delta2.sum(axis=0),  # [2]
    "dW1": x.T @ delta1,  # [[2, 2]]
    "db1": delta1.sum(axis=0),  # [2, 2]
}
for name, value in by_hand.items():
    print(f"{name} = {value.tolist()}")

# %%
# The same numbers from the engine
# --------------------------------
# The same network as tensors: ``backward()`` runs the reverse rules of ``linear`` and
# ``relu`` and fills every ``.grad``.

params = {
    name: cr.tensor(a, requires_grad=True)
    for name, a in {"W1": W1, "b1": b1, "W2": W2, "b2": b2}.items()
}
hidden = cr.relu(cr.linear(cr.tensor(x), params["W1"], params["b1"]))
out = cr.linear(hidden, params["W2"], params["b2"])
engine_loss = (0.5 * (out - y[0]) ** 2).sum()
engine_loss.backward()
for name, p in params.items():
    print(f"d{name} = {p.grad.data.tolist()}")
    np.testing.assert_allclose(p.grad.data, by_hand[f"d{name}"])

# %%
# The trace table
# ---------------
# ``cr.graph.trace`` runs the backward pass with hooks and writes down every node's value and
# gradient, grouped by dense layer: outputs, deltas, weight and bias gradients. It leaves
# ``.grad`` alone.

hidden = cr.relu(cr.linear(cr.tensor(x), params["W1"], params["b1"]))
out = cr.linear(hidden, params["W2"], params["b2"])
trace = cr.graph.trace((0.5 * (out - y[0]) ** 2).sum())
print(trace.to_markdown())

# %%
# The estimators: chainrule's and scikit-learn's
# ----------------------------------------------
# ``examples/04_check_against_sklearn.py`` puts the same weights into both libraries'
# ``MLPRegressor`` (chainrule's ``coefs_`` are views of its network's own weights; scikit-learn's
# gradients come from its private ``_backprop``) and prints every quantity side by side: hand,
# engine, trace, chainrule's estimator and scikit-learn.

example = load("04_check_against_sklearn")
columns = {
    "by hand": example.by_hand(),
    "engine": example.engine(),
    "trace": example.traced()[0],
    "chainrule est.": example.estimator(),
    "scikit-learn": example.scikit_learn(),
}
worst = example.side_by_side(columns)
print(f"largest difference from the hand-worked numbers: {worst}")
