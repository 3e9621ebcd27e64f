"""``to_onnx``: a chainrule network, a fitted MLP estimator or a scaler-and-estimator pipeline
as one checked ONNX graph (inputs scaled in the graph, plain tensor outputs)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import nn
from .._tensor import Tensor
from ._graph import OPSET, Graph, tensor_info
from ._layers import export_module

_INT64 = 7  # onnx.TensorProto.INT64, the type of indices and of multilabel indicators
_ESTIMATOR_HEADS = {"softmax": "Softmax", "logistic": "Sigmoid", "exp": "Exp", "identity": None}


def to_onnx(
    model: Any,
    example_input: Any = None,
    *,
    input_shape: tuple | None = None,
    path: str | os.PathLike | None = None,
    dtype: Any = None,
    opset: int | None = None,
    preprocessing: Any = None,
    target_scaling: Any = None,
    input_name: str = "input",
    output_name: str = "output",
) -> Any:
    """Exports a model as an ONNX graph, checked with ``onnx.checker`` (``full_check=True``).

    The graph computes the model in eval mode, whatever its ``training`` flag: Dropout is the
    identity and BatchNorm1d uses its running statistics (as ``torch.onnx.export`` does).
    The first axis of the input and of every output is dynamic (named ``'batch'``).

    Parameters
    ----------
    model : nn.Module, fitted MLPClassifier / MLPRegressor, or scikit-learn Pipeline
        An ``nn`` model built from the layers in ``chainrule.export.EXPORTABLE_LAYERS``
        (``Sequential`` nested to any depth); an estimator; or a ``Pipeline`` of fitted
        ``StandardScaler`` steps ending in an estimator (the scalers go into the graph).
    example_input : array-like or Tensor, shape (batch, *features), optional
        A batch the model takes; only its shape is used. Give this or ``input_shape`` for an
        ``nn`` model; an estimator knows its ``n_features_in_``.
    input_shape : tuple, optional
        The input's shape with the batch axis first, e.g. ``(None, 4)`` (its size is ignored).
    path : str or PathLike, optional
        Where to write the ``.onnx`` file as well.
    dtype : {'float32', 'float64'}, optional
        The graph's float type; weights are cast to it explicitly. Default: the model's.
    opset : int, optional
        The ONNX opset to declare, at least 17 (``chainrule.export.OPSET``, the default).
    preprocessing : StandardScaler, mapping or object with ``mean`` and ``scale``, optional
        Standard scaling put in front of the model: x' = (x − mean) / scale, each of shape
        ``(n_features,)`` or scalar (a fitted ``StandardScaler``'s ``mean_``/``scale_``, either
        of which may be None; or ``{'mean': ..., 'scale': ...}``).
    target_scaling : mapping or object with ``mean`` and ``scale``, optional
        Undoes a regression target's scaling after the model: y = y'·scale + mean.
    input_name, output_name : str
        Names of the graph's input and (for an ``nn`` model) its output. An estimator's outputs
        are ``'label'`` (shape (batch,); (batch, n_classes) 0/1 for multilabel) and
        ``'probabilities'`` (batch, n_classes) for a classifier, ``'predictions'`` (batch,)
        or (batch, n_outputs) for a regressor: plain tensors, never a ZipMap.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    NotImplementedError
        A layer has no export rule (the message names it and its path).
    """
    steps, model = _pipeline_steps(model)
    opset = OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < OPSET:
        raise ValueError(f"to_onnx: opset must be an int >= {OPSET}, got {opset!r}")
    network = _network(model)
    dt = _graph_dtype(network, dtype, example_input)
    shape = _input_shape(model, network, example_input, input_shape)
    names = [input_name, *_output_names(model, network, output_name)]
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"to_onnx: input and output names must be distinct strings, got {names}")
    g = Graph(dt, opset, reserved=names)
    x = input_name
    for scaling in [*steps, preprocessing]:
        x = _scale(g, x, scaling, "preprocessing", shape[-1], inverse=False)
    z, out_shape = export_module(g, network, x, shape)
    if network is model:
        z = _scale(g, z, target_scaling, "target_scaling", out_shape[-1], inverse=True)
        outputs = [(z, dt, out_shape)]
        doc = f"chainrule {type(model).__name__}, eval mode"
    else:
        outputs = _estimator_outputs(g, model, z, target_scaling)
        doc = f"chainrule {type(model).__name__}: {', '.join(names[1:])}"
    # each output leaves through an Identity that carries the name users read
    for name, (tensor, _, _) in zip(names[1:], outputs):
        g.op("Identity", [tensor], name, exact=True)
    onnx_model = g.model(
        [tensor_info(input_name, dt, shape)],
        [tensor_info(n, odt, oshape) for n, (_, odt, oshape) in zip(names[1:], outputs)],
        f"chainrule_{type(model).__name__}",
        doc,
    )
    if path is not None:
        import onnx

        onnx.save(onnx_model, os.fspath(path))
    return onnx_model


def _is_estimator(model: Any) -> bool:
    from ..estimators._base import BaseMLP

    return isinstance(model, BaseMLP)


def _pipeline_steps(model: Any) -> tuple[list[Any], Any]:
    """A Pipeline's scalers and final estimator; any other model with no scalers."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if not isinstance(model, Pipeline):
        return [], model
    *head, (_, last) = model.steps
    scalers = [step for _, step in head if step not in (None, "passthrough")]
    for step in scalers:
        if type(step) is not StandardScaler:
            raise NotImplementedError(
                f"to_onnx: a Pipeline exports when its steps before the estimator are "
                f"StandardScalers, got {type(step).__name__}"
            )
    if not _is_estimator(last):
        raise TypeError(
            f"to_onnx: a Pipeline must end in a chainrule MLPClassifier or MLPRegressor, got "
            f"{type(last).__name__}"
        )
    return scalers, last


