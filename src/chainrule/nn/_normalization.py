"""Normalisation layers: ``BatchNorm1d`` (with running statistics) and ``LayerNorm``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from . import functional as F
from ._linear import _count, _float_dtype
from ._module import Module
from ._parameter import Parameter


class BatchNorm1d(Module):
    """Batch normalisation over the batch (and length) axes of each channel.

    Training: y = (x − mean_B)/√(var_B + eps)·γ + β with the batch's mean and *biased*
    variance, and the running statistics updated as PyTorch does:
    ``r ← (1 − momentum)·r + momentum·s`` with the *unbiased* variance in ``running_var``
    (``momentum=None``: a cumulative average over the batches seen). Evaluation: the running
    statistics replace the batch's (unless ``track_running_stats=False``).

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
        Added to the variance for stability (default 1e-5).
    momentum : float or None
        Weight of the new batch in the running statistics (default 0.1).
    affine : bool
        Learn ``weight`` γ (ones) and ``bias`` β (zeros), each ``(C,)``.
    track_running_stats : bool
        Keep ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
        as buffers (saved in ``state_dict``).
    dtype : numpy dtype, optional
        float32 by default.
    bias : bool
        Learn β (when ``affine``); default True.

    Shapes
    ------
    Input ``(N, C)`` or ``(N, C, L)``; output the same.
    """

    # registered in __init__ (None when not affine or not tracking)
    weight: Parameter | None
    bias: Parameter | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = _count("BatchNorm1d", "num_features", num_features, minimum=1)
        if not eps >= 0:
            raise ValueError(f"BatchNorm1d: eps must be >= 0, got {eps}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum}")
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dt = _float_dtype("BatchNorm1d", dtype)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(c, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(c, dtype=dt)))
            self.register_buffer("running_var", Tensor(np.ones(c, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if not self.track_running_stats:
            return
        for buffer, value in (
            (self.running_mean, 0),
            (self.running_var, 1),
            (self.num_batches_tracked, 0),
        ):
            if buffer is not None:
                buffer.data[...] = value

    def forward(self, input: Any) -> Tensor:  # noqa: A002 - torch's name
        shape = np.shape(input)
        if len(shape) not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (N, C[, L]), got {shape}")
        if shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d: expected input with num_features={self.num_features} channels "
                f"in dimension 1, got input of shape {shape} with {shape[1]}"
            )
        if self.training and math.prod(shape) // shape[1] <= 1:
            raise ValueError(
                f"BatchNorm1d: expected more than 1 value per channel when training, got input "
                f"of shape {shape}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        tracked = self.num_batches_tracked
        if self.training and self.track_running_stats and tracked is not None:
            tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(tracked.data)
        use_batch = self.training or not self.track_running_stats
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class LayerNorm(Module):
    """Layer normalisation: each sample normalised over its trailing ``normalized_shape``
    axes (biased variance), then scaled by ``weight`` and shifted by ``bias``.

    Parameters
    ----------
    normalized_shape : int or sequence of int
        The trailing shape to normalise over.
    eps : float
        Added to the variance (default 1e-5).
    elementwise_affine : bool
        Learn ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``.
    bias : bool
        Learn the bias (when ``elementwise_affine``); default True.
    dtype : numpy dtype, optional
        float32 by default.

    Shapes
    ------
    Input ``(*, *normalized_shape)``; output the same.
    """

    # registered in __init__ (None without elementwise_affine)
    weight: Parameter | None
    bias: Parameter | None

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        shape = tuple(normalized_shape)
        for n in shape:
            _count("LayerNorm", "normalized_shape", n, minimum=1)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must not be empty")
        if not eps >= 0:
            raise ValueError(f"LayerNorm: eps must be >= 0, got {eps}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dt = _float_dtype("LayerNorm", dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
