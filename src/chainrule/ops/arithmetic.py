"""Arithmetic: + − × ÷, powers, matrix products, elementwise max/min and ``where``.

Every reverse rule returns the gradient at the broadcast shape; the registry sums it back to
each input's shape. ``g`` is the cotangent of the output, ``t`` an input's tangent, ``out`` the
output. For an elementwise op both rules multiply by the same local derivative, so the
forward rule is the reverse rule with ``t`` in place of ``g``.
"""

from __future__ import annotations

import numpy as np

from ._registry import LINEAR, MULTILINEAR, defop

# fmt: off
#     name      forward        reverse rules, one per input                      forward rules
add = defop("add", np.add,      vjp=(lambda g, out, a, b: g, lambda g, out, a, b: g), jvp=LINEAR,
            method=True)
sub = defop("sub", np.subtract, vjp=(lambda g, out, a, b: g, lambda g, out, a, b: -g),
            jvp=LINEAR, method=True)
mul = defop("mul", np.multiply, vjp=(lambda g, out, a, b: g * b, lambda g, out, a, b: g * a),
            jvp=MULTILINEAR, method=True)
div = defop("div", np.true_divide, vjp=(lambda g, out, a, b: g / b,
                                        lambda g, out, a, b: -g * out / b),
                                   jvp=(lambda t, out, a, b: t / b,
                                        lambda t, out, a, b: -t * out / b), method=True)
neg = defop("neg", np.negative, vjp=lambda g, out, x: -g, jvp=LINEAR, method=True)
# fmt: on


# y = aᵇ:  ā = ḡ·b·aᵇ⁻¹ (0 where b = 0, even at a = 0 where aᵇ⁻¹ is infinite),
#          b̄ = ḡ·aᵇ·log a  (taken as 0 where a = 0 and b ≥ 0), as torch does.
# Where b = 0 the exponent b − 1 is replaced by 1 (b·a¹ = 0), so no 0·∞ appears in this rule
# or in its own derivative.
def _pow_vjp_a(g, out, a, b):
    if type(b) in (int, float):
        return g * b * a ** (b - 1) if b else np.zeros_like(g)
    return g * b * a ** np.where(b == 0, 1, b - 1)


def _pow_vjp_b(g, out, a, b):
    return g * np.where((a == 0) & (b >= 0), 0, out * np.log(np.where(a == 0, 1, a)))


pow = defop(
    "pow", np.power, vjp=(_pow_vjp_a, _pow_vjp_b), jvp=(_pow_vjp_a, _pow_vjp_b), method=True
)  # noqa: A001


# y = a @ b with NumPy's rules for 1-D operands (promoted, then the added axis dropped):
#   ā = ḡ bᵀ,  b̄ = aᵀ ḡ; batch axes are summed back by the registry.
def _mT(x):
    return x.T if x.ndim == 2 else x.swapaxes(-1, -2)


def _matmul_vjp_a(g, out, a, b):
    if b.ndim == 1:
        return g[..., None] * b
    if a.ndim == 1:
        return (b @ g[..., None])[..., 0]
    return g @ _mT(b)


