"""``Linear``: the dense layer y = x @ W + b, with W stored (in_features, out_features)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._random import Generator
from .._tensor import Tensor
from . import init
from ._module import Module
from ._parameter import Parameter


def _float_dtype(owner: str, dtype: Any) -> np.dtype:
    """``dtype`` (default float32) if it is a floating-point dtype, else a TypeError."""
    dt = np.dtype(np.float32 if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"{owner}: dtype must be a floating-point dtype, got {dt}")
    return dt


def _count(owner: str, name: str, value: Any, minimum: int = 0) -> int:
    """A whole-number size argument, checked."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value}")
    return int(value)


class Linear(Module):
    """Dense layer: ``y = x @ W + b`` through the fused ``linear`` op.

    The weight is stored ``(in_features, out_features)``, the transpose of PyTorch's, so the
    backward pass reads as on the blackboard: dX = dY·Wᵀ, dW = Xᵀ·dY, db = Σ dY. To copy a
    PyTorch layer's weights, use ``W = torch_weight.T``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample.
    bias : bool
        Whether to learn an additive bias (default True).
    dtype : numpy dtype, optional
        Parameter dtype, float32 by default (``cr.float64`` for gradient checks).
    generator : cr.Generator, optional
        Source of the initial values (default: the one ``cr.manual_seed`` seeds).

    Attributes
    ----------
    weight : Parameter, shape ``(in_features, out_features)``
        Initialised as PyTorch's: ``kaiming_uniform_(a=√5)``, i.e. U(−1/√in_features,
        1/√in_features).
    bias : Parameter or None, shape ``(out_features,)``
        U(−1/√in_features, 1/√in_features).

    Shapes
    ------
    Input ``(*, in_features)``; output ``(*, out_features)``.
    """

    weight: Parameter
    bias: Parameter | None  # registered in __init__

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = None,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _count("Linear", "in_features", in_features)
        self.out_features = _count("Linear", "out_features", out_features)
        dt = _float_dtype("Linear", dtype)
        self.weight = Parameter(np.empty((self.in_features, self.out_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draws the weight and bias again, as PyTorch's ``Linear.reset_parameters``."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input: Any, activation: str | None = None) -> Tensor:  # noqa: A002
        """x @ W + b; ``activation`` (one of ``ops.fused.DENSE_ACTIVATIONS``) is applied in the
        same op, as ``Sequential`` asks for when a ReLU, Sigmoid or Tanh follows."""
        try:
            return ops.linear(input, self.weight, self.bias, activation=activation)
        except ValueError:
            shape = np.shape(input)
            if shape and shape[-1] != self.in_features:
                raise ValueError(
                    f"Linear: expected input with in_features={self.in_features} features in "
                    f"its last dimension, got input of shape {shape} with {shape[-1]} features"
                ) from None
            if not shape:
                raise ValueError(
                    f"Linear: expected input of shape (*, {self.in_features}), got a scalar"
                ) from None
            raise

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input unchanged (a placeholder layer). Any arguments are ignored.

    Shapes
    ------
    Input any shape; output the same tensor.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:  # noqa: A002
        return input


class Flatten(Module):
    """Flattens axes ``start_dim`` to ``end_dim`` into one.

    Shapes
    ------
    Input ``(N, *dims)``; output ``(N, ∏ dims)`` with the defaults (``start_dim=1``,
    ``end_dim=-1``), in general the product of the axes start_dim..end_dim.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = _int_arg("Flatten", "start_dim", start_dim)
        self.end_dim = _int_arg("Flatten", "end_dim", end_dim)

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        shape = np.shape(input)
        nd = max(len(shape), 1)
        start, end = self.start_dim, self.end_dim
        if not (-nd <= start < nd and -nd <= end < nd):
            raise ValueError(
                f"Flatten: start_dim={start} and end_dim={end} must lie in [{-nd}, {nd - 1}] "
                f"for input of shape {shape}"
            )
        start, end = start % nd, end % nd
        if start > end:
            raise ValueError(
                f"Flatten: start_dim={self.start_dim} comes after end_dim={self.end_dim} "
                f"for input of shape {shape}"
            )
        if not shape:
            return ops.reshape(input, shape=(1,))
        flat = math.prod(shape[start : end + 1])
        return ops.reshape(input, shape=shape[:start] + (flat,) + shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _int_arg(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    return int(value)
