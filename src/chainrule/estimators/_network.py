"""The estimators' network: an ``nn.Sequential`` of ``Linear`` layers and activations.

The model maps X to the output layer's pre-activation (the logits); the output activation is
applied by the loss (fused, from the logits) and by ``predict_proba``. ``Linear.weight`` is
``(in_features, out_features)``, scikit-learn's ``coefs_`` layout, so ``coefs_`` can be the
parameters' own arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import nn
from .._random import Generator

HIDDEN_ACTIVATIONS = (*nn.ACTIVATIONS, *nn.ALIASES)  # the vocabulary of ``nn.MLP``


def build_network(
    layer_units: list[int],
    activation: str,
    dtype: np.dtype,
    dropout: float = 0.0,
    masks: Generator | None = None,
) -> nn.MLP:
    """``nn.MLP`` of ``layer_units``: Linear, activation (and Dropout drawing from ``masks``)
    per hidden layer, then the output Linear.

    The layers are built with a private generator so that building one does not advance the
    default generator that ``cr.manual_seed`` seeds; the caller then sets the weights.
    """
    return nn.MLP(
        layer_units[0],
        layer_units[1:],
        activation,
        dropout,
        dtype=dtype,
        generator=Generator(0),
        dropout_generator=masks,
    )


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The network's dense layers, input to output."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def bias_of(layer: nn.Linear) -> nn.Parameter:
    """A dense layer's bias: every layer of an estimator's network has one."""
    if layer.bias is None:
        raise RuntimeError(f"{layer!r} has no bias, but an estimator's layers always have one")
    return layer.bias


def glorot_init(
    layers: list[nn.Linear], activation: str, random_state: np.random.RandomState
) -> None:
    """scikit-learn's initialisation, draw for draw: weights then biases of each layer from
    U(−b, b), b = √(6 / (fan_in + fan_out)) (√(2 / ...) for logistic units, whatever their
    spelling; Glorot and Bengio, 2010), so that the same ``random_state`` gives the same
    network as scikit-learn's."""
    factor = 2.0 if nn.activation_name(activation) == "sigmoid" else 6.0
    for layer in layers:
        fan_in, fan_out = layer.weight.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        layer.weight.data[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
        bias_of(layer).data[...] = random_state.uniform(-bound, bound, fan_out)


def set_arrays(owner: str, name: str, targets: list[np.ndarray], values: Any) -> None:
    """Copies ``values`` into ``targets`` in place (shapes checked), so that the network and
    its optimiser keep their parameter arrays."""
    values = list(values)
    if len(values) != len(targets):
        raise ValueError(
            f"{owner}: {name} must be a list of {len(targets)} arrays (one per layer), "
            f"got {len(values)}"
        )
    arrays = [np.asarray(v) for v in values]
    for i, (t, v) in enumerate(zip(targets, arrays)):
        if v.shape != t.shape:
            raise ValueError(
                f"{owner}: {name}[{i}] must have shape {t.shape}, got {v.shape}; the network's "
                f"layer sizes are fixed at fit"
            )
    for t, v in zip(targets, arrays):
        t[...] = v


class NetworkArrays:
    """``coefs_`` and ``intercepts_`` as the fitted ``model_``'s own arrays (a mixin)."""

    model_: nn.Module  # set by the estimator's fit

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape (units in layer i, units in layer i + 1):
        the network's own parameter arrays, so editing them in place edits the network.
        Assigning a list copies the values in (shapes must match)."""
        check_is_fitted(self, "model_")
        return [layer.weight.data for layer in linear_layers(self.model_)]

    @coefs_.setter
    def coefs_(self, values: Any) -> None:
        set_arrays(type(self).__name__, "coefs_", self.coefs_, values)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape (units in layer i + 1,): the network's
        own arrays, as ``coefs_``."""
        check_is_fitted(self, "model_")
        return [bias_of(layer).data for layer in linear_layers(self.model_)]

    @intercepts_.setter
    def intercepts_(self, values: Any) -> None:
        set_arrays(type(self).__name__, "intercepts_", self.intercepts_, values)
