"""``Module``: the base class of layers and models (PyTorch's ``nn.Module`` semantics).

A module registers the ``Parameter``s, buffers and sub-modules assigned to its attributes, in
assignment order, and walks them for ``parameters()``, ``state_dict()``, ``train()`` and the
rest. Registered objects are also kept in the instance ``__dict__``, so reading
``self.weight`` in ``forward`` is a plain attribute lookup (the per-call overhead matters for
small networks). Calling a module runs forward pre-hooks, ``forward`` and forward hooks; with no
hooks registered it is just ``forward``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._module_hooks import HooksMixin
from ._parameter import Parameter
from ._state_dict import IncompatibleKeys, load_state_dict, state_tensors

# Bumped by every change to any module's parameters or sub-modules (through attribute
# assignment, register_*, add_module or del): each module's cached lists of descendants and
# parameters are rebuilt when it has moved. Editing the private dicts directly bypasses it.
_STRUCTURE = [0]
# Bumped by every plain attribute assignment on any module (a loss's ``reduction``, an
# activation's slope): a recorded training step is replayed only while neither count moved.
_SETTINGS = [0]
# Bumped by ``train`` and ``eval`` whenever they change a module's mode (a recorded step is
# kept per mode; this count says when to read the modes again).
_MODES = [0]


def _hook_tables(module: Module) -> tuple[dict, dict, dict]:
    """The dicts that hold ``module``'s own forward-pre, forward and backward hooks."""
    return module._forward_pre_hooks, module._forward_hooks, module._backward_hooks


def _has_hooks(module: Module) -> bool:
    """Whether calling ``module`` runs any forward or backward hook of its own (the tables of
    ``_hook_tables``, read directly: this runs at every call of a Sequential)."""
    return bool(module._forward_pre_hooks or module._forward_hooks or module._backward_hooks)


def _collect_parameters(modules: list[Module]) -> list[Parameter]:
    out: list[Parameter] = []
    seen: set[int] = set()
    for m in modules:
        for p in m._parameters.values():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def _addindent(text: str, n_spaces: int) -> str:
    """Indents every line but the first by ``n_spaces`` (PyTorch's nested repr)."""
    first, *rest = text.split("\n")
    if not rest:
        return text
    return "\n".join([first] + [(" " * n_spaces + line) if line.strip() else "" for line in rest])


