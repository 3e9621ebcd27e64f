"""The reverse-mode engine: an iterative backward pass over the recorded graph.

``backward`` sorts the graph below a tensor topologically with an explicit stack (no recursion
limit), then walks it from the output to the inputs, calling each op's reverse rule for the
inputs that need a gradient and adding up contributions keyed by tensor identity, so a tensor
used twice receives the sum of both paths. Leaves receive ``.grad``; the graph's saved values
are released afterwards unless ``retain_graph=True``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from ._counting import counting, record
from ._hooks import RemovableHandle
from ._tensor import Tensor, _Mode, _to_array, enable_grad
from .ops._registry import Op, _check_finite, add_watcher, remove_watcher, unbroadcast
from .ops.elementwise import astype


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager: raise at the first op whose forward or backward makes NaN or inf.

    The error names the op, so the first bad step of a computation is found without bisecting.
    It checks every result, so it is slow; use it for debugging only.
    """

    def __enter__(self) -> detect_anomaly:
        self._prev = _Mode.anomaly
        _Mode.anomaly = True
        add_watcher(_check_forward)
        return self

    def __exit__(self, *exc: object) -> None:
        remove_watcher(_check_forward)
        _Mode.anomaly = self._prev


def _check_forward(op, out, args, inputs, kw) -> None:
    _check_finite(op, "forward", out.data)


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
    name = t._op.name if t._op is not None else "?"
    return RuntimeError(
        f"backward: trying to backward through the graph a second time: the values saved by "
        f"op '{name}' were freed by an earlier backward. Pass retain_graph=True to the "
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
    pop, push, count = stack.pop, stack.append, consumers.get  # bound once: the loop is hot
    while stack:
        t = pop()
        parents = t._parents
        if parents is None:
            raise _freed_error(t)
        for p in parents:
            if p is not None:
                k = id(p)
                n = count(k)
                if n is None:
                    if p._op is None:
                        consumers[k] = _NEVER_READY
                        leaves.append(p)
                    else:
                        consumers[k] = 1
                        push(p)
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
        return np.ones(t.data.shape, t.data.dtype)  # np.ones_like costs twice as much
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
    _backward(tensor, grad, retain_graph, create_graph)


def _backward(
    tensor: Tensor, grad: Any, retain_graph: bool, create_graph: bool, tape: Any = None
) -> None:
    """``backward``; a ``tape`` (``_replay.Recorder``) is told of the seed, the graph (which
    it may refuse before any rule runs), every rule call and gradient, and each leaf."""
    _check_output(tensor, "backward")
    seed = _seed(tensor, grad)
    retain = retain_graph or create_graph
    leaf_grads, _ = _propagate(tensor, seed, retain, create_graph, (), tape)
    seen: set[int] = {id(seed)}
    for leaf, g in leaf_grads.values():
        if tape is not None:
            tape.leaf(leaf)
        g = _own(g, leaf.data.dtype, seen, create_graph)
        if leaf.grad is None:
            leaf.grad = g if create_graph else Tensor._wrap(g)
        elif create_graph:
            leaf.grad = leaf.grad + g
        else:
            leaf.grad.data += g


def gradients(
    output: Tensor,
    inputs: Tensor | Sequence[Tensor],
    grad_output: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``output`` with respect to ``inputs``, returned, not accumulated.

    ``torch.autograd.grad`` for one output: ``.grad`` attributes are left alone, and
    ``inputs`` may be intermediate tensors as well as leaves.

    Parameters
    ----------
    output : Tensor
        What to differentiate; without ``grad_output`` it must have one element.
    inputs : Tensor or sequence of Tensors
        Tensors that require grad and that ``output`` was computed from.
    grad_output : array_like or Tensor, optional
        The cotangent of ``output`` (same shape).
    retain_graph : bool, optional
        Keep the graph for another pass; defaults to ``create_graph``.
    create_graph : bool
        Return gradients that are themselves differentiable.
    allow_unused : bool
        Return ``None`` for an input that ``output`` does not depend on, instead of raising.

    Returns
    -------
    tuple of Tensor or None
        One gradient per input, each of its input's shape and dtype.
    """
    _check_output(output, "gradients")
    xs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(f"gradients: inputs[{i}] must be a Tensor that requires grad")
    seed = _seed(output, grad_output)
    retain = create_graph if retain_graph is None else retain_graph
    capture = {id(x) for x in xs if x._op is not None}
    leaf_grads, captured = _propagate(output, seed, retain, create_graph, capture)
    results: list[Tensor | None] = []
    seen: set[int] = {id(seed)}
    for i, x in enumerate(xs):
        entry = leaf_grads.get(id(x)) if x._op is None else captured.get(id(x))
        g = entry[1] if (x._op is None and entry is not None) else entry
        if g is None:
            if not allow_unused:
                raise ValueError(
                    f"gradients: inputs[{i}] was not used to compute the output; "
                    f"pass allow_unused=True to get None for it"
                )
            results.append(None)
            continue
        g = _own(g, x.data.dtype, seen, create_graph)
        results.append(g if create_graph else Tensor._wrap(g))
    return tuple(results)


def _check_output(tensor: Any, where: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError(
            f"{where}: this tensor does not require grad: none of the tensors it was computed "
            f"from has requires_grad=True, or it was computed under cr.no_grad()"
        )


def _own(g: Any, dtype: np.dtype, seen: set[int], graph: bool) -> Any:
    """``g`` as a gradient nobody else holds, in ``dtype`` (copied only when needed)."""
    if graph:
        data = g.data
        if g.dtype != dtype or id(g) in seen or id(data) in seen or data.base is not None:
            g = astype(g, dtype=dtype)  # a differentiable copy
    elif (
        type(g) is not np.ndarray
        or g.dtype != dtype
        or id(g) in seen
        or g.base is not None
        or not g.flags.writeable
    ):
        g = np.array(g, dtype=dtype)
    seen.add(id(g))
    return g


def _propagate(
    root: Tensor,
    seed: np.ndarray,
    retain_graph: bool,
    create_graph: bool,
    capture: Collection[int],
    tape: Any = None,
) -> tuple[dict[int, tuple[Tensor, Any]], dict[int, Any]]:
    """Runs the reverse rules below ``root``; returns ``{id: (leaf, grad)}`` for the leaves
    reached and the gradients of the non-leaf tensors whose ids are in ``capture``. With
    ``create_graph`` the gradients are tensors and the rules are recorded (higher order)."""
    if tape is not None:
        tape.seed(root, seed)
    g = Tensor._wrap(seed) if create_graph else seed
    if root._op is None:
        if _HOOKS and id(root) in _HOOKS:
            g = _run_hooks(root, g, graph=create_graph)
        return {id(root): (root, g)}, {}
    consumers, leaves = _dependencies(root)
    if tape is not None:
        tape.check(consumers, leaves)  # may refuse the graph, before any rule has run
    if create_graph:  # the graph stays: the recorded gradients lead back through it
        with enable_grad():
            grads, captured = _run(root, g, consumers, capture, True, False)
    else:
        grads, captured = _run(root, g, consumers, capture, False, not retain_graph, tape)
    return _leaf_grads(leaves, grads, create_graph), captured


def _leaf_grads(leaves: list[Tensor], grads: dict[int, Any], graph: bool) -> dict:
    """``{id: (leaf, grad)}`` for the leaves that received a gradient, after their hooks."""
    out = {}
    for leaf in leaves:
        g = grads.get(id(leaf))
        if g is not None:
            if _HOOKS and id(leaf) in _HOOKS:
                g = _run_hooks(leaf, g, graph=graph)
            out[id(leaf)] = (leaf, g)
    return out


def _run(
    root: Tensor,
    seed: Any,
    consumers: dict[int, int],
    capture: Collection[int],
    graph: bool,
    free: bool,
    tape: Any = None,
) -> tuple[dict[int, Any], dict[int, Any]]:
    """The backward loop: applies the reverse rules from output to inputs, each once all the
    consumers of its output have passed their gradient down. On arrays, or with ``graph`` on
    tensors (rules see the recorded tensors, so running them records the backward pass).
    Returns the leaves' gradients by id and the captured non-leaf gradients. A ``tape``
    (``_replay.Recorder``) is told of every rule call and every gradient added up."""
    checks = graph or _Mode.anomaly or counting()  # one flag for the work the fast path skips
    hooks = _HOOKS
    grads: dict[int, Any] = {id(root): seed}
    captured: dict[int, Any] = {}
    owned: set[int] = set()  # accumulators this pass allocated, safe to add into in place
    out: Any  # the output as the rules see it: its array, or with ``graph`` the tensor
    ready = [root]
    pop, push, take, get = ready.pop, ready.append, grads.pop, grads.get  # bound once: hot loop
    while ready:
        t = pop()
        g = take(id(t))
        if hooks and id(t) in hooks:
            g = _run_hooks(t, g, graph=graph)
        if capture and id(t) in capture:
            captured[id(t)] = g
        op, out, inputs, kw, parents = t._op, t.data, t._inputs, t._kw, t._parents
        if parents is None or op is None:
            raise _freed_error(t)  # by a backward run meanwhile (another thread)
        if graph:
            out, inputs = t, tuple(p if p is not None else x for p, x in zip(parents, inputs))
        rules = op.vjp
        joint = rules(g, out, parents, *inputs, **kw) if op.joint else None
        if tape is not None:
            tape.node(t)
        i = -1
        for p in parents:
            i += 1
            if p is None:
                continue
            if joint is not None:
                gi = joint[i]
            elif op.variadic:
                gi = rules(g, out, *inputs, argnum=i, **kw)
            elif kw:
                gi = rules[i](g, out, *inputs, **kw)
            else:
                gi = rules[i](g, out, *inputs)
            if checks:
                gi = _checked(op, gi, inputs, out, kw, graph)
            shape = inputs[i].shape
            reduced = gi.shape != shape
            if reduced:
                gi = unbroadcast(gi, shape)
            k = id(p)
            prev = get(k)
            if prev is None:
                grads[k] = gi
                how = 0
            elif k in owned:
                prev += gi
                how = 1
            else:
                acc = prev + gi
                grads[k] = acc
                if type(acc) is np.ndarray:
                    owned.add(k)
                how = 2
            if tape is not None:
                tape.part(t, i, p, shape if reduced else None, how)
            n = consumers[k] - 1
            consumers[k] = n
            if not n:
                push(p)
        if free:
            t._parents, t._inputs = None, ()  # the saved arrays go; is_freed reads _parents
    return grads, captured


def _checked(op: Op, gi: Any, inputs: tuple, out: Any, kw: dict, graph: bool) -> Any:
    """``gi`` as a tensor when the pass is recorded; anomaly detection and operation counting
    when either is on."""
    if graph and not isinstance(gi, Tensor):
        gi = Tensor._wrap(np.asarray(gi))
    if _Mode.anomaly:
        _check_finite(op, "backward", gi)
    if not graph and counting():
        record("reverse", op, inputs, out, kw)
    return gi
