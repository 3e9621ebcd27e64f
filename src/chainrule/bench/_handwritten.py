"""W2's reference: the 2-10-5-1 sigmoid network trained by a hand-written NumPy loop.

The minimal loop a good engineer would write: float32 arrays, the forward, backward and update
spelt out, no framework. Each step computes the loss too (every library's step does), and the
batches follow the same shuffling as ``DataLoader(shuffle=True, generator=Generator(seed))``:
``numpy.random.default_rng(seed).permutation(n)`` each epoch, cut into batches in order.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e⁻ᶻ), elementwise, in z's dtype."""
    return 1.0 / (1.0 + np.exp(-z))


def gradients(params: list[np.ndarray], xb: np.ndarray, yb: np.ndarray):
    """The mean BCE-with-logits loss of a batch and its gradients, by hand.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2, W3, b3]``, each ``W`` shaped ``(fan_in, fan_out)`` (chainrule's
        ``nn.Linear`` layout), each ``b`` ``(fan_out,)``.
    xb : ndarray, shape (n_samples, 2)
    yb : ndarray, shape (n_samples, 1)
        Targets in {0, 1}.

    Returns
    -------
    loss : float
    grads : list of ndarray
        The gradients of ``params``, in their order and shapes.
    """
    W1, b1, W2, b2, W3, b3 = params
    a1 = sigmoid(xb @ W1 + b1)
    a2 = sigmoid(a1 @ W2 + b2)
    z = a2 @ W3 + b3
    # BCE with logits: softplus(z) - y z, softplus(z) = log(e⁰ + eᶻ); ∂/∂z = σ(z) - y
    loss = (np.logaddexp(0, z) - z * yb).mean()
    d3 = (sigmoid(z) - yb) / len(xb)
    d2 = (d3 @ W3.T) * a2 * (1 - a2)  # σ' = σ (1 - σ)
    d1 = (d2 @ W2.T) * a1 * (1 - a1)
    grads = [xb.T @ d1, d1.sum(0), a1.T @ d2, d2.sum(0), a2.T @ d3, d3.sum(0)]
    return float(loss), grads


class HandWrittenLoop:
    """SGD with momentum (PyTorch's rule: v ← μ v + g, p ← p − lr v) on :func:`gradients`.

    Parameters
    ----------
    params : list of ndarray
        The initial ``[W1, b1, W2, b2, W3, b3]`` (copied).
    lr, momentum : float
    seed : int
        Seeds the shuffling.
    """

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float, seed: int) -> None:
        self.params = [np.array(p, dtype=np.float32) for p in params]
        self.velocities = [np.zeros_like(p) for p in self.params]
        self.lr, self.momentum = lr, momentum
        self.rng = np.random.default_rng(seed)

    def step(self, xb: np.ndarray, yb: np.ndarray) -> float:
        """One training step on a batch; its loss (before the update)."""
        loss, grads = gradients(self.params, xb, yb)
        for p, v, g in zip(self.params, self.velocities, grads):
            v *= self.momentum
            v += g
            p -= self.lr * v
        return loss

    def epoch(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> int:
        """One shuffled pass over ``X, y``; the number of steps."""
        order = self.rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            index = order[start : start + batch_size]
            self.step(X[index], y[index])
        return -(-len(X) // batch_size)


def params_of(model) -> list[np.ndarray]:
    """Copies of a chainrule ``Sequential``'s Linear weights and biases, in order."""
    return [p.data.copy() for p in model.parameters()]