class Module(HooksMixin):
    """Base class of every layer, loss and model.

    Subclasses call ``super().__init__()`` first, assign ``Parameter``s and sub-modules as
    attributes and define ``forward``. ``module(x)`` calls ``forward`` through the hooks.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after ``eval()``; Dropout and BatchNorm
        read it.
    """

    training: bool
    # set through __dict__ in __init__ (``__setattr__`` routes parameters and modules here)
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: OrderedDict[str, Module | None]

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _has_hooks(self):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        """The instance dict without the cache, whose version means nothing elsewhere."""
        state = self.__dict__.copy()
        state.pop("_cache", None)
        return state

    # -- registration -------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._unregister(name, keep="_parameters")
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._unregister(name, keep="_modules")
            d["_modules"][name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    f"(nn.Parameter or None expected)"
                )
            params[name] = None
            _STRUCTURE[0] += 1
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    f"(nn.Module or None expected)"
                )
            d["_modules"][name] = None
            _STRUCTURE[0] += 1
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    f"(cr.Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)  # plain attributes (and property setters)
            _SETTINGS[0] += 1
            return
        d[name] = value

    def __delattr__(self, name: str) -> None:
        self._unregister(name)
        object.__delattr__(self, name)

    def _unregister(self, name: str, keep: str = "") -> None:
        """Removes ``name`` from every registry but ``keep`` (where re-assigning it keeps its
        place in the order, as PyTorch's dicts do)."""
        _STRUCTURE[0] += 1
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                d[key].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def _check_name(self, what: str, name: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f'{what} name can\'t be empty or contain ".", got {name!r}')
        if name in self.__dict__ and not any(
            name in self.__dict__[k] for k in ("_parameters", "_buffers", "_modules")
        ):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Registers ``param`` (or a ``None`` placeholder, e.g. a missing bias) as ``name``."""
        self._check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                f"(nn.Parameter or None required)"
            )
        self._unregister(name, keep="_parameters")
        self._parameters[name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Registers a tensor that is state but not a parameter (BatchNorm's running mean).

        Persistent buffers are saved by ``state_dict`` and restored by ``load_state_dict``.
        """
        self._check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                f"(cr.Tensor or None required)"
            )
        self._unregister(name, keep="_buffers")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)
        self.__dict__[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        """Registers ``module`` as the child ``name`` (what attribute assignment does)."""
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._unregister(name, keep="_modules")
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant with its dotted name (``''`` for this one)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                sub = f"{prefix}.{name}" if prefix else name
                yield from module.named_modules(memo, sub, remove_duplicate)

    def _module_list(self) -> list[Module]:
        """``modules()`` as a list, cached until any module's structure changes (it runs at
        every ``zero_grad`` and ``parameters()``)."""
        cache = self.__dict__.get("_cache")
        if cache is not None and cache[0] == _STRUCTURE[0]:
            return cache[1]
        out: list[Module] = []
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append(m)
            stack.extend(c for c in reversed(m._modules.values()) if c is not None)
        self.__dict__["_cache"] = (_STRUCTURE[0], out, _collect_parameters(out))
        return out

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, each once, parents before children."""
        return iter(self._module_list())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names, each once."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, kind: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for mod_prefix, module in mods if recurse else [(prefix, self)]:
            for name, value in getattr(module, kind).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, e.g. ``('0.weight', ...)``; a shared parameter
        is yielded once, under its first name."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of this module (and of its descendants if ``recurse``), once each,
        in ``named_parameters``' order."""
        if not recurse:
            return iter(_collect_parameters([self]))
        self._module_list()
        return iter(self.__dict__["_cache"][2])

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant at dotted path ``target`` (``''`` is this module)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{module._get_name()} has no submodule `{part}` ({target!r})")
            module = child
        return module

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Calls ``fn`` on every sub-module (children first) and then on this one; returns self.

        Typical use: ``model.apply(init_weights)`` to re-initialise every ``Linear``.
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- modes and gradients --------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Sets training mode on this module and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode is expected to be a bool, got {mode!r}")
        for module in self._module_list():
            if module.__dict__.get("training") is not mode:
                module.__dict__["training"] = mode
                _MODES[0] += 1
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): Dropout passes through, BatchNorm uses running
        statistics. Returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Sets ``requires_grad`` on every parameter (freezing or unfreezing); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears every parameter's ``.grad``: to ``None`` (default), or zeros in place."""
        for p in self.parameters():
            g = p.grad
            if g is None:
                continue
            if set_to_none:
                p.grad = None
            elif g._op is None and g.data.flags.writeable:
                g.data[...] = 0
            else:  # a graph-recorded gradient (create_graph=True): detach it as zeros
                p.grad = Tensor._wrap(np.zeros_like(g.data))

    def _apply_dtype(self, dtype: Any) -> Module:
        """Converts every floating parameter and buffer to ``dtype`` in place; returns self."""
        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for t in store.values():
                    if t is not None and t.data.dtype.kind == "f":
                        t.data = t.data.astype(dtype)
                        if t.grad is not None:
                            t.grad = Tensor._wrap(t.grad.data.astype(dtype))
        return self

    def to(self, dtype: Any) -> Module:
        """Converts floating parameters and buffers to ``dtype`` (e.g. ``cr.float64``)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to: dtype must be a floating-point dtype, got {dtype}")
        return self._apply_dtype(dtype)

    def double(self) -> Module:
        """Converts floating parameters and buffers to float64; returns self."""
        return self._apply_dtype(np.float64)

    def float(self) -> Module:
        """Converts floating parameters and buffers to float32; returns self."""
        return self._apply_dtype(np.float32)

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> OrderedDict[str, np.ndarray]:
        """Every parameter and persistent buffer as ``dotted name -> ndarray`` (copies).

        Order: each module's parameters, then its buffers, then its children's, as PyTorch.
        """
        return OrderedDict((k, t.data.copy()) for k, t in state_tensors(self, prefix).items())

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copies values from ``state_dict`` (name -> array or Tensor) into the parameters and
        buffers, in place, so optimisers holding the parameters see the new values.

        Parameters
        ----------
        state_dict : mapping
            As returned by ``state_dict()``; each value must have its tensor's shape.
        strict : bool
            Require exactly the same keys (missing and unexpected keys are errors).

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``.

        Raises
        ------
        ValueError
            Listing every missing, unexpected (if ``strict``) and mis-shaped key; nothing is
            changed when it raises.
        """
        return load_state_dict(self, state_dict, strict)

    # -- printing -------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The settings shown inside this module's repr; layers override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({key}): {_addindent(repr(module), 2)}" for key, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
