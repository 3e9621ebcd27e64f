"""The op registry: ``defop`` turns a forward function and its rules into a differentiable op.

Nothing here knows a particular op. A rule is called as ``rule(g, out, *inputs, **settings)``:
``g`` is the cotangent of the output, ``out`` the forward output, ``inputs`` the raw arguments.
An op whose inputs' gradients share work (the dense layer with its activation) gives one joint
rule instead, ``rule(g, out, needs, *inputs, **settings)``, returning every input's gradient.
Rules are written with NumPy functions and methods only, so that the same rule runs on arrays
(first order) and on tensors (``Tensor`` implements NumPy's dispatch protocols), which is how
gradients of gradients come for free. Broadcasting is undone here, in ``unbroadcast``.

Each op is also exported (``_public.py``): its public name, NumPy functions and Tensor methods
are given to ``defop`` with the rules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol, cast

import numpy as np

from .._tensor import Tensor, _Mode, _new, _to_array
from ._public import METHODS, NUMPY, PUBLIC, export

LINEAR = "linear"
"""Forward-rule marker for ops linear in their differentiable inputs jointly (add, reshape,
sum, concatenate...): the output tangent is the op applied to the input tangents."""
MULTILINEAR = "multilinear"
"""Forward-rule marker for ops linear in each input separately (mul, matmul): the output
tangent is the sum over inputs of the op with that input replaced by its tangent."""

REGISTRY: dict[str, Op] = {}


class OpFunction(Protocol):
    """What ``defop`` returns: the op applied to tensors, array-likes or numbers."""

    op: Op
    __name__: str
    __qualname__: str
    __module__: str

    def __call__(self, *args: Any, **settings: Any) -> Tensor: ...


# Callbacks run after every op while any is installed (anomaly checks, forward-mode tangents,
# operation counts): ``watcher(op, out_tensor, args, inputs, settings)``.
WATCHERS: list[Callable] = []


def add_watcher(fn: Callable) -> None:
    """Installs a callback run after every op (see ``WATCHERS``)."""
    WATCHERS.append(fn)
    _Mode.watch = True


def remove_watcher(fn: Callable) -> None:
    WATCHERS.remove(fn)
    _Mode.watch = bool(WATCHERS)


def _notify(op, t, args, inputs, kw):
    for fn in list(WATCHERS):
        fn(op, t, args, inputs, kw)


class Op:
    """A primitive: forward function, one reverse rule per input, and a forward rule."""

    __slots__ = ("name", "forward", "vjp", "jvp", "variadic", "joint", "fn", "explain")
    fn: OpFunction

    def __init__(self, name, forward, vjp, jvp, variadic, joint, explain):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.jvp = jvp
        self.variadic = variadic
        self.joint = joint
        self.explain = explain

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def differentiable(self, i: int) -> bool:
        """Whether positional input ``i`` has a reverse rule."""
        if self.variadic or self.joint:
            return True
        return i < len(self.vjp) and not getattr(self.vjp[i], "not_differentiable", False)

    def tangent(self, tangents: list, out: np.ndarray, inputs: tuple, kw: dict) -> np.ndarray:
        """The output's tangent from the inputs' tangents (``None`` for an input without one):
        the forward rule, applied to arrays."""
        jvp = self.jvp
        if jvp is LINEAR:
            args = [
                t if t is not None else (np.zeros_like(x) if self.differentiable(i) else x)
                for i, (t, x) in enumerate(zip(tangents, inputs))
            ]
            result = self.forward(*args, **kw)
        elif jvp is MULTILINEAR:
            result = None
            for i, t in enumerate(tangents):
                if t is not None:
                    args = list(inputs)
                    args[i] = t
                    term = self.forward(*args, **kw)
                    result = term if result is None else result + term
        else:
            result = None
            for i, t in enumerate(tangents):
                if t is not None:
                    term = jvp[i](t, out, *inputs, **kw)
                    result = term if result is None else result + term
        result = np.asarray(result, dtype=out.dtype)
        if result.shape != out.shape:
            result = np.broadcast_to(result, out.shape).copy()
        return result


def defop(
    name: str,
    forward: Callable,
    *,
    vjp: Callable | tuple[Callable | None, ...],
    jvp: Any = None,
    variadic: bool = False,
    joint: bool = False,
    explain: Callable | None = None,
    public: bool | str = True,
    numpy: Any = None,
    method: bool | str | tuple[str, ...] = False,
) -> OpFunction:
    """Registers op ``name`` and returns the function that applies it to tensors.

    Parameters
    ----------
    forward : callable
        ``forward(*arrays, **settings) -> ndarray``.
    vjp : callable or tuple of callables
        Reverse rules, one per positional input (``None`` where the input is not
        differentiable). A variadic op gives one rule called with ``argnum=i``.
    jvp : callable, tuple of callables, ``LINEAR`` or ``MULTILINEAR``
        Forward rules in the same order: ``rule(t, out, *inputs, **settings)`` gives the
        output tangent's part due to tangent ``t`` of that input (``None``: not
        differentiable there). Forward rules take and return arrays.
    joint : bool
        ``vjp`` is one rule for all inputs, ``vjp(g, out, needs, *inputs, **settings)``,
        returning a sequence with the gradient of input ``i`` wherever ``needs[i] is not
        None`` (any value elsewhere; ``needs`` holds the recorded parents). For ops whose
        gradients share work; every input is differentiable.
    explain : callable, optional
        ``explain(*arrays, **settings) -> str`` describing why the inputs do not fit, used in
        the error raised when ``forward`` fails with a ``ValueError``.
    public, numpy, method
        Where the op is seen, as in ``export`` (``public="ops"``: in ``chainrule.ops`` only;
        ``False``: nowhere). ``numpy`` defaults to ``forward`` when that is a NumPy ufunc
        that no op runs yet (``np.exp(t)`` runs the op ``exp``).
    """
    if name in REGISTRY:
        raise ValueError(f"defop: an op named {name!r} is already registered")
    if joint and (variadic or not callable(vjp) or not isinstance(jvp, tuple)):
        raise ValueError(
            f"defop: joint op {name!r} needs one reverse rule and a tuple of forward rules"
        )
    rules: Any = vjp if (variadic or joint or isinstance(vjp, tuple)) else (vjp,)
    if not (variadic or joint):
        rules = tuple(_no_rule(name, i) if r is None else r for i, r in enumerate(rules))
    if jvp is None:
        raise ValueError(f"defop: op {name!r} needs a forward rule (jvp=...)")
    if variadic and jvp not in (LINEAR, MULTILINEAR):
        raise ValueError(f"defop: variadic op {name!r} needs jvp=LINEAR or MULTILINEAR")
    if jvp not in (LINEAR, MULTILINEAR) and not isinstance(jvp, tuple):
        jvp = (jvp,)
    if isinstance(jvp, tuple) and not joint and len(jvp) != len(rules):
        raise ValueError(
            f"defop: op {name!r} has {len(rules)} reverse rules but {len(jvp)} forward rules"
        )
    op = Op(name, forward, rules, jvp, variadic, joint, explain)
    arity = len(jvp) if joint else (0 if variadic else len(rules))  # 0: any number
    fn = cast(OpFunction, {1: _make_unary, 2: _make_binary}.get(arity, _make_nary)(op))
    fn.__name__ = name
    fn.__qualname__ = name
    # the module that defined the op (as collections.namedtuple finds it), not this one
    fn.__module__ = sys._getframe(1).f_globals.get("__name__", __name__)
    fn.op = op
    op.fn = fn
    if numpy is None and isinstance(forward, np.ufunc) and forward not in NUMPY:
        numpy = forward  # (an op of one's own on a ufunc already taken leaves NumPy's alone)
    export(fn, name=name, numpy=numpy, method=method, public=public)  # raises before recording
    REGISTRY[name] = op
    return fn


def unregister(name: str) -> None:
    """Forgets op or public function ``name`` with its NumPy functions and Tensor methods
    (for ops registered for a while, as tests do)."""
    op = REGISTRY.pop(name, None)
    entry = PUBLIC.pop(name, None)
    fn = entry.fn if entry is not None else op.fn if op is not None else None
    for key in [k for k, f in NUMPY.items() if f is fn]:
        del NUMPY[key]
    for attr in [a for a, f in METHODS.items() if f is fn]:
        del METHODS[attr]
        delattr(Tensor, attr)


def _no_rule(name: str, i: int) -> Callable:
    def rule(g, out, *inputs, **kw):
        raise NotImplementedError(
            f"{name}: input {i} is not differentiable (it has no reverse "
            f"rule); pass it as a constant or .detach() it"
        )

    cast(Any, rule).not_differentiable = True
    return rule


def either(fn: OpFunction) -> Callable:
    """The op ``fn`` on tensors and its raw forward on arrays.

    A rule that needs another op (not a NumPy function) calls it through ``either`` so that it
    stays fast on arrays and differentiable on tensors.
    """
    forward = fn.op.forward

    def call(*args, **kw):
        for a in args:
            if isinstance(a, Tensor):
                return fn(*args, **kw)
        return forward(*args, **kw)

    return call


def _node(
    op: Op,
    out: Any,
    parents: tuple,
    inputs: tuple,
    kw: dict,
    args: tuple,
    record: bool,
    # every op's result passes here: the globals it reads are bound once, as locals
    _ndarray: type = np.ndarray,
    _tensor: type[Tensor] = Tensor,
    _mode: type[_Mode] = _Mode,
) -> Tensor:
    """The tensor holding an op's result ``out``: a node of the graph (its op, the parents that
    require grad, the raw inputs and settings its rules will see) when ``record`` and grad
    mode is on, a constant otherwise. Watchers see every result."""
    if type(out) is not _ndarray:
        out = np.asarray(out)
    t = _new(_tensor)
    t.data = out
    t.grad = None
    if record and _mode.grad_enabled:
        t.requires_grad = True
        t._op = op
        t._parents = parents
        t._inputs = inputs
        t._kw = kw
    else:
        t.requires_grad = False
        t._op = None
    if _mode.watch:
        _notify(op, t, args, inputs, kw)
    return t


def _make_unary(op: Op) -> Callable:
    forward = op.forward

    def apply(x, **kw):
        if not isinstance(x, Tensor):
            x = _constant(x)
            if not isinstance(x, Tensor):
                x = Tensor._wrap(_to_array(x, None, copy=False))
        xd = x.data
        try:
            out = forward(xd, **kw) if kw else forward(xd)
        except ValueError as e:
            raise _shape_error(op, (xd,), kw, e) from None
        xs = (x,)
        return _node(op, out, xs, (xd,), kw, xs, x.requires_grad)

    return apply


def _make_binary(op: Op) -> Callable:
    forward = op.forward

    def apply(a, b, **kw):
        if isinstance(a, Tensor):
            ad = a.data
            pa = a if a.requires_grad else None
        else:
            ad = _constant(a)
            pa = None
            if type(ad) is Tensor:  # a list holding tensors, stacked
                ad, pa = ad.data, (ad if ad.requires_grad else None)
        if isinstance(b, Tensor):
            bd = b.data
            pb = b if b.requires_grad else None
        else:
            bd = _constant(b)
            pb = None
            if type(bd) is Tensor:  # a list holding tensors, stacked
                bd, pb = bd.data, (bd if bd.requires_grad else None)
        try:
            out = forward(ad, bd, **kw) if kw else forward(ad, bd)
        except ValueError as e:
            raise _shape_error(op, (ad, bd), kw, e) from None
        return _node(op, out, (pa, pb), (ad, bd), kw, (a, b), pa is not None or pb is not None)

    return apply


def _make_nary(op: Op) -> Callable:
    forward = op.forward

    def apply(*args, **kw):
        inputs = []
        parents = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                inputs.append(a.data)
                if a.requires_grad:
                    parents.append(a)
                    record = True
                else:
                    parents.append(None)
            else:
                data, parent = _operand(a)
                inputs.append(data)
                parents.append(parent)
                record = record or parent is not None
        try:
            out = forward(*inputs, **kw)
        except ValueError as e:
            raise _shape_error(op, inputs, kw, e) from None
        return _node(op, out, tuple(parents), tuple(inputs), kw, args, record)

    return apply


def _operand(a: Any) -> tuple[Any, Tensor | None]:
    """A non-tensor operand's data, and the tensor to record as its parent (a list holding
    tensors becomes one, stacked) or None."""
    if a is None or type(a) in (float, int, bool) or isinstance(a, np.ndarray):
        return a, None  # the common case first: one call per constant, as before
    a = _constant(a)
    if isinstance(a, Tensor):
        return a.data, (a if a.requires_grad else None)
    return a, None


def _constant(a: Any) -> Any:
    """A non-tensor operand: Python scalars stay scalars (NumPy treats them as weakly typed,
    so ``x * 2.0`` keeps float32); a list or tuple holding tensors is stacked with the
    differentiable ``stack`` op (as ``np.mean([x, y])`` stacks), so no graph is dropped;
    anything else follows ``tensor()``'s dtype policy."""
    if a is None or type(a) in (float, int, bool) or isinstance(a, np.ndarray):
        return a
    if isinstance(a, (list, tuple)) and _holds_tensor(a):
        return REGISTRY["stack"].fn(*a, axis=0)
    return _to_array(a, None, copy=False)


