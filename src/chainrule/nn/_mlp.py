"""``MLP``: Linear layers with an activation (and dropout) between them, and the names of the
activations that the command line and the estimators take.

One vocabulary for both: PyTorch's layer names in snake case (``"relu"``, ``"tanh"``,
``"sigmoid"``, ``"gelu"``, ``"leaky_relu"``, ``"elu"``, and ``"identity"`` for none), with
scikit-learn's ``"logistic"`` for the sigmoid and hyphens for underscores accepted as the same
names (``"leaky-relu"``, the command line's spelling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._random import Generator
from ._activation import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from ._containers import Sequential
from ._dropout import Dropout
from ._linear import Linear
from ._module import Module

ACTIVATIONS: dict[str, type[Module] | None] = {
    "identity": None,
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
}
"""The hidden activations by name (None: no layer)."""

ALIASES: dict[str, str] = {"logistic": "sigmoid", "leaky-relu": "leaky_relu"}
"""Other spellings of the same activations: scikit-learn's, and the command line's hyphen."""


def activation_name(name: str) -> str:
    """The canonical name of activation ``name`` (``"logistic"`` -> ``"sigmoid"``,
    ``"leaky-relu"`` -> ``"leaky_relu"``); a ValueError listing the names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str), got {type(name).__name__}")
    canonical = ALIASES.get(name, name)
    if canonical not in ACTIVATIONS:
        known = ", ".join(repr(n) for n in (*ACTIVATIONS, *ALIASES))
        raise ValueError(f"activation must be one of {known}; got {name!r}")
    return canonical


class MLP(Sequential):
    """A multi-layer perceptron: ``Linear``, activation (and ``Dropout``) per hidden layer,
    then the output ``Linear`` (torchvision's ``ops.MLP``, without its norm layers and with no
    activation or dropout after the last layer).

    Parameters
    ----------
    in_features : int
        Width of the input.
    hidden_features : sequence of int
        Widths of the layers, the output layer's last (at least one).
    activation : str
        A name of ``ACTIVATIONS`` or ``ALIASES``; ``"identity"`` puts no layer in between.
    dropout : float
        Probability of the ``Dropout`` after each hidden activation; none at 0, so the
        parameter names stay those of the plain MLP.
    dtype : numpy float dtype, optional
        Of the parameters (float32 by default).
    generator : Generator, optional
        Draws the layers' initial weights (the default generator otherwise).
    dropout_generator : Generator, optional
        Draws the dropout masks (the default generator otherwise).
    init : callable, optional
        ``init(layer)`` re-initialises each ``Linear`` right after it is built (so draws from
        a shared generator interleave layer by layer).

    Shapes
    ------
    Input ``(N, in_features)``; output ``(N, hidden_features[-1])``.

    Examples
    --------
    >>> model = nn.MLP(4, [16, 16, 3], activation="relu")
    >>> [name for name, _ in model.named_parameters()][:2]
    ['0.weight', '0.bias']
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        *,
        dtype: Any = None,
        generator: Generator | None = None,
        dropout_generator: Generator | None = None,
        init: Callable[[Linear], Any] | None = None,
    ) -> None:
        act = ACTIVATIONS[activation_name(activation)]
        widths = [in_features, *hidden_features]
        if len(widths) < 2:
            raise ValueError("MLP: hidden_features must hold at least the output layer's width")
        if isinstance(dropout, bool) or not 0 <= dropout < 1:
            raise ValueError(f"MLP: dropout must be a probability in [0, 1), got {dropout!r}")
        layers: list[Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
            if i:
                if act is not None:
                    layers.append(act())
                if dropout:
                    layers.append(Dropout(dropout, generator=dropout_generator))
            layer = Linear(fan_in, fan_out, dtype=dtype, generator=generator)
            if init is not None:
                init(layer)
            layers.append(layer)
        super().__init__(*layers)
        self.activation = activation_name(activation)

    def linears(self) -> list[Linear]:
        """The dense layers, input to output."""
        return [m for m in self if isinstance(m, Linear)]
