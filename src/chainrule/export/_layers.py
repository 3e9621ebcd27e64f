"""Export rules: one function per layer type, writing the layer's eval-mode forward as ONNX.

A rule takes the graph, the module, the name of its input, the input's shape (``None`` for
the batch axis) and the module's dotted path, and returns its output's name and shape.
Types are matched exactly, as ``Sequential`` matches the layers it fuses: a subclass may
override ``forward``, so it needs a rule of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import nn
from ..nn import functional as F
from . import _special
from ._graph import Graph

Shape = tuple
Rule = Callable[[Graph, nn.Module, str, Shape, str], tuple[str, Shape]]

# ONNX Runtime's CPU kernels for Elu, Softplus and Erf take float32 only, and LeakyRelu's slope
# is a float32 attribute (0.2 becomes 0.2000000030): float64 graphs compose these from basic ops
_FLOAT32_ONLY = ("Elu", "Softplus", "Erf", "LeakyRelu")


def _native(g: Graph, op_type: str) -> bool:
    return op_type not in _FLOAT32_ONLY or g.dtype == np.float32


def _where(path: str) -> str:
    return f"'{path}'" if path else "the model itself"


def _key(path: str, leaf: str) -> str:
    """An initializer's name: the tensor's ``state_dict`` key."""
    return f"{path}.{leaf}" if path else leaf


def _linear(g, m, x, shape, path):
    # y = x @ W + b with W (in_features, out_features): chainrule's layout is ONNX MatMul's
    if shape[-1] != m.in_features:
        raise ValueError(
            f"to_onnx: Linear at {_where(path)} expects {m.in_features} input features, but its "
            f"input has shape {shape} with {shape[-1]}"
        )
    y = g.op("MatMul", [x, g.weight(_key(path, "weight"), m.weight)], f"{path}/matmul")
    if m.bias is not None:
        y = g.op("Add", [y, g.weight(_key(path, "bias"), m.bias)], f"{path}/add")
    return y, (*shape[:-1], m.out_features)


def _unary(op_type: str) -> Rule:
    def rule(g, m, x, shape, path):
        return g.op(op_type, [x], f"{path}/{op_type.lower()}"), shape

    return rule


def _leaky_relu(g, m, x, shape, path):
    if _native(g, "LeakyRelu"):
        return g.op("LeakyRelu", [x], f"{path}/leakyrelu", alpha=m.negative_slope), shape
    # x for x > 0, slope·x otherwise
    tail = g.op("Mul", [x, g.scalar(m.negative_slope)], f"{path}/tail")
    positive = g.op("Greater", [x, g.scalar(0.0)], f"{path}/positive")
    return g.op("Where", [positive, x, tail], f"{path}/leakyrelu"), shape


def _elu(g, m, x, shape, path):
    if _native(g, "Elu"):
        return g.op("Elu", [x], f"{path}/elu", alpha=m.alpha), shape
    # x for x > 0, α·expm1(min(x, 0)) otherwise (as chainrule computes it)
    neg = g.op("Min", [x, g.scalar(0.0)], f"{path}/min")
    tail = g.op("Mul", [_special.expm1(g, neg, f"{path}/expm1"), g.scalar(m.alpha)], f"{path}/tail")
    positive = g.op("Greater", [x, g.scalar(0.0)], f"{path}/positive")
    return g.op("Where", [positive, x, tail], f"{path}/elu"), shape


def _softplus(g, m, x, shape, path):
    # log(1 + e^{βx})/β, and x itself where βx > threshold (PyTorch's definition)
    bx = g.op("Mul", [x, g.scalar(m.beta)], f"{path}/beta_x")
    if _native(g, "Softplus"):
        sp = g.op("Softplus", [bx], f"{path}/softplus")
    else:  # log(1 + e^v) = max(v, 0) + log1p(e^{−|v|})
        e = g.op(
            "Exp", [g.op("Neg", [g.op("Abs", [bx], f"{path}/abs")], f"{path}/neg")], f"{path}/exp"
        )
        sp = g.op(
            "Add",
            [
                g.op("Max", [bx, g.scalar(0.0)], f"{path}/max"),
                _special.log1p(g, e, f"{path}/log1p"),
            ],
            f"{path}/softplus",
        )
    sp = g.op("Div", [sp, g.scalar(m.beta)], f"{path}/div")
    linear = g.op("Greater", [bx, g.scalar(m.threshold)], f"{path}/above")
    return g.op("Where", [linear, x, sp], f"{path}/out"), shape


def _gelu(g, m, x, shape, path):
    if m.approximate == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = g.op("Mul", [g.op("Mul", [x, x], f"{path}/x2"), x], f"{path}/x3")
        inner = g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715)], f"{path}/c")], f"{path}/u")
        u = g.op("Mul", [inner, g.scalar(math.sqrt(2 / math.pi))], f"{path}/u")
        cdf = g.op("Add", [g.op("Tanh", [u], f"{path}/tanh"), g.scalar(1.0)], f"{path}/one_plus")
        cdf = g.op("Mul", [cdf, g.scalar(0.5)], f"{path}/cdf")
    elif _native(g, "Erf"):  # ½(1 + erf(x/√2)), as chainrule
        erf = g.op(
            "Erf", [g.op("Mul", [x, g.scalar(1 / math.sqrt(2))], f"{path}/z")], f"{path}/erf"
        )
        cdf = g.op("Add", [erf, g.scalar(1.0)], f"{path}/one_plus")
        cdf = g.op("Mul", [cdf, g.scalar(0.5)], f"{path}/cdf")
    else:
        cdf = _special.normal_cdf(g, x, f"{path}/cdf")
    return g.op("Mul", [x, cdf], f"{path}/gelu"), shape


def _softmax(op_type: str, name: str) -> Rule:
    def rule(g, m, x, shape, path):
        dim = F._softmax_dim(name, len(shape)) if m.dim is None else m.dim
        if not -len(shape) <= dim < len(shape):
            raise ValueError(
                f"to_onnx: {type(m).__name__} at {_where(path)} has dim={dim}, out of range for "
                f"input of shape {shape}"
            )
        return g.op(op_type, [x], f"{path}/{name}", axis=dim), shape

    return rule


def _identity(g, m, x, shape, path):
    # Identity, and Dropout in eval mode: no node
    return x, shape


def _param_or(g, m, name, path, fill, shape) -> str:
    """The layer's parameter ``name``, or a constant ``fill`` where it has none (the ONNX
    normalisation operators require a scale, and BatchNormalization a bias)."""
    p = getattr(m, name)
    if p is not None:
        return g.weight(_key(path, name), p)
    return g.const(_key(path, f"{name}_{fill:g}"), np.full(shape, fill))


def _batch_norm(g, m, x, shape, path):
    if not m.track_running_stats:
        raise NotImplementedError(
            f"to_onnx: BatchNorm1d at {_where(path)} has track_running_stats=False, so it "
            f"normalises every batch by its own statistics even in eval mode; only layers with "
            f"running statistics export"
        )
    if len(shape) not in (2, 3) or shape[1] != m.num_features:
        raise ValueError(
            f"to_onnx: BatchNorm1d at {_where(path)} expects input (N, {m.num_features}[, L]), "
            f"got shape {shape}"
        )
    scale = _param_or(g, m, "weight", path, 1.0, (m.num_features,))
    bias = _param_or(g, m, "bias", path, 0.0, (m.num_features,))
    mean = g.weight(_key(path, "running_mean"), m.running_mean)
    # var + eps computed here, in the graph's dtype as chainrule computes it: the epsilon
    # attribute is a float32, which float64 graphs cannot afford
    var = m.running_var.data.astype(g.dtype)
    var_eps = g.const(_key(path, "running_var_plus_eps"), var + m.eps)
    inputs = [x, scale, bias, mean, var_eps]
    y = g.op("BatchNormalization", inputs, f"{path}/batchnorm", epsilon=0.0)
    return y, shape


def _layer_norm(g, m, x, shape, path):
    k = len(m.normalized_shape)
    if tuple(shape[-k:]) != m.normalized_shape or len(shape) <= k:
        raise ValueError(
            f"to_onnx: LayerNorm at {_where(path)} normalises over {m.normalized_shape}, but its "
            f"input has shape {shape}"
        )
    if g.dtype == np.float32:
        scale = _param_or(g, m, "weight", path, 1.0, m.normalized_shape)
        inputs = [x, scale] + ([g.weight(_key(path, "bias"), m.bias)] if m.bias is not None else [])
        y = g.op("LayerNormalization", inputs, f"{path}/layernorm", axis=-k, epsilon=m.eps)
        return y, shape
    y = _layer_norm_float64(g, x, k, m.eps, path)
    if m.weight is not None:
        y = g.op("Mul", [y, g.weight(_key(path, "weight"), m.weight)], f"{path}/mul")
    if m.bias is not None:
        y = g.op("Add", [y, g.weight(_key(path, "bias"), m.bias)], f"{path}/add")
    return y, shape


def _layer_norm_float64(g, x, k, eps, path) -> str:
    """(x − mean)/√(var + eps) over the last k axes, composed as chainrule computes it (the
    LayerNormalization operator's epsilon is a float32 attribute)."""
    d = g.op("Sub", [x, _reduce_mean(g, x, k, f"{path}/mean")], f"{path}/centred")
    var = _reduce_mean(g, g.op("Mul", [d, d], f"{path}/square"), k, f"{path}/var")
    std = g.op("Sqrt", [g.op("Add", [var, g.scalar(eps)], f"{path}/var_eps")], f"{path}/std")
    return g.op("Div", [d, std], f"{path}/normalised")


def _reduce_mean(g, x, k, base) -> str:
    """The mean over the last k axes, kept; opset 18 moved ReduceMean's axes to an input."""
    axes = list(range(-k, 0))
    if g.opset < 18:
        return g.op("ReduceMean", [x], base, axes=axes, keepdims=1)
    return g.op("ReduceMean", [x, g.const(f"{base}.axes", axes, np.int64)], base, keepdims=1)


def _flatten(g, m, x, shape, path):
    nd = len(shape)
    start, end = m.start_dim % nd, m.end_dim % nd
    if start > end:
        raise ValueError(
            f"to_onnx: Flatten at {_where(path)} has start_dim={m.start_dim} after "
            f"end_dim={m.end_dim} for input of shape {shape}"
        )
    block = shape[start : end + 1]
    flat = None if None in block else math.prod(block)
    out = (*shape[:start], flat, *shape[end + 1 :])
    # Reshape's 0 copies the input's axis (the batch), −1 is inferred: at most one of each
    target = [(-1 if start == 0 else 0) if d is None else d for d in out]
    y = g.op("Reshape", [x, g.const(_key(path, "shape"), target, np.int64)], f"{path}/flatten")
    return y, out


def _sequential(g, m, x, shape, path):
    for name, child in m.named_children():
        x, shape = export_module(g, child, x, shape, f"{path}.{name}" if path else name)
    return x, shape


RULES: dict[type, Rule] = {
    nn.Sequential: _sequential,
    nn.MLP: _sequential,  # a Sequential with its own constructor only
    nn.Linear: _linear,
    nn.ReLU: _unary("Relu"),
    nn.Sigmoid: _unary("Sigmoid"),
    nn.Tanh: _unary("Tanh"),
    nn.LeakyReLU: _leaky_relu,
    nn.ELU: _elu,
    nn.GELU: _gelu,
    nn.Softplus: _softplus,
    nn.Softmax: _softmax("Softmax", "softmax"),
    nn.LogSoftmax: _softmax("LogSoftmax", "log_softmax"),
    nn.Dropout: _identity,
    nn.Identity: _identity,
    nn.BatchNorm1d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.Flatten: _flatten,
}
"""The layers that export, by exact type."""


def export_module(
    g: Graph, module: nn.Module, x: str, shape: Shape, path: str = ""
) -> tuple[str, Shape]:
    """Writes ``module``'s eval-mode forward into ``g``; an error names a layer with no rule."""
    rule = RULES.get(type(module))
    if rule is None:
        names = ", ".join(sorted(t.__name__ for t in RULES))
        raise NotImplementedError(
            f"to_onnx: no ONNX export rule for {type(module).__name__} at {_where(path)}; the "
            f"layers that export are {names}"
        )
    # node names start with the module's path: "0.2/matmul", or "/matmul" for a bare layer
    return rule(g, module, x, shape, path)
