"""The op tables. Each family module registers its primitives with ``defop``."""

from . import activations, arithmetic, elementwise, fused, reductions, shape
from ._registry import LINEAR, REGISTRY, Op, defop, either, unbroadcast
from .activations import elu, gelu, leaky_relu, relu, sigmoid, softplus
from .arithmetic import add, div, matmul, maximum, minimum, mul, neg, pow, sub, where
from .elementwise import abs, clip, cos, erf, exp, log, log1p, sin, sqrt, tanh
from .fused import binary_cross_entropy_with_logits, cross_entropy, linear
from .reductions import log_softmax, logsumexp, max, mean, min, softmax, sum, var
from .shape import (
    broadcast_to,
    concatenate,
    getitem,
    index_add,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    unsqueeze,
)

__all__ = [
    "LINEAR", "REGISTRY", "Op", "defop", "either", "unbroadcast",
    "activations", "arithmetic", "elementwise", "fused", "reductions", "shape",
    "abs", "add", "binary_cross_entropy_with_logits", "broadcast_to", "clip", "concatenate",
    "cos", "cross_entropy", "div", "elu", "erf", "exp", "gelu", "getitem", "index_add",
    "leaky_relu", "linear", "log", "log1p", "log_softmax", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "pad", "permute", "pow", "relu",
    "reshape", "sigmoid", "sin", "softmax", "softplus", "sqrt", "squeeze", "stack", "sub",
    "sum", "tanh", "unsqueeze", "var", "where",
]
