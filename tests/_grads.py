"""Gradients of one function of one array, in chainrule and in torch, for the comparisons."""

from __future__ import annotations

import numpy as np

import chainrule as cr


def grad_of(f, x, v=None):
    """f(x) and d⟨v, f⟩/dx for a float64 leaf made from ``x``."""
    t = cr.tensor(np.asarray(x, dtype=float), requires_grad=True)
    out = f(t)
    out.backward(grad=np.ones(out.shape) if v is None else v)
    return out.data, t.grad.data


def torch_grad_of(f, x, v=None):
    """The same in torch (float64)."""
    import torch

    t = torch.tensor(np.asarray(x, dtype=float), requires_grad=True)
    out = f(t)
    (out * torch.as_tensor(np.ones(tuple(out.shape)) if v is None else v)).sum().backward()
    return out.detach().numpy(), t.grad.numpy()
