"""Fused primitives with explicit rules: the dense layer and the two losses from logits.

Fusing saves passes over memory and, for the losses, keeps everything in log space so that
logits of ±1e4 give finite values and gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._registry import defop, either
from .activations import _sigmoid
from .reductions import _log_softmax, _logsumexp, _mean, _softmax, log_softmax, softmax


# linear(x, W, b) = act(x @ W + b), W of shape (in_features, out_features) and act one of
# DENSE_ACTIVATIONS (None: the identity). With z = x·W + b and y = act(z), as on the blackboard:
#   dZ = dY ⊙ act'(z)   (read from the output: relu [y > 0], sigmoid y(1 − y), tanh 1 − y²)
#   dX = dZ·Wᵀ,   dW = Xᵀ·dZ,   db = Σ dZ   (sums over every leading axis of x)
# One joint rule computes dZ once for all three. The activation runs in place on the product,
# so the layer makes one array instead of two (nn.Sequential fuses Linear with the activation
# after it this way). z is not kept: readers recompute it with ``LinearCall``.
@dataclass(frozen=True)
class DenseActivation:
    """An activation that ``linear`` applies in place on its product z = x·W + b.

    ``apply(z)`` overwrites z with y = act(z) and returns it; ``vjp(g, y)`` is g ⊙ act'(z)
    read from the output y alone (the fused op keeps y, not z). Each rule is the same
    expression as the standalone op's, so fused and separate layers agree bit for bit.
    """

    name: str
    apply: Callable[[np.ndarray], np.ndarray]
    vjp: Callable[[Any, Any], Any]


DENSE_ACTIVATIONS: dict[str, DenseActivation] = {
    a.name: a
    for a in (
        DenseActivation("relu", lambda z: np.maximum(z, 0, out=z), lambda g, y: g * (y > 0)),
        DenseActivation("sigmoid", lambda z: _sigmoid(z, out=z), lambda g, y: g * y * (1 - y)),
        DenseActivation("tanh", lambda z: np.tanh(z, out=z), lambda g, y: g * (1 - y * y)),
    )
}
"""The activations ``linear(..., activation=name)`` accepts, by name."""
ACTIVATIONS = (None, *DENSE_ACTIVATIONS)


def _pre_activation(x, w, b):
    out = x @ w
    if b is not None:
        out += b
    return out


def _linear(x, w, b=None, *, activation=None):
    z = _pre_activation(x, w, b)
    if activation is None:
        return z
    if activation not in DENSE_ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}")  # explained by _linear_explain
    return DENSE_ACTIVATIONS[activation].apply(z)


def _through_activation(g, y, activation):
    """g ⊙ act'(z) from the output y = act(z)."""
    return g if activation is None else DENSE_ACTIVATIONS[activation].vjp(g, y)


@dataclass(frozen=True)
class LinearCall:
    """One call of the fused op ``linear``, read back from its inputs and settings: the public
    metadata that graphs and traces use (never the op's private helpers).

    Build it as the op was called, ``LinearCall(x, weight, bias, activation=name)``.

    Attributes
    ----------
    x : ndarray, shape (*, in_features)
    weight : ndarray, shape (in_features, out_features)
    bias : ndarray of shape (out_features,), or None
    activation : str or None
        The activation the op applied in place (a key of ``DENSE_ACTIVATIONS``), None for the
        identity.
    """

    x: Any
    weight: Any
    bias: Any = None
    activation: str | None = field(default=None, kw_only=True)

    @property
    def z(self) -> np.ndarray:
        """The pre-activation z = x·W + b, shape (*, out_features): recomputed, because the
        op overwrote it with act(z); bit for bit what the op computed."""
        return _pre_activation(self.x, self.weight, self.bias)

    def delta(self, g: Any, y: Any) -> Any:
        """∂loss/∂z = g ⊙ act'(z) from g = ∂loss/∂y and the op's output y (same shapes)."""
        return _through_activation(g, y, self.activation)


