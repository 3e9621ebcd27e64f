"""Steepest descent with a line search: fixed step, Armijo backtracking, or exact for quadratics."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import check_int
from .._tensor import Tensor
from ._optimizer import Optimizer, ParamsT, check_number

_SEARCHES = (None, "armijo", "exact")


class GradientDescent(Optimizer):
    r"""Steepest descent x ← x − α ∇f(x), with the step α fixed or found by a line search.

    Takes a closure, as ``torch.optim.LBFGS`` does: ``step(closure)`` where ``closure()``
    re-evaluates the loss, calls ``backward()`` and returns the loss. The optimiser sets every
    ``.grad`` to ``None`` before each call, so the closure need not zero them.

    * ``line_search=None``: α = ``lr`` (plain gradient descent; the closure is optional).
    * ``"armijo"``: backtracking from α = ``lr``: α ← ``shrink`` · α until the sufficient
      decrease condition f(x − α g) ≤ f(x) − ``c1`` · α · gᵀg holds (Nocedal and Wright,
      *Numerical Optimization*, 2nd ed., algorithm 3.1).
    * ``"exact"``: α = gᵀg / gᵀHg, the minimiser of f along −g when f is quadratic. The
      Hessian-vector product comes from a forward difference of gradients through the closure,
      Hg ≈ (∇f(x + h g) − ∇f(x)) / h with h = 2 √ε_mach (1 + ‖x‖) / ‖g‖ (Nocedal and Wright,
      eq. 8.11). The gradient of a quadratic is affine, so the difference has no truncation
      error, only rounding amplified by 1/h: α is exact to about √ε_mach relative (1e-8 in
      float64, 1e-4 in float32). The step is then checked with the Armijo condition, and
      backtracked from if that fails (never on a convex quadratic, where f falls by
      α gᵀg / 2; it can on other functions). When gᵀHg ≤ 0 the search starts from ``lr``.

    With a line search all parameters move together along −∇f, so there must be a single
    parameter group.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters (leaf tensors with ``requires_grad=True``) or parameter groups.
    lr : float
        The step α without line search; the first trial step of the Armijo search (> 0).
    line_search : {None, "armijo", "exact"}
        How α is chosen.
    c1 : float
        Sufficient-decrease constant of the Armijo condition, in (0, 1).
    shrink : float
        Backtracking factor, in (0, 1).
    max_evals : int
        At most this many closure evaluations per step; if no trial step satisfies the Armijo
        condition by then, the parameters are left where they were (``step_size`` 0).

    Notes
    -----
    ``state[first parameter]`` records ``"step"`` (iterations), ``"step_size"`` (the last α),
    ``"func_evals"`` (closure calls so far) and ``"loss"`` (f at the start of the last step).
    After a step with a line search, ``.grad`` holds the gradient at the last point evaluated,
    which is the new point when the step was accepted.

    Examples
    --------
    >>> opt = GradientDescent([x, y], line_search="exact")
    >>> def closure():
    ...     loss = 0.5 * (x * x + b * y * y).sum()
    ...     loss.backward()
    ...     return loss
    >>> opt.step(closure)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        line_search: str | None = None,
        *,
        c1: float = 1e-4,
        shrink: float = 0.5,
        max_evals: int = 50,
    ) -> None:
        defaults = dict(lr=lr, line_search=line_search, c1=c1, shrink=shrink, max_evals=max_evals)
        super().__init__(params, defaults)
        searches = {g["line_search"] for g in self.param_groups} - {None}
        if searches and len(self.param_groups) != 1:
            raise ValueError(
                f"GradientDescent: line_search={searches.pop()!r} moves all parameters "
                f"together and needs a single parameter group, got {len(self.param_groups)}"
            )

    @property
    def needs_closure(self) -> bool:  # type: ignore[override]
        """A line search re-evaluates the loss through the closure."""
        return self.param_groups[0]["line_search"] is not None

    def _check_hyper(self, options: dict[str, Any]) -> None:
        name = "GradientDescent"
        if options["line_search"] not in _SEARCHES:
            raise ValueError(
                f"{name}: line_search must be one of {_SEARCHES}, got {options['line_search']!r}"
            )
        check_number(name, "lr", options["lr"], low_open=True)
        check_number(name, "c1", options["c1"], low=0.0, high=1.0, low_open=True)
        check_number(name, "shrink", options["shrink"], low=0.0, high=1.0, low_open=True)
        check_int(name, "max_evals", options["max_evals"], 2)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Takes one steepest-descent step.

        Parameters
        ----------
        closure : callable
            Re-evaluates the loss, calls ``backward()`` and returns the loss. Required with a
            line search; optional without (the current ``.grad`` is used).

        Returns
        -------
        The loss returned by the first closure call of this step (at the old parameters).
        """
        group = self.param_groups[0]
        if group["line_search"] is None:
            loss = self._evaluate(closure)
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        work = self._scratch(p, 1)[0]
                        p.data -= np.multiply(p.grad.data, group["lr"], out=work)
            return loss
        if closure is None:
            raise ValueError(
                f"GradientDescent.step: line_search={group['line_search']!r} needs "
                f"a closure that re-evaluates the loss and calls backward()"
            )
        return self._search(closure, group)

    def _search(self, closure: Callable[[], Any], group: dict[str, Any]) -> Any:
        params = group["params"]
        state = self.state[params[0]]
        loss = self._call(closure, params)
        f0 = float(loss)
        x0 = [p.data.copy() for p in params]
        g = [p.grad.data.copy() if p.grad is not None else np.zeros_like(p.data) for p in params]
        gg = sum(_dot(gi, gi) for gi in g)
        evals, t = 1, group["lr"]
        if gg > 0 and group["line_search"] == "exact":
            eps = max(np.finfo(p.data.dtype).eps for p in params)
            h = 2 * math.sqrt(eps) * (1 + math.sqrt(sum(_dot(x, x) for x in x0))) / math.sqrt(gg)
            _move(params, x0, g, -h)
            self._call(closure, params)
            evals += 1
            ghg = sum(_dot(gi, _grad(p) - gi) for p, gi in zip(params, g)) / h
            if ghg > 0 and math.isfinite(ghg):
                t = gg / ghg
        accepted = 0.0
        while gg > 0 and evals < group["max_evals"]:
            _move(params, x0, g, t)
            f = float(self._call(closure, params))
            evals += 1
            if f <= f0 - group["c1"] * t * gg:
                accepted = t
                break
            t *= group["shrink"]
        if not accepted:
            _move(params, x0, g, 0.0)
        state["step"] = state.get("step", 0) + 1
        state["step_size"] = accepted
        state["func_evals"] = state.get("func_evals", 0) + evals
        state["loss"] = f0
        return loss

    @staticmethod
    def _call(closure: Callable[[], Any], params: list[Tensor]) -> Any:
        for p in params:
            p.grad = None
        return Optimizer._evaluate(closure)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """aᵀb accumulated in float64."""
    return float(np.dot(a.ravel().astype(np.float64), b.ravel().astype(np.float64)))


def _grad(p: Tensor) -> np.ndarray:
    return p.grad.data if p.grad is not None else np.zeros_like(p.data)


def _move(params: list[Tensor], x0: list[np.ndarray], g: list[np.ndarray], t: float) -> None:
    """Sets every parameter, in place, to x0 − t g."""
    for p, x, gi in zip(params, x0, g):
        np.multiply(gi, -t, out=p.data)
        p.data += x