def _matmul_vjp_b(g, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:
        return a[:, None] * g[..., None, :]
    if b.ndim == 1:
        return (_mT(a) @ g[..., None])[..., 0]
    return _mT(a) @ g


def _matmul_explain(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return f"both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}"
    ka, kb = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        return (
            f"shapes {a.shape} and {b.shape} are not aligned (last dim of a is {ka}, "
            f"{'dim 0' if b.ndim == 1 else 'second-to-last dim'} of b is {kb})"
        )
    return f"batch dimensions of shapes {a.shape} and {b.shape} cannot be broadcast together"


matmul = defop(
    "matmul",
    np.matmul,
    vjp=(_matmul_vjp_a, _matmul_vjp_b),
    jvp=MULTILINEAR,
    explain=_matmul_explain,
    numpy=(np.matmul, np.linalg.matmul),
    method=True,
)


# Elementwise max/min: the gradient goes to the larger (smaller) input; ties split it in half,
# as torch.maximum does.
def _wins(g, a, b):
    return g * (a > b) + 0.5 * g * (a == b)


_max_rules = (lambda g, out, a, b: _wins(g, a, b), lambda g, out, a, b: _wins(g, b, a))
_min_rules = (lambda g, out, a, b: _wins(g, b, a), lambda g, out, a, b: _wins(g, a, b))
maximum = defop("maximum", np.maximum, vjp=_max_rules, jvp=_max_rules, method=True)
minimum = defop("minimum", np.minimum, vjp=_min_rules, jvp=_min_rules, method=True)

# where(cond, a, b): the condition is not differentiable; each branch gets g where chosen.
_where_rules = (
    None,
    lambda g, out, c, a, b: np.where(c, g, 0),
    lambda g, out, c, a, b: np.where(c, 0, g),
)
where = defop("where", np.where, vjp=_where_rules, jvp=_where_rules)


# logaddexp(a, b) = log(eᵃ + eᵇ):  ā = ḡ·e^(a − out);  base 2: ā = ḡ·2^(a − out)
_lae_rules = (
    lambda g, out, a, b: g * np.exp(a - out),
    lambda g, out, a, b: g * np.exp(b - out),
)
_lae2_rules = (
    lambda g, out, a, b: g * np.exp2(a - out),
    lambda g, out, a, b: g * np.exp2(b - out),
)
logaddexp = defop("logaddexp", np.logaddexp, vjp=_lae_rules, jvp=_lae_rules, method=True)
logaddexp2 = defop("logaddexp2", np.logaddexp2, vjp=_lae2_rules, jvp=_lae2_rules, method=True)

# arctan2(a, b) = angle of (b, a):  ā = ḡ·b/(a² + b²),  b̄ = −ḡ·a/(a² + b²)
_atan2_rules = (
    lambda g, out, a, b: g * b / (a * a + b * b),
    lambda g, out, a, b: -g * a / (a * a + b * b),
)
arctan2 = defop("arctan2", np.arctan2, vjp=_atan2_rules, jvp=_atan2_rules, method=True)

# hypot(a, b) = √(a² + b²):  ā = ḡ·a/out,  b̄ = ḡ·b/out
_hypot_rules = (lambda g, out, a, b: g * a / out, lambda g, out, a, b: g * b / out)
hypot = defop("hypot", np.hypot, vjp=_hypot_rules, jvp=_hypot_rules, method=True)


# fmax/fmin ignore NaN: the gradient goes to the input chosen, ties to the first (as torch)
def _first_wins(g, a, b, better):
    return g * (better(a, b) | np.isnan(b))


def _first_loses(g, a, b, better):
    return g * ~(better(a, b) | np.isnan(b))


_fmax_rules = (
    lambda g, out, a, b: _first_wins(g, a, b, np.greater_equal),
    lambda g, out, a, b: _first_loses(g, a, b, np.greater_equal),
)
_fmin_rules = (
    lambda g, out, a, b: _first_wins(g, a, b, np.less_equal),
    lambda g, out, a, b: _first_loses(g, a, b, np.less_equal),
)
fmax = defop("fmax", np.fmax, vjp=_fmax_rules, jvp=_fmax_rules, method=True)
fmin = defop("fmin", np.fmin, vjp=_fmin_rules, jvp=_fmin_rules, method=True)

# remainder(a, b) = a − ⌊a/b⌋·b (sign of b, Python's %);  fmod(a, b) = a − trunc(a/b)·b (sign
# of a, C's):  ā = ḡ,  b̄ = −ḡ·⌊a/b⌋ (resp. trunc), the quotient being piecewise constant
_remainder_rules = (lambda g, out, a, b: g, lambda g, out, a, b: -g * np.floor(a / b))
_fmod_rules = (lambda g, out, a, b: g, lambda g, out, a, b: -g * np.trunc(a / b))
remainder = defop(
    "remainder", np.remainder, vjp=_remainder_rules, jvp=_remainder_rules, method=True
)
fmod = defop("fmod", np.fmod, vjp=_fmod_rules, jvp=_fmod_rules, method=True)
