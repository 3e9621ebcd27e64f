"""chainrule: backpropagation you can read, check and watch.

>>> import chainrule as cr
>>> x = cr.tensor([2.0], requires_grad=True); y = cr.tensor([3.0], requires_grad=True)
>>> F = x.log() + x**2 * y + y**2
>>> F.sum().backward(); x.grad, y.grad   # 12.5 and 10.0
"""

from __future__ import annotations

from collections.abc import Sequence

from . import _tensor_methods as _tensor_methods  # binds Tensor's methods and operators
from . import linalg, ops
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
    abs as abs,
)
from .ops import (
    add as add,
)
from .ops import (
    append as append,
)
from .ops import (
    arccos as arccos,
)
from .ops import (
    arccosh as arccosh,
)
from .ops import (
    arcsin as arcsin,
)
from .ops import (
    arcsinh as arcsinh,
)
from .ops import (
    arctan as arctan,
)
from .ops import (
    arctan2 as arctan2,
)
from .ops import (
    arctanh as arctanh,
)
from .ops import (
    array_split as array_split,
)
from .ops import (
    astype as astype,
)
from .ops import (
    atleast_1d as atleast_1d,
)
from .ops import (
    atleast_2d as atleast_2d,
)
from .ops import (
    atleast_3d as atleast_3d,
)
from .ops import (
    binary_cross_entropy_with_logits as binary_cross_entropy_with_logits,
)
from .ops import (
    broadcast_to as broadcast_to,
)
from .ops import (
    ceil as ceil,
)
from .ops import (
    clip as clip,
)
from .ops import (
    column_stack as column_stack,
)
from .ops import (
    conj as conj,
)
from .ops import (
    cos as cos,
)
from .ops import (
    cosh as cosh,
)
from .ops import (
    cross as cross,
)
from .ops import (
    cross_entropy as cross_entropy,
)
from .ops import (
    cumprod as cumprod,
)
from .ops import (
    cumsum as cumsum,
)
from .ops import (
    deg2rad as deg2rad,
)
from .ops import (
    diag as diag,
)
from .ops import (
    diagonal as diagonal,
)
from .ops import (
    diff as diff,
)
from .ops import (
    div as div,
)
from .ops import (
    dot as dot,
)
from .ops import (
    dsplit as dsplit,
)
from .ops import (
    dstack as dstack,
)
from .ops import (
    einsum as einsum,
)
from .ops import (
    elu as elu,
)
from .ops import (
    erf as erf,
)
from .ops import (
    exp as exp,
)
from .ops import (
    exp2 as exp2,
)
from .ops import (
    expm1 as expm1,
)
from .ops import (
    fabs as fabs,
)
from .ops import (
    flip as flip,
)
from .ops import (
    fliplr as fliplr,
)
from .ops import (
    flipud as flipud,
)
from .ops import (
    floor as floor,
)
from .ops import (
    fmax as fmax,
)
from .ops import (
    fmin as fmin,
)
from .ops import (
    fmod as fmod,
)
from .ops import (
    gelu as gelu,
)
from .ops import (
    gradient as gradient,
)
from .ops import (
    hsplit as hsplit,
)
from .ops import (
    hstack as hstack,
)
from .ops import (
    hypot as hypot,
)
from .ops import (
    imag as imag,
)
from .ops import (
    inner as inner,
)
from .ops import (
    kron as kron,
)
from .ops import (
    leaky_relu as leaky_relu,
)
from .ops import (
    linear as linear,
)
from .ops import (
    linspace as linspace,
)
from .ops import (
    log as log,
)
from .ops import (
    log1p as log1p,
)
from .ops import (
    log2 as log2,
)
from .ops import (
    log10 as log10,
)
from .ops import (
    log_softmax as log_softmax,
)
from .ops import (
    logaddexp as logaddexp,
)
from .ops import (
    logaddexp2 as logaddexp2,
)
from .ops import (
    logsumexp as logsumexp,
)
from .ops import (
    matmul as matmul,
)
from .ops import (
    max as max,
)
from .ops import (
    maximum as maximum,
)
from .ops import (
    mean as mean,
)
from .ops import (
    min as min,
)
from .ops import (
    minimum as minimum,
)
from .ops import (
    moveaxis as moveaxis,
)
from .ops import (
    mul as mul,
)
from .ops import (
    nan_to_num as nan_to_num,
)
from .ops import (
    neg as neg,
)
from .ops import (
    outer as outer,
)
from .ops import (
    pad as pad,
)
from .ops import (
    partition as partition,
)
from .ops import (
    permute as permute,
)
from .ops import (
    pow as pow,
)
from .ops import (
    prod as prod,
)
from .ops import (
    rad2deg as rad2deg,
)
from .ops import (
    ravel as ravel,
)
from .ops import (
    real as real,
)
from .ops import (
    reciprocal as reciprocal,
)
from .ops import (
    relu as relu,
)
from .ops import (
    remainder as remainder,
)
from .ops import (
    repeat as repeat,
)
from .ops import (
    reshape as reshape,
)
from .ops import (
    roll as roll,
)
from .ops import (
    rollaxis as rollaxis,
)
from .ops import (
    rot90 as rot90,
)
from .ops import (
    round as round,
)
from .ops import (
    row_stack as row_stack,
)
from .ops import (
    select as select,
)
from .ops import (
    sigmoid as sigmoid,
)
from .ops import (
    sign as sign,
)
from .ops import (
    sin as sin,
)
from .ops import (
    sinc as sinc,
)
from .ops import (
    sinh as sinh,
)
from .ops import (
    softmax as softmax,
)
from .ops import (
    softplus as softplus,
)
from .ops import (
    sort as sort,
)
from .ops import (
    split as split,
)
from .ops import (
    sqrt as sqrt,
)
from .ops import (
    square as square,
)
from .ops import (
    squeeze as squeeze,
)
from .ops import (
    std as std,
)
from .ops import (
    sub as sub,
)
from .ops import (
    sum as sum,
)
from .ops import (
    take_along_axis as take_along_axis,
)
from .ops import (
    tan as tan,
)
from .ops import (
    tanh as tanh,
)
from .ops import (
    tensordot as tensordot,
)
from .ops import (
    tile as tile,
)
from .ops import (
    trace as trace,
)
from .ops import (
    tril as tril,
)
from .ops import (
    triu as triu,
)
from .ops import (
    trunc as trunc,
)
from .ops import (
    unsqueeze as unsqueeze,
)
from .ops import (
    var as var,
)
from .ops import (
    vdot as vdot,
)
from .ops import (
    vsplit as vsplit,
)
from .ops import (
    vstack as vstack,
)
from .ops import (
    where as where,
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
    "linalg",
] + list(ops.FUNCTIONS)
