"""The `Tensor`: a NumPy array plus the bookkeeping that reverse mode needs.

A tensor made by an op remembers the op, its parent tensors and the raw input arrays, which is
all the backward pass needs to apply that op's reverse rule. Leaves (``_op is None``) are where
gradients are stored. Methods and operators are bound to ops in ``_tensor_methods.py``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

float16, float32, float64 = np.float16, np.float32, np.float64
int32, int64, bool_ = np.int32, np.int64, np.bool_

if TYPE_CHECKING:
    from .ops._registry import Op


class _Mode:
    """Process-wide switches read by every op (grad recording and anomaly detection)."""

    grad_enabled: bool = True
    anomaly: bool = False
    watch: bool = False  # some callback wants to see every op (see ops._registry.WATCHERS)


class _GradSwitch:
    """Sets grad recording for a block: context manager, and decorator with or without
    parentheses (``@cr.no_grad`` and ``@cr.no_grad()``), as PyTorch's."""

    _value = True

    def __new__(cls, *args):
        if len(args) == 1 and callable(args[0]):
            return cls()(args[0])  # bare decorator: @cr.no_grad
        return super().__new__(cls)

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_Mode.grad_enabled)
        _Mode.grad_enabled = self._value

    def __exit__(self, *exc: object) -> None:
        _Mode.grad_enabled = self._prev.pop()

    def __call__(self, fn):
        cls = self.__class__

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with cls():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradSwitch):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops inside record no graph (as ``torch.no_grad``)."""

    _value = False


class enable_grad(_GradSwitch):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: turns graph recording back on inside ``no_grad``."""

    _value = True


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Switches recording on or off: at once when called (``cr.set_grad_enabled(False)``),
    for a block as a context manager, or for a function as a decorator (as PyTorch's)."""

    def __init__(self, mode: bool) -> None:
        self._value = bool(mode)
        self._before = _Mode.grad_enabled
        _Mode.grad_enabled = self._value

    def __enter__(self) -> None:
        pass  # __init__ has already switched

    def __exit__(self, *exc: object) -> None:
        _Mode.grad_enabled = self._before

    def __call__(self, fn):
        _Mode.grad_enabled = self._before  # decorating must not change the mode now
        value = self._value

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(value):
                return fn(*args, **kwargs)

        return wrapper


def is_grad_enabled() -> bool:
    """Whether ops record the graph now."""
    return _Mode.grad_enabled


class Tensor:
    """An n-dimensional array that can record how it was computed.

    Parameters
    ----------
    data : array_like
        The values. Floats become float32 unless given as a float NumPy array (kept as is).
    requires_grad : bool
        Whether to accumulate gradients into ``.grad`` for this tensor (floats only).

    Attributes
    ----------
    data : ndarray
        The values, shape ``self.shape``.
    grad : Tensor or None
        The accumulated gradient, same shape and dtype as ``data``.
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "_op",
        "_parents",
        "_inputs",
        "_kw",
        "__weakref__",
    )
    __array_priority__ = 1000
    data: np.ndarray
    grad: Tensor | None
    requires_grad: bool
    # the graph node, set by ops._registry._node; None once backward() has freed it
    _op: Op | None  # None: a leaf
    _parents: tuple[Tensor | None, ...] | None  # None where an input needs no gradient
    _inputs: tuple[Any, ...] | None  # the raw arrays the op's rules see
    _kw: dict[str, Any] | None  # the op's static settings

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self.data = _to_array(data, None, copy=False)
        self.grad = None
        self._op = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- construction used by the ops (no conversion, no checks) ----------------------------
    @classmethod
    def _wrap(cls, data: np.ndarray) -> Tensor:
        t = _new(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = False
        t._op = None
        return t

    # -- properties ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded op (only leaves receive ``.grad``)."""
        return self._op is None

    @property
    def grad_fn(self):
        """The op that made this tensor (``None`` for leaves)."""
        return self._op

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted to a Python number, "
                f"got shape {self.shape}"
            )
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), as ``torch.Tensor.numpy``.

        Raises ``TypeError`` for a tensor that requires grad (the graph would be lost
        silently); call ``.detach().numpy()``, as PyTorch asks.
        """
        if self.requires_grad:
            raise _graph_loss("numpy()")
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Sets ``requires_grad`` in place; only float leaves may require gradients."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, "
                f"got dtype {self.data.dtype}; create it with float data or dtype=cr.float32"
            )
        if not requires_grad and self._op is not None:
            raise RuntimeError(
                "requires_grad_: cannot turn off gradients of a non-leaf tensor; use .detach()"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if (
            self.data.dtype != np.float32
            and self.data.dtype.kind == "f"
            or self.data.dtype.kind in "iub"
        ):
            extra += f", dtype={self.data.dtype}"
        if self._op is not None:
            extra += f", grad_fn=<{self._op.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor with {self.data.size} elements is ambiguous; "
                f"use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"only integer tensors of one element can be an index, got {self!r}")
        return int(self.data)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        # np.asarray / np.array / np.r_ on a tensor that records a graph would return values
        # cut from it, so its gradient would silently be lost; PyTorch refuses, so do we.
        if self.requires_grad:
            raise _graph_loss("np.asarray/np.array")
        if dtype is None:
            return self.data if not copy else self.data.copy()
        return self.data.astype(dtype, copy=bool(copy))

    __hash__ = object.__hash__

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))


_new = object.__new__


class GraphLossError(TypeError):
    """Converting a tensor that requires grad to an ndarray, which would drop its graph."""


def _graph_loss(how: str) -> GraphLossError:
    return GraphLossError(
        f"{how}: can't convert a tensor that requires grad to a NumPy array (its gradient "
        f"would be lost). Use tensor.detach() first (t.detach().numpy()), or a chainrule op "
        f"(cr.stack for a list of tensors)"
    )


def _to_array(data: Any, dtype: Any, copy: bool) -> np.ndarray:
    """Converts ``data`` to an ndarray with chainrule's dtype policy (float32 unless given)."""
    if isinstance(data, Tensor):
        data = data.data
    keep = isinstance(data, (np.ndarray, np.generic))
    try:
        arr = np.array(data, dtype=dtype, copy=copy or None)
    except GraphLossError:
        raise
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"tensor: data must be a number, a (nested) list of numbers or an array, "
            f"got {type(data).__name__}: {e}"
        ) from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"tensor: unsupported dtype {arr.dtype} (expected float, int or bool)")
    if dtype is None and arr.dtype == np.float64 and not keep:
        arr = arr.astype(np.float32)
    return arr


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Makes a new leaf tensor from ``data`` (always copies, as ``torch.tensor``).

    Parameters
    ----------
    data : array_like
        Numbers, nested lists, NumPy arrays or tensors. Python floats give float32; a float
        NumPy array keeps its dtype (float64 stays float64); integers give int64.
    requires_grad : bool
        Record operations on this tensor so that ``backward`` fills ``.grad`` (floats only).
    dtype : numpy dtype or str, optional
        Force a dtype, e.g. ``cr.float64``.
    """
    t = Tensor._wrap(_to_array(data, dtype, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(x: Any) -> Tensor:
    """``x`` if it is a tensor, else a constant tensor made from it (no copy of arrays)."""
    if isinstance(x, Tensor):
        return x
    return Tensor._wrap(_to_array(x, None, copy=False))


def zeros(*shape: int, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; ``shape`` as ints or one tuple."""
    return tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: int, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones; ``shape`` as ints or one tuple."""
    return tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def zeros_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return tensor(np.zeros_like(as_tensor(x).data), requires_grad=requires_grad)


def ones_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return tensor(np.ones_like(as_tensor(x).data), requires_grad=requires_grad)


def _shape_arg(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)