def _network(model: Any) -> nn.Module:
    """The nn model to export: the model itself, or a fitted estimator's ``model_``."""
    if isinstance(model, nn.Module):
        return model
    if _is_estimator(model):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "model_")
        return model.model_
    raise TypeError(
        f"to_onnx: model must be a chainrule nn.Module, a fitted MLPClassifier or "
        f"MLPRegressor, or a Pipeline ending in one, got {type(model).__name__}"
    )


def _graph_dtype(network: nn.Module, dtype: Any, example: Any) -> np.dtype:
    """``dtype`` checked, or the model's own: its first floating parameter's; for a model
    without parameters, a floating ``example``'s; else float32."""
    if dtype is None:
        floats = [p.data.dtype for p in network.parameters() if p.data.dtype.kind == "f"]
        example_dt = getattr(_unwrap(example), "dtype", None)
        if not floats and example_dt is not None and example_dt.kind == "f":
            floats = [example_dt]
        dtype = floats[0] if floats else np.float32
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"to_onnx: dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def _unwrap(example: Any) -> Any:
    """A Tensor's array; anything else as it is."""
    return example.data if isinstance(example, Tensor) else example


def _input_shape(model: Any, network: nn.Module, example: Any, shape: Any) -> tuple:
    """The input's shape with ``None`` for the batch axis."""
    if example is not None and shape is not None:
        raise ValueError("to_onnx: give example_input or input_shape, not both")
    if example is not None:
        shape = np.shape(_unwrap(example))
    if model is not network:  # an estimator knows its width
        n = model.n_features_in_
        if shape is not None and tuple(shape)[1:] != (n,):
            raise ValueError(
                f"to_onnx: {type(model).__name__} takes input of shape (batch, {n}), got "
                f"{tuple(shape)}"
            )
        return (None, n)
    if shape is None:
        raise TypeError(
            "to_onnx: an nn model needs example_input (a batch) or input_shape, e.g. "
            "input_shape=(None, n_features)"
        )
    shape = tuple(shape)
    ok = len(shape) >= 2 and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape[1:]
    )
    if not ok:
        raise ValueError(
            f"to_onnx: the input's shape must be (batch, *features) with positive feature sizes, "
            f"got {shape}"
        )
    return (None, *(int(d) for d in shape[1:]))


def _output_names(model: Any, network: nn.Module, output_name: str) -> list[str]:
    if model is network:
        return [output_name]
    if hasattr(model, "classes_"):
        return ["label", "probabilities"]
    return ["predictions"]


def _mean_scale(what: str, scaling: Any) -> tuple[Any, Any]:
    """(mean, scale) of a fitted StandardScaler (``mean_``, ``scale_``), a mapping or an
    object with ``mean`` and ``scale``; either may be None."""
    from sklearn.preprocessing import StandardScaler

    if isinstance(scaling, StandardScaler):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(scaling)
        # with_mean=False still fits mean_, which transform then does not subtract
        return scaling.mean_ if scaling.with_mean else None, scaling.scale_
    if isinstance(scaling, Mapping) and set(scaling) <= {"mean", "scale"}:
        return scaling.get("mean"), scaling.get("scale")
    if hasattr(scaling, "mean") and hasattr(scaling, "scale"):
        return scaling.mean, scaling.scale
    raise TypeError(
        f"to_onnx: {what} must be a fitted StandardScaler, a mapping with keys 'mean' and "
        f"'scale', or an object with mean and scale attributes, got {type(scaling).__name__}"
    )


