"""Output activations and losses: the graph the gradient comes from, and the value reported.

Each objective pairs an output activation with its canonical loss, so that the gradient with
respect to the logits z is scikit-learn's δ = w·(activation(z) − y)/Σw (``_backprop``):

=============  ==================  ================================================
output         loss                per-sample term in the graph, from the logits z
=============  ==================  ================================================
logistic       binary log loss     Σ_k softplus(z) − y·z (fused, stable)
softmax        log loss            −Σ_k y·log_softmax(z) (stable)
identity       squared_error       ½ Σ_k (z − y)²
identity       absolute_error      Σ_k |z − y|
identity       huber               Σ_k huber(z − y), δ = 1
exp            poisson             Σ_k exp(z) − y·z   (half Poisson deviance up to a constant)
=============  ==================  ================================================

The training objective is Σ_n w_n·term_n / Σ_n w_n (plus the L2 penalty, added by the caller).
The reported loss (``loss_``, ``loss_curve_``) is scikit-learn's value: log losses are computed
on probabilities clipped to [eps, 1 − eps] (here: each term clipped to [−log(1 − eps),
−log eps], the same number), and the regression losses are averaged over the outputs (Poisson
summed, with the deviance's constant), exactly as scikit-learn reports them. The gradient,
like scikit-learn's, is that of the sum over outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, xlogy

from .. import ops
from .._numerics import softmax
from .._tensor import Tensor
from ..nn import Linear
from ..nn import functional as F


class Objective:
    """Base: ``loss`` builds the graph, ``reported`` gives the value scikit-learn would print."""

    out_activation = "identity"
    mean_over_outputs = True  # scikit-learn's squared_error averages over the outputs

    def targets(self, Y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """What ``loss`` takes as y: the 2-D target array in the network's dtype."""
        return np.ascontiguousarray(Y, dtype=dtype)

    def loss(self, z: Tensor, y: np.ndarray, c: Any) -> tuple[Tensor, Tensor]:
        """The graph node Σ_n c_n·term_n and the node the terms are read from (``terms``).

        ``c`` is w/Σw as a column (n, 1), or the float 1/n when the samples are unweighted.
        Everything is computed by ops on ``z``, ``y`` and ``c``, so that a recorded training
        step (``train.CompiledStep``) can replay it.
        """
        raise NotImplementedError

    def terms(self, source: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The per-sample (or per-element) terms from the values of ``loss``'s second node."""
        return source

    def output(self, z: np.ndarray) -> np.ndarray:
        """The output activation applied to logits (predictions, probabilities)."""
        return z

    def as_reported(self, terms: np.ndarray, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The per-sample (or per-element) terms as scikit-learn computes them."""
        return terms

    def reported(self, terms: np.ndarray, z: np.ndarray, y: np.ndarray, w: Any, sw: float) -> float:
        """The data loss as scikit-learn computes it, from the graph's terms."""
        values = self.as_reported(terms, z, y)
        n_outputs = values.shape[1] if values.ndim == 2 else 1
        if values.ndim == 2:
            values = values.sum(axis=1)
        total = float(values.sum() if w is None else values @ w)
        return total / sw / (n_outputs if self.mean_over_outputs else 1)


def _negative(c: Any) -> Any:
    """−c: a Python float stays one (NumPy then keeps the targets' dtype), an array is negated
    by an op (so that a recorded step replays it)."""
    return -c if isinstance(c, float) else ops.neg(c)


def weighted_sum(terms: Tensor, c: Any) -> Tensor:
    """Σ c·terms as a graph node: one multiply by a column, or by the scalar after the sum."""
    if isinstance(c, (np.ndarray, Tensor)):
        return (terms * c).sum()
    return terms.sum() * c


_BOUNDS: dict[np.dtype, tuple[float, float]] = {}


def _log_loss_bounds(dtype: np.dtype) -> tuple[float, float]:
    """[−log(1 − eps), −log eps] for ``dtype``'s eps (cached: it is asked at every batch)."""
    bounds = _BOUNDS.get(dtype)
    if bounds is None:
        eps = np.finfo(dtype).eps
        bounds = _BOUNDS[dtype] = (-np.log1p(-eps), -np.log(eps))
    return bounds


class BinaryLogLoss(Objective):
    """Logistic outputs (binary and multilabel classification)."""

    out_activation = "logistic"
    mean_over_outputs = False

    def loss(self, z: Tensor, y: np.ndarray, c: Any) -> tuple[Tensor, Tensor]:
        terms = ops.binary_cross_entropy_with_logits(z, y, reduction="none")
        return weighted_sum(terms, c), terms

    def output(self, z: np.ndarray) -> np.ndarray:
        return expit(z)

    def as_reported(self, terms: np.ndarray, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return terms.clip(*_log_loss_bounds(terms.dtype))  # a copy: terms may be the graph's


class LogLoss(BinaryLogLoss):
    """Softmax outputs (multiclass classification), one-hot targets: the loss node is
    −Σ_n c_n·Σ_k y_nk·log_softmax(z)_nk (three ops, the weights folded into the targets)."""

    out_activation = "softmax"

    def loss(self, z: Tensor, y: np.ndarray, c: Any) -> tuple[Tensor, Tensor]:
        log_p = ops.log_softmax(z, axis=1)
        return (log_p * ops.mul(y, _negative(c))).sum(), log_p

    def terms(self, source: np.ndarray, y: np.ndarray) -> np.ndarray:
        # −Σ_k y_nk·log p_nk without the (n, k) product: one-hot rows make it exact in any order
        return -np.einsum("nk,nk->n", source, y)

    def output(self, z: np.ndarray) -> np.ndarray:
        return softmax(z, axis=1)


class SquaredError(Objective):
    def loss(self, z: Tensor, y: np.ndarray, c: Any) -> tuple[Tensor, Tensor]:
        d = z - y
        squares = d * d
        half = c * 0.5 if isinstance(c, float) else ops.mul(c, 0.5)
        return weighted_sum(squares, half), squares

    def terms(self, source: np.ndarray, y: np.ndarray) -> np.ndarray:
        return source * 0.5


class AbsoluteError(Objective):
    def loss(self, z: Tensor, y: np.ndarray, c: Any) -> tuple[Tensor, Tensor]:
        terms = F.l1_loss(z, y, reduction="none")
        return weighted_sum(terms, c), terms


class Huber(Objective):
    def loss(self, z: Tensor, y: np.ndarray, c: Any) -> tuple[Tensor, Tensor]:
        terms = F.huber_loss(z, y, reduction="none", delta=1.0)
        return weighted_sum(terms, c), terms


class Poisson(Objective):
    """Log link: predictions exp(z); needs y ≥ 0."""

    out_activation = "exp"
    mean_over_outputs = False

    def loss(self, z: Tensor, y: np.ndarray, c: Any) -> tuple[Tensor, Tensor]:
        terms = ops.exp(z) - y * z
        return weighted_sum(terms, c), terms

    def output(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z)

    def as_reported(self, terms: np.ndarray, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        p = np.exp(z)
        return xlogy(y, y / p) - y + p


REGRESSION = {
    "squared_error": SquaredError,
    "absolute_error": AbsoluteError,
    "huber": Huber,
    "poisson": Poisson,
}


def objective(out_activation: str | None, loss: str | None = None) -> Objective:
    """The objective of a classifier (by output activation) or a regressor (by loss)."""
    if loss is not None:
        return REGRESSION[loss]()
    return LogLoss() if out_activation == "softmax" else BinaryLogLoss()


def sample_coefficients(w: np.ndarray | None, n: int, total_weight: float, dtype) -> Any:
    """c_n = w_n/Σw as a column in the network's dtype, or 1/n for unweighted samples."""
    if w is None:
        return 1.0 / n
    return (w / total_weight).astype(dtype, copy=False)[:, None]


def batch_loss(
    objective: Objective,
    z: Tensor,
    y: np.ndarray,
    w: np.ndarray | None,
    total_weight: float,
    n: int,
) -> tuple[Tensor, float]:
    """The data loss of a batch of ``n`` rows and weight ``total_weight`` as a graph node, and
    its value as scikit-learn reports it, from the rows of ``z`` (all of the batch, or one
    process's shard of it: then the shards' losses and values sum to the batch's)."""
    c = sample_coefficients(w, n, total_weight, z.dtype)
    loss, source = objective.loss(z, y, c)
    return loss, batch_value(objective, z.data, source.data, y, w, total_weight)


def batch_value(
    objective: Objective,
    z: np.ndarray,
    source: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    total_weight: float,
) -> float:
    """The batch's data loss as scikit-learn reports it, from the values of the logits ``z``
    and of the node ``objective.loss`` read its terms from."""
    return objective.reported(objective.terms(source, y), z, y, w, total_weight)


class BatchObjective:
    """An objective's data loss on unweighted batches of ``rows`` rows, as a loss function
    ``(logits, targets) -> (loss, source)`` that a recorded training step
    (``train.CompiledStep``) replays: ``Objective.loss`` computes with ops alone."""

    replay_safe = True

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.rows = 0  # the current batch's, set before each call

    def __call__(self, z: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        c = sample_coefficients(None, self.rows, float(self.rows), z.dtype)
        return self.objective.loss(z, y.data, c)


class L2Penalty:
    """scikit-learn's L2 term α/(2·Σw)·Σ‖W‖² (the weights only, Σw of the batch) and its
    gradient α/Σw·W, added into ``W.grad`` through buffers allocated once.

    Parameters
    ----------
    alpha : float
    layers : list of nn.Linear
        The network's dense layers, whose ``weight`` the term penalises.
    """

    def __init__(self, alpha: float, layers: list[Linear]) -> None:
        self.alpha, self.layers = alpha, layers
        self.buffers = [np.empty_like(m.weight.data) for m in layers] if alpha else []

    def value(self, total_weight: float) -> float:
        if not self.alpha:
            return 0.0
        weights = [m.weight.data.ravel() for m in self.layers]
        squares = sum(float(np.dot(a, a)) for a in weights)
        return 0.5 * self.alpha * squares / total_weight

    def add_gradient(self, total_weight: float) -> None:
        """W.grad += α/Σw · W (the weights' gradients must exist)."""
        if not self.alpha:
            return
        c = self.alpha / float(total_weight)
        for layer, buf in zip(self.layers, self.buffers):
            np.multiply(layer.weight.data, c, out=buf)
            grad = layer.weight.grad
            if grad is not None:
                grad.data += buf
