"""What follows the network: the output activation and, for a classifier, labels and
probabilities as plain tensors (never a ZipMap), computed as ``predict``/``predict_proba``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._graph import Graph
from ._scaling import apply_scaling

_INT64 = 7  # onnx.TensorProto.INT64, the type of indices and of multilabel indicators

ACTIVATIONS = {"identity": None, "logistic": "Sigmoid", "softmax": "Softmax", "exp": "Exp"}
"""Output activations by the estimators' names (``out_activation_``) and their ONNX ops."""


@dataclass
class Head:
    """The output activation, the class labels (None: no labels, the activation's values are
    the output), and whether one output column is returned as (batch,), as ``predict`` does."""

    activation: str
    classes: np.ndarray | None
    ravel: bool
    names: list[str]


def head_for(model: Any, is_network: bool, activation: Any, classes: Any, output_name: str) -> Head:
    """An estimator's own head, or the one ``output_activation`` and ``classes`` ask for."""
    if not is_network:
        if activation is not None or classes is not None:
            raise ValueError(
                "to_onnx: output_activation and classes are for nn models; an estimator's are "
                "its own"
            )
        if hasattr(model, "classes_"):
            return Head(model.out_activation_, _label_array(model.classes_), True, _LABELS)
        return Head(model.out_activation_, None, True, ["predictions"])
    activation = "identity" if activation is None else activation
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"to_onnx: output_activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    if classes is None:
        return Head(activation, None, False, [output_name])
    if activation not in ("softmax", "logistic"):
        raise ValueError(
            f"to_onnx: classes need output_activation 'softmax' or 'logistic', got {activation!r}"
        )
    labels = np.asarray(classes)
    if labels.ndim != 1 or len(labels) == 0 or len(set(labels.tolist())) != len(labels):
        raise ValueError(f"to_onnx: classes must be distinct labels in a 1-D list, got {classes!r}")
    return Head(activation, _label_array(labels), False, _LABELS)


_LABELS = ["label", "probabilities"]


Output = tuple[str, np.dtype, tuple]
"""A graph output: the name of its tensor, its dtype and its shape (None: the batch axis)."""


def head_outputs(g: Graph, head: Head, z: str, shape: tuple, target_scaling: Any) -> list[Output]:
    """The outputs from the network's output z of ``shape``: [(tensor, dtype, shape), ...]."""
    op = ACTIVATIONS[head.activation]
    if op == "Softmax":
        p = g.op(op, [z], "head", axis=-1)
    else:
        p = g.op(op, [z], "head") if op else z
    if head.classes is None:
        p = apply_scaling(g, p, target_scaling, "target_scaling", shape[-1], inverse=True)
        if head.ravel and shape[-1] == 1:
            return [(_ravel(g, p), g.dtype, (None,))]
        return [(p, g.dtype, shape)]
    if target_scaling is not None:
        raise ValueError("to_onnx: target_scaling applies to regression, not to a classifier")
    return _classifier(g, head, head.classes, p, shape)


def _classifier(g: Graph, head: Head, classes: np.ndarray, p: str, shape: tuple) -> list[Output]:
    """Labels and probabilities from p = activation(z), as MLPClassifier computes them
    (``classes``: the head's labels)."""
    n = shape[-1]
    k = len(classes)
    logistic = head.activation == "logistic"
    if len(shape) != 2 or not (n == k or (logistic and n == 1 and k <= 2)):
        raise ValueError(
            f"to_onnx: {k} classes with a {head.activation} output need the model's output to "
            f"be (batch, {k})"
            + (" or (batch, 1)" if logistic and k <= 2 else "")
            + f", got {shape}"
        )
    table = g.const("classes", classes, classes.dtype)
    if k == 1:  # one class seen in fit: it is certain
        n_rows = g.op("Shape", [p], "n_rows", end=1)
        size = g.op("Concat", [n_rows, g.const("one_column", [1], np.int64)], "size", axis=0)
        proba = g.op("Expand", [g.const("one", np.ones((1, 1))), size], "certain")
        index = g.op("Expand", [g.const("zero", [0], np.int64), n_rows], "index")
    elif not logistic:  # argmax, first of ties, as NumPy
        proba, index = p, g.op("ArgMax", [p], "index", axis=1, keepdims=0)
    elif n == 1:  # binary: P(classes[1]) = σ(z), label classes[1] where it is > ½
        proba = g.op("Concat", [g.op("Sub", [g.scalar(1.0), p], "p0"), p], "proba", axis=1)
        above = g.op("Greater", [_ravel(g, p), g.scalar(0.5)], "above")
        index = g.op("Cast", [above], "index", to=_INT64)
    else:  # multilabel: a 0/1 indicator per class
        above = g.op("Greater", [p, g.scalar(0.5)], "above")
        label = g.op("Cast", [above], "indicator", to=_INT64)
        return [(label, np.dtype(np.int64), (None, n)), (p, g.dtype, (None, n))]
    label = g.op("Gather", [table, index], "gather", axis=0)
    return [(label, classes.dtype, (None,)), (proba, g.dtype, (None, k))]


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
