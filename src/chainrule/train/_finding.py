"""``Finding``: one thing that looks wrong with a training run, and the names of all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FINDINGS = (
    "vanishing_gradients",
    "exploding_gradients",
    "dead_relus",
    "saturated_units",
    "loss_not_decreasing",
    "learning_rate_too_high",
    "learning_rate_too_low",
    "overfitting",
    "activation_scale_with_depth",
    "no_better_than_baseline",
    "too_many_classes",
)
"""The names of the findings ``diagnose`` and ``outcome_findings`` can return."""


@dataclass(frozen=True)
class Finding:
    """One thing that looks wrong with a training run.

    Attributes
    ----------
    name : str
        One of ``FINDINGS``.
    severity : {"info", "warning", "error"}
        ``"error"``: training is broken (NaN, divergence, nothing learnt); ``"warning"``: it
        is hampered; ``"info"``: worth knowing, already handled (e.g. by early stopping).
    evidence : str
        The numbers behind it, with the layers, iterations or epochs they come from.
    advice : str
        What usually fixes it.
    """

    name: str
    severity: Literal["info", "warning", "error"]
    evidence: str
    advice: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.name}: {self.evidence}\n    advice: {self.advice}"
