"""Containers: ``Sequential``, ``ModuleList`` and ``ModuleDict`` (PyTorch's semantics)."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from ._activation import ReLU, Sigmoid, Tanh
from ._linear import Linear
from ._module import Module, _addindent, _has_hooks

_FUSABLE: dict[type[Module], str] = {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh"}


def _fused(modules: list[Module | None], i: int) -> tuple[Linear, str] | None:
    """The one place nn decides fusion: ``(layer, name)`` when the Linear at ``modules[i]``
    runs with the activation after it as one op, ``ops.linear(x, W, b, activation=name)``;
    None to run ``modules[i]`` alone.

    The pair fuses when ``modules[i]`` is exactly an ``nn.Linear``, ``modules[i + 1]`` exactly a
    ReLU, Sigmoid or Tanh (subclasses may change ``forward``), and neither has hooks (a hook
    must see the separate output). The fused op gives the same values and gradients with one
    node and one array fewer per layer; its node says which activation it carries
    (``ops.fused.LinearCall``).
    """
    layer = modules[i]
    if type(layer) is not Linear or i + 1 == len(modules):
        return None
    act = modules[i + 1]
    if act is None:
        return None
    name = _FUSABLE.get(type(act))
    if name is None or _has_hooks(layer) or _has_hooks(act):
        return None
    return layer, name


def _check_module(owner: str, module: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: expected an nn.Module, got {type(module).__name__}")
    return module


def _entries(container: Module) -> list[Module]:
    """A container's modules in order. An entry set to None (``add_module(name, None)``, which
    PyTorch allows) is an error here: a container's positions and keys hold modules."""
    out = []
    for key, module in container._modules.items():
        if module is None:
            raise TypeError(
                f"{container._get_name()}: entry {key!r} is None; assign an nn.Module there"
            )
        out.append(module)
    return out


def _index(owner: str, idx: Any, n: int) -> int:
    """``idx`` as a non-negative position in a container of ``n`` modules."""
    i = operator.index(idx)
    if not -n <= i < n:
        raise IndexError(f"{owner}: index {i} is out of range for {n} modules")
    return i % n


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Parameters
    ----------
    *args : Module, or one OrderedDict of name -> Module
        The layers in order; positional modules are named ``'0'``, ``'1'``, ...

    Shapes
    ------
    Input: whatever the first module takes; output: whatever the last returns.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, _check_module("Sequential", module))
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), _check_module("Sequential", module))

    def forward(self, input: Any) -> Any:  # noqa: A002 - torch's name
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            fused = _fused(modules, i)
            if fused is None:
                module = modules[i]
                if module is None:
                    raise TypeError(f"Sequential: module {i} is None; assign an nn.Module there")
                input = module(input)
                i += 1
            else:  # Linear.forward raises Linear's own messages for the fused call too
                layer, name = fused
                input = layer.forward(input, activation=name)
                i += 2
        return input

    @overload
    def __getitem__(self, idx: slice) -> Sequential: ...
    @overload
    def __getitem__(self, idx: int) -> Module: ...
    def __getitem__(self, idx: Any) -> Any:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[_index("Sequential", idx, len(items))][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index("Sequential", idx, len(self._modules))]
        setattr(self, key, _check_module("Sequential", module))

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        targets = (
            keys[idx] if isinstance(idx, slice) else [keys[_index("Sequential", idx, len(keys))]]
        )
        for key in targets:
            delattr(self, key)
        # renumber so that positional names stay 0..n-1, as PyTorch does
        modules = list(self._modules.values())
        for key in list(self._modules):
            delattr(self, key)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(_entries(self))

    def append(self, module: Module) -> Sequential:
        """Adds ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module("Sequential.append", module))
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Inserts ``module`` before position ``index``; returns self."""
        modules = list(self._modules.values())
        n = len(modules)
        i = operator.index(index)
        if not -n <= i <= n:
            raise IndexError(f"Sequential.insert: index {i} is out of range for {n} modules")
        modules.insert(i % (n + 1) if i < 0 else i, _check_module("Sequential.insert", module))
        for key in list(self._modules):
            delattr(self, key)
        for j, m in enumerate(modules):
            self.add_module(str(j), m)
        return self


class ModuleList(Module):
    """A list of modules, registered so that their parameters are found (no ``forward``).

    Parameters
    ----------
    modules : iterable of Module, optional
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: Any) -> Any:
        mods = _entries(self)
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[_index("ModuleList", idx, len(mods))]

    def __setitem__(self, idx: int, module: Module) -> None:
        i = _index("ModuleList", idx, len(self))
        setattr(self, str(i), _check_module("ModuleList", module))

    def __delitem__(self, idx: int | slice) -> None:
        mods = _entries(self)
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index("ModuleList", idx, len(mods))]
        self._reset(mods)

    def _reset(self, mods: list[Module]) -> None:
        for key in list(self._modules):
            delattr(self, key)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(_entries(self))

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), _check_module("ModuleList.append", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if not isinstance(modules, Iterable):
            raise TypeError(
                f"ModuleList.extend: expected an iterable of modules, got {type(modules).__name__}"
            )
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = _entries(self)
        mods.insert(operator.index(index), _check_module("ModuleList.insert", module))
        self._reset(mods)

    def __repr__(self) -> str:
        """Repeated identical entries are folded, as PyTorch's: ``(0-2): 3 x Linear(...)``."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks: list[list[Any]] = []  # [start, end, repr]
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = [
            _addindent(f"({s}): {r}" if s == e else f"({s}-{e}): {e - s + 1} x {r}", 2)
            for s, e, r in blocks
        ]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of modules, registered under their keys (no ``forward``).

    Parameters
    ----------
    modules : mapping or iterable of (str, Module) pairs, optional
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        module = self._modules[key]
        if module is None:
            raise TypeError(f"ModuleDict: entry {key!r} is None; assign an nn.Module there")
        return module

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        return list(zip(self._modules, _entries(self)))

    def values(self) -> Iterable[Module]:
        return _entries(self)

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            delattr(self, key)

    def update(self, modules: Mapping[str, Module] | Iterable[Any]) -> None:
        """Adds or replaces entries from a mapping or from ``(key, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for j, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(
                    f"ModuleDict.update: element #{j} should be a (key, module) pair, "
                    f"got {type(pair).__name__}"
                )
            self[pair[0]] = pair[1]
