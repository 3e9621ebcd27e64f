"""``to_onnx``: a chainrule network, a fitted MLP estimator or a scaler-and-estimator pipeline
as one checked ONNX graph (inputs scaled in the graph, plain tensor outputs)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import nn
from .._tensor import Tensor
from ._graph import OPSET, Graph, tensor_info
from ._heads import head_for, head_outputs
from ._layers import export_module
from ._scaling import apply_scaling
from ._tables import CATEGORICAL, NUMERIC, is_table, table_inputs, table_nodes


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
    output_activation: str | None = None,
    classes: Any = None,
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
    example_input : array-like or Tensor, shape ``(batch, *features)``, optional
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
    preprocessing : StandardScaler, mapping, object with ``mean`` and ``scale``, or a table's
        preprocessing, optional
        Standard scaling put in front of the model: x' = (x − mean) / scale, each of shape
        ``(n_features,)`` or scalar (a fitted ``StandardScaler``'s ``mean_``/``scale_``, either
        of which may be None; or ``{'mean': ..., 'scale': ...}``). A ``chainrule train`` run's
        ``Preprocessing`` (imputation, indicators, scaling, one-hot categories) goes into the
        graph whole; its inputs are then ``'numeric'`` and ``'categorical'`` (see
        ``chainrule.export._tables``).
    target_scaling : mapping or object with ``mean`` and ``scale``, optional
        Undoes a regression target's scaling after the model: y = y'·scale + mean.
    output_activation : {'identity', 'logistic', 'softmax', 'exp'}, optional
        For an ``nn`` model that outputs logits: the activation the graph applies to them
        (softmax along the last axis). Estimators apply their own.
    classes : sequence of labels, optional
        For an ``nn`` classifier (with ``output_activation`` 'softmax', or 'logistic' with
        one output column for two classes or one column per label): the graph outputs
        ``'label'`` and ``'probabilities'`` as an estimator's do, in this order of classes.
    input_name, output_name : str
        Names of the graph's input and (for an ``nn`` model without ``classes``) its output.
        An estimator's outputs
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
    head = head_for(model, network is model, output_activation, classes, output_name)
    names = [input_name, *head.names]
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"to_onnx: input and output names must be distinct strings, got {names}")
    table = is_table(preprocessing)
    if table:
        names = [NUMERIC, CATEGORICAL, *head.names]
        _check_width(preprocessing, shape)
    g = Graph(dt, opset, reserved=names)
    if table:
        inputs, x = table_inputs(preprocessing, dt), table_nodes(g, preprocessing)
    else:
        inputs, x = [tensor_info(input_name, dt, shape)], input_name
        for scaling in [*steps, preprocessing]:
            x = apply_scaling(g, x, scaling, "preprocessing", shape[-1], inverse=False)
    z, out_shape = export_module(g, network, x, shape)
    outputs = head_outputs(g, head, z, out_shape, target_scaling)
    mode = ", eval mode" if network is model else ""
    doc = f"chainrule {type(model).__name__}{mode}: {', '.join(head.names)}"
    # each output leaves through an Identity that carries the name users read
    for name, (tensor, _, _) in zip(head.names, outputs):
        g.op("Identity", [tensor], name, exact=True)
    onnx_model = g.model(
        inputs,
        [tensor_info(n, odt, oshape) for n, (_, odt, oshape) in zip(head.names, outputs)],
        f"chainrule_{type(model).__name__}",
        doc,
    )
    if path is not None:
        import onnx

        onnx.save(onnx_model, os.fspath(path))
    return onnx_model


def _check_width(prep: Any, shape: tuple) -> None:
    width = len(prep.mean) + sum(
        len(c.categories) + bool(c.infrequent) for c in prep.columns if c.kind == "categorical"
    )
    if shape != (None, width):
        raise ValueError(
            f"to_onnx: the table's preprocessing makes {width} inputs, the model takes {shape}"
        )


def _is_estimator(model: Any) -> bool:
    """chainrule's MLPClassifier or MLPRegressor: a scikit-learn estimator with ``to_onnx``
    (known by its face, so that export, which the estimators call, does not import them)."""
    from sklearn.base import BaseEstimator

    return isinstance(model, BaseEstimator) and callable(getattr(model, "to_onnx", None))


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
