"""Weight initialisers (``torch.nn.init``), in place on a tensor's data.

Every function fills ``tensor.data`` in place, records nothing in the graph and returns the
tensor. Random ones take ``generator=`` (a ``cr.Generator``) and otherwise draw from the default
generator that ``cr.manual_seed`` seeds; NumPy's global random state is never used.

Fans follow chainrule's weight layout, not PyTorch's. A 2-D weight is stored
``(in_features, out_features)`` (``y = x @ W + b``), so

    fan_in = shape[0],  fan_out = shape[1]

(PyTorch stores ``(out_features, in_features)`` and reads them the other way round). A weight
with more axes is taken as ``(in, out, *receptive_field)``, each fan multiplied by the receptive
field size. The bounds and standard deviations are then PyTorch's, so a chainrule weight and
the transposed PyTorch weight of the same layer are drawn from the same distribution.
"""

from __future__ import annotations

import math
from typing import Any

from .._random import Generator, get_generator
from .._tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    ======================  ==================================
    nonlinearity            gain
    ======================  ==================================
    linear, conv*, sigmoid  1
    tanh                    5/3
    relu                    √2
    leaky_relu              √(2 / (1 + negative_slope²))
    selu                    3/4
    ======================  ==================================

    Parameters
    ----------
    nonlinearity : str
        One of the names above.
    param : float, optional
        ``negative_slope`` for ``'leaky_relu'`` (default 0.01).
    """
    if nonlinearity in _LINEAR_FNS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{_LINEAR_FNS + ('tanh', 'relu', 'leaky_relu', 'selu')}"
    )


def _check(fn: str, tensor: Any) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: tensor must be a cr.Tensor, got {type(tensor).__name__}")
    if tensor.data.dtype.kind != "f":
        raise TypeError(f"{fn}: tensor must be floating point, got dtype {tensor.data.dtype}")
    return tensor


def _fill(tensor: Tensor, values: Any) -> Tensor:
    tensor.data[...] = values
    return tensor


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight stored ``(in, out, *receptive_field)``."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 "
            f"dimensions, got shape {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[0] * receptive, shape[1] * receptive


def _fan(fn: str, tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fills ``tensor`` (any shape) with draws from U(a, b); returns it."""
    _check("uniform_", tensor)
    if a > b:
        raise ValueError(f"uniform_: expected a <= b, got a={a} > b={b}")
    return _fill(tensor, get_generator(generator).uniform(a, b, tensor.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fills ``tensor`` (any shape) with draws from N(mean, std²); returns it."""
    _check("normal_", tensor)
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, get_generator(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills ``tensor`` with ``val``; returns it."""
    return _fill(_check("constant_", tensor), val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` with 0; returns it."""
    return _fill(_check("zeros_", tensor), 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` with 1; returns it."""
    return _fill(_check("ones_", tensor), 1)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out)).

    ``tensor`` has at least 2 dimensions, ``(fan_in, fan_out, ...)`` in chainrule's layout.
    """
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.size == 0:
        return tensor
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, get_generator(generator).uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    _check("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.size == 0:
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, get_generator(generator).normal(0.0, std, tensor.shape))


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He uniform: U(−bound, bound), bound = gain·√(3 / fan), gain = calculate_gain(
    nonlinearity, a).

    Parameters
    ----------
    tensor : Tensor
        At least 2-D, ``(in_features, out_features, ...)``: ``fan_in`` is ``shape[0]``.
    a : float
        The negative slope of the leaky ReLU that follows (used when ``nonlinearity`` is
        ``'leaky_relu'``). ``a=√5`` gives ``Linear``'s default, U(−1/√fan_in, 1/√fan_in).
    mode : {'fan_in', 'fan_out'}
        Preserve the variance of the forward pass (``fan_in``) or of the backward pass.
    nonlinearity : str
        A name accepted by ``calculate_gain``.
    """
    _check("kaiming_uniform_", tensor)
    fan = _fan("kaiming_uniform_", tensor, mode)
    if tensor.size == 0:
        return tensor
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, get_generator(generator).uniform(-bound, bound, tensor.shape))


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He normal: N(0, std²), std = calculate_gain(nonlinearity, a) / √fan.

    Same arguments as ``kaiming_uniform_``; ``fan_in`` is ``shape[0]`` of an
    ``(in_features, out_features)`` weight.
    """
    _check("kaiming_normal_", tensor)
    fan = _fan("kaiming_normal_", tensor, mode)
    if tensor.size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, get_generator(generator).normal(0.0, std, tensor.shape))
