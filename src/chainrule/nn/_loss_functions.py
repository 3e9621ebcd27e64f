"""Loss functions (``torch.nn.functional``'s), re-exported by ``chainrule.nn.functional``.

Each takes ``reduction`` in {'mean', 'sum', 'none'}: 'none' keeps one loss per element (per
sample for the classification losses), 'sum' adds them up, 'mean' divides the sum by the number
of elements (by the total weight of the targets for weighted classification losses).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, as_tensor
from ..ops.fused import class_indices

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(fn: str, reduction: Any) -> str:
    """``reduction`` if it is one of 'mean', 'sum', 'none'; a ValueError naming it otherwise."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _static(value: Any, like: Tensor) -> np.ndarray:
    """A constant array (weight, non-differentiable target) in the dtype of ``like``."""
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=like.dtype)


def _optional(value: Any, like: Tensor) -> np.ndarray | None:
    """An optional weight: None, or ``_static(value, like)``."""
    return None if value is None else _static(value, like)


def _target(fn: str, input: Tensor, target: Any) -> Tensor:  # noqa: A002
    """The target with the input's shape; a constant target gets the input's dtype."""
    if target is None:
        raise TypeError(f"{fn}: target must be a tensor or an array of the input's shape, got None")
    if isinstance(target, Tensor) and (target.requires_grad or target.dtype == input.dtype):
        t = target
    else:
        t = Tensor._wrap(_static(target, input))
    if t.shape != input.shape:
        raise ValueError(
            f"{fn}: target of shape {t.shape} must have the same shape as input of shape "
            f"{input.shape}"
        )
    return t


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """(input − target)², reduced. Shapes: input and target the same shape; output scalar,
    or that shape for ``reduction='none'``."""
    check_reduction("mse_loss", reduction)
    x = as_tensor(input)
    d = x - _target("mse_loss", x, target)
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """|input − target|, reduced (the gradient at a tie is 0, as PyTorch's). Shapes as
    ``mse_loss``."""
    check_reduction("l1_loss", reduction)
    x = as_tensor(input)
    return _reduce(ops.abs(x - _target("l1_loss", x, target)), reduction)


def huber_loss(
    input: Any,  # noqa: A002
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Tensor:
    """½d² where |d| < delta, delta·(|d| − ½delta) elsewhere, d = input − target. Shapes as
    ``mse_loss``."""
    check_reduction("huber_loss", reduction)
    check_delta("huber_loss", delta)
    x = as_tensor(input)
    d = x - _target("huber_loss", x, target)
    ad = ops.abs(d)
    loss = ops.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
    return _reduce(loss, reduction)


def check_delta(fn: str, delta: Any) -> float:
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
        raise ValueError(f"{fn}: delta must be a positive number, got {delta!r}")
    return float(delta)


def _clamped_log(x: Tensor, inside: np.ndarray) -> Tensor:
    """max(log x, −100), and exactly −100 where not ``inside`` (x = 0), with a zero gradient
    there instead of NaN: log is only evaluated on the entries that are inside."""
    safe = ops.where(inside, x, 1.0)
    return ops.where(inside, ops.clip(ops.log(safe), min=-100.0), -100.0)


def binary_cross_entropy(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """−w[y·log x + (1 − y)·log(1 − x)] on probabilities x, each log clamped at −100 as
    PyTorch does, so x = 0 or 1 gives a finite loss.

    Where a log is clamped, the gradient is that of the clamped function (0), where PyTorch
    divides by max(x(1 − x), 1e-12); elsewhere they agree. Shapes: input and target the same
    shape, weight broadcastable to it; output scalar or that shape ('none').
    """
    check_reduction("binary_cross_entropy", reduction)
    x = as_tensor(input)
    y = _target("binary_cross_entropy", x, target)
    xd = x.data
    if xd.size and not (np.all(xd >= 0) and np.all(xd <= 1)):
        raise ValueError(
            f"binary_cross_entropy: all elements of input should be between 0 and 1 "
            f"(probabilities; use binary_cross_entropy_with_logits for logits), got values in "
            f"[{np.nanmin(xd)}, {np.nanmax(xd)}]"
        )
    loss = -(y * _clamped_log(x, xd > 0) + (1 - y) * _clamped_log(1 - x, xd < 1))
    if weight is not None:
        loss = loss * _static(weight, x)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy of σ(input) computed from the logits in one stable fused op:
    w[(1 − y)x + (1 + (pos_weight − 1)y)·log(1 + e⁻ˣ)].

    Shapes: input and target the same shape; weight broadcastable to it; pos_weight
    broadcastable along the last (class) axis; output scalar or the input's shape ('none').
    """
    check_reduction("binary_cross_entropy_with_logits", reduction)
    x = as_tensor(input)
    y = _target("binary_cross_entropy_with_logits", x, target)
    return ops.binary_cross_entropy_with_logits(
        x, y, weight=_optional(weight, x), pos_weight=_optional(pos_weight, x), reduction=reduction
    )


def _to_2d(fn: str, x: Tensor, target: Any, index_target: bool) -> tuple[Tensor, Any, tuple]:
    """(N, C, d1, ...) logits as (N·d1·..., C) rows, the target to match, and the 'none' shape."""
    if x.ndim <= 2:
        return x, target, ()
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    expected = (n, *rest) if index_target else x.shape
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{fn}: target must have shape {expected} for input of shape {x.shape}, "
            f"got {tuple(target.shape)}"
        )
    axes = (0, *range(2, x.ndim), 1)
    x2 = ops.reshape(ops.permute(x, axes=axes), shape=(-1, c))
    if index_target:
        t2 = target.reshape(-1)
    else:
        t2 = ops.reshape(ops.permute(target, axes=axes), shape=(-1, c))
    return x2, t2, (n, *rest)


def _index_target(fn: str, target: Any) -> np.ndarray:
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold integer class indices, got dtype {t.dtype}")
    return t


def cross_entropy(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy from logits, one fused op: −Σ_c q_c log softmax(x)_c.

    ``target`` holds class indices (integers, ``ignore_index`` skipped) or class probabilities
    (floats, same shape as input). ``weight`` rescales each class; ``label_smoothing`` ε mixes
    the target with the uniform distribution, q = (1 − ε)·target + ε/C.

    Shapes: input ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; index target ``(N,)``, ``()`` or
    ``(N, d1, ...)``; weight ``(C,)``; output scalar, or the target's batch shape ('none').
    """
    check_reduction("cross_entropy", reduction)
    x = as_tensor(input)
    t: Tensor | np.ndarray  # class probabilities, or class indices
    if isinstance(target, Tensor) and target.dtype.kind == "f":
        t = target if target.requires_grad else Tensor._wrap(_static(target, x))
        index = False
    else:
        given = np.asarray(target.data if isinstance(target, Tensor) else target)
        index = given.dtype.kind in "iu"
        t = given if index else Tensor._wrap(given.astype(x.dtype))
    x2, t2, shape = _to_2d("cross_entropy", x, t, index)
    out = ops.cross_entropy(
        x2,
        t2,
        weight=_optional(weight, x),
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    return out.reshape(shape) if shape and reduction == "none" else out


def nll_loss(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: −w[t]·input[n, t_n] for log-probabilities ``input``.

    'mean' divides by Σ_n w[t_n] over the targets that are not ``ignore_index``.
    Shapes: input ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; target of integer class indices
    ``(N,)``, ``()`` or ``(N, d1, ...)``; weight ``(C,)``; output scalar or the target's shape.
    """
    check_reduction("nll_loss", reduction)
    x = as_tensor(input)
    t = _index_target("nll_loss", target)
    x2, t2, shape = _to_2d("nll_loss", x, t, True)
    if x2.ndim == 1:
        x2, t2 = x2.reshape(1, -1), t2.reshape(-1)
    if x2.ndim != 2:
        raise ValueError(f"nll_loss: input must be (N, C), (C,) or (N, C, ...), got {x.shape}")
    n, c = x2.shape
    if t2.shape != (n,):
        raise ValueError(
            f"nll_loss: target must have shape {(n,) if x.ndim == 2 else ()} for input of "
            f"shape {x.shape}, got {t.shape}"
        )
    valid, safe = class_indices("nll_loss", t2, c, ignore_index)
    w = np.ones(c, dtype=x.dtype) if weight is None else _static(weight, x)
    if w.shape != (c,):
        raise ValueError(f"nll_loss: weight must have shape ({c},), got {w.shape}")
    coef = w[safe] * valid
    losses = -(x2[np.arange(n), safe] * coef)
    if reduction == "none":
        return losses.reshape(shape) if shape else (losses if x.ndim == 2 else losses[0])
    total = losses.sum()
    return total / float(coef.sum()) if reduction == "mean" else total
