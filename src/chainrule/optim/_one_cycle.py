"""The one-cycle policy (Smith and Topin, 2018) with PyTorch's conventions and defaults."""

from __future__ import annotations

import math
from typing import Any, Literal

from ._optimizer import Optimizer, check_number
from ._schedulers import LRScheduler, check_int


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """``value`` repeated for every group, or checked to hold one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"OneCycleLR: {name} must have one value per parameter group "
                f"({n}), got {len(value)}"
            )
        return list(value)
    return [value] * n


class OneCycleLR(LRScheduler):
    r"""The one-cycle learning-rate policy, stepped once per batch (``torch``'s ``OneCycleLR``).

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    the ``total_steps`` steps, then falls to ``initial_lr / final_div_factor``; each phase
    anneals by ``anneal_strategy``: cosine, a(s, e, p) = e + (s − e)(1 + cos πp) / 2, or
    linear, a(s, e, p) = (e − s) p + s, where p is the fraction of the phase done. Phase ends
    sit at steps ``pct_start · total_steps − 1`` and ``total_steps − 1``. With
    ``three_phase=True`` the rate goes up, back down to ``initial_lr`` symmetrically, and
    then to the minimum, as in Smith's paper; the default two phases follow fastai.

    With ``cycle_momentum`` the momentum moves opposite to the rate, from ``max_momentum`` down
    to ``base_momentum`` and back: the group's ``"momentum"`` (SGD, RMSprop) or β₁ of
    ``"betas"`` (Adam, AdamW).

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float or list of float
        Peak rate, for all groups or one per group.
    total_steps : int, optional
        Number of steps in the cycle; otherwise ``epochs * steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
        Used when ``total_steps`` is not given.
    pct_start : float
        Fraction of the cycle spent increasing the rate, in [0, 1].
    anneal_strategy : {"cos", "linear"}
    cycle_momentum : bool
    base_momentum, max_momentum : float or list of float
        Lower and upper momentum (0.85 and 0.95).
    div_factor : float
        initial_lr = max_lr / div_factor (25).
    final_div_factor : float
        min_lr = initial_lr / final_div_factor (1e4).
    three_phase : bool
    last_epoch : int

    Raises
    ------
    ValueError
        From ``step()`` when stepped more than ``total_steps`` times.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"OneCycleLR: optimizer must be a chainrule Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        if total_steps is not None:
            check_int("OneCycleLR", "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            check_int("OneCycleLR", "epochs", epochs, 1)
            check_int("OneCycleLR", "steps_per_epoch", steps_per_epoch, 1)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(
                "OneCycleLR: give either total_steps or both epochs and "
                f"steps_per_epoch, got total_steps={total_steps}, epochs={epochs}, "
                f"steps_per_epoch={steps_per_epoch}"
            )
        self.total_steps = total_steps
        check_number("OneCycleLR", "pct_start", pct_start, high=1.0, high_open=False)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        check_number("OneCycleLR", "div_factor", div_factor, low_open=True)
        check_number("OneCycleLR", "final_div_factor", final_div_factor, low_open=True)
        self.anneal_strategy = anneal_strategy
        self._schedule_phases = self._phases(float(pct_start * total_steps), three_phase)
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                check_number("OneCycleLR", "max_lr", top)
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _phases(self, warm: float, three_phase: bool) -> list[dict[str, Any]]:
        """Phase ends and the group keys each phase anneals between."""
        up = dict(
            end_step=warm - 1,
            start_lr="initial_lr",
            end_lr="max_lr",
            start_momentum="max_momentum",
            end_momentum="base_momentum",
        )
        last = self.total_steps - 1
        if not three_phase:
            return [
                up,
                dict(
                    end_step=last,
                    start_lr="max_lr",
                    end_lr="min_lr",
                    start_momentum="base_momentum",
                    end_momentum="max_momentum",
                ),
            ]
        down = dict(
            end_step=2 * warm - 2,
            start_lr="max_lr",
            end_lr="initial_lr",
            start_momentum="base_momentum",
            end_momentum="max_momentum",
        )
        return [
            up,
            down,
            dict(
                end_step=last,
                start_lr="initial_lr",
                end_lr="min_lr",
                start_momentum="max_momentum",
                end_momentum="max_momentum",
            ),
        ]

    def _init_momentum(self, optimizer: Optimizer, base: Any, top: Any, last_epoch: int) -> None:
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError(
                f"OneCycleLR: cycle_momentum=True needs an optimizer with "
                f"'momentum' or 'betas', got {type(optimizer).__name__}; pass "
                f"cycle_momentum=False"
            )
        self.use_beta1 = "betas" in optimizer.defaults
        if last_epoch != -1:
            return
        tops = _per_group("max_momentum", optimizer, top)
        bases = _per_group("base_momentum", optimizer, base)
        for group, m_top, m_base in zip(optimizer.param_groups, tops, bases):
            self._set_momentum(group, m_top)
            group["max_momentum"], group["base_momentum"] = m_top, m_base

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {t} times, but total_steps is {self.total_steps}"
            )
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if t <= end or i == last:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                        )
                        self._set_momentum(group, momentum)
                    break
                start = end
        return lrs
