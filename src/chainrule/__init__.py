"""chainrule: backpropagation you can read, check and watch.

>>> import chainrule as cr
>>> x = cr.tensor([2.0], requires_grad=True); y = cr.tensor([3.0], requires_grad=True)
>>> F = x.log() + x**2 * y + y**2
>>> F.sum().backward(); x.grad, y.grad   # 12.5 and 10.0
"""

from __future__ import annotations

from collections.abc import Sequence

from . import _tensor_methods as _tensor_methods  # binds Tensor's methods and operators
from . import ops
from ._autodiff import backward, detect_anomaly, gradients
from ._counting import OpCounter, count_ops
from ._hooks import RemovableHandle
from ._random import Generator, default_generator, manual_seed
from ._tensor import (
    Tensor,
    as_tensor,
    bool_,
    enable_grad,
    float16,
    float32,
    float64,
    int32,
    int64,
    is_grad_enabled,
    no_grad,
    ones,
    ones_like,
    set_grad_enabled,
    tensor,
    zeros,
    zeros_like,
)
from ._transforms import JacobianStats, grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from .ops import (
    abs,
    add,
    binary_cross_entropy_with_logits,
    broadcast_to,
    clip,
    cos,
    cross_entropy,
    div,
    elu,
    erf,
    exp,
    gelu,
    leaky_relu,
    linear,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pad,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    squeeze,
    sub,
    sum,
    tanh,
    unsqueeze,
    var,
    where,
)

__version__ = "0.1.0"


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Joins tensors along an existing axis (``torch.cat``); each gets its slice of the grad."""
    return ops.concatenate(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Joins tensors along a new axis (``torch.stack``)."""
    return ops.stack(*tensors, axis=axis)


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """``torch.clamp``: limits values to [min, max]; the gradient passes inside the bounds."""
    return ops.clip(x, min=min, max=max)


cat = concatenate

_LAZY = ("nn", "optim", "data", "graph", "train", "plot", "estimators", "testing", "bench")


def __getattr__(name: str):
    """``cr.nn``, ``cr.optim``, ``cr.data``, ``cr.graph``, ``cr.train``, ``cr.plot``,
    ``cr.estimators``, ``cr.testing``, ``cr.bench``: imported on first use, which keeps
    ``import chainrule`` fast."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = [
    "JacobianStats",
    "OpCounter",
    "count_ops",
    "grad",
    "gradients",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "value_and_grad",
    "vjp",
    "Generator",
    "RemovableHandle",
    "default_generator",
    "manual_seed",
    "Tensor",
    "as_tensor",
    "backward",
    "bool_",
    "cat",
    "clamp",
    "concatenate",
    "detect_anomaly",
    "enable_grad",
    "float16",
    "float32",
    "float64",
    "int32",
    "int64",
    "is_grad_enabled",
    "no_grad",
    "ones",
    "ones_like",
    "ops",
    "testing",
    "set_grad_enabled",
    "stack",
    "tensor",
    "zeros",
    "zeros_like",
    "abs",
    "add",
    "binary_cross_entropy_with_logits",
    "broadcast_to",
    "clip",
    "cos",
    "cross_entropy",
    "div",
    "elu",
    "erf",
    "exp",
    "gelu",
    "leaky_relu",
    "linear",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "pad",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "squeeze",
    "sub",
    "sum",
    "tanh",
    "unsqueeze",
    "var",
    "where",
]
