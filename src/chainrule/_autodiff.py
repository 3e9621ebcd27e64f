"""The reverse-mode engine: an iterative backward pass over the recorded graph.

``backward`` sorts the graph below a tensor topologically with an explicit stack (no recursion
limit), then walks it from the output to the inputs, calling each op's reverse rule for the
inputs that need a gradient and adding up contributions keyed by tensor identity, so a tensor
used twice receives the sum of both paths. Leaves receive ``.grad``; the graph's saved values
are released afterwards unless ``retain_graph=True``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ._hooks import RemovableHandle
from ._tensor import Tensor, _Mode, _to_array, enable_grad
from .ops._registry import _check_finite, unbroadcast
from .ops.elementwise import astype


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager: raise at the first op whose forward or backward makes NaN or inf.

    The error names the op, so the first bad step of a computation is found without bisecting.
    It checks every result, so it is slow; use it for debugging only.
    """

    def __enter__(self) -> detect_anomaly:
        self._prev = _Mode.anomaly
        _Mode.anomaly = True
        return self

    def __exit__(self, *exc: object) -> None:
        _Mode.anomaly = self._prev


# Gradient hooks by tensor id: {id: {handle id: fn}}; an entry is dropped with its tensor.
_HOOKS: dict[int, dict[int, Callable]] = {}


def register_hook(tensor: Tensor, hook: Callable) -> RemovableHandle:
    """Calls ``hook(grad)`` when the gradient with respect to ``tensor`` has been computed.

    The hook gets the gradient as a Tensor and may return a replacement (or ``None`` to keep
    it); it runs before the gradient flows further back or into a leaf's ``.grad``, as
    ``torch.Tensor.register_hook``. Returns a handle whose ``remove()`` unregisters it.
    """
    if not tensor.requires_grad:
        raise RuntimeError(
            "register_hook: cannot register a hook on a tensor that does not require grad"
        )
    key = id(tensor)
    if key not in _HOOKS:
        _HOOKS[key] = {}
        weakref.finalize(tensor, _HOOKS.pop, key, None)
    handle = RemovableHandle(_HOOKS[key])
    _HOOKS[key][handle.id] = hook
    return handle


def _run_hooks(t: Tensor, g: Any, graph: bool) -> Any:
    """``g`` after ``t``'s hooks: each sees the previous one's result."""
    for hook in list(_HOOKS[id(t)].values()):
        arg = g if graph else Tensor._wrap(g)
        new = hook(arg)
        if new is not None:
            new = new if graph or not isinstance(new, Tensor) else new.data
            if new.shape != g.shape:
                raise ValueError(
                    f"register_hook: a hook returned shape {new.shape} for a "
                    f"gradient of shape {g.shape}"
                )
            g = new
    return g


def _freed_error(t: Tensor) -> RuntimeError:
    return RuntimeError(
        f"backward: trying to backward through the graph a second time: the values saved by "
        f"op '{t._op.name}' were freed by an earlier backward. Pass retain_graph=True to the "
        f"first backward() if you need to run backward twice through the same graph."
    )


_NEVER_READY = 1 << 62  # a leaf's count: leaves have no rule to run


def _dependencies(root: Tensor) -> tuple[dict[int, int], list[Tensor]]:
    """For every tensor below ``root``, how many recorded ops consume it; and the leaves.

    The backward pass runs an op's rule once all its consumers have passed their gradient
    down (Kahn's topological order, as PyTorch's engine does), with an explicit stack.
    """
    consumers: dict[int, int] = {}
    leaves: list[Tensor] = []
    stack = [root]
    while stack:
        t = stack.pop()
        parents = t._parents
        if parents is None:
            raise _freed_error(t)
        for p in parents:
            if p is not None:
                k = id(p)
                n = consumers.get(k)
                if n is None:
                    if p._op is None:
                        consumers[k] = _NEVER_READY
                        leaves.append(p)
                    else:
                        consumers[k] = 1
                        stack.append(p)
                else:
                    consumers[k] = n + 1
    return consumers, leaves


def _seed(t: Tensor, grad: Any) -> np.ndarray:
    if grad is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"backward: a gradient can be created implicitly only for a tensor with one "
                f"element, got shape {t.shape}. Reduce it first (t.sum().backward()) or pass "
                f"the cotangent: t.backward(grad=cr.ones_like(t))"
            )
        return np.ones_like(t.data)
    g = grad.data if isinstance(grad, Tensor) else _to_array(grad, t.data.dtype, copy=False)
    if g.shape != t.shape:
        raise ValueError(f"backward: grad has shape {g.shape} but the tensor has shape {t.shape}")
    return g.astype(t.data.dtype, copy=False)


