"""Activation functions, each computed in a form that neither overflows nor loses precision."""

from __future__ import annotations

import math

import numpy as np

from ._registry import defop
from .elementwise import _erf

# σ(x) = 1/(1+e⁻ˣ), computed by SciPy's expit, one pass that neither overflows nor loses
# relative precision for x ≪ 0 (SciPy comes with scikit-learn; imported on first use because
# importing it costs more than all of chainrule):  x̄ = ḡ·σ·(1−σ)
_EXPIT: list = []


def _sigmoid(x, out=None):
    if not _EXPIT:
        from scipy.special import expit

        _EXPIT.append(expit)
    return _EXPIT[0](x, out=out)


sigmoid = defop(
    "sigmoid",
    _sigmoid,
    vjp=lambda g, out, x: g * out * (1 - out),
    jvp=lambda t, out, x: t * out * (1 - out),
    numpy="expit",  # SciPy's ufunc, by name
    method=True,
)

# relu'(0) := 0, as torch does
relu = defop(
    "relu",
    lambda x: np.maximum(x, 0),
    vjp=lambda g, out, x: g * (x > 0),
    jvp=lambda t, out, x: t * (x > 0),
    method=True,
)


# leaky_relu(x) = x for x > 0, slope·x otherwise (the slope applies at 0, as in torch)
def _leaky_relu(x, *, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope)


def _leaky_relu_vjp(g, out, x, *, negative_slope=0.01):
    return np.where(x > 0, g, g * negative_slope)


# (elementwise ops below: the forward rule is the reverse rule applied to the tangent)
leaky_relu = defop("leaky_relu", _leaky_relu, vjp=_leaky_relu_vjp, jvp=_leaky_relu_vjp)


# elu(x) = x for x > 0, α(eˣ − 1) otherwise; at 0 the derivative is α (torch's convention)
def _elu(x, *, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _elu_vjp(g, out, x, *, alpha=1.0):
    return np.where(x > 0, g, g * (out + alpha))


elu = defop("elu", _elu, vjp=_elu_vjp, jvp=_elu_vjp)


# softplus(x) = log(1 + e^{βx})/β, and x itself where βx > threshold (torch's definition)
def _softplus(x, *, beta=1.0, threshold=20.0):
    bx = x * beta
    return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta)


def _softplus_vjp(g, out, x, *, beta=1.0, threshold=20.0):
    bx = x * beta
    return np.where(bx > threshold, g, g * _sigmoid(bx))


softplus = defop("softplus", _softplus, vjp=_softplus_vjp, jvp=_softplus_vjp)

# gelu(x) = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)); approximate="tanh":
#   ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu(x, *, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
    if approximate == "none":
        return 0.5 * x * (1 + _erf(x * (1 / math.sqrt(2))))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _gelu_vjp(g, out, x, *, approximate="none"):
    if approximate == "tanh":
        th = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du)
    cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
    return g * (cdf + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x))


gelu = defop("gelu", _gelu, vjp=_gelu_vjp, jvp=_gelu_vjp)
