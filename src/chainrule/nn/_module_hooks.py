"""Module hooks: forward pre-hooks, forward hooks and full backward hooks.

``HooksMixin`` gives ``Module`` its ``register_*_hook`` methods and the hooked call path.
Full backward hooks are built on the engine's tensor hooks.

For one call of a module, the inputs that require grad are passed through a single identity
node before ``forward``, and each output through its own identity node after it (as PyTorch's
``BackwardHookFunction``). An output node's tensor hook records dL/d(output) (``grad_output``).
The input node's hook fires once every gradient with respect to the inputs *through this
module* is complete (after every output's), which is when the module's hooks run and may
replace ``grad_input``. Several inputs share one node by flattening and concatenating them, so
that their gradients arrive together.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import ops
from .._hooks import RemovableHandle
from .._tensor import Tensor, _Mode, as_tensor


def _join(xs: Sequence[Tensor]) -> tuple[Tensor, list[Tensor]]:
    """One identity node holding every tensor of ``xs``, and the pieces to use in their place."""
    if len(xs) == 1:
        joint = ops.reshape(xs[0], shape=xs[0].shape)
        return joint, [joint]
    dtype = np.result_type(*[x.dtype for x in xs])
    joint = ops.concatenate(*[_cast(ops.reshape(x, shape=(-1,)), dtype) for x in xs], axis=0)
    return joint, [_cast(p, x.dtype) for p, x in zip(_split(joint, xs), xs)]


def _split(joint: Tensor, like: Sequence[Any]) -> list[Tensor]:
    """The inverse of ``_join`` on a joint value (a gradient): one piece per tensor of ``like``."""
    if len(like) == 1:
        return [joint]
    pieces, start = [], 0
    for x in like:
        n = int(np.prod(x.shape))
        pieces.append(_cast(joint[start : start + n].reshape(x.shape), x.dtype))
        start += n
    return pieces


def _cast(x: Tensor, dtype: Any) -> Tensor:
    return x if x.dtype == dtype else ops.astype(x, dtype=np.dtype(dtype))


class BackwardHook:
    """The state of one module call with full backward hooks."""

    def __init__(self, module: Any, hooks: list[Callable]) -> None:
        self.module = module
        self.hooks = hooks
        self.n_inputs = 0
        self.inputs: list[tuple[int, Tensor]] = []  # (position in args, tensor)
        self.constants: list[tuple[int, Tensor]] = []
        self.grad_outputs: tuple = ()

    def setup_inputs(self, args: tuple) -> tuple:
        """``args`` with the tensors that require grad replaced by pieces of one hooked node."""
        self.n_inputs = len(args)
        need = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not need:
            return args
        self.inputs = [(i, args[i]) for i in need]
        # PyTorch's quirk, kept for parity: once some input requires grad, the other tensor
        # inputs get zeros (not None) in grad_input
        self.constants = [
            (i, a) for i, a in enumerate(args) if isinstance(a, Tensor) and not a.requires_grad
        ]
        joint, pieces = _join([args[i] for i in need])
        joint.register_hook(self._on_grad_inputs)
        new = list(args)
        for i, piece in zip(need, pieces):
            new[i] = piece
        return tuple(new)

    def setup_outputs(self, out: Any) -> Any:
        """``out`` with each tensor that requires grad passed through its own hooked identity
        node (recording ``grad_output``; ``None`` stays for outputs the loss does not use)."""
        single = isinstance(out, Tensor)
        outs = (out,) if single else out
        if not isinstance(outs, (tuple, list)) or not all(isinstance(o, Tensor) for o in outs):
            raise TypeError(
                f"register_full_backward_hook: {type(self.module).__name__}.forward must return "
                f"a Tensor or a tuple of Tensors, got {type(out).__name__}"
            )
        self.grad_outputs = (None,) * len(outs)
        need = [k for k, o in enumerate(outs) if o.requires_grad]
        if not need:
            return out
        src = [outs[k] for k in need]
        if not self.inputs and len(src) > 1:
            # no input hook will fire: call the hooks from a node upstream of every output
            joint, src = _join(src)
            joint.register_hook(self._call_without_inputs)
        new = list(outs)
        for k, o in zip(need, src):
            new[k] = ops.reshape(o, shape=o.shape)
            new[k].register_hook(functools.partial(self._record_grad_output, k))
            if not self.inputs and len(need) == 1:
                new[k].register_hook(self._call_without_inputs)
        return new[0] if single else type(outs)(new)

    def _record_grad_output(self, k: int, g: Tensor) -> None:
        grads = list(self.grad_outputs)
        grads[k] = g
        self.grad_outputs = tuple(grads)

    def _call_without_inputs(self, g: Tensor) -> None:
        """No input requires grad: the hooks get all-None ``grad_input``, as in PyTorch."""
        grad_input = (None,) * self.n_inputs
        for hook in self.hooks:
            if hook(self.module, grad_input, self.grad_outputs) is not None:
                raise RuntimeError(
                    "backward hook for a module where no input requires gradient should "
                    "always return None"
                )

    def _on_grad_inputs(self, g: Tensor) -> Tensor | None:
        like = [x for _, x in self.inputs]
        grad_input: tuple = tuple(self._fill(_split(g, like)))
        changed = False
        for hook in self.hooks:
            result = hook(self.module, grad_input, self.grad_outputs)
            if result is None:
                continue
            if not isinstance(result, (tuple, list)) or len(result) != self.n_inputs:
                got = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
                raise RuntimeError(
                    f"backward hook returned an invalid number of grad_input, got {got}, "
                    f"but expected {self.n_inputs}"
                )
            grad_input, changed = tuple(result), True
        if not changed:
            return None
        new = []
        for (k, x), gi in zip(self.inputs, [grad_input[k] for k, _ in self.inputs]):
            gi = as_tensor(np.zeros(x.shape, x.dtype) if gi is None else gi)
            if gi.shape != x.shape:
                raise RuntimeError(
                    f"backward hook returned grad_input[{k}] of shape {gi.shape}, "
                    f"expected {x.shape}"
                )
            new.append(gi)
        if len(new) == 1:
            return _cast(new[0], g.dtype)
        return ops.concatenate(*[_cast(ops.reshape(t, shape=(-1,)), g.dtype) for t in new])

    def _fill(self, pieces: list[Tensor]) -> list[Any]:
        grads: list[Any] = [None] * self.n_inputs
        for (k, _), piece in zip(self.inputs, pieces):
            grads[k] = piece
        for k, x in self.constants:
            grads[k] = Tensor._wrap(np.zeros(x.shape, dtype=x.dtype))
        return grads


class HooksMixin:
    """``Module``'s hook registry and hooked call path (the dicts are made by ``Module``)."""

    _forward_pre_hooks: OrderedDict
    _forward_hooks: OrderedDict
    _backward_hooks: OrderedDict
    forward: Callable[..., Any]

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """Pre-hooks, forward, forward hooks, then the backward hooks' wiring (torch's order)."""
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        bw = None
        if self._backward_hooks and _Mode.grad_enabled:
            bw = BackwardHook(self, list(self._backward_hooks.values()))
            args = bw.setup_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        if bw is not None:
            out = bw.setup_outputs(out)
        return out

    # -- hooks ----------------------------------------------------------------------------------
    @staticmethod
    def _add_hook(hooks: OrderedDict, hook: Callable, what: str) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"{what}: hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; it may return new args (a tuple, or a
        single value that is wrapped in one). Returns a handle (also a context manager)."""
        return self._add_hook(self._forward_pre_hooks, hook, "register_forward_pre_hook")

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; it may return a new output.
        Returns a handle whose ``remove()`` unregisters it (also a context manager)."""
        return self._add_hook(self._forward_hooks, hook, "register_forward_hook")

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to the
        module's inputs have been computed, as PyTorch's full backward hook.

        ``grad_output`` is a tuple with one entry per output (the gradient of the loss with
        respect to that output, ``None`` for an output the loss does not use); ``grad_input`` a
        tuple with one entry per positional argument: the gradient with respect to it through
        this module only; ``None`` for arguments that are not tensors, and (as in PyTorch)
        zeros for tensors that do not require grad. Parameters' gradients are not in
        ``grad_input``. The hook may
        return a tuple replacing ``grad_input``. When no input requires grad it is called with
        all-``None`` ``grad_input`` as soon as ``grad_output`` is known, and must return None.
        Returns a removable handle (also a context manager).
        """
        return self._add_hook(self._backward_hooks, hook, "register_full_backward_hook")
