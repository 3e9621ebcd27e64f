"""Gradient checks for users: finite differences in both modes, to second order, and parity
with PyTorch for ops you write yourself.

``check_grads`` compares ⟨v, J u⟩ for random directions u and v computed three ways: by
central finite differences, by the reverse rules (vjp) and by the forward rules (jvp). It
works in float64 and checks each argument separately, so a failure names the argument and
the mode. A point where the function has a kink is reported as such instead of passing or
failing by chance.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor, no_grad
from .._transforms import jvp, vjp


class GradientCheckError(AssertionError):
    """A derivative disagrees with finite differences."""


class NotDifferentiableError(GradientCheckError):
    """The function has no derivative at the point (its one-sided derivatives differ)."""


def _float64(args: Sequence[Any]) -> list[np.ndarray]:
    out = []
    for i, a in enumerate(args):
        arr = a.data if isinstance(a, Tensor) else np.asarray(a)
        if arr.dtype.kind != "f" and arr.dtype.kind not in "iu":
            raise TypeError(f"check_grads: args[{i}] must be numeric, got dtype {arr.dtype}")
        if arr.dtype == np.float32 or arr.dtype == np.float16:
            warnings.warn(
                f"check_grads: args[{i}] is {arr.dtype}; finite differences need float64, so "
                f"it is upcast (pass float64 to silence this)",
                stacklevel=3,
            )
        out.append(arr.astype(np.float64))
    return out


def _value(f: Callable, args: Sequence[np.ndarray]) -> np.ndarray:
    with no_grad():
        out = f(*[Tensor._wrap(a) for a in args])
    if not isinstance(out, Tensor):
        raise TypeError(f"check_grads: f must return a Tensor, got {type(out).__name__}")
    return out.data


def _shifted(args: list[np.ndarray], i: int, step: np.ndarray) -> list[np.ndarray]:
    moved = list(args)
    moved[i] = args[i] + step
    return moved


# φ'(0) ≈ (φ(ε) − φ(−ε)) / 2ε: the ε² terms of the two Taylor series cancel, so the error is
# O(ε²) (one-sided differences are O(ε)); with ε = 1e-6 in float64 rounding costs about 1e-10
def central_difference(phi: Callable[[float], Any], eps: float) -> Any:
    """The derivative at 0 of ``phi``, a function of one number returning a number or an
    array (then the result is an array of that shape), by central differences with step
    ``eps``. Every finite difference of chainrule's checks is this one."""
    return (phi(eps) - phi(-eps)) / (2 * eps)


def _along(f: Callable, xs: list[np.ndarray], i: int, u: np.ndarray, v: np.ndarray) -> Any:
    """φ(t) = ⟨v, f(xs with xs[i] + t·u)⟩, each value computed once."""

    @functools.cache
    def phi(t: float) -> float:
        return float(np.sum(v * _value(f, xs if t == 0 else _shifted(xs, i, t * u))))

    return phi


def check_grads(
    f: Callable,
    args: Sequence[Any],
    modes: Sequence[str] = ("fwd", "rev"),
    order: int = 1,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
) -> None:
    """Checks the derivatives of ``f`` at ``args`` against central finite differences.

    Parameters
    ----------
    f : callable
        A function of tensors returning a tensor (any shape).
    args : sequence of array_like or Tensor
        The point. Float32 is upcast to float64 with a warning.
    modes : sequence of {"fwd", "rev"}
        Which rules to check: forward (jvp) and/or reverse (vjp).
    order : {1, 2}
        2 also checks the derivatives of the gradient (second order).
    eps, rtol, atol : float
        Finite-difference step and tolerances.

    Raises
    ------
    NotDifferentiableError
        When ``f`` has a kink at the point along a random direction.
    GradientCheckError
        When a derivative disagrees, naming the argument, the mode and the numbers.
    """
    if order not in (1, 2):
        raise ValueError(f"check_grads: order must be 1 or 2, got {order!r}")
    bad = set(modes) - {"fwd", "rev"}
    if bad or not modes:
        raise ValueError(
            f"check_grads: modes must be a non-empty subset of ('fwd', 'rev'), got {tuple(modes)!r}"
        )
    xs = _float64(args)
    _check_first_order(f, xs, modes, eps, rtol, atol, np.random.default_rng(seed), "")
    if order == 2:
        rng = np.random.default_rng(seed + 1)
        v = rng.standard_normal(_value(f, xs).shape)
        ws = [rng.standard_normal(x.shape) for x in xs]

        def directional_gradient(*ts):
            _, pullback = vjp(f, *ts)
            total = None
            for g, w in zip(pullback(v), ws):
                term = (g * w).sum()
                total = term if total is None else total + term
            return total

        _check_first_order(
            directional_gradient,
            xs,
            modes,
            eps,
            rtol,
            atol,
            np.random.default_rng(seed + 2),
            " (second order)",
        )


