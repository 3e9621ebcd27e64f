"""Functional forms of the layers and losses (``torch.nn.functional``), with PyTorch's argument
names (``dim``, ``reduction``...). The layer classes call these: one concept, one place.

Everything is composed from the engine's differentiable ops, so gradients come from the ops'
rules. The one deliberate difference from PyTorch: ``linear``'s ``weight`` is
``(in_features, out_features)`` and ``linear(x, W, b) = x @ W + b``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from .._random import Generator, random_rows
from .._tensor import Tensor, as_tensor
from ._loss_functions import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)

__all__ = [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]


def linear(input: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input @ weight + bias`` with the fused op (dX = dY·Wᵀ, dW = Xᵀ·dY, db = Σ dY).

    Shapes: input ``(*, in_features)``, weight ``(in_features, out_features)`` (the transpose
    of PyTorch's layout), bias ``(out_features,)``; output ``(*, out_features)``.
    """
    return ops.linear(input, weight, bias)


def relu(input: Any) -> Tensor:  # noqa: A002
    """max(x, 0), elementwise; relu'(0) = 0. Any shape."""
    return ops.relu(input)


def sigmoid(input: Any) -> Tensor:  # noqa: A002
    """1 / (1 + e⁻ˣ), elementwise, computed without overflow. Any shape."""
    return ops.sigmoid(input)


def tanh(input: Any) -> Tensor:  # noqa: A002
    """tanh x, elementwise. Any shape."""
    return ops.tanh(input)


def gelu(input: Any, approximate: str = "none") -> Tensor:  # noqa: A002
    """x·Φ(x) (``approximate='none'``) or its tanh approximation (``'tanh'``). Any shape."""
    _check_approximate("gelu", approximate)
    return ops.gelu(input, approximate=approximate)


def elu(input: Any, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """x for x > 0, α(eˣ − 1) otherwise. Any shape."""
    return ops.elu(input, alpha=alpha)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """x for x > 0, negative_slope·x otherwise. Any shape."""
    return ops.leaky_relu(input, negative_slope=negative_slope)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """log(1 + e^{βx})/β, and x where βx > threshold. Any shape."""
    return ops.softplus(input, beta=beta, threshold=threshold)


def _softmax_dim(name: str, ndim: int) -> int:
    """PyTorch's legacy choice of axis when ``dim`` is not given (with its warning)."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        f"Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Any, dim: int | None = None) -> Tensor:  # noqa: A002
    """e^{x_i} / Σ_j e^{x_j} along ``dim``; output has the input's shape."""
    x = as_tensor(input)
    return ops.softmax(x, axis=_softmax_dim("softmax", x.ndim) if dim is None else dim)


def log_softmax(input: Any, dim: int | None = None) -> Tensor:  # noqa: A002
    """x − logsumexp(x) along ``dim``; output has the input's shape."""
    x = as_tensor(input)
    return ops.log_softmax(x, axis=_softmax_dim("log_softmax", x.ndim) if dim is None else dim)


def _check_approximate(fn: str, approximate: Any) -> None:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"{fn}: approximate must be 'none' or 'tanh', got {approximate!r}")


def _check_p(fn: str, p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: dropout probability p has to be between 0 and 1, but got {p!r}")
    return float(p)


def dropout(
    input: Any,  # noqa: A002
    p: float = 0.5,
    training: bool = True,
    generator: Generator | None = None,
) -> Tensor:
    """Zeroes each element with probability ``p`` and scales the rest by 1/(1 − p) (inverted
    dropout, so the expected output equals the input); the identity when not ``training``.

    The mask is drawn from ``generator`` (default: the generator ``cr.manual_seed`` seeds),
    so a seeded run is reproducible. Any shape; output has the input's shape.
    """
    p = _check_p("dropout", p)
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = random_rows(generator, x.shape) >= p  # a shard's rows: the global batch's masks
    return x * (keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype))


def batch_norm(
    input: Any,  # noqa: A002
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalises each channel over the batch (and length) axes, as ``torch.batch_norm``.

    Training: y = (x − mean) / √(var + eps) with the batch's mean and biased variance, and the
    running statistics (if given) updated in place, ``r ← (1 − momentum)·r + momentum·s``,
    with the *unbiased* variance for ``running_var``. Otherwise the running statistics are used.

    Shapes: input ``(N, C)`` or ``(N, C, L)``; running stats, weight and bias ``(C,)``; output
    the input's shape.
    """
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected 2D (N, C) or 3D (N, C, L) input, got {x.shape}")
    c = x.shape[1]
    axes, shape = ((0,), (c,)) if x.ndim == 2 else ((0, 2), (c, 1))
    mean: Tensor | np.ndarray  # the batch's statistics (training) or the running ones
    var: Tensor | np.ndarray
    if training:
        n = x.size // c if c else 0
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, "
                f"got input of shape {x.shape}"
            )
        batch_mean = x.mean(axis=axes, keepdims=True)
        batch_var = x.var(axis=axes, correction=0, keepdims=True)
        if running_mean is not None:
            running_mean.data *= 1 - momentum
            running_mean.data += momentum * batch_mean.data.reshape(c)
        if running_var is not None:
            running_var.data *= 1 - momentum
            running_var.data += momentum * batch_var.data.reshape(c) * (n / (n - 1))
        mean, var = batch_mean, batch_var
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: running_mean and running_var are required when training=False"
            )
        mean = running_mean.data.reshape(shape).astype(x.dtype, copy=False)
        var = running_var.data.reshape(shape).astype(x.dtype, copy=False)
    y = (x - mean) / ops.sqrt(var + eps)
    if weight is not None:
        y = y * ops.reshape(weight, shape=shape)
    if bias is not None:
        y = y + ops.reshape(bias, shape=shape)
    return y


def layer_norm(
    input: Any,  # noqa: A002
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalises over the trailing ``normalized_shape`` axes of each sample (biased variance),
    then scales by ``weight`` and shifts by ``bias``.

    Shapes: input ``(*, *normalized_shape)``; weight and bias ``normalized_shape``; output the
    input's shape.
    """
    x = as_tensor(input)
    norm = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(norm)
    if k == 0 or x.ndim < k or tuple(x.shape[-k:]) != norm:
        raise ValueError(
            f"layer_norm: given normalized_shape={list(norm)}, expected input with shape "
            f"[*, {', '.join(map(str, norm))}], got input of shape {x.shape}"
        )
    axes = tuple(range(-k, 0))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, correction=0, keepdims=True)
    y = (x - mean) / ops.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y
