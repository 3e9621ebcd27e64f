"""Loss modules: thin layers over the functional losses, with ``reduction`` checked when built.

``reduction`` is 'mean' (default), 'sum' or 'none' (one loss per element, or per sample for
the classification losses). Every loss is called as ``loss(input, target)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from . import functional as F
from ._loss_functions import check_delta, check_reduction
from ._module import Module


def _buffer(owner: str, name: str, value: Any) -> Tensor | None:
    """A constant weight as a float tensor (kept as a buffer, as PyTorch does), or None."""
    if value is None:
        return None
    arr = np.asarray(value.data if isinstance(value, Tensor) else value)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{owner}: {name} must hold numbers, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    return Tensor(arr.copy())


class _Loss(Module):
    """Base of the losses: stores and checks ``reduction``."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_reduction(type(self).__name__, reduction)


class MSELoss(_Loss):
    """Mean squared error, (input − target)².

    Shapes
    ------
    Input and target the same shape (any); output a scalar, or that shape for 'none'.
    """

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002 - torch's name
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, |input − target|.

    Shapes
    ------
    Input and target the same shape; output a scalar, or that shape for 'none'.
    """

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """½d² where |d| < delta, delta·(|d| − ½delta) elsewhere, with d = input − target.

    Parameters
    ----------
    reduction : {'mean', 'sum', 'none'}
    delta : float
        Where the loss turns from quadratic to linear; positive (default 1).

    Shapes
    ------
    Input and target the same shape; output a scalar, or that shape for 'none'.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = check_delta("HuberLoss", delta)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities: −w[y log x + (1 − y) log(1 − x)], each log
    clamped at −100 as PyTorch does. Use ``BCEWithLogitsLoss`` on logits: it is stabler.

    Parameters
    ----------
    weight : array_like, optional
        Rescaling of each element's loss, broadcastable to the input.
    reduction : {'mean', 'sum', 'none'}

    Shapes
    ------
    Input (probabilities in [0, 1]) and target the same shape; output a scalar, or that
    shape for 'none'.
    """

    weight: Tensor | None  # a buffer

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _buffer("BCELoss", "weight", weight))

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one stable op, from logits.

    Parameters
    ----------
    weight : array_like, optional
        Rescaling of each element's loss, broadcastable to the input.
    reduction : {'mean', 'sum', 'none'}
    pos_weight : array_like, optional
        Weight of the positive examples, per class (broadcast along the last axis): > 1
        raises recall, < 1 precision.

    Shapes
    ------
    Input (logits) and target (in [0, 1]) the same shape; output a scalar, or that shape for
    'none'.
    """

    weight: Tensor | None  # a buffer
    pos_weight: Tensor | None  # a buffer

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _buffer("BCEWithLogitsLoss", "weight", weight))
        self.register_buffer("pos_weight", _buffer("BCEWithLogitsLoss", "pos_weight", pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (log-softmax and NLL in one fused op).

    Parameters
    ----------
    weight : array_like of shape (C,), optional
        Rescaling of each class; 'mean' then divides by the total weight of the targets.
    ignore_index : int
        Class-index targets equal to it contribute nothing (default −100).
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float
        ε in [0, 1]: the target becomes (1 − ε)·target + ε/C.

    Shapes
    ------
    Input ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; target class indices ``(N,)``, ``()``
    or ``(N, d1, ...)`` (integers in [0, C)), or class probabilities of the input's shape;
    output a scalar, or the target's batch shape for 'none'.
    """

    weight: Tensor | None  # a buffer

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}"
            )
        self.register_buffer("weight", _buffer("CrossEntropyLoss", "weight", weight))
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices, on log-probabilities (e.g. ``LogSoftmax``'s
    output): −w[t_n]·input[n, t_n].

    Parameters
    ----------
    weight : array_like of shape (C,), optional
        Rescaling of each class; 'mean' divides by the total weight of the targets.
    ignore_index : int
        Targets equal to it contribute nothing (default −100).
    reduction : {'mean', 'sum', 'none'}

    Shapes
    ------
    Input ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; target integer class indices ``(N,)``,
    ``()`` or ``(N, d1, ...)``; output a scalar, or the target's shape for 'none'.
    """

    weight: Tensor | None  # a buffer

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _buffer("NLLLoss", "weight", weight))
        self.ignore_index = int(ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )
