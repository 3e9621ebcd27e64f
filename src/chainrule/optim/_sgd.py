"""Stochastic gradient descent with momentum (``torch.optim.SGD``'s update, in place)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._blocks import block_work, blocks
from ._foreach import FlatGroup
from ._optimizer import Optimizer, ParamsT, check_number

_Hyper = tuple[float, float, float, float]
"""An SGD group's ``(lr, momentum, 1 − dampening, weight_decay)``."""
_Scalars = tuple[np.floating, ...]
"""The same, as NumPy scalars of the parameters' dtype."""
_Rules = tuple[bool, bool]
"""An SGD group's ``(nesterov, maximize)``."""


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (as ``torch.optim.SGD``).

    For each parameter ``w`` with gradient ``g`` (step ``t``, 1-based)::

        g ← −g if maximize;   g ← g + weight_decay · w
        v ← g at t = 1,   else v ← momentum · v + (1 − dampening) · g
        d ← g + momentum · v if nesterov, else v          (d ← g when momentum = 0)
        w ← w − lr · d

    **Rumelhart's generalised delta rule.** Rumelhart, Hinton and Williams (1986, eq. 16) write
    the weight change as Δw(t) = −ε ∂E/∂w(t) + α Δw(t−1). That is ``SGD(lr=ε, momentum=α)`` at
    a constant learning rate: with PyTorch's velocity v(t) = α v(t−1) + g(t) and
    w(t) = w(t−1) − ε v(t), the change Δw(t) = −ε v(t) = −ε g(t) + α (−ε v(t−1)) =
    −ε g(t) + α Δw(t−1), and Δw(0) = 0 matches v(1) = g(1); the two produce the same sequence
    of weights. (They differ only if ε changes during training: the velocity form applies the
    new ε to all of the accumulated velocity.)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters (leaf tensors with ``requires_grad=True``) or parameter groups.
    lr : float
        Learning rate ε (>= 0).
    momentum : float
        Momentum factor α (>= 0).
    dampening : float
        Dampening of the gradient added to the velocity (not with ``nesterov``).
    weight_decay : float
        L2 penalty coefficient (>= 0), added to the gradient.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool
        Ascend the objective instead of descending it.
    foreach : bool, optional
        With momentum, update a group's parameters together on flat arrays (a few NumPy calls
        per group instead of four per parameter; same results bit for bit). ``None`` (the
        default) fuses groups of one dtype with at most 65536 elements, where call overhead
        dominates; ``False`` never fuses; ``True`` fuses whenever the dtypes agree.

    Notes
    -----
    State per parameter: ``"momentum_buffer"`` (the velocity v, same shape and dtype as the
    parameter) when ``momentum != 0``; on the fused path these are views into one flat buffer.
    Parameters are updated in place (``p.data`` keeps its identity and dtype); one of 8 MiB or
    more block by block, so that memory is read once per step (same results bit for bit).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
        )
        super().__init__(params, defaults)

    def _check_hyper(self, options: dict[str, Any]) -> None:
        check_number("SGD", "lr", options["lr"])
        check_number("SGD", "momentum", options["momentum"])
        check_number("SGD", "dampening", options["dampening"], low=None)
        check_number("SGD", "weight_decay", options["weight_decay"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got "
                f"momentum={options['momentum']!r} and dampening={options['dampening']!r}"
            )

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
            params = group["params"]
            hyper = (group["lr"], group["momentum"], 1 - group["dampening"], group["weight_decay"])
            rules = (group["nesterov"], group["maximize"])
            if group["momentum"]:
                flat = self._flat_group(group)
                if flat is not None and self._step_fused(params, flat, hyper, rules):
                    continue
            typed: dict[np.dtype, _Scalars] = {}
            for p in params:
                if p.grad is not None:
                    w = p.data
                    scalars = typed.get(w.dtype) or typed.setdefault(w.dtype, _cast(w, hyper))
                    state = self.state[p] if group["momentum"] else {}
                    self._update(p, p.grad.data, state, scalars, rules)
        return loss

    def _update(
        self, p: Tensor, g: np.ndarray, state: dict[str, Any], scalars: _Scalars, rules: _Rules
    ) -> None:
        """One parameter's update; a large one block by block (with no work arrays its size)."""
        w, buf = p.data, state.get("momentum_buffer")
        n_work = 2 if rules[0] else 1
        fresh = buf is None and scalars[1]  # the first step with momentum: v ← g
        velocity = np.empty_like(w) if fresh else buf
        parts = blocks((w, g, velocity))
        if parts is None:
            step, buf = _direction(g, w, buf, self._scratch(p, n_work), scalars, rules)
            if buf is not None:
                state["momentum_buffer"] = buf
            _sub(w, step, w)
            return
        for w_part, g_part, buf_part in parts:
            work = block_work(self._block_work, w.dtype, n_work, w_part.size)
            step, first = _direction(
                g_part, w_part, None if fresh else buf_part, work, scalars, rules
            )
            if fresh:
                buf_part[...] = first
            _sub(w_part, step, w_part)
        if fresh:
            state["momentum_buffer"] = velocity

    def _flat_group(self, group: dict[str, Any]) -> FlatGroup | None:
        """The group's flat buffers, built when first needed (None: not fused)."""
        params = group["params"]
        ids = (group["nesterov"], *map(id, params))  # nesterov needs a second work array
        cached = self._flat.get(id(group))
        if cached is None or cached[0] != ids:
            usable = FlatGroup.usable(params, group["foreach"])
            flat = FlatGroup(params, 2 if group["nesterov"] else 1) if usable else None
            cached = self._flat[id(group)] = (ids, flat)
        return cached[1]

    def _step_fused(
        self, params: list[Tensor], flat: FlatGroup, hyper: _Hyper, rules: _Rules
    ) -> bool:
        """The update of a whole group on flat arrays; False when it cannot run this step."""
        grads = [grad.data for p in params if (grad := p.grad) is not None]
        if len(grads) < len(params):
            return False
        states = [self.state[p] for p in params]
        if not flat.bind("momentum_buffer", states):
            return False
        cached = flat.scalars
        if cached is None or cached[0] != hyper:
            cached = flat.scalars = (hyper, _cast(flat.grad, hyper))
        scalars = cached[1]
        g = flat.gather_grads(grads)
        w = flat.gather_data(params) if scalars[3] else None
        buf = flat.state.get("momentum_buffer")
        step, new_buf = _direction(g, w, buf, flat.work, scalars, rules)
        if buf is None:
            flat.bind("momentum_buffer", states, new_buf)
        for p, part in zip(params, flat.step_views):
            _sub(p.data, part, p.data)
        return True


def _direction(
    g: np.ndarray,
    w: np.ndarray | None,
    buf: np.ndarray | None,
    work: list[np.ndarray],
    scalars: _Scalars,
    rules: _Rules,
) -> tuple[np.ndarray, np.ndarray | None]:
    """lr · d (written into ``work[0]``) and the velocity (new, updated in place, or None).

    Scalars have the arrays' dtype: NumPy then runs its same-dtype loops, which for small
    arrays is faster than converting a Python float at every call (and gives the same values).
    ``w`` is needed (not None) only with weight decay.
    """
    lr, momentum, keep, weight_decay = scalars
    nesterov, maximize = rules
    if weight_decay or maximize:
        g = _penalised(g, w, weight_decay, maximize, out=work[0])
    if momentum:
        if buf is None:
            buf = g.copy()
        else:
            _mul(buf, momentum, buf)
            if keep != 1:  # dampening
                g = _mul(g, keep, work[0])
            _add(buf, g, buf)
        g = _add(g, _mul(buf, momentum, work[1]), work[1]) if nesterov else buf
    return _mul(g, lr, work[0]), buf


_mul, _add, _sub = np.multiply, np.add, np.subtract


def _cast(w: np.ndarray, values: _Hyper) -> _Scalars:
    """``values`` as NumPy scalars of ``w``'s dtype (what NumPy would cast them to anyway)."""
    return tuple(map(w.dtype.type, values))


def _penalised(
    g: np.ndarray,
    w: np.ndarray | None,
    weight_decay: float | np.floating,
    maximize: bool,
    out: np.ndarray,
) -> np.ndarray:
    """``(−g if maximize else g) + weight_decay · w`` written into ``out``."""
    if not weight_decay:
        return np.negative(g, out=out)
    assert w is not None, "the caller gathers w whenever weight_decay != 0"
    np.multiply(w, weight_decay, out=out)
    return np.subtract(out, g, out=out) if maximize else np.add(out, g, out=out)
