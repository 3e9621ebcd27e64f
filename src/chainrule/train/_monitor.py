"""What the epoch-end callbacks share: reading a monitored value and deciding which way is
better."""

from __future__ import annotations

from typing import Any

_HIGHER_IS_BETTER = ("accuracy", "f1", "r2", "precision", "recall", "auc")


def resolve_mode(owner: str, monitor: str, mode: str) -> str:
    """``"min"`` or ``"max"``; ``"auto"`` is ``"max"`` for accuracy-like names, else ``"min"``."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if monitor.lower().endswith(_HIGHER_IS_BETTER) else "min"


def monitored_value(owner: str, learner: Any, monitor: str) -> float:
    """``learner.epoch_log[monitor]`` as a float, or a KeyError listing what there is."""
    if monitor not in learner.epoch_log:
        hint = ""
        if monitor.startswith("valid") and learner.dataloader_valid is None:
            hint = "; pass dataloader_valid to fit, or monitor 'train_loss'"
        raise KeyError(
            f"{owner}: monitor {monitor!r} is not among this epoch's values "
            f"{sorted(learner.epoch_log)}{hint}"
        )
    return float(learner.epoch_log[monitor])