def _rows(a):
    """``a`` as a matrix of rows: every leading axis folded into the first."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


def _linear_vjp(g, out, needs, x, w, b=None, *, activation=None, _sum=np.add.reduce):
    gz = _through_activation(g, out, activation)
    gx = gz @ w.T if needs[0] is not None else None
    gw = gb = None
    rows = gz if gz.ndim == 2 else _rows(gz)
    if needs[1] is not None:
        gw = x[:, None] * gz[None, :] if x.ndim == 1 else _rows(x).T @ rows
    if b is not None and needs[2] is not None:
        # ndarray.sum's own reduction without its Python wrapper (tensors: the sum op)
        gb = _sum(rows, axis=0) if type(rows) is np.ndarray else rows.sum(axis=0)
    return gx, gw, gb


def _linear_explain(x, w, b=None, *, activation=None):
    if activation not in ACTIVATIONS:
        return f"activation must be one of {ACTIVATIONS}, got {activation!r}"
    if w.ndim != 2:
        return f"weight must be 2-D (in_features, out_features), got shape {w.shape}"
    if x.ndim == 0 or x.shape[-1] != w.shape[0]:
        return (
            f"input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features but "
            f"weight of shape {w.shape} expects in_features={w.shape[0]}"
        )
    if b is not None and b.shape not in ((w.shape[1],), ()):
        return f"bias of shape {b.shape} does not match out_features={w.shape[1]}"
    return None


# forward: ẏ = act'(z) ⊙ (ẋ·W + x·Ẇ + ḃ)
linear = defop(
    "linear",
    _linear,
    vjp=_linear_vjp,
    joint=True,
    jvp=(
        lambda t, out, x, w, b=None, *, activation=None: _through_activation(
            t @ w, out, activation
        ),
        lambda t, out, x, w, b=None, *, activation=None: _through_activation(
            x @ t, out, activation
        ),
        lambda t, out, x, w, b=None, *, activation=None: _through_activation(t, out, activation),
    ),
    explain=_linear_explain,
)


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


# cross_entropy(x, t) with p = softmax(x): every variant is loss_n = −Σ_c q_nc log p_nc for a
# coefficient matrix q (one-hot or probabilities, smoothed, weighted, ignored rows zeroed), so
#   x̄_n = ḡ_n (p_n Σ_c q_nc − q_n),   t̄_nc = −ḡ_n (1 − ε) w_c log p_nc   (probability targets).
def class_indices(op: str, target: np.ndarray, n_classes: int, ignore_index: int):
    """Checks integer class targets; returns the mask of targets that count and the targets
    with ignored entries replaced by 0 (safe to index with; ``target`` itself when all count)."""
    valid = target != ignore_index
    safe = target if valid.all() else np.where(valid, target, 0)
    if safe.size and (
        np.minimum.reduce(safe, axis=None) < 0 or np.maximum.reduce(safe, axis=None) >= n_classes
    ):
        bad = safe[(safe < 0) | (safe >= n_classes)][0]
        raise ValueError(
            f"{op}: target holds class index {bad}, expected indices "
            f"in [0, {n_classes}) or ignore_index={ignore_index}"
        )
    return valid, safe


def _n_valid(valid, safe, target):
    """How many targets count (``class_indices`` hands back ``target`` itself when all do,
    which saves two passes over the mask on the common path)."""
    return valid.size if safe is target else int(np.sum(valid))


def _ce_coefficients(x, target, weight, ignore_index, label_smoothing):
    """q (N, C) and the divisor of the 'mean' reduction, for 2-D logits x."""
    n, c = x.shape
    eps = label_smoothing
    if target.dtype.kind in "iu":
        valid, safe = class_indices("cross_entropy", target, c, ignore_index)
        q = np.zeros((n, c), dtype=x.dtype)
        q[np.arange(n), safe] = 1 - eps
        if eps:
            q += eps / c
        if weight is not None:
            q *= weight
            denom = float(np.sum(weight[safe] * valid))
        else:
            denom = int(np.sum(valid))
        q *= valid[:, None]
        return q, denom
    q = target * (1 - eps) + eps / c if eps else target
    if weight is not None:
        q = q * weight
    return q, n


def _ce_prepare(x, target, weight, ignore_index, label_smoothing):
    """Checks shapes; returns 2-D logits and targets plus q and the mean divisor."""
    if x.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: logits must be (N, C) or (C,), got shape {x.shape}")
    x2 = x.reshape(1, -1) if x.ndim == 1 else x
    index_target = target.dtype.kind in "iu"
    t2 = (
        target.reshape(1)
        if (x.ndim == 1 and index_target)
        else (target.reshape(1, -1) if x.ndim == 1 else target)
    )
    expected = x2.shape[:1] if index_target else x2.shape
    if t2.shape != expected:
        kind = "class indices" if index_target else "class probabilities"
        raise ValueError(
            f"cross_entropy: target of {kind} must have shape "
            f"{expected if x.ndim == 2 else expected[1:]}, got {target.shape} "
            f"for logits of shape {x.shape}"
        )
    if weight is not None:
        weight = np.asarray(weight, dtype=x.dtype)
        if weight.shape != (x2.shape[1],):
            raise ValueError(
                f"cross_entropy: weight must have shape ({x2.shape[1]},), got {weight.shape}"
            )
    q, denom = _ce_coefficients(x2, t2, weight, ignore_index, label_smoothing)
    return x2, t2, q, denom


def _cross_entropy(
    x, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if _ce_indexed(x, target, weight, label_smoothing):
        valid, safe = class_indices("cross_entropy", target, x.shape[1], ignore_index)
        losses = _logsumexp(x, axis=1) - x[np.arange(x.shape[0]), safe]
        if safe is not target:  # some targets are ignored
            losses = np.where(valid, losses, 0)
        denom = _n_valid(valid, safe, target)
    else:
        x2, _, q, denom = _ce_prepare(x, target, weight, ignore_index, label_smoothing)
        losses = -(q * _log_softmax(x2, axis=1)).sum(axis=1)
    if reduction == "none":
        return losses if x.ndim == 2 else losses[0]
    total = losses.sum()
    return total / denom if reduction == "mean" else total


def _ce_scale(g, reduction, denom, n):
    """ḡ per sample as a column: the cotangent of each row's loss."""
    if reduction == "none":
        return g.reshape(n, 1)
    return g / denom if reduction == "mean" else g


