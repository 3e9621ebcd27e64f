"""Function transforms with JAX's and torch.func's names: grad, value_and_grad, vjp, jvp,
jacobian, hessian, hvp.

They compose: ``hessian`` is forward mode over reverse mode (``jacobian`` of ``grad`` with
tangents pushed through the recorded backward pass), and ``grad`` of a function of tensors
that already require grad returns gradients that are themselves differentiable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _forward
from ._autodiff import gradients
from ._counting import count_ops
from ._tensor import Tensor, _to_array, enable_grad, no_grad


def _as_input(x: Any, name: str) -> Tensor:
    """A tensor to differentiate with respect to; arrays and numbers become float tensors."""
    t = x if isinstance(x, Tensor) else Tensor._wrap(_to_array(x, None, copy=False))
    if t.dtype.kind != "f":
        raise TypeError(
            f"{name}: can only differentiate with respect to floating-point inputs, "
            f"got dtype {t.dtype}"
        )
    return t


def _leaf(x: Tensor) -> tuple[Tensor, bool]:
    """A tensor that requires grad standing for ``x``, and whether gradients taken with respect
    to it must stay differentiable (``x`` is part of an outer derivative)."""
    if x.requires_grad:
        return x, True  # an outer reverse pass differentiates through us: keep the link
    leaf = Tensor._wrap(x.data)
    leaf.requires_grad = True
    if _forward.active():
        tangent = _forward.get_tangent(x)
        if tangent is not None:
            _forward.set_tangent(leaf, tangent)
        return leaf, True  # tangents must flow through the backward pass's ops
    return leaf, False


def _argnums(argnums: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"{name}: argnums {a} is out of range for {n} positional arguments")
    return tuple(a % n for a in nums)


def value_and_grad(
    f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable:
    """``f`` transformed to return ``(value, gradient)``; with ``has_aux``, ``f`` returns
    ``(value, aux)`` and the result is ``((value, aux), gradient)``.

    The gradient is a Tensor shaped like the argument (a tuple of them when ``argnums`` is a
    sequence). ``f`` must return a one-element tensor.
    """

    def wrapped(*args: Any, **kwargs: Any):
        nums = _argnums(argnums, len(args), "grad")
        inputs = list(args)
        leaves, keep = [], False
        for a in nums:
            leaf, k = _leaf(_as_input(inputs[a], "grad"))
            inputs[a] = leaf
            leaves.append(leaf)
            keep = keep or k
        with enable_grad():
            result = f(*inputs, **kwargs)
        value, aux = result if has_aux else (result, None)
        if not isinstance(value, Tensor) or value.size != 1:
            shape = getattr(value, "shape", type(value).__name__)
            raise ValueError(
                f"grad: f must return a one-element tensor, got {shape}; for "
                f"vector outputs use cr.jacobian or cr.vjp"
            )
        if not value.requires_grad:  # f does not depend on its inputs
            grads = tuple(Tensor._wrap(np.zeros_like(x.data)) for x in leaves)
        else:
            seed = np.ones(value.shape, dtype=value.dtype)
            found = gradients(value, leaves, grad_output=seed, create_graph=keep, allow_unused=True)
            grads = tuple(
                Tensor._wrap(np.zeros_like(x.data)) if g is None else g
                for g, x in zip(found, leaves)
            )
        g = grads[0] if isinstance(argnums, int) else grads
        if not keep:
            value = value.detach()
        return ((value, aux) if has_aux else value), g

    return wrapped


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``f`` transformed to return its gradient with respect to argument ``argnums``.

    >>> cr.grad(lambda x: (x ** 2).sum())(cr.tensor([1.0, 2.0]))   # tensor([2., 4.])
    """
    vg = value_and_grad(f, argnums, has_aux)

    def wrapped(*args: Any, **kwargs: Any):
        (value, g) = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapped


