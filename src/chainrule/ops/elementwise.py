"""Elementwise functions of one tensor: exp, log, powers' friends, trigonometry, clipping."""

from __future__ import annotations

import math

import numpy as np

from ._registry import LINEAR, defop

_ERF_SCALE = 2 / math.sqrt(math.pi)  # erf'(x) = 2/√π · e^{−x²}


def _erf(x):
    from scipy.special import erf  # SciPy comes with scikit-learn; imported on first use

    return erf(x)


# fmt: off
#     name            forward      reverse rule (g: cotangent) / forward rule (t: tangent of x)
exp = defop("exp",     np.exp,     vjp=lambda g, out, x: g * out,
                                   jvp=lambda t, out, x: t * out)
log = defop("log",     np.log,     vjp=lambda g, out, x: g / x,
                                   jvp=lambda t, out, x: t / x)
log1p = defop("log1p", np.log1p,   vjp=lambda g, out, x: g / (1 + x),
                                   jvp=lambda t, out, x: t / (1 + x))
sqrt = defop("sqrt",   np.sqrt,    vjp=lambda g, out, x: g * 0.5 / out,
                                   jvp=lambda t, out, x: t * 0.5 / out)
abs = defop("abs",     np.abs,     vjp=lambda g, out, x: g * np.sign(x),  # noqa: A001
                                   jvp=lambda t, out, x: t * np.sign(x))  # |x|'(0) := 0
sin = defop("sin",     np.sin,     vjp=lambda g, out, x: g * np.cos(x),
                                   jvp=lambda t, out, x: t * np.cos(x))
cos = defop("cos",     np.cos,     vjp=lambda g, out, x: -g * np.sin(x),
                                   jvp=lambda t, out, x: -t * np.sin(x))
tanh = defop("tanh",   np.tanh,    vjp=lambda g, out, x: g * (1 - out * out),
                                   jvp=lambda t, out, x: t * (1 - out * out))
erf = defop("erf",     _erf,       vjp=lambda g, out, x: g * _ERF_SCALE * np.exp(-x * x),
                                   jvp=lambda t, out, x: t * _ERF_SCALE * np.exp(-x * x))
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
