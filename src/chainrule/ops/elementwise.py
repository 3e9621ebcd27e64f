"""Elementwise functions of one tensor: exp, log, powers' friends, trigonometry, clipping."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._registry import LINEAR, defop, export

if TYPE_CHECKING:  # annotations only: op files do not import the engine
    from numpy.typing import ArrayLike

    from .._tensor import Tensor

_ERF_SCALE = 2 / math.sqrt(math.pi)  # erf'(x) = 2/√π · e^{−x²}


def _erf(x):
    from scipy.special import erf  # SciPy comes with scikit-learn; imported on first use

    return erf(x)


# fmt: off
#     name            forward      reverse rule (g: cotangent) / forward rule (t: tangent of x)
# (each is a Tensor method too, and its NumPy ufunc runs it on tensors)
exp = defop("exp",     np.exp,     vjp=lambda g, out, x: g * out,
                                   jvp=lambda t, out, x: t * out, method=True)
log = defop("log",     np.log,     vjp=lambda g, out, x: g / x,
                                   jvp=lambda t, out, x: t / x, method=True)
log1p = defop("log1p", np.log1p,   vjp=lambda g, out, x: g / (1 + x),
                                   jvp=lambda t, out, x: t / (1 + x), method=True)
sqrt = defop("sqrt",   np.sqrt,    vjp=lambda g, out, x: g * 0.5 / out,
                                   jvp=lambda t, out, x: t * 0.5 / out, method=True)
abs = defop("abs",     np.abs,     vjp=lambda g, out, x: g * np.sign(x),  # noqa: A001
                                   jvp=lambda t, out, x: t * np.sign(x),  # |x|'(0) := 0
                                   method=True)
sin = defop("sin",     np.sin,     vjp=lambda g, out, x: g * np.cos(x),
                                   jvp=lambda t, out, x: t * np.cos(x), method=True)
cos = defop("cos",     np.cos,     vjp=lambda g, out, x: -g * np.sin(x),
                                   jvp=lambda t, out, x: -t * np.sin(x), method=True)
tanh = defop("tanh",   np.tanh,    vjp=lambda g, out, x: g * (1 - out * out),
                                   jvp=lambda t, out, x: t * (1 - out * out), method=True)
erf = defop("erf",     _erf,       vjp=lambda g, out, x: g * _ERF_SCALE * np.exp(-x * x),
                                   jvp=lambda t, out, x: t * _ERF_SCALE * np.exp(-x * x),
                                   numpy="erf", method=True)  # SciPy's ufunc, by name
# fmt: on


# astype: a copy in another float dtype; the gradient goes back in the input's dtype.
astype = defop(
    "astype",
    lambda x, *, dtype: x.astype(dtype),
    vjp=lambda g, out, x, *, dtype: g.astype(x.dtype),
    jvp=LINEAR,
)


# clip(x, min, max): the gradient passes where min ≤ x ≤ max (bounds included, as torch.clamp).
def _clip_vjp(g, out, x, *, min=None, max=None):  # noqa: A002 - torch.clamp's names
    if min is not None:
        g = g * (x >= min)
    if max is not None:
        g = g * (x <= max)
    return g


def _clip(x, *, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given, got neither")
    return np.clip(x, min, max)


clip = defop("clip", _clip, vjp=_clip_vjp, jvp=_clip_vjp)  # elementwise: the same rule


def _pointwise(name, forward, slope, numpy=None):
    """An elementwise op (a Tensor method) whose reverse and forward rules both multiply by
    the local derivative ``slope(out, x)``."""
    return defop(
        name,
        forward,
        vjp=lambda g, out, x: g * slope(out, x),
        jvp=lambda t, out, x: t * slope(out, x),
        numpy=numpy,
        method=True,
    )


def _flat(name, forward, numpy=None, method=True):
    """A piecewise-constant op (floor, sign...): zero gradient everywhere, as torch gives."""
    return defop(
        name,
        forward,
        vjp=lambda g, out, x: np.zeros_like(g),
        jvp=lambda t, out, x: np.zeros_like(t),
        numpy=numpy,
        method=method,
    )


_LN2, _LN10, _DEG = math.log(2), math.log(10), math.pi / 180

# fmt: off
#     name                         forward        local derivative dy/dx (out = y)
square = _pointwise("square",      np.square,     lambda out, x: 2 * x)
reciprocal = _pointwise("reciprocal", np.reciprocal, lambda out, x: -out * out)
log2 = _pointwise("log2",          np.log2,       lambda out, x: 1 / (x * _LN2))
log10 = _pointwise("log10",        np.log10,      lambda out, x: 1 / (x * _LN10))
expm1 = _pointwise("expm1",        np.expm1,      lambda out, x: out + 1)
exp2 = _pointwise("exp2",          np.exp2,       lambda out, x: out * _LN2)
tan = _pointwise("tan",            np.tan,        lambda out, x: 1 + out * out)
sinh = _pointwise("sinh",          np.sinh,       lambda out, x: np.cosh(x))
cosh = _pointwise("cosh",          np.cosh,       lambda out, x: np.sinh(x))
arcsin = _pointwise("arcsin",      np.arcsin,     lambda out, x: 1 / np.sqrt(1 - x * x))
arccos = _pointwise("arccos",      np.arccos,     lambda out, x: -1 / np.sqrt(1 - x * x))
arctan = _pointwise("arctan",      np.arctan,     lambda out, x: 1 / (1 + x * x))
arcsinh = _pointwise("arcsinh",    np.arcsinh,    lambda out, x: 1 / np.sqrt(x * x + 1))
arccosh = _pointwise("arccosh",    np.arccosh,    lambda out, x: 1 / np.sqrt(x * x - 1))
arctanh = _pointwise("arctanh",    np.arctanh,    lambda out, x: 1 / (1 - x * x))
# fmt: on
deg2rad = defop(
    "deg2rad",
    np.deg2rad,
    vjp=lambda g, out, x: g * _DEG,
    jvp=LINEAR,
    numpy=(np.deg2rad, np.radians),
    method=True,
)
rad2deg = defop(
    "rad2deg",
    np.rad2deg,
    vjp=lambda g, out, x: g / _DEG,
    jvp=LINEAR,
    numpy=(np.rad2deg, np.degrees),
    method=True,
)


# sinc(x) = sin(πx)/(πx):  sinc'(x) = (cos(πx) − sinc(x))/x, which is 0 at x = 0 (the divisor
# is replaced by 1 there; the second derivative at exactly 0 is then 0, not −π²/3).
def _sinc_slope(out, x):
    return (np.cos(math.pi * x) - out) / np.where(x == 0, 1, x)


sinc = _pointwise("sinc", np.sinc, _sinc_slope, numpy=np.sinc)

# piecewise constant: the gradient is 0 (also at the jumps), as torch.floor/sign/... give
floor = _flat("floor", np.floor)
ceil = _flat("ceil", np.ceil)
# round: NumPy's and torch's name; halves to even
round = _flat("round", np.round, numpy=np.rint)  # noqa: A001
trunc = _flat("trunc", np.trunc)
sign = _flat("sign", np.sign)
# of a real tensor: zeros (tensors hold real numbers only)
imag = _flat("imag", np.imag, numpy=np.imag, method=False)


# nan_to_num: finite entries pass through (gradient 1), replaced ones are constants (0)
def _nan_to_num(x, *, nan=0.0, posinf=None, neginf=None):
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _nan_to_num_rule(g, out, x, *, nan=0.0, posinf=None, neginf=None):
    return g * np.isfinite(x)


nan_to_num = defop("nan_to_num", _nan_to_num, vjp=_nan_to_num_rule, jvp=_nan_to_num_rule)


@export(numpy=np.fabs)
def fabs(x: ArrayLike) -> Tensor:
    """``np.fabs``: |x| (the same op as ``abs`` for real tensors)."""
    return abs(x)


@export(numpy=np.real)
def real(x: Tensor) -> Tensor:
    """The real part: a real tensor itself (tensors hold real numbers only), as ``torch.real``
    of a real tensor."""
    return x


@export(numpy=np.conjugate, method=True)
def conj(x: Tensor) -> Tensor:
    """The complex conjugate: a real tensor itself."""
    return x