def _scale(g: Graph, x: str, scaling: Any, what: str, width: Any, inverse: bool) -> str:
    """(x − mean) / scale, or with ``inverse`` x·scale + mean; x itself for ``None``."""
    if scaling is None:
        return x
    mean, scale = _mean_scale(what, scaling)
    arrays = {}
    for name, value in (("mean", mean), ("scale", scale)):
        if value is None:
            continue
        a = np.asarray(value, dtype=np.float64)
        if a.shape not in ((), (width,)) or not np.isfinite(a).all():
            raise ValueError(
                f"to_onnx: {what} {name} must be finite, of shape () or ({width},), got shape "
                f"{a.shape}" + ("" if np.isfinite(a).all() else " with non-finite values")
            )
        if name == "scale" and (a == 0).any():
            raise ValueError(f"to_onnx: {what} scale must be non-zero, got {a}")
        arrays[name] = g.const(f"{what}.{name}", a)
    if inverse:
        if "scale" in arrays:
            x = g.op("Mul", [x, arrays["scale"]], f"{what}/mul")
        return g.op("Add", [x, arrays["mean"]], f"{what}/add") if "mean" in arrays else x
    if "mean" in arrays:
        x = g.op("Sub", [x, arrays["mean"]], f"{what}/sub")
    return g.op("Div", [x, arrays["scale"]], f"{what}/div") if "scale" in arrays else x


def _estimator_outputs(g: Graph, est: Any, z: str, target_scaling: Any) -> list[tuple]:
    """The estimator's outputs from its logits z (batch, n_outputs_), as ``predict`` and
    ``predict_proba`` compute them: [(tensor, dtype, shape), ...]."""
    head = _ESTIMATOR_HEADS[est.out_activation_]
    p = g.op(head, [z], "head", **({"axis": 1} if head == "Softmax" else {})) if head else z
    n = est.n_outputs_
    if not hasattr(est, "classes_"):
        p = _scale(g, p, target_scaling, "target_scaling", n, inverse=True)
        if n == 1:
            return [(_ravel(g, p), g.dtype, (None,))]
        return [(p, g.dtype, (None, n))]
    if target_scaling is not None:
        raise ValueError("to_onnx: target_scaling applies to regressors, not to a classifier")
    classes = _label_array(est.classes_)
    table = g.const("classes", classes, classes.dtype)
    if len(classes) == 1:  # one class seen in fit: it is certain
        n_rows = g.op("Shape", [p], "n_rows", end=1)
        shape = g.op("Concat", [n_rows, g.const("one_column", [1], np.int64)], "shape", axis=0)
        proba = g.op("Expand", [g.const("one", np.ones((1, 1))), shape], "certain")
        index = g.op("Expand", [g.const("zero", [0], np.int64), n_rows], "index")
    elif est.out_activation_ == "softmax":  # argmax, first of ties, as NumPy
        proba = p
        index = g.op("ArgMax", [p], "index", axis=1, keepdims=0)
    elif n == 1:  # binary: P(classes_[1]) = σ(z), label classes_[1] where it is > ½
        p1 = _ravel(g, p)
        proba = g.op("Concat", [g.op("Sub", [g.scalar(1.0), p], "p0"), p], "probabilities", axis=1)
        index = g.op("Cast", [g.op("Greater", [p1, g.scalar(0.5)], "above")], "index", to=_INT64)
    else:  # multilabel: a 0/1 indicator per class
        label = g.op("Cast", [g.op("Greater", [p, g.scalar(0.5)], "above")], "indicator", to=_INT64)
        return [(label, np.dtype(np.int64), (None, n)), (p, g.dtype, (None, n))]
    label = g.op("Gather", [table, index], "gather", axis=0)
    return [(label, classes.dtype, (None,)), (proba, g.dtype, (None, len(classes)))]


def _ravel(g: Graph, x: str) -> str:
    return g.op("Reshape", [x, g.const("shape_flat", [-1], np.int64)], "ravel")


def _label_array(classes: np.ndarray) -> np.ndarray:
    """``classes_`` in a type ONNX holds: int64, float, bool or strings."""
    kind = classes.dtype.kind
    if kind in "iu":
        return classes.astype(np.int64)
    if kind in "fb":
        return classes
    if kind in "US" or all(isinstance(c, str) for c in classes):
        return np.array([str(c) for c in classes], dtype=object)
    raise TypeError(
        f"to_onnx: class labels must be numbers, booleans or strings, got {classes.dtype} "
        f"({classes[:3]!r})"
    )
