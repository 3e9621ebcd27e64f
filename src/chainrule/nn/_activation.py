"""Activation layers: thin modules over ``chainrule.nn.functional``.

Every one works elementwise (Softmax and LogSoftmax along ``dim``): input any shape, output
the same shape.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from . import functional as F
from ._module import Module


def _dim(owner: str, dim: Any) -> int | None:
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
        raise TypeError(f"{owner}: dim must be an int or None, got {type(dim).__name__}")
    return dim


def _number(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    return float(value)


class ReLU(Module):
    """max(x, 0), elementwise (relu'(0) = 0, as PyTorch). Shapes: any; output the same."""

    def forward(self, input: Any) -> Tensor:  # noqa: A002 - torch's name
        return F.relu(input)


class Sigmoid(Module):
    """σ(x) = 1/(1 + e⁻ˣ), elementwise, without overflow. Shapes: any; output the same."""

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.sigmoid(input)


class Tanh(Module):
    """tanh x, elementwise. Shapes: any; output the same."""

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.tanh(input)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope``·x otherwise. Shapes: any; output the same.

    Parameters
    ----------
    negative_slope : float
        Slope for negative inputs (default 0.01).
    """

    def __init__(self, negative_slope: float = 1e-2) -> None:
        super().__init__()
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF; ``approximate='tanh'`` uses
    ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Shapes: any; output the same."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        F._check_approximate("GELU", approximate)
        self.approximate = approximate

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise. Shapes: any; output the same.

    Parameters
    ----------
    alpha : float
        The value approached as x → −∞ is −alpha (default 1).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = _number("ELU", "alpha", alpha)

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + e^{βx})/β, and x itself where βx > threshold. Shapes: any; output the same."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = _number("Softplus", "beta", beta)
        self.threshold = _number("Softplus", "threshold", threshold)
        if self.beta == 0:
            raise ValueError("Softplus: beta must be non-zero, got 0")

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """e^{x_i}/Σ_j e^{x_j} along ``dim``: each slice along ``dim`` sums to 1.

    Parameters
    ----------
    dim : int, optional
        The axis. ``None`` picks PyTorch's legacy default (0 for 0-, 1- and 3-D input, else 1)
        with a warning; pass it explicitly.

    Shapes
    ------
    Input any shape; output the same.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _dim("Softmax", dim)

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax(x) = x − logsumexp(x) along ``dim``, computed stably.

    Parameters
    ----------
    dim : int, optional
        The axis (``None``: PyTorch's legacy default, with a warning).

    Shapes
    ------
    Input any shape; output the same.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _dim("LogSoftmax", dim)

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