def _ce_reduce(per_sample, x, reduction, denom):
    """Reduces per-sample values the way the loss itself is reduced."""
    if reduction == "none":
        return per_sample if x.ndim == 2 else per_sample[0]
    total = per_sample.sum()
    return total / denom if reduction == "mean" else total


def _ce_indexed(x, target, weight, label_smoothing):
    """The common case: class indices for (N, C) logits, no weight, no smoothing. Its loss is
    logsumexp(x_n) − x_n,t_n and its gradient softmax(x_n) − onehot(t_n), with no coefficient
    matrix q (the same values as the general formulas). Arrays only: on tensors (gradients of
    gradients) the general formulas run."""
    return (
        type(x) is np.ndarray
        and x.ndim == 2
        and target.dtype.kind in "iu"
        and target.shape == x.shape[:1]
        and weight is None
        and not label_smoothing
    )


def _ce_dlogits(x, target, weight, ignore_index, label_smoothing):
    """∂loss_n/∂x_n = p_n Σ_c q_nc − q_n for every row (N, C), and the mean divisor."""
    if _ce_indexed(x, target, weight, label_smoothing):
        valid, safe = class_indices("cross_entropy", target, x.shape[1], ignore_index)
        d = _softmax(x, axis=1)
        d[np.arange(x.shape[0]), safe] -= 1
        if safe is not target:  # some targets are ignored
            d[~valid] = 0
        return d, _n_valid(valid, safe, target)
    x2, _, q, denom = _ce_prepare(x, target, weight, ignore_index, label_smoothing)
    return either(softmax)(x2, axis=1) * q.sum(axis=1, keepdims=True) - q, denom


def _ce_dtarget(x, target, weight, label_smoothing):
    """∂loss_n/∂t_nc = −(1 − ε) w_c log p_nc (probability targets)."""
    x2 = x.reshape(1, -1) if x.ndim == 1 else x
    coef = -(1 - label_smoothing) * either(log_softmax)(x2, axis=1)
    return coef if weight is None else coef * np.asarray(weight, dtype=x.dtype)


