"""Standard scaling in the graph: x' = (x − mean)/scale in front, y = y'·scale + mean behind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._graph import Graph


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


def apply_scaling(g: Graph, x: str, scaling: Any, what: str, width: Any, inverse: bool) -> str:
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