def _holds_tensor(seq: list | tuple) -> bool:
    """Whether a (nested) list or tuple holds a tensor anywhere."""
    for item in seq:
        if isinstance(item, Tensor) or (isinstance(item, (list, tuple)) and _holds_tensor(item)):
            return True
    return False


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sums ``g`` down to ``shape``: the reverse of broadcasting (works on arrays and tensors)."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise RuntimeError(f"internal: gradient of shape {gshape} is smaller than input {shape}")
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return str(tuple(shape)) if shape is not None else type(x).__name__


def _shape_error(op: Op, inputs, kw, err: ValueError) -> ValueError:
    """The forward's error restated with the op's name and the inputs' shapes, of the same
    type (``numpy.linalg.LinAlgError`` stays one)."""
    if op.explain is not None:
        why = op.explain(*inputs, **kw)
        if why:
            return type(err)(f"{op.name}: {why}")
    shapes = " and ".join(_describe(x) for x in inputs if x is not None)
    return type(err)(f"{op.name}: inputs of shapes {shapes} do not fit: {err}")


def _check_finite(op: Op, where: str, arr: Any) -> None:
    data = arr.data if isinstance(arr, Tensor) else arr
    if data is None or getattr(data, "dtype", np.dtype(float)).kind != "f":
        return
    if not np.all(np.isfinite(data)):
        bad = "nan" if np.isnan(data).any() else "inf"
        raise FloatingPointError(
            f"detect_anomaly: the {where} of op '{op.name}' produced {bad} "
            f"(output shape {np.shape(data)})"
        )
