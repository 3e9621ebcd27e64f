"""``Graph``: the ONNX graph under construction, with unique names and weights cast once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import __version__

OPSET = 17
"""The ONNX opset of exported graphs (17: the first with ``LayerNormalization``; ONNX Runtime
has run it since 1.14)."""

ML_OPSET = 3
"""The ``ai.onnx.ml`` opset of a graph that encodes categories (``LabelEncoder`` with string
keys and int64 values)."""

BATCH = "batch"
"""The name of the dynamic first axis of every exported input and output."""


class Graph:
    """Nodes and initializers of one ONNX graph computing in ``dtype`` (float32 or float64).

    Every array enters through ``weight``/``const``, which cast it explicitly to the graph's
    dtype, so a float64 model exported in float32 (or the reverse) has no ``Cast`` node and no
    mixed-type input.
    """

    def __init__(self, dtype: np.dtype, opset: int, reserved: Iterable[str] = ()) -> None:
        self.dtype = np.dtype(dtype)
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._taken: set[str] = set(reserved)  # the graph's input and output names
        self._scalars: dict[tuple[str, float], str] = {}
        self.domains: dict[str, int] = {}

    def fresh(self, base: str) -> str:
        """A name not used yet in this graph, ``base`` itself when free."""
        name, i = base, 1
        while name in self._taken:
            name, i = f"{base}_{i}", i + 1
        self._taken.add(name)
        return name

    def const(self, base: str, array: Any, dtype: Any = None) -> str:
        """An initializer holding ``array`` cast to ``dtype`` (default: the graph's dtype)."""
        from onnx import numpy_helper

        name = self.fresh(base)
        value = np.ascontiguousarray(np.asarray(array).astype(dtype or self.dtype))
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, base: str, tensor: Any) -> str:
        """A parameter or buffer (a chainrule Tensor or an array) as an initializer."""
        return self.const(base, getattr(tensor, "data", tensor))

    def scalar(self, value: float) -> str:
        """A 0-d constant of the graph's dtype, shared by every node that uses it."""
        key = (self.dtype.str, float(value))
        if key not in self._scalars:
            self._scalars[key] = self.const(f"c{value:g}", value)
        return self._scalars[key]

    def op(
        self,
        op_type: str,
        inputs: list[str],
        base: str,
        *,
        exact: bool = False,
        domain: str = "",
        **attrs: Any,
    ) -> str:
        """Appends one node and returns the name of its (single) output: ``base`` made unique,
        or ``base`` itself with ``exact`` (a reserved graph output name). An operator of another
        ``domain`` than ONNX's own (``ai.onnx.ml``) adds that domain's opset to the model."""
        from onnx import helper

        out = base if exact else self.fresh(base)
        if domain:
            self.domains.setdefault(domain, ML_OPSET)
            attrs["domain"] = domain
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def model(self, inputs: list[Any], outputs: list[Any], name: str, doc: str) -> Any:
        """The checked ``onnx.ModelProto`` (``check_model(full_check=True)``)."""
        import onnx
        from onnx import helper

        graph = helper.make_graph(
            self.nodes, name, inputs, outputs, initializer=self.initializers, doc_string=doc
        )
        model = helper.make_model(
            graph,
            opset_imports=[
                helper.make_opsetid("", self.opset),
                *(helper.make_opsetid(d, v) for d, v in self.domains.items()),
            ],
            producer_name="chainrule",
            producer_version=__version__,
        )
        # the oldest IR version that carries the opset, not the newest the installed onnx
        # knows, so that older runtimes load the file
        model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
        onnx.checker.check_model(model, full_check=True)
        return model


def tensor_info(name: str, dtype: Any, shape: tuple) -> Any:
    """A graph input or output declaration; ``None`` axes become the dynamic batch axis."""
    from onnx import helper

    dims = [BATCH if d is None else int(d) for d in shape]
    return helper.make_tensor_value_info(name, onnx_type(np.dtype(dtype)), dims)


def onnx_type(dtype: np.dtype) -> int:
    """The ONNX element type of a NumPy dtype (text: STRING)."""
    from onnx import TensorProto, helper

    if dtype.kind in "UO":
        return TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(dtype)
