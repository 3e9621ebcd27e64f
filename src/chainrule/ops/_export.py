"""Where the ops are seen: ``export`` records a public function's name (``chainrule.ops`` and
``chainrule``), the NumPy functions that run it on tensors and the Tensor methods it is.

``defop`` exports each op it registers; the functions composed of ops use ``@export``. These
tables are the one list of names: ``ops/__init__.py`` and ``chainrule/__init__.py`` import the
public functions in blocks generated from ``PUBLIC``, ``_dispatch`` reads ``NUMPY`` and
``_tensor_api.pyi`` (generated too) shows the methods to type checkers; regenerate with
``python -m chainrule._stubgen``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, overload

import numpy as np

from .._tensor import Tensor


class Export(NamedTuple):
    """A public function: ``fn`` is ``chainrule.ops.<name>``, and ``chainrule.<name>`` too
    when ``top_level``."""

    fn: Callable[..., Any]
    top_level: bool


PUBLIC: dict[str, Export] = {}
"""The public op functions by name (primitives and compositions of them)."""
NUMPY: dict[Any, Callable[..., Any]] = {}
"""NumPy function or ufunc (a name: a ufunc of a library imported lazily, SciPy's ``erf``) →
the function that runs it on tensors, called with NumPy's arguments."""
METHODS: dict[str, Callable[..., Any]] = {}
"""Tensor method name → the function it calls with the tensor as first argument."""


_F = TypeVar("_F", bound=Callable[..., Any])
_Methods = bool | str | tuple[str, ...]


@overload
def export(
    fn: _F,
    *,
    name: str | None = ...,
    numpy: Any = ...,
    method: _Methods = ...,
    public: bool | str = ...,
) -> _F: ...
@overload
def export(
    fn: None = ...,
    *,
    name: str | None = ...,
    numpy: Any = ...,
    method: _Methods = ...,
    public: bool | str = ...,
) -> Callable[[_F], _F]: ...
def export(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    numpy: Any = None,
    method: _Methods = False,
    public: bool | str = True,
) -> Any:
    """Records a public op function (a decorator when called without ``fn``).

    Parameters
    ----------
    fn : callable
        The function; first positional argument the tensor (for ``method``).
    name : str, optional
        Its name (default ``fn.__name__``).
    numpy : callable, str, True or tuple of them, optional
        NumPy functions or ufuncs that run ``fn`` on tensors, with NumPy's arguments
        (``True``: ``numpy.<name>``).
    method : bool, str or tuple of str
        Tensor methods that call ``fn`` (``True``: ``Tensor.<name>``), bound at once.
    public : bool or "ops"
        ``chainrule.ops.<name>`` and ``chainrule.<name>`` (True), the first only ("ops") or
        neither (False); the namespaces are generated from ``PUBLIC``.
    """
    if fn is None:
        return lambda f: export(f, name=name, numpy=numpy, method=method, public=public)
    name = name or fn.__name__
    if public and name in PUBLIC:
        raise ValueError(f"export: a function named {name!r} is already public")
    targets = _listed(numpy, getattr(np, name, None))
    for target in targets:
        if target is None or target in NUMPY:
            raise ValueError(f"export: {name}: NumPy function {target!r} is missing or taken")
    attrs = _listed(method, name)
    for attr in attrs:
        if hasattr(Tensor, attr):
            raise ValueError(f"export: {name}: Tensor already has an attribute {attr!r}")
    if public:
        PUBLIC[name] = Export(fn, public is True)
    NUMPY.update(dict.fromkeys(targets, fn))
    for attr in attrs:
        METHODS[attr] = fn
        setattr(Tensor, attr, fn)
    return fn


def _listed(value: Any, default: Any) -> tuple:
    """``None``/``False`` → (), ``True`` → (default,), one item → (item,), a tuple as is."""
    if value is None or value is False:
        return ()
    if value is True:
        return (default,)
    return value if isinstance(value, tuple) else (value,)
