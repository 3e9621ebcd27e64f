"""Twenty steps of gradient descent through several layers, in chainrule and in PyTorch: the
parameters and running statistics stay equal (1e-5 in float32, 1e-10 in float64)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

from ._parity import DTYPE_IDS, DTYPES, TOL, to_torch, torch_dtype, torch_linear_like

torch = pytest.importorskip("torch")


def _models(dtype):
    ours = nn.Sequential(
        nn.Linear(4, 8, dtype=dtype),
        nn.BatchNorm1d(8, dtype=dtype),
        nn.ReLU(),
        nn.Linear(8, 6, dtype=dtype),
        nn.LayerNorm(6, dtype=dtype),
        nn.Tanh(),
        nn.Linear(6, 3, dtype=dtype),
    )
    td = torch_dtype(dtype)
    theirs = torch.nn.Sequential(
        torch_linear_like(ours[0]),
        torch.nn.BatchNorm1d(8, dtype=td),
        torch.nn.ReLU(),
        torch_linear_like(ours[3]),
        torch.nn.LayerNorm(6, dtype=td),
        torch.nn.Tanh(),
        torch_linear_like(ours[6]),
    )
    return ours, theirs


def _torch_layout(name, value):
    """Our state_dict entry in torch's layout (Linear weights are transposed)."""
    return value.T if name.endswith("weight") and value.ndim == 2 else value


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_twenty_sgd_steps_match_torch(rng, dtype):
    ours, theirs = _models(dtype)
    loss_ours, loss_theirs = (
        nn.CrossEntropyLoss(label_smoothing=0.05),
        torch.nn.CrossEntropyLoss(label_smoothing=0.05),
    )
    lr = 0.1
    for step in range(20):
        x = rng.standard_normal((16, 4)).astype(dtype)
        t = rng.integers(0, 3, 16)
        ours.zero_grad()
        theirs.zero_grad()
        lo = loss_ours(ours(cr.tensor(x)), t)
        lt = loss_theirs(theirs(to_torch(x)), torch.as_tensor(t))
        np.testing.assert_allclose(lo.item(), lt.item(), **TOL[dtype], err_msg=f"loss at {step}")
        lo.backward()
        lt.backward()
        with cr.no_grad():
            for p in ours.parameters():
                p.data -= lr * p.grad.data
        with torch.no_grad():
            for p in theirs.parameters():
                p -= lr * p.grad
    theirs_sd = {k: v.numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(theirs_sd)
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(
            _torch_layout(name, value),
            theirs_sd[name],
            **TOL[dtype],
            err_msg=f"{name} after 20 SGD steps vs torch",
        )
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((5, 4)).astype(dtype)
    np.testing.assert_allclose(
        ours(cr.tensor(x)).data,
        theirs(to_torch(x)).detach().numpy(),
        **TOL[dtype],
        err_msg="eval-mode outputs after training",
    )


def test_gradient_penalty_through_layers_matches_torch(rng):
    # second order through Linear, LayerNorm, GELU: d/dW of ‖∂(v·f(x))/∂x‖²
    ours = nn.Sequential(
        nn.Linear(3, 4, dtype=cr.float64),
        nn.LayerNorm(4, dtype=cr.float64),
        nn.GELU(),
        nn.Linear(4, 2, dtype=cr.float64),
    )
    theirs = torch.nn.Sequential(
        torch_linear_like(ours[0]),
        torch.nn.LayerNorm(4, dtype=torch.float64),
        torch.nn.GELU(),
        torch_linear_like(ours[3]),
    )
    x, v = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    xo, xt = cr.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    (ours(xo) * cr.tensor(v)).sum().backward(create_graph=True)
    (gt,) = torch.autograd.grad((theirs(xt) * to_torch(v)).sum(), xt, create_graph=True)
    ours.zero_grad()
    (xo.grad**2).sum().backward()
    (gt**2).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        if q.grad is None:  # the last bias does not reach ∂/∂x
            assert p.grad is None, f"{name}: torch has no second-order gradient, ours has one"
            continue
        np.testing.assert_allclose(
            p.grad.data,
            _torch_layout(name, q.grad.numpy()),
            **TOL[np.float64],
            err_msg=f"second-order gradient of {name} vs torch",
        )
