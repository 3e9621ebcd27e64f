"""``solver='lbfgs'``: SciPy's L-BFGS-B on the packed weights, as scikit-learn's ``_fit_lbfgs``.

The weights are packed as scikit-learn packs them, every ``coefs_[i]`` raveled, then every
``intercepts_[i]``, into one float64 vector x. SciPy's ``minimize(method="L-BFGS-B",
jac=True)`` calls f(x) → (objective, ∇objective) with ``maxiter=max_iter``, ``maxfun=max_fun``
and ``gtol=tol``; f copies x into the network's own arrays and runs one forward and one
backward pass over the whole training set through chainrule's engine:

    objective = Σ_n w_n·term_n / Σw + α/(2·Σw)·Σ‖W‖²    (w_n = 1 when unweighted)

the value scikit-learn's ``_backprop`` reports. Sparse input goes through in blocks of rows
(densified one block at a time), each block's backward pass adding into ``.grad``; the blocks'
losses are already divided by the whole set's Σw, so their sum is the full objective.

With ``distributed=True`` under ``mpiexec`` each rank runs those blocks over its shard of the
rows (``_sharding``); one allreduce sums the shards' values and gradients before the L2 term is
added, so every rank's SciPy gets the same f(x) and ∇f(x) and takes the same iterates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.optimize import _check_optimize_result

from .._tensor import Tensor
from ..nn import Parameter
from ._objectives import L2Penalty, sample_coefficients
from ._sharding import Shard
from ._validation import dense_rows

if TYPE_CHECKING:
    from ._base import BaseMLP

_BLOCK = 8192  # rows per forward/backward block for sparse input


def packed_parameters(est: BaseMLP) -> list[Parameter]:
    """The parameters in scikit-learn's packing order: weights, then biases."""
    return [m.weight for m in est._linear] + [m.bias for m in est._linear if m.bias is not None]


def full_objective(
    est: BaseMLP, X: Any, targets: np.ndarray, w: np.ndarray | None, shard: Shard | None = None
) -> float:
    """The training objective over all of X (reported as scikit-learn reports it), with its
    gradient accumulated into the parameters' ``.grad`` (which must be None); with a parallel
    ``shard``, computed over this rank's rows and summed over the ranks."""
    n = X.shape[0]
    total_weight = float(n if w is None else w.sum())
    shard = shard or Shard()
    first, last = shard.rows(n)
    block = max(last - first, 1) if not hasattr(X, "toarray") else _BLOCK
    value = 0.0
    for start in range(first, last, block):
        rows = slice(start, min(start + block, last))
        y, wb = targets[rows], None if w is None else w[rows]
        z = est.model_(Tensor._wrap(dense_rows(X, rows)))
        c = sample_coefficients(wb, n, total_weight, z.dtype)
        loss, source = est._objective.loss(z, y, c)
        terms = est._objective.terms(source.data, y)
        value += est._objective.reported(terms, z.data, y, wb, total_weight)
        loss.backward()
    if shard.parallel:
        value = float(shard.sum([value])[0])
        shard.sum_gradients(packed_parameters(est))
    penalty = L2Penalty(est.alpha, est._linear)
    penalty.add_gradient(total_weight)
    return value + penalty.value(total_weight)


def fit_lbfgs(
    est: BaseMLP, X: Any, Y: np.ndarray, w: np.ndarray | None, shard: Shard | None = None
) -> None:
    """Minimises the objective from the current weights; sets ``n_iter_`` and ``loss_`` and
    leaves SciPy's solution in the network, with scikit-learn's ConvergenceWarning when
    L-BFGS-B stopped for any reason other than convergence."""
    from scipy.optimize import minimize

    params = packed_parameters(est)
    if shard is not None:
        shard.broadcast_parameters(params)
    targets = est._objective.targets(Y, est._dtype())
    sizes = np.cumsum([0] + [p.data.size for p in params])

    def unpack(x: np.ndarray) -> None:
        for p, start, stop in zip(params, sizes[:-1], sizes[1:]):
            p.data[...] = x[start:stop].reshape(p.data.shape)

    def loss_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        unpack(x)
        for p in params:
            p.grad = None
        value = est._full_objective(X, targets, w, shard)
        grad = np.concatenate([gradient_of(p).ravel() for p in params])
        return value, grad.astype(np.float64, copy=False)

    x0 = np.concatenate([p.data.ravel() for p in params]).astype(np.float64)
    est.model_.eval()  # no dropout (refused with lbfgs); nothing else depends on it
    try:
        result = minimize(
            loss_and_grad,
            x0,
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
        )
    finally:
        for p in params:
            p.grad = None
    est.n_iter_ = _check_optimize_result("lbfgs", result, est.max_iter)
    est.loss_ = result.fun
    unpack(result.x)


def gradient_of(p: Parameter) -> np.ndarray:
    """``p.grad``'s array; every parameter takes part in the objective, so it has one."""
    if p.grad is None:
        raise RuntimeError("a parameter of the network received no gradient from the objective")
    return p.grad.data
