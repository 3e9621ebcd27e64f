"""Parity with PyTorch for layers and losses: same weights, same data, random cotangent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule as cr

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]
TOL = {
    np.float32: dict(rtol=1e-5, atol=1e-5),
    np.float64: dict(rtol=1e-10, atol=1e-12),
}


def torch_dtype(dtype: Any) -> Any:
    import torch

    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[
        np.dtype(dtype)
    ]


def to_torch(arr: Any, requires_grad: bool = False) -> Any:
    import torch

    return torch.tensor(np.asarray(arr), requires_grad=requires_grad)


def check_parity(
    what: str,
    ours_fn: Callable[..., cr.Tensor],
    theirs_fn: Callable[..., Any],
    inputs: Sequence[np.ndarray],
    dtype: Any,
    params: Sequence[tuple[str, cr.Tensor, Any, Callable[[np.ndarray], np.ndarray]]] = (),
    diff: Sequence[bool] | None = None,
    seed: int = 1,
) -> None:
    """Runs both sides on ``inputs`` (cast to ``dtype``), compares the output, then pulls back
    the same random cotangent and compares every differentiable input's gradient and every
    parameter's (``(name, ours, theirs, theirs_grad -> ours_layout)``)."""
    tol = TOL[dtype]
    diff = [np.asarray(v).dtype.kind == "f" for v in inputs] if diff is None else diff
    ours_in, theirs_in = [], []
    for v, d in zip(inputs, diff):
        v = np.asarray(v)
        if d:
            v = v.astype(dtype)
        ours_in.append(cr.tensor(v, requires_grad=d))
        theirs_in.append(to_torch(v, requires_grad=d))
    ours = ours_fn(*ours_in)
    theirs = theirs_fn(*theirs_in)
    assert ours.dtype == dtype, f"{what}: {np.dtype(dtype)} inputs gave a {ours.dtype} output"
    assert ours.shape == tuple(theirs.shape), (
        f"{what}: output shape {ours.shape}, torch's is {tuple(theirs.shape)}"
    )
    np.testing.assert_allclose(
        ours.data, theirs.detach().numpy(), **tol, err_msg=f"{what}: forward output vs torch"
    )
    v = np.random.default_rng(seed).standard_normal(ours.shape).astype(dtype)
    ours.backward(grad=v)
    theirs.backward(to_torch(v))
    for i, (o, t, d) in enumerate(zip(ours_in, theirs_in, diff)):
        if not d:
            continue
        assert o.grad is not None, f"{what}: input {i} (shape {o.shape}) received no gradient"
        assert o.grad.dtype == dtype, f"{what}: input {i} gradient dtype {o.grad.dtype}"
        np.testing.assert_allclose(
            o.grad.data,
            t.grad.numpy(),
            **tol,
            err_msg=f"{what}: gradient of input {i} (shape {o.shape}) vs torch",
        )
    for name, o, t, layout in params:
        assert o.grad is not None, f"{what}: parameter {name} received no gradient"
        assert o.grad.dtype == dtype, f"{what}: parameter {name} gradient dtype {o.grad.dtype}"
        np.testing.assert_allclose(
            o.grad.data,
            layout(t.grad.numpy()),
            **tol,
            err_msg=f"{what}: gradient of parameter {name} (shape {o.shape}) vs torch",
        )


def same(a: np.ndarray) -> np.ndarray:
    return a


def transposed(a: np.ndarray) -> np.ndarray:
    return a.T


def torch_linear_like(layer: Any) -> Any:
    """A torch.nn.Linear holding ``layer``'s weights (torch's weight is ours transposed)."""
    import torch

    t = torch.nn.Linear(
        layer.in_features,
        layer.out_features,
        bias=layer.bias is not None,
        dtype=torch_dtype(layer.weight.dtype),
    )
    with torch.no_grad():
        t.weight.copy_(to_torch(layer.weight.data.T))
        if layer.bias is not None:
            t.bias.copy_(to_torch(layer.bias.data))
    return t


def linear_params(ours: Any, theirs: Any, prefix: str = "") -> list:
    """The (name, ours, theirs, layout) entries of a Linear pair for ``check_parity``."""
    out = [(prefix + "weight", ours.weight, theirs.weight, transposed)]
    if ours.bias is not None:
        out.append((prefix + "bias", ours.bias, theirs.bias, same))
    return out