def backward(
    tensor: Tensor, grad: Any = None, retain_graph: bool = False, create_graph: bool = False
) -> None:
    """Accumulates d tensor / d leaf into ``leaf.grad`` for every leaf that requires grad.

    Parameters
    ----------
    tensor : Tensor
        The output. Without ``grad`` it must have one element.
    grad : array_like or Tensor, optional
        The cotangent (vector in the vector-Jacobian product), same shape as ``tensor``.
    retain_graph : bool
        Keep the graph's saved values so that backward can run through it again.
    create_graph : bool
        Record the backward pass itself, so that ``.grad`` can be differentiated again.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"backward: expected a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad: none of the tensors it was computed "
            "from has requires_grad=True, or it was computed under cr.no_grad()"
        )
    seed = _seed(tensor, grad)
    if create_graph:
        with enable_grad():
            _backward_graph(tensor, seed)
        return
    if tensor._op is None:
        if _HOOKS and id(tensor) in _HOOKS:
            seed = _run_hooks(tensor, seed, graph=False)
        _set_leaf_grad(tensor, seed, copy=True)
        return
    consumers, leaves = _dependencies(tensor)
    grads = _run(tensor, seed, consumers, retain_graph)
    assigned: set[int] = {id(seed)}
    for leaf in leaves:
        g = grads.get(id(leaf))
        if g is not None:
            if _HOOKS and id(leaf) in _HOOKS:
                g = _run_hooks(leaf, g, graph=False)
            copy = (
                id(g) in assigned
                or type(g) is not np.ndarray
                or g.base is not None
                or not g.flags.writeable
            )
            assigned.add(id(g))
            _set_leaf_grad(leaf, g, copy)


def _run(
    root: Tensor, seed: np.ndarray, consumers: dict[int, int], retain_graph: bool
) -> dict[int, Any]:
    """Applies the reverse rules from output to inputs; returns the leaves' gradients by id."""
    anomaly = _Mode.anomaly
    grads: dict[int, Any] = {id(root): seed}
    owned: set[int] = set()  # accumulators this pass allocated, safe to add into in place
    ready = [root]
    while ready:
        t = ready.pop()
        g = grads.pop(id(t))
        if _HOOKS and id(t) in _HOOKS:
            g = _run_hooks(t, g, graph=False)
        op, out, inputs, kw = t._op, t.data, t._inputs, t._kw
        rules = op.vjp
        for i, p in enumerate(t._parents):
            if p is None:
                continue
            if op.variadic:
                gi = rules(g, out, *inputs, argnum=i, **kw)
            elif kw:
                gi = rules[i](g, out, *inputs, **kw)
            else:
                gi = rules[i](g, out, *inputs)
            if anomaly:
                _check_finite(op, "backward", gi)
            shape = inputs[i].shape
            if gi.shape != shape:
                gi = unbroadcast(gi, shape)
            k = id(p)
            prev = grads.get(k)
            if prev is None:
                grads[k] = gi
            elif k in owned:
                prev += gi
            else:
                acc = prev + gi
                grads[k] = acc
                if type(acc) is np.ndarray:
                    owned.add(k)
            n = consumers[k] - 1
            consumers[k] = n
            if not n:
                ready.append(p)
        if not retain_graph:
            t._parents = t._inputs = t._kw = None
    return grads


def _set_leaf_grad(leaf: Tensor, g: Any, copy: bool) -> None:
    dtype = leaf.data.dtype
    if leaf.grad is None:
        if copy or g.dtype != dtype:
            g = np.array(g, dtype=dtype)
        leaf.grad = Tensor._wrap(g)
    else:
        leaf.grad.data += g


def _backward_graph(root: Tensor, seed: np.ndarray) -> None:
    """The backward pass recorded as a graph: rules run on tensors (for higher order)."""
    if root._op is None:
        g = Tensor._wrap(seed.copy())
        if _HOOKS and id(root) in _HOOKS:
            g = _run_hooks(root, g, graph=True)
        root.grad = g if root.grad is None else root.grad + g
        return
    consumers, leaves = _dependencies(root)
    grads_seed = Tensor._wrap(seed)
    grads: dict[int, Any] = {id(root): grads_seed}
    ready = [root]
    while ready:
        t = ready.pop()
        g = grads.pop(id(t))
        if _HOOKS and id(t) in _HOOKS:
            g = _run_hooks(t, g, graph=True)
        op = t._op
        args = [p if p is not None else x for p, x in zip(t._parents, t._inputs)]
        for i, p in enumerate(t._parents):
            if p is None:
                continue
            if op.variadic:
                gi = op.vjp(g, t, *args, argnum=i, **t._kw)
            else:
                gi = op.vjp[i](g, t, *args, **t._kw)
            if not isinstance(gi, Tensor):
                gi = Tensor._wrap(np.asarray(gi))
            gi = unbroadcast(gi, p.shape)
            prev = grads.get(id(p))
            grads[id(p)] = gi if prev is None else prev + gi
            if p._op is not None:
                consumers[id(p)] -= 1
                if consumers[id(p)] == 0:
                    ready.append(p)
    seen: set[int] = {id(grads_seed)}
    for leaf in leaves:
        g = grads.get(id(leaf))
        if g is None:
            continue
        if _HOOKS and id(leaf) in _HOOKS:
            g = _run_hooks(leaf, g, graph=True)
        if g.dtype != leaf.dtype or id(g) in seen or g.data.base is not None:
            g = astype(g, dtype=leaf.dtype)  # a differentiable copy, owned by this leaf
        seen.add(id(g))
        leaf.grad = g if leaf.grad is None else leaf.grad + g