def _ce_vjp_x(
    g, out, x, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    d, denom = _ce_dlogits(x, target, weight, ignore_index, label_smoothing)
    return (_ce_scale(g, reduction, denom, d.shape[0]) * d).reshape(x.shape)


def _ce_vjp_target(
    g, out, x, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    _, _, _, denom = _ce_prepare(x, target, weight, ignore_index, label_smoothing)
    d = _ce_dtarget(x, target, weight, label_smoothing)
    return (_ce_scale(g, reduction, denom, d.shape[0]) * d).reshape(target.shape)


def _ce_jvp_x(
    t, out, x, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    d, denom = _ce_dlogits(x, target, weight, ignore_index, label_smoothing)
    return _ce_reduce((d * t.reshape(d.shape)).sum(axis=1), x, reduction, denom)


def _ce_jvp_target(
    t, out, x, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    _, _, _, denom = _ce_prepare(x, target, weight, ignore_index, label_smoothing)
    d = _ce_dtarget(x, target, weight, label_smoothing)
    return _ce_reduce((d * t.reshape(d.shape)).sum(axis=1), x, reduction, denom)


cross_entropy = defop(
    "cross_entropy",
    _cross_entropy,
    vjp=(_ce_vjp_x, _ce_vjp_target),
    jvp=(_ce_jvp_x, _ce_jvp_target),
)


# binary_cross_entropy_with_logits: with l = 1 + (pos_weight − 1)·y and sp(z) = log(1 + eᶻ),
#   loss = w[(1 − y)x + l·sp(−x)],   x̄ = ḡ w[(1 − y) − l·σ(−x)],
#   ȳ = ḡ w[−x + (pos_weight − 1)·sp(−x)]
def _softplus_neg(x):
    """log(1 + e^{−x}) without overflow."""
    return np.logaddexp(0, -x)


def _bce_check(x, y, reduction):
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    if np.shape(y) != np.shape(x):
        raise ValueError(
            f"binary_cross_entropy_with_logits: target shape {np.shape(y)} must "
            f"equal input shape {np.shape(x)}"
        )


def _as_dtype(w, x):
    """A static weight array in the dtype of x, so that float32 stays float32."""
    return None if w is None else np.asarray(w, dtype=x.dtype)


def _bce_reduce_g(g, x, reduction):
    return g / x.size if reduction == "mean" else g


def _bce(x, y, *, weight=None, pos_weight=None, reduction="mean"):
    _bce_check(x, y, reduction)
    weight, pos_weight = _as_dtype(weight, x), _as_dtype(pos_weight, x)
    sp = _softplus_neg(x)
    loss = (1 - y) * x
    loss += sp if pos_weight is None else (1 + (pos_weight - 1) * y) * sp
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    return _mean(loss) if reduction == "mean" else loss.sum()


def _bce_dx(x, y, weight, pos_weight):
    """∂loss/∂x elementwise: w[(1 − y) − l·σ(−x)]."""
    weight, pos_weight = _as_dtype(weight, x), _as_dtype(pos_weight, x)
    s = _sigmoid(-x)
    d = (1 - y) - (s if pos_weight is None else (1 + (pos_weight - 1) * y) * s)
    return d if weight is None else d * weight


def _bce_dy(x, y, weight, pos_weight):
    """∂loss/∂y elementwise: w[−x + (pos_weight − 1)·sp(−x)]."""
    weight, pos_weight = _as_dtype(weight, x), _as_dtype(pos_weight, x)
    d = -x if pos_weight is None else -x + (pos_weight - 1) * _softplus_neg(x)
    return d if weight is None else d * weight


def _bce_reduce(e, reduction):
    if reduction == "none":
        return e
    return _mean(e) if reduction == "mean" else e.sum()


def _bce_vjp_x(g, out, x, y, *, weight=None, pos_weight=None, reduction="mean"):
    return _bce_reduce_g(g, x, reduction) * _bce_dx(x, y, weight, pos_weight)


def _bce_vjp_y(g, out, x, y, *, weight=None, pos_weight=None, reduction="mean"):
    return _bce_reduce_g(g, x, reduction) * _bce_dy(x, y, weight, pos_weight)


def _bce_jvp_x(t, out, x, y, *, weight=None, pos_weight=None, reduction="mean"):
    return _bce_reduce(t * _bce_dx(x, y, weight, pos_weight), reduction)


def _bce_jvp_y(t, out, x, y, *, weight=None, pos_weight=None, reduction="mean"):
    return _bce_reduce(t * _bce_dy(x, y, weight, pos_weight), reduction)


binary_cross_entropy_with_logits = defop(
    "binary_cross_entropy_with_logits",
    _bce,
    vjp=(_bce_vjp_x, _bce_vjp_y),
    jvp=(_bce_jvp_x, _bce_jvp_y),
)