def _check_first_order(f, xs, modes, eps, rtol, atol, rng, what) -> None:
    v = rng.standard_normal(_value(f, xs).shape)
    _, pullback = vjp(f, *[Tensor._wrap(x) for x in xs]) if "rev" in modes else (None, None)
    cotangents = pullback(v) if pullback is not None else None
    for i, x in enumerate(xs):
        u = rng.standard_normal(x.shape)
        phi = _along(f, xs, i, u, v)
        f0 = phi(0.0)
        numeric = central_difference(phi, eps)
        right, left = (phi(eps) - f0) / eps, (f0 - phi(-eps)) / eps
        if abs(right - left) > 1e-3 * (1 + abs(numeric)):
            raise NotDifferentiableError(
                f"check_grads{what}: f is not differentiable at this point along args[{i}]: "
                f"the one-sided derivatives differ ({left:.6g} from the left, {right:.6g} from "
                f"the right); move the point off the kink"
            )
        found = {}
        if cotangents is not None:
            found["rev"] = float(np.sum(cotangents[i].data * u))
        if "fwd" in modes:
            tangents = [np.zeros_like(z) for z in xs]
            tangents[i] = u
            _, t = jvp(f, [Tensor._wrap(z) for z in xs], tangents)
            found["fwd"] = float(np.sum(v * t.data))
        for mode, value in found.items():
            if not np.isclose(value, numeric, rtol=rtol, atol=atol):
                raise GradientCheckError(
                    f"check_grads{what}: args[{i}] (shape {x.shape}), mode '{mode}': "
                    f"<v, J u> = {value:.10g} but finite differences give {numeric:.10g} "
                    f"(rtol={rtol}, atol={atol})"
                )


def numerical_jacobian(f: Callable, x: Any, eps: float = 1e-6) -> np.ndarray:
    """The Jacobian of ``f`` at ``x`` by central differences, shape ``f(x).shape + x.shape``
    (float64)."""
    (x,) = _float64([x])
    out_shape = _value(f, [x]).shape
    J = np.zeros(out_shape + x.shape)
    for j in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[j] = 1.0

        def along(t: float, e: np.ndarray = e) -> np.ndarray:
            return _value(f, _shifted([x], 0, t * e))

        J[(...,) + j] = central_difference(along, eps)
    return J


def _torch_or_skip() -> Any:
    """The ``torch`` module (an optional dependency, imported here when a check needs it); a
    pytest skip, or outside pytest an ImportError, when it is not installed."""
    try:
        import torch
    except ImportError:
        message = "assert_matches_torch: PyTorch is not installed (pip install torch==2.13.0)"
        try:
            import pytest
        except ImportError:
            raise ImportError(message) from None
        pytest.skip(message)
    return torch


def assert_matches_torch(
    ours: Callable,
    theirs: Callable,
    shapes: Sequence[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
    *,
    inputs: Sequence[Any] | None = None,
    strict: bool = False,
) -> None:
    """Checks a chainrule function against a PyTorch one: the forward value and the gradient
    of every input under a random cotangent, on random inputs of the given shapes.

    Parameters
    ----------
    ours, theirs : callable
        The same function of tensors in chainrule and in PyTorch.
    shapes : sequence of tuple of int
        The inputs' shapes; the inputs are standard normal (from ``seed``).
    dtype : dtype
        The inputs' floating dtype.
    rtol, atol : float, optional
        Tolerances; by default 1e-9 and 1e-11 in float64, 2e-5 in float32.
    seed : int
        Seeds the inputs and then the cotangent.
    inputs : sequence of array_like, optional
        Given inputs instead of ``shapes`` (cast to ``dtype``).
    strict : bool
        Also require the output and every input's gradient to be there and of ``dtype``.

    Skips (``pytest.skip``) with a clear message when PyTorch is not installed; outside pytest
    it raises ``ImportError``.
    """
    torch = _torch_or_skip()
    if (shapes is None) == (inputs is None):
        raise TypeError("assert_matches_torch: give either shapes or inputs")
    dtype = np.dtype(dtype)
    rtol = rtol if rtol is not None else (1e-9 if dtype == np.float64 else 2e-5)
    atol = atol if atol is not None else (1e-11 if dtype == np.float64 else 2e-5)
    rng = np.random.default_rng(seed)
    if inputs is None:
        values = [rng.standard_normal(s).astype(dtype) for s in shapes or ()]
    else:
        values = [np.asarray(v).astype(dtype) for v in inputs]
    xs = [Tensor._wrap(v.copy()).requires_grad_() for v in values]
    ts = [torch.tensor(v, requires_grad=True) for v in values]
    out, tout = ours(*xs), theirs(*ts)
    expected = tout.detach().numpy()
    if strict and out.dtype != dtype:
        raise AssertionError(f"assert_matches_torch: {dtype} inputs gave a {out.dtype} output")
    if out.shape != expected.shape:
        raise AssertionError(
            f"assert_matches_torch: output shape {out.shape} vs torch's {expected.shape}"
        )
    np.testing.assert_allclose(
        out.data,
        expected,
        rtol=rtol,
        atol=atol,
        err_msg="assert_matches_torch: forward values differ",
    )
    v = rng.standard_normal(out.shape).astype(dtype)
    out.backward(grad=v)
    (tout * torch.as_tensor(v)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if strict and (x.grad is None or x.grad.dtype != dtype):
            raise AssertionError(f"assert_matches_torch: input {i} got gradient {x.grad!r}")
        theirs_g = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        ours_g = np.zeros(x.shape) if x.grad is None else x.grad.data
        np.testing.assert_allclose(
            ours_g,
            theirs_g,
            rtol=rtol,
            atol=atol,
            err_msg=f"assert_matches_torch: gradient of input {i} (shape {x.shape}) differs",
        )
