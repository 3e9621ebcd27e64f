"""Reduce the learning rate when a monitored metric stops improving (PyTorch's rules)."""

from __future__ import annotations

import math
from typing import Literal, SupportsFloat

from ._optimizer import Optimizer, check_number
from ._schedulers import LRScheduler, check_int


class ReduceLROnPlateau(LRScheduler):
    """Multiplies the rate by ``factor`` when a metric has not improved for ``patience`` steps.

    A value is an improvement when it beats the best so far by the threshold: in ``"min"``
    mode, a < best · (1 − threshold) (``"rel"``) or a < best − threshold (``"abs"``); in
    ``"max"`` mode, a > best · (1 + threshold) or a > best + threshold. After
    ``patience + 1`` steps without one, each group's rate becomes max(lr · factor, min_lr)
    (unchanged when that lowers it by no more than ``eps``), and ``cooldown`` steps follow in
    which bad steps are not counted.

    Parameters
    ----------
    optimizer : Optimizer
    mode : {"min", "max"}
        Whether the metric should go down (a loss) or up (an accuracy).
    factor : float
        Multiplier of the rate, in [0, 1).
    patience : int
        Steps without improvement tolerated before reducing (>= 0).
    threshold : float
        Smallest change that counts as an improvement (>= 0).
    threshold_mode : {"rel", "abs"}
    cooldown : int
        Steps to wait after a reduction before counting bad steps again (>= 0).
    min_lr : float or list of float
        Lower bound of the rate, for all groups or one per group.
    eps : float
        Reductions smaller than this are skipped (>= 0).

    Notes
    -----
    Call ``step(metric)`` once per epoch with the monitored value.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{name}: optimizer must be a chainrule Optimizer, got {type(optimizer).__name__}"
            )
        check_number(name, "factor", factor, high=1.0)
        check_int(name, "patience", patience, 0)
        check_number(name, "threshold", threshold)
        check_int(name, "cooldown", cooldown, 0)
        check_number(name, "eps", eps)
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(
                    f"{name}: min_lr must have one value per parameter group "
                    f"({n}), got {len(min_lr)}"
                )
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * n
        for value in self.min_lrs:
            check_number(name, "min_lr", value)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self._last_lr = self._current()
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: SupportsFloat) -> None:  # type: ignore[override]
        """Records one value of the monitored metric and reduces the rates if it has stalled.

        Parameters
        ----------
        metrics : float or one-element Tensor
            The monitored value for this epoch.
        """
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter "
                    f"groups but min_lr was given for {len(self.min_lrs)}; set "
                    f"min_lrs to one value per group"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
