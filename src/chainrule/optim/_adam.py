"""Adam and AdamW (``torch.optim.Adam`` / ``AdamW``'s updates, in place)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._optimizer import Optimizer, ParamsT, check_number
from ._sgd import _penalised


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), as ``torch.optim.Adam``.

    For each parameter ``w`` with gradient ``g`` at step ``t`` (1-based)::

        g ← −g if maximize
        w ← w · (1 − lr · weight_decay)         if decoupled (AdamW)
        g ← g + weight_decay · w                otherwise (L2 penalty)
        m ← β₁ m + (1 − β₁) g,    v ← β₂ v + (1 − β₂) g²
        v̂ ← max(v̂, v) if amsgrad, else v
        w ← w − lr / (1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters (leaf tensors with ``requires_grad=True``) or parameter groups.
    lr : float
        Learning rate (>= 0).
    betas : tuple of float
        (β₁, β₂), each in [0, 1): decay rates of the first and second moment averages.
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        L2 penalty (>= 0), added to the gradient (decoupled from it in ``AdamW``).
    amsgrad : bool
        Use the running maximum of the second moment (Reddi et al., 2018).
    maximize : bool
        Ascend the objective instead of descending it.

    Notes
    -----
    State per parameter: ``"step"`` (int), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v) and, with
    amsgrad, ``"max_exp_avg_sq"``; arrays have the parameter's shape and dtype.
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_hyper(self, options: dict[str, Any]) -> None:
        name = type(self).__name__
        check_number(name, "lr", options["lr"])
        check_number(name, "eps", options["eps"])
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_number(name, "betas[0]", betas[0], high=1.0)
        check_number(name, "betas[1]", betas[1], high=1.0)
        options["betas"] = tuple(betas)
        check_number(name, "weight_decay", options["weight_decay"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Performs one update of every parameter that has a gradient.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (called first, gradients enabled).

        Returns
        -------
        The closure's loss, or ``None``.
        """
        loss = self._evaluate(closure)
        for group in self.param_groups:
            typed: dict[tuple, tuple] = {}
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group, typed)
        return loss

    def _update(self, p: Any, group: dict[str, Any], typed: dict[tuple, tuple]) -> None:
        """One parameter's update; ``typed`` caches the step's scalars by (dtype, step)."""
        w, g = p.data, p.grad.data
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(w)
            state["exp_avg_sq"] = np.zeros_like(w)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1
        key = (w.dtype, state["step"])
        scalars = typed.get(key) or typed.setdefault(key, self._scalars(group, *key))
        decay, weight_decay, keep1, beta2, keep2, bc2_sqrt, eps, step_size = scalars
        work, tmp = self._scratch(p, 2)
        if self._decoupled and weight_decay:
            w *= decay
            if group["maximize"]:
                g = np.negative(g, out=work)
        elif weight_decay or group["maximize"]:
            g = _penalised(g, w, weight_decay, group["maximize"], out=work)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += np.multiply(np.subtract(g, m, out=tmp), keep1, out=tmp)  # m.lerp_(g, 1 − β₁)
        v *= beta2
        v += np.multiply(np.multiply(g, g, out=tmp), keep2, out=tmp)
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = np.sqrt(v, out=tmp)
        denom /= bc2_sqrt
        denom += eps
        update = np.divide(m, denom, out=tmp)
        update *= step_size
        w -= update

    @staticmethod
    def _scalars(group: dict[str, Any], dtype: np.dtype, step: int) -> tuple:
        """The update's scalars, computed in Python floats as PyTorch does, then cast to the
        parameters' dtype (NumPy's same-dtype loops are faster for small arrays)."""
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        values = (
            1 - lr * wd,
            wd,
            1 - beta1,
            beta2,
            1 - beta2,
            (1 - beta2**step) ** 0.5,
            group["eps"],
            lr / (1 - beta1**step),
        )
        return tuple(map(dtype.type, values))


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as ``torch.optim.AdamW``.

    The decay shrinks the weights directly, ``w ← w · (1 − lr · weight_decay)``, before the Adam
    step, instead of adding ``weight_decay · w`` to the gradient (where the adaptive scaling would
    weaken it). Same parameters as :class:`Adam`, except that ``weight_decay`` defaults to 1e-2.
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
