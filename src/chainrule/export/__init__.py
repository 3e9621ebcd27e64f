"""Deployment: ONNX graphs checked in ONNX Runtime, and weights PyTorch loads.

``to_onnx`` writes a chainrule network, a fitted ``MLPClassifier``/``MLPRegressor`` or a
``Pipeline`` of ``StandardScaler`` steps and an estimator as one ONNX graph (opset 17, dynamic
batch axis, weights cast to float32 or float64, input scaling inside the graph, plain tensor
outputs). ``to_torch_state_dict`` gives the weights under PyTorch's names and layouts
(``Linear.weight`` transposed to (out_features, in_features)); ``from_torch_state_dict`` loads
such weights back; ``save_torch_safetensors`` writes them as a safetensors file without
needing PyTorch.

>>> from chainrule.export import to_onnx
>>> to_onnx(model, input_shape=(None, 4), path="model.onnx")      # doctest: +SKIP
>>> import onnxruntime as ort
>>> ort.InferenceSession("model.onnx").run(None, {"input": X})[0]  # doctest: +SKIP

The ``onnx`` package (the ``[onnx]`` extra) is imported only when a graph is built, PyTorch only
by ``to_torch_state_dict``.
"""

from ._graph import BATCH, OPSET
from ._layers import RULES as _RULES
from ._onnx import to_onnx
from ._torch import from_torch_state_dict, save_torch_safetensors, to_torch_state_dict

EXPORTABLE_LAYERS = tuple(sorted((t.__name__ for t in _RULES), key=str.lower))
"""Names of the ``nn`` layers ``to_onnx`` writes (matched by exact type)."""

__all__ = [
    "BATCH",
    "EXPORTABLE_LAYERS",
    "OPSET",
    "from_torch_state_dict",
    "save_torch_safetensors",
    "to_onnx",
    "to_torch_state_dict",
]