def vjp(f: Callable, *primals: Any) -> tuple[Tensor, Callable]:
    """Evaluates ``f(*primals)`` and returns ``(out, vjp_fn)``; ``vjp_fn(cotangent)`` gives
    ``cotangent`` times the Jacobian, one Tensor per primal (the graph is kept for reuse)."""
    leaves = []
    keep = False
    for i, p in enumerate(primals):
        leaf, k = _leaf(_as_input(p, f"vjp: primals[{i}]"))
        leaves.append(leaf)
        keep = keep or k
    with enable_grad():
        out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"vjp: f must return a Tensor, got {type(out).__name__}")

    def vjp_fn(cotangent: Any) -> tuple[Tensor, ...]:
        ct = cotangent.data if isinstance(cotangent, Tensor) else np.asarray(cotangent)
        if ct.shape != out.shape:
            raise ValueError(
                f"vjp: cotangent has shape {ct.shape} but the output has shape {out.shape}"
            )
        if not out.requires_grad:
            return tuple(Tensor._wrap(np.zeros_like(x.data)) for x in leaves)
        grads = gradients(
            out, leaves, grad_output=ct, retain_graph=True, create_graph=keep, allow_unused=True
        )
        return tuple(
            Tensor._wrap(np.zeros_like(x.data)) if g is None else g for g, x in zip(grads, leaves)
        )

    return (out if keep else out.detach()), vjp_fn


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Tensor, Tensor]:
    """One forward-mode pass: ``(f(*primals), J·tangents)``, building no reverse graph.

    Parameters
    ----------
    f : callable
        A function of tensors returning a tensor.
    primals, tangents : sequences
        The point and the direction: one tangent per primal, same shape and dtype.
    """
    primals = tuple(primals) if isinstance(primals, (tuple, list)) else (primals,)
    tangents = tuple(tangents) if isinstance(tangents, (tuple, list)) else (tangents,)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    xs = [_as_input(p, f"jvp: primals[{i}]") for i, p in enumerate(primals)]
    ts = []
    for i, (x, t) in enumerate(zip(xs, tangents)):
        if isinstance(t, Tensor):
            t = t.data
        elif not isinstance(t, np.ndarray):  # numbers and lists take the primal's dtype
            t = np.asarray(t, dtype=x.dtype)
        if t.shape != x.shape:
            raise ValueError(
                f"jvp: tangents[{i}] has shape {t.shape} but primals[{i}] has shape {x.shape}"
            )
        if t.dtype != x.dtype:
            raise TypeError(
                f"jvp: tangents[{i}] has dtype {t.dtype} but primals[{i}] has dtype {x.dtype}"
            )
        ts.append(t)
    track = any(x.requires_grad for x in xs)  # inside an outer reverse pass: keep recording
    with _forward.forward_mode():
        inputs = [x if track else Tensor._wrap(x.data) for x in xs]
        for x, t in zip(inputs, ts):
            _forward.set_tangent(x, t)
        if track:
            out = f(*inputs)
        else:
            with no_grad():
                out = f(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"jvp: f must return a Tensor, got {type(out).__name__}")
        tangent = _forward.get_tangent(out)
    if tangent is None:  # the output does not depend on the primals
        tangent = np.zeros_like(out.data)
    return out, Tensor._wrap(np.asarray(tangent))


@dataclass
class JacobianStats:
    """What computing a Jacobian cost: passes over the function and the primitive work."""

    mode: str
    passes: int
    primitive_evaluations: int
    multiply_adds: int


def jacobian(f: Callable, x: Any, mode: str | None = None, return_stats: bool = False):
    """The Jacobian of ``f`` at ``x``, of shape ``f(x).shape + x.shape``.

    Parameters
    ----------
    mode : {"reverse", "forward", None}
        Reverse mode runs one backward pass per output element; forward mode one forward
        pass per input element. ``None`` picks the cheaper: forward when ``x`` has fewer
        elements than the output.
    return_stats : bool
        Also return a ``JacobianStats`` with the passes, primitive evaluations and
        multiply-adds used.
    """
    if mode not in (None, "reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse', 'forward' or None, got {mode!r}")
    x = _as_input(x, "jacobian")
    with count_ops() as counter:
        if mode is None:
            with no_grad():
                n_out = f(Tensor._wrap(x.data)).size
            mode = "forward" if x.size < n_out else "reverse"
            counter.reset()  # the probe pass is not part of either mode's cost
        if mode == "forward":
            J, passes = _jacobian_forward(f, x)
        else:
            J, passes = _jacobian_reverse(f, x)
    if not return_stats:
        return J
    return J, JacobianStats(mode, passes, counter.primitive_evaluations, counter.multiply_adds)


def _jacobian_forward(f: Callable, x: Tensor) -> tuple[Tensor, int]:
    if x.size == 0:  # no columns: one pass finds the output's shape
        out, _ = jvp(f, (x,), (np.zeros(x.shape, dtype=x.dtype),))
        return Tensor._wrap(np.zeros(out.shape + x.shape, dtype=x.dtype)), 1
    columns = []
    for j in range(x.size):
        e = np.zeros(x.size, dtype=x.dtype)
        e[j] = 1
        out, tangent = jvp(f, (x,), (e.reshape(x.shape),))
        columns.append(tangent.data.reshape(-1))
    J = np.stack(columns, axis=-1).reshape(out.shape + x.shape)
    return Tensor._wrap(J), x.size


def _jacobian_reverse(f: Callable, x: Tensor) -> tuple[Tensor, int]:
    out, pullback = vjp(f, x)
    rows = []
    for i in range(out.size):
        e = np.zeros(out.size, dtype=out.dtype)
        e[i] = 1
        rows.append(pullback(e.reshape(out.shape))[0].data.reshape(-1))
    J = np.stack(rows, axis=0) if rows else np.zeros((0, x.size), dtype=x.dtype)
    return Tensor._wrap(J.reshape(out.shape + x.shape)), out.size


def hessian(f: Callable, x: Any) -> Tensor:
    """The Hessian of a scalar function, of shape ``x.shape + x.shape``: forward mode over
    reverse mode (one forward pass through the gradient per input element)."""
    return jacobian(grad(f), x, mode="forward")


def hvp(f: Callable, x: Any, v: Any) -> Tensor:
    """The Hessian-vector product H·v of a scalar function at ``x``, without forming H:
    one forward-mode pass through the gradient."""
    x = _as_input(x, "hvp")
    v = v.data if isinstance(v, Tensor) else v
    return jvp(grad(f), (x,), (np.asarray(v, dtype=x.dtype),))[1]
