"""Weights in PyTorch's names and layouts, both ways.

chainrule's ``state_dict`` keys are already PyTorch's (``'0.weight'``, ``'1.running_var'``,
``'1.num_batches_tracked'``); the one difference is ``Linear.weight``, stored
(in_features, out_features) here and (out_features, in_features) in PyTorch.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import numpy as np

from .. import nn
from ..nn import IncompatibleKeys


def _module(owner: str, model: Any) -> nn.Module:
    """An nn model, or a fitted estimator's ``model_``."""
    if isinstance(model, nn.Module):
        return model
    if hasattr(model, "model_") and isinstance(model.model_, nn.Module):
        return model.model_
    raise TypeError(
        f"{owner}: model must be a chainrule nn.Module or a fitted MLP estimator, got "
        f"{type(model).__name__}"
    )


def _linear_weights(module: nn.Module) -> dict[str, nn.Linear]:
    """Every Linear by the ``state_dict`` key of its weight."""
    return {
        f"{path}.weight" if path else "weight": m
        for path, m in module.named_modules(remove_duplicate=False)
        if isinstance(m, nn.Linear)
    }


def torch_layout(model: Any, owner: str = "to_torch_state_dict") -> OrderedDict[str, np.ndarray]:
    """``state_dict`` with Linear weights transposed: PyTorch's keys, layouts and order
    (C-contiguous copies; 0-d buffers stay 0-d)."""
    module = _module(owner, model)
    transposed = _linear_weights(module)
    return OrderedDict(
        (k, a.T.copy() if k in transposed else a) for k, a in module.state_dict().items()
    )


def to_torch_state_dict(model: Any) -> OrderedDict[str, Any]:
    """The model's parameters and buffers as a PyTorch ``state_dict``.

    ``torch.nn.Module.load_state_dict`` accepts it for the equivalent PyTorch model (the same
    layers under the same names: ``torch.nn.Linear`` for ``Linear`` and so on).

    Parameters
    ----------
    model : nn.Module or fitted MLPClassifier / MLPRegressor (its ``model_``)

    Returns
    -------
    OrderedDict of str -> torch.Tensor
        Copies, in the model's dtypes; ``Linear`` weights of shape (out_features, in_features).
    """
    import torch

    return OrderedDict((k, torch.from_numpy(a)) for k, a in torch_layout(model).items())


def save_torch_safetensors(model: Any, path: str | os.PathLike) -> None:
    """Writes ``to_torch_state_dict(model)`` as a safetensors file (PyTorch is not needed;
    the ``safetensors`` package is).

    Load it in PyTorch with ``torch_model.load_state_dict(safetensors.torch.load_file(path))``.
    """
    from safetensors.numpy import save_file

    save_file(dict(torch_layout(model, "save_torch_safetensors")), os.fspath(path))


def from_torch_state_dict(model: Any, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
    """Loads PyTorch weights into a chainrule model in place (the reverse import).

    Parameters
    ----------
    model : nn.Module or fitted MLP estimator
        A model with the same layers under the same names as the PyTorch one.
    state_dict : mapping of str -> torch.Tensor or array
        PyTorch's layouts: ``Linear`` weights (out_features, in_features).
    strict : bool
        As ``load_state_dict``: every key must match.

    Returns
    -------
    IncompatibleKeys
        The missing and unexpected keys (empty when ``strict``).
    """
    module = _module("from_torch_state_dict", model)
    if not hasattr(state_dict, "keys"):
        raise TypeError(
            f"from_torch_state_dict: state_dict must be a mapping of names to tensors, got "
            f"{type(state_dict).__name__}"
        )
    linear = _linear_weights(module)
    values = {}
    for key in state_dict.keys():
        value = _to_numpy(state_dict[key])
        if key in linear:
            m = linear[key]
            if value.shape != (m.out_features, m.in_features):
                raise ValueError(
                    f"from_torch_state_dict: {key} must have PyTorch's Linear layout "
                    f"(out_features, in_features) = ({m.out_features}, {m.in_features}), "
                    f"got shape {value.shape}"
                )
            value = value.T
        values[key] = value
    return module.load_state_dict(values, strict=strict)


def _to_numpy(value: Any) -> np.ndarray:
    """A torch tensor (on any device, with or without grad) or array as a NumPy array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
