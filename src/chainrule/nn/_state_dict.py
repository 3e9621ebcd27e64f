"""``state_dict`` and ``load_state_dict``: a module's parameters and buffers by dotted name."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple, Protocol

import numpy as np

from .._tensor import Tensor


class _Stateful(Protocol):
    """What these functions read of a module (``Module`` has it): its own tensors by name and
    its descendants. Described here, so that this file need not import the one calling it."""

    @property
    def _parameters(self) -> Mapping[str, Tensor | None]: ...
    @property
    def _buffers(self) -> Mapping[str, Tensor | None]: ...
    @property
    def _non_persistent_buffers(self) -> AbstractSet[str]: ...
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, _Stateful]]: ...
    def _get_name(self) -> str: ...


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match (as PyTorch's)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def state_tensors(module: _Stateful, prefix: str = "") -> OrderedDict[str, Tensor]:
    """The tensors behind ``state_dict``'s keys (not copies): each module's parameters, then
    its persistent buffers, then its children's; a shared module appears under every name."""
    out: OrderedDict[str, Tensor] = OrderedDict()
    for mod_prefix, mod in module.named_modules(prefix=prefix, remove_duplicate=False):
        dot = f"{mod_prefix}." if mod_prefix else ""
        for name, p in mod._parameters.items():
            if p is not None:
                out[dot + name] = p
        for name, b in mod._buffers.items():
            if b is not None and name not in mod._non_persistent_buffers:
                out[dot + name] = b
    return out


def load_state_dict(module: _Stateful, state_dict: Any, strict: bool) -> IncompatibleKeys:
    """Checks every key and shape first, then copies in place (see ``Module.load_state_dict``)."""
    if not hasattr(state_dict, "keys"):
        raise TypeError(
            f"load_state_dict: state_dict must be a mapping of names to arrays, "
            f"got {type(state_dict).__name__}"
        )
    own = state_tensors(module)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    errors: list[str] = []
    if strict and missing:
        errors.append(f"missing keys: {missing}")
    if strict and unexpected:
        errors.append(f"unexpected keys: {unexpected}")
    values = {}
    for k, t in own.items():
        if k not in state_dict:
            continue
        v = state_dict[k]
        arr = np.asarray(v.data if isinstance(v, Tensor) else v)
        if arr.dtype.kind not in "fiub":
            errors.append(f"value for {k} is not numeric (dtype {arr.dtype})")
        elif arr.shape != t.shape:
            errors.append(
                f"size mismatch for {k}: copying a value of shape {arr.shape}, "
                f"the module's {k} has shape {t.shape}"
            )
        values[k] = arr
    if errors:
        raise ValueError(
            f"load_state_dict: error(s) loading state_dict for {module._get_name()} "
            f"(nothing was changed): " + "; ".join(errors)
        )
    for k, arr in values.items():
        own[k].data[...] = arr
    return IncompatibleKeys(missing, unexpected)
