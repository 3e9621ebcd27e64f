"""``Parameter``: a tensor that a ``Module`` registers as one of its learnable weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _to_array


class Parameter(Tensor):
    """A leaf tensor that requires grad and that a ``Module`` picks up as a parameter.

    Assigning a ``Parameter`` to an attribute of a ``Module`` registers it, so that
    ``module.parameters()`` yields it (as ``torch.nn.Parameter``).

    Parameters
    ----------
    data : array_like or Tensor, optional
        The values, any shape. A Tensor or float NumPy array is shared, not copied (as
        PyTorch's ``Parameter`` shares its tensor's storage); Python floats give float32.
        ``None`` gives an empty float32 parameter of shape ``(0,)``.
    requires_grad : bool
        Whether backward fills ``.grad`` (default True).
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        arr = _to_array(data, None, copy=False)
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(
                f"Parameter: data must be floating point to require grad, got dtype "
                f"{arr.dtype}; pass float data or requires_grad=False"
            )
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
