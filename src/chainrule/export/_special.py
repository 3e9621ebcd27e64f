"""expm1, log1p and erfc written with ONNX's basic operators, to full float64 precision.

ONNX Runtime's CPU kernels for ``Elu``, ``Softplus`` and ``Erf`` take float32 only, so a
float64 graph computes ELU, Softplus and the exact GELU from these instead (a float32 graph
uses the operators themselves). Each rule here is accurate to a few units in the last place,
so the graph agrees with chainrule's NumPy to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np

from ._graph import Graph

_ERFC_DEGREE = 32  # Chebyshev coefficients beyond this one are below 1e-15


def expm1(g: Graph, x: str, base: str) -> str:
    """eˣ − 1 without cancellation near 0 (Kahan): with u = eˣ, (u − 1)·x / log u, or x where
    u rounds to 1, or −1 where u underflows to 0."""
    u = g.op("Exp", [x], f"{base}/exp")
    um1 = g.op("Sub", [u, g.scalar(1.0)], f"{base}/u_minus_1")
    ratio = g.op(
        "Div", [g.op("Mul", [um1, x], f"{base}/num"), g.op("Log", [u], f"{base}/log")], base
    )
    one = g.op("Equal", [u, g.scalar(1.0)], f"{base}/u_is_1")
    zero = g.op("Equal", [u, g.scalar(0.0)], f"{base}/u_is_0")
    out = g.op("Where", [one, x, ratio], f"{base}/small")
    return g.op("Where", [zero, g.scalar(-1.0), out], f"{base}/out")


def log1p(g: Graph, u: str, base: str) -> str:
    """log(1 + u) without cancellation for small u ≥ 0 (Goldberg): with w = 1 + u,
    log w · u / (w − 1), or u where w rounds to 1."""
    w = g.op("Add", [u, g.scalar(1.0)], f"{base}/w")
    wm1 = g.op("Sub", [w, g.scalar(1.0)], f"{base}/w_minus_1")
    num = g.op("Mul", [g.op("Log", [w], f"{base}/log"), u], f"{base}/num")
    ratio = g.op("Div", [num, wm1], f"{base}/ratio")
    one = g.op("Equal", [w, g.scalar(1.0)], f"{base}/w_is_1")
    return g.op("Where", [one, u, ratio], f"{base}/out")


def erfc(g: Graph, z: str, base: str) -> str:
    """erfc z for z ≥ 0 as t·exp(−z² + h(s)), t = 2/(2 + z), s = 1 − 2t ∈ (−1, 1]
    (the form of Numerical Recipes' ``erfccheb``), where h(s) = log(erfcx(z)/t) is smooth and
    summed as a Chebyshev series by Clenshaw's recurrence; relative error below 1e-13."""
    t = g.op(
        "Div", [g.scalar(2.0), g.op("Add", [z, g.scalar(2.0)], f"{base}/2_plus_z")], f"{base}/t"
    )
    s = g.op("Sub", [g.scalar(1.0), g.op("Mul", [t, g.scalar(2.0)], f"{base}/2t")], f"{base}/s")
    two_s = g.op("Mul", [s, g.scalar(2.0)], f"{base}/2s")
    # Clenshaw: b_k = 2s·b_{k+1} − b_{k+2} + c_k, and h = s·b_1 − b_2 + c_0
    c = _erfc_coefficients()
    b1, b2 = g.scalar(c[-1]), g.scalar(0.0)
    for k in range(len(c) - 2, 0, -1):
        step = g.op("Sub", [g.op("Mul", [two_s, b1], f"{base}/b{k}"), b2], f"{base}/b{k}")
        b1, b2 = g.op("Add", [step, g.scalar(c[k])], f"{base}/b{k}"), b1
    sb1 = g.op("Sub", [g.op("Mul", [s, b1], f"{base}/h"), b2], f"{base}/h")
    h = g.op("Add", [sb1, g.scalar(c[0])], f"{base}/h")
    exponent = g.op("Sub", [h, g.op("Mul", [z, z], f"{base}/z2")], f"{base}/exponent")
    return g.op("Mul", [t, g.op("Exp", [exponent], f"{base}/exp")], f"{base}/out")


def _erfc_coefficients() -> np.ndarray:
    """h's Chebyshev coefficients, interpolated at Chebyshev points from SciPy's erfcx."""
    from numpy.polynomial import chebyshev
    from scipy.special import erfcx

    def h(s: np.ndarray) -> np.ndarray:
        t = (1 - s) / 2
        return np.log(erfcx(2 / t - 2) / t)

    return chebyshev.chebinterpolate(h, _ERFC_DEGREE)


def normal_cdf(g: Graph, x: str, base: str) -> str:
    """Φ(x) = ½·erfc(−x/√2): ½·erfc(|x|/√2) for x < 0 and 1 − ½·erfc(|x|/√2) otherwise,
    so that neither tail loses digits."""
    z = g.op("Mul", [g.op("Abs", [x], f"{base}/abs"), g.scalar(1 / math.sqrt(2))], f"{base}/z")
    half = g.op("Mul", [erfc(g, z, f"{base}/erfc"), g.scalar(0.5)], f"{base}/half_erfc")
    upper = g.op("Sub", [g.scalar(1.0), half], f"{base}/upper")
    negative = g.op("Less", [x, g.scalar(0.0)], f"{base}/negative")
    return g.op("Where", [negative, half, upper], f"{base}/out")
