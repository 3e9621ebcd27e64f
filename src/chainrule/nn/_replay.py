"""Which modules a recorded training step may replay (``train.CompiledStep``).

A replay repeats the array calls of the ops a module's forward made when it was recorded, so a
module qualifies when every call of its ``forward`` makes the same ops on the same kinds of
arrays: no branch on the data's values, no random draws, no state updated outside the ops.
The list names classes exactly: a subclass may override ``forward``, so it does not inherit
the promise.
"""

from __future__ import annotations

from ._activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ._containers import Sequential
from ._dropout import Dropout
from ._linear import Flatten, Identity, Linear
from ._loss_modules import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from ._mlp import MLP
from ._module import Module
from ._normalization import BatchNorm1d, LayerNorm

REPLAY_SAFE: frozenset[type[Module]] = frozenset(
    {
        Sequential,
        MLP,
        Linear,
        Identity,
        Flatten,
        LayerNorm,
        ReLU,
        Sigmoid,
        Tanh,
        LeakyReLU,
        GELU,
        ELU,
        Softplus,
        Softmax,
        LogSoftmax,
        MSELoss,
        L1Loss,
        HuberLoss,
        BCEWithLogitsLoss,
        CrossEntropyLoss,
        NLLLoss,
    }
)
"""Modules replayable in any mode. (``BCELoss`` is not: it checks its input's range in Python.)"""

_EVAL_ONLY = {
    Dropout: "draws a new mask at every call",
    BatchNorm1d: "updates its running statistics",
}
"""Modules replayable where they are the identity or read fixed statistics: in eval mode (and
Dropout with p = 0)."""


def why_not_replayable(module: Module) -> str | None:
    """None when every module in ``module`` (itself included) qualifies for a replay in its
    current mode, otherwise why not, naming the first module that does not. Hooks, which come
    and go, are the caller's to check at every call."""
    for name, m in module.named_modules():
        kind = type(m)
        where = f"{kind.__name__} {name!r}" if name else kind.__name__
        if kind in REPLAY_SAFE:
            continue
        if kind in _EVAL_ONLY:
            if m.training and not (isinstance(m, Dropout) and m.p == 0):
                return f"{where} {_EVAL_ONLY[kind]} in training mode"
            continue
        return f"{where} is not one of the modules whose forward a replay can repeat"
    return None
