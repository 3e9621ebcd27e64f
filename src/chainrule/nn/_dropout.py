"""``Dropout``: inverted dropout, active in training mode only."""

from __future__ import annotations

from typing import Any

from .._random import Generator
from .._tensor import Tensor
from . import functional as F
from ._module import Module


class Dropout(Module):
    """In training, zeroes each element with probability ``p`` and scales the others by
    1/(1 − p), so that the expected output is the input; in eval mode, the identity.

    Parameters
    ----------
    p : float
        Probability of zeroing an element, in [0, 1] (default 0.5).
    generator : cr.Generator, optional
        Source of the masks; by default the generator ``cr.manual_seed`` seeds, so a seeded
        run draws the same masks.

    Shapes
    ------
    Input any shape; output the same.
    """

    def __init__(self, p: float = 0.5, generator: Generator | None = None) -> None:
        super().__init__()
        self.p = F._check_p("Dropout", p)
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(
                f"Dropout: generator must be a cr.Generator or None, got {type(generator).__name__}"
            )
        self.generator = generator

    def forward(self, input: Any) -> Tensor:  # noqa: A002 - torch's name
        return F.dropout(input, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
