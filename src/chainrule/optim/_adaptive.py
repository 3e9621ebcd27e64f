"""RMSprop and Adagrad: per-coordinate step sizes from squared gradients (PyTorch's updates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._optimizer import Optimizer, ParamsT, check_number
from ._sgd import _penalised


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as ``torch.optim.RMSprop``.

    For each parameter ``w`` with gradient ``g``::

        g ← −g if maximize;   g ← g + weight_decay · w
        s ← α s + (1 − α) g²
        ḡ ← α ḡ + (1 − α) g,   d ← √(s − ḡ²) + eps   if centered,   else d ← √s + eps
        b ← momentum · b + g / d,   w ← w − lr · b    if momentum > 0,   else w ← w − lr · g / d

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters (leaf tensors with ``requires_grad=True``) or parameter groups.
    lr : float
        Learning rate (>= 0).
    alpha : float
        Smoothing constant of the squared-gradient average (>= 0).
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        L2 penalty (>= 0), added to the gradient.
    momentum : float
        Momentum factor (>= 0).
    centered : bool
        Divide by an estimate of the gradient's variance instead of its second moment.
    maximize : bool
        Ascend the objective instead of descending it.

    Notes
    -----
    State per parameter: ``"step"``, ``"square_avg"`` (s), ``"momentum_buffer"`` (b, with
    momentum) and ``"grad_avg"`` (ḡ, when centered).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_hyper(self, options: dict[str, Any]) -> None:
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_number("RMSprop", key, options[key])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Performs one update of every parameter that has a gradient; returns the closure's
        loss (or ``None``)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    def _update(self, p: Any, group: dict[str, Any]) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        w, g = p.data, p.grad.data
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(w)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(w)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1
        work, tmp = self._scratch(p, 2)
        if group["weight_decay"] or group["maximize"]:
            g = _penalised(g, w, group["weight_decay"], group["maximize"], out=work)
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += np.multiply(np.multiply(g, g, out=tmp), 1 - alpha, out=tmp)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += np.multiply(np.subtract(g, grad_avg, out=tmp), 1 - alpha, out=tmp)
            np.subtract(square_avg, np.multiply(grad_avg, grad_avg, out=tmp), out=tmp)
            denom = np.sqrt(tmp, out=tmp)
        else:
            denom = np.sqrt(square_avg, out=tmp)
        denom += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += np.divide(g, denom, out=tmp)
            w -= np.multiply(buf, lr, out=tmp)
        else:
            update = np.divide(g, denom, out=tmp)
            update *= lr
            w -= update


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan and Singer, 2011), as ``torch.optim.Adagrad``.

    For each parameter ``w`` with gradient ``g`` at step ``t`` (1-based)::

        g ← −g if maximize;   g ← g + weight_decay · w
        η ← lr / (1 + (t − 1) · lr_decay)
        s ← s + g²,   w ← w − η · g / (√s + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters (leaf tensors with ``requires_grad=True``) or parameter groups.
    lr : float
        Learning rate (>= 0).
    lr_decay : float
        Learning-rate decay (>= 0).
    weight_decay : float
        L2 penalty (>= 0), added to the gradient.
    initial_accumulator_value : float
        Starting value of the sum of squares s (>= 0).
    eps : float
        Added to the denominator (>= 0).
    maximize : bool
        Ascend the objective instead of descending it.

    Notes
    -----
    State per parameter, created at construction as PyTorch's: ``"step"`` and ``"sum"`` (s).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_hyper(self, options: dict[str, Any]) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_number("Adagrad", key, options[key])

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(p, group)

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        state["step"] = 0
        state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
        return state

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Performs one update of every parameter that has a gradient; returns the closure's
        loss (or ``None``)."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                w, g = p.data, p.grad.data
                state = self.state[p] or self._init_state(p, group)
                state["step"] += 1
                work, tmp = self._scratch(p, 2)
                if group["weight_decay"] or group["maximize"]:
                    g = _penalised(g, w, group["weight_decay"], group["maximize"], out=work)
                clr = lr / (1 + (state["step"] - 1) * lr_decay)
                total = state["sum"]
                total += np.multiply(g, g, out=tmp)
                denom = np.sqrt(total, out=tmp)
                denom += eps
                update = np.divide(g, denom, out=tmp)
                update *= clr
                w -= update
        return loss
