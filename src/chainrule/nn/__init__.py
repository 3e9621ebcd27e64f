"""Neural-network building blocks with PyTorch's names and semantics.

``Module`` and ``Parameter``; the containers ``Sequential``, ``ModuleList``, ``ModuleDict``;
layers; losses; ``nn.init`` (initialisers) and ``nn.functional`` (the functional forms).
One deliberate difference: ``Linear.weight`` is ``(in_features, out_features)`` and
``y = x @ W + b`` (PyTorch stores the transpose).

>>> from chainrule import nn
>>> model = nn.Sequential(nn.Linear(2, 10), nn.Sigmoid(), nn.Linear(10, 1))
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
"""

from __future__ import annotations

from . import functional, init
from ._activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ._containers import ModuleDict, ModuleList, Sequential
from ._dropout import Dropout
from ._linear import Flatten, Identity, Linear
from ._loss_modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from ._mlp import ACTIVATIONS, ALIASES, MLP, activation_name
from ._module import Module
from ._normalization import BatchNorm1d, LayerNorm
from ._parameter import Parameter
from ._state_dict import IncompatibleKeys

__all__ = [
    "ACTIVATIONS",
    "ALIASES",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Flatten",
    "GELU",
    "HuberLoss",
    "Identity",
    "IncompatibleKeys",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MLP",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "activation_name",
    "functional",
    "init",
]
