"""ONNX Runtime and tolerances shared by the export tests."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

# the bar: ONNX Runtime equals chainrule to 1e-6 in float32 and 1e-12 in float64
TOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def run(model: onnx.ModelProto, **inputs: np.ndarray) -> dict[str, np.ndarray]:
    """The graph's outputs by name, computed by ONNX Runtime's CPU provider, after checking
    the graph independently of the exporter."""
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs)))


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Equal to the tolerance of ``expected``'s dtype, with the same dtype and shape."""
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    tol = TOL[expected.dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)
