"""Adam and AdamW (``torch.optim.Adam`` / ``AdamW``'s updates, in place)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._blocks import block_work, blocks
from ._foreach import FlatGroup
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
    foreach : bool, optional
        Update a group's parameters together on flat arrays (about ten NumPy calls per group
        instead of eleven per parameter; same results bit for bit), as SGD does. ``None`` (the
        default) fuses groups of one dtype with at most 65536 elements; ``False`` never fuses.
        Groups with ``amsgrad`` or a weight decay always go one parameter at a time.

    Notes
    -----
    State per parameter: ``"step"`` (int), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v) and, with
    amsgrad, ``"max_exp_avg_sq"``; arrays have the parameter's shape and dtype (on the fused
    path, views into one flat buffer per group). A parameter of 8 MiB or more is updated block
    by block, so that memory is read once per step (same results bit for bit).
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
        foreach: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
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
            if not (group["amsgrad"] or group["weight_decay"]):
                flat = self._flat_group(group)
                if flat is not None and self._step_fused(group, flat):
                    continue
            typed: dict[tuple, tuple] = {}
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group, typed)
        return loss

    def _flat_group(self, group: dict[str, Any]) -> FlatGroup | None:
        """The group's flat buffers, built when first needed (None: not fused)."""
        params = group["params"]
        ids = tuple(map(id, params))
        cached = self._flat.get(id(group))
        if cached is None or cached[0] != ids:
            usable = FlatGroup.usable(params, group.get("foreach"))
            cached = self._flat[id(group)] = (ids, FlatGroup(params, 1) if usable else None)
        return cached[1]

    def _step_fused(self, group: dict[str, Any], flat: FlatGroup) -> bool:
        """The update of a whole group on flat arrays (the same arithmetic as ``_update``);
        False when it cannot run this step (a missing gradient, steps out of line)."""
        params = group["params"]
        if any(p.grad is None for p in params):
            return False
        states = [self.state[p] for p in params]
        fresh = [not s for s in states]
        steps = {s.get("step", 0) for s in states}
        maximize = group["maximize"]
        if (any(fresh) and not all(fresh)) or len(steps) != 1:
            return False
        if not all(fresh) and not (
            flat.bind("exp_avg", states) and flat.bind("exp_avg_sq", states)
        ):
            return False
        g = flat.gather_grads([p.grad.data for p in params])
        if all(fresh):
            flat.bind("exp_avg", states, np.zeros_like(g))
            flat.bind("exp_avg_sq", states, np.zeros_like(g))
        step = steps.pop() + 1
        for s in states:
            s["step"] = step
        scalars = self._scalars(group, g.dtype, step)
        m, v = flat.state["exp_avg"], flat.state["exp_avg_sq"]
        # the update goes into flat.work[0], which step_views cut into the parameters' shapes
        _moments(g, None, m, v, None, [g, flat.work[0]], scalars, (False, maximize))
        for p, part in zip(params, flat.step_views):
            p.data -= part
        return True

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
        rules = (self._decoupled, group["maximize"])
        arrays = (w, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"))
        parts = blocks(arrays)
        if parts is None:
            w -= _moments(g, w, *arrays[2:], self._scratch(p, 2), scalars, rules)
            return
        for w_part, g_part, m_part, v_part, v_max_part in parts:
            work = block_work(self._block_work, w.dtype, 2, w_part.size)
            w_part -= _moments(g_part, w_part, m_part, v_part, v_max_part, work, scalars, rules)

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


def _moments(
    g: np.ndarray,
    w: np.ndarray | None,
    m: np.ndarray,
    v: np.ndarray,
    v_max: np.ndarray | None,
    work: list[np.ndarray],
    scalars: tuple,
    rules: tuple[bool, bool],
) -> np.ndarray:
    """Updates the moments m, v (and v_max) in place; returns lr/(1 − β₁ᵗ) · m / (√v̂/√(1 − β₂ᵗ)
    + eps), written into ``work[1]``. With ``rules = (decoupled, maximize)``, a weight decay
    shrinks ``w`` in place (decoupled) or is added to the gradient (``w`` is needed then)."""
    decay, weight_decay, keep1, beta2, keep2, bc2_sqrt, eps, step_size = scalars
    decoupled, maximize = rules
    tmp = work[1]
    if decoupled and weight_decay:
        assert w is not None
        w *= decay
        if maximize:
            g = np.negative(g, out=work[0])
    elif weight_decay or maximize:
        g = _penalised(g, w, weight_decay, maximize, out=work[0])
    m += np.multiply(np.subtract(g, m, out=tmp), keep1, out=tmp)  # m.lerp_(g, 1 − β₁)
    v *= beta2
    v += np.multiply(np.multiply(g, g, out=tmp), keep2, out=tmp)
    if v_max is not None:  # amsgrad
        v = np.maximum(v_max, v, out=v_max)
    denom = np.sqrt(v, out=tmp)
    denom /= bc2_sqrt
    denom += eps
    update = np.divide(m, denom, out=tmp)
    update *= step_size
    return update


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
        foreach: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach
        )
