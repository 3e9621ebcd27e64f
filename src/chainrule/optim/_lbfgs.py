"""L-BFGS with ``torch.optim.LBFGS``'s parameters, state and iteration, step for step.

One ``step(closure)`` runs up to ``max_iter`` quasi-Newton iterations on all parameters seen as
one flat vector x with gradient g (Nocedal and Wright, *Numerical Optimization*, 2nd ed.):

* direction d = −H g, H applied by the two-loop recursion (algorithm 7.4) over the last
  ``history_size`` pairs s = x_{k+1} − x_k, y = g_{k+1} − g_k (a pair is kept only when
  yᵀs > 1e-10, so H stays positive definite), with the initial scaling H₀ = yᵀs / yᵀy (eq. 7.20);
  the first direction is −g;
* step t = ``lr`` (the very first: min(1, 1/‖g‖₁)·``lr``), or the strong-Wolfe line search
  (algorithms 3.5 and 3.6, cubic interpolation, as minFunc's and torch's ``_strong_wolfe``);
* stops at ``max_iter`` iterations, ``max_eval`` closure calls, ‖g‖_∞ ≤ ``tolerance_grad``,
  or a change in x (‖t d‖_∞) or in the loss below ``tolerance_change``.

The state (history, last direction and step, previous gradient and loss, counters) is kept
under the first parameter, as in torch, so that ``state_dict`` holds it and a checkpoint
resumes the iteration exactly; its flat vectors have shape (n,), n the number of all
parameters' elements.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._optimizer import Optimizer, ParamsT, check_number

_FLAT_STATE = ("d", "prev_flat_grad")  # arrays of shape (n,)
_FLAT_LISTS = ("old_dirs", "old_stps")  # lists of arrays of shape (n,)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped
    to ``bounds`` (default: between x1 and x2); the middle of the bounds when the cubic has no
    minimum. With d1 = g1 + g2 − 3(f1 − f2)/(x1 − x2) and d2 = √(d1² − g1 g2), from the far
    point b towards the near point a: b − (b − a)(g_b + d2 − d1)/(g_b − g_a + 2 d2)."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    square = d1 * d1 - g1 * g2
    if square < 0:
        return (low + high) / 2.0
    d2 = math.sqrt(square)
    (a, ga), (b, gb) = ((x1, g1), (x2, g2)) if x1 <= x2 else ((x2, g2), (x1, g1))
    with np.errstate(divide="ignore", invalid="ignore"):  # IEEE ±inf or NaN, as torch's
        ratio = float(np.float64(gb + d2 - d1) / np.float64(gb - ga + 2 * d2))
    return min(max(b - (b - a) * ratio, low), high)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Finds t with f(x + t d) ≤ f + c1·t·gtd and |∇f(x + t d)ᵀd| ≤ −c2·gtd: first a bracket
    (steps growing by cubic extrapolation), then zooming into it. ``evaluate(t)`` returns the
    loss and flat gradient at x + t d. Returns (loss, gradient, t, evaluations)."""
    d_norm = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    evals, ls_iter, done = 1, 0, False
    gtd_new = _dot(g_new, d)
    prev = (0.0, f, g, gtd)  # points are (t, loss, gradient, directional derivative)
    bracket = None
    while ls_iter < max_ls:
        point = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= prev[1]):
            bracket = [prev, point]  # too long a step: the minimum lies before it
            break
        if abs(gtd_new) <= -c2 * gtd:  # checked before the slope's sign, as torch
            bracket, done = [point], True
            break
        if gtd_new >= 0:
            bracket = [prev, point]  # past the minimum
            break
        bounds = (t + 0.01 * (t - prev[0]), t * 10)
        t = _cubic_minimum(prev[0], prev[1], prev[3], t, f_new, gtd_new, bounds=bounds)
        prev = point
        f_new, g_new = evaluate(t)
        evals, ls_iter = evals + 1, ls_iter + 1
        gtd_new = _dot(g_new, d)
    if bracket is None:  # max_ls evaluations without a bracket
        bracket = [(0.0, f, g, None), (t, f_new, g_new, None)]
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:
        (ta, fa, _, gtda), (tb, fb, _, gtdb) = bracket
        if abs(tb - ta) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(ta, fa, gtda, tb, fb, gtdb)
        # a trial too near an end of the bracket moves 10% of its width inside, unless the
        # previous trial was fine and this one is strictly inside
        lo, hi = min(ta, tb), max(ta, tb)
        margin = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < margin:
            if insufficient or t >= hi or t <= lo:
                t = hi - margin if abs(t - hi) < abs(t - lo) else lo + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals, ls_iter = evals + 1, ls_iter + 1
        gtd_new = _dot(g_new, d)
        point = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = point
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
            continue
        if abs(gtd_new) <= -c2 * gtd:
            done = True
        elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
            bracket[high] = bracket[low]
        bracket[low] = point
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    r"""L-BFGS (``torch.optim.LBFGS``): the same parameters, defaults, state and iterates.

    ``step(closure)`` calls ``closure()`` to re-evaluate the loss at the current parameters;
    the closure must zero the gradients, compute the loss, call ``backward()`` and return the
    loss, as with torch. All parameters form a single group (they move together).

    Parameters
    ----------
    params : iterable of Tensor
        The parameters (leaf tensors with ``requires_grad=True``), one group only.
    lr : float, default=1
        Step length t without line search (the first iteration's is min(1, 1/‖g‖₁)·lr);
        the first trial step of the line search (≥ 0).
    max_iter : int, default=20
        Iterations per ``step``.
    max_eval : int or None, default=None
        Closure calls per ``step``; None: ``max_iter * 5 // 4``.
    tolerance_grad : float, default=1e-7
        Stop when max |g| is at most this.
    tolerance_change : float, default=1e-9
        Stop when the step max |t d| or the change of the loss is below this.
    history_size : int, default=100
        Pairs (s, y) kept.
    line_search_fn : {None, 'strong_wolfe'}, default=None

    Notes
    -----
    ``state[params[0]]`` holds ``func_evals`` and ``n_iter`` (totals over steps), ``d`` and
    ``t`` (the last direction and step), ``old_dirs``, ``old_stps`` (lists of y and s), ``ro``
    (1/yᵀs), ``H_diag``, ``prev_flat_grad``, ``prev_loss`` and ``al``, as torch's. The flat
    arrays have the parameters' dtype; the scalars are Python floats.

    Examples
    --------
    >>> opt = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = loss_fn(model(X), y)
    ...     loss.backward()
    ...     return loss
    >>> opt.step(closure)
    """

    needs_closure = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None and isinstance(max_iter, int):
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups): got "
                f"{len(self.param_groups)} groups; pass one list of parameters"
            )
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _check_hyper(self, options: dict[str, Any]) -> None:
        name = "LBFGS"
        check_number(name, "lr", options["lr"], low=0.0)
        for key in ("tolerance_grad", "tolerance_change"):
            check_number(name, key, options[key], low=0.0)
        for key in ("max_iter", "max_eval", "history_size"):
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {key} must be an integer >= 1, got {value!r}")
        if options["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"{name}: line_search_fn must be None or 'strong_wolfe', got "
                f"{options['line_search_fn']!r}"
            )

    # -- the parameters as one flat vector -------------------------------------------------------
    def _numel(self) -> int:
        return sum(p.data.size for p in self._params)

    def _flat_grad(self) -> np.ndarray:
        return np.concatenate(
            [
                np.zeros(p.data.size, p.data.dtype) if p.grad is None else p.grad.data.ravel()
                for p in self._params
            ]
        )

    def _move(self, t: float, d: np.ndarray) -> None:
        """x ← x + t d, in place."""
        start = 0
        for p in self._params:
            stop = start + p.data.size
            p.data += t * d[start:stop].reshape(p.data.shape)
            start = stop

    def _loss_and_grad(self, closure: Callable[[], Any]) -> tuple[Any, float, np.ndarray]:
        loss = self._evaluate(closure)
        return loss, float(loss), self._flat_grad()

    # -- one step --------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Runs up to ``max_iter`` L-BFGS iterations.

        Parameters
        ----------
        closure : callable
            Zeroes the gradients, re-evaluates the loss, calls ``backward()`` and returns it.

        Returns
        -------
        The loss returned by the first closure call (at the parameters before the step).
        """
        if not callable(closure):
            raise TypeError(
                f"LBFGS.step: closure must be a callable that re-evaluates the loss and calls "
                f"backward(), got {type(closure).__name__}"
            )
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss, loss, flat_grad = self._loss_and_grad(closure)
        evals = 1
        state["func_evals"] += 1
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss
        n_iter = 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            d = self._direction(state, flat_grad, group["history_size"])
            state["prev_flat_grad"], state["prev_loss"] = flat_grad.copy(), loss
            prev_loss = loss
            lr = group["lr"]
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = _dot(flat_grad, d)
            if gtd > -group["tolerance_change"]:  # not a descent direction (any more)
                state["t"] = t
                break
            used = 0
            if group["line_search_fn"] == "strong_wolfe":
                loss, flat_grad, t, used = self._line_search(
                    closure, t, d, loss, flat_grad, gtd, group["max_eval"] - evals
                )
                self._move(t, d)
            else:
                self._move(t, d)
                if n_iter != group["max_iter"]:  # the last iteration's loss is not needed
                    _, loss, flat_grad = self._loss_and_grad(closure)
                    used = 1
            state["t"] = t
            evals += used
            state["func_evals"] += used
            if (
                n_iter == group["max_iter"]
                or evals >= group["max_eval"]
                or np.abs(flat_grad).max() <= group["tolerance_grad"]
                or np.abs(d * t).max() <= group["tolerance_change"]
                or abs(loss - prev_loss) < group["tolerance_change"]
            ):
                break
        return orig_loss

    def _direction(self, state: dict[str, Any], flat_grad: np.ndarray, history: int) -> np.ndarray:
        """d = −H g: −g at the first iteration, else the two-loop recursion after adding the
        last pair (s, y) to the history (when yᵀs > 1e-10)."""
        if state["n_iter"] == 1:
            state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            state["d"] = -flat_grad
            return state["d"]
        dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = _dot(y, s)
        if ys > 1e-10:
            if len(dirs) == history:
                del dirs[0], stps[0], ro[0]
            dirs.append(y)
            stps.append(s)
            ro.append(1.0 / ys)
            state["H_diag"] = ys / _dot(y, y)
        al = state.setdefault("al", [None] * history)
        q = -flat_grad
        for i in range(len(dirs) - 1, -1, -1):
            al[i] = _dot(stps[i], q) * ro[i]
            q -= al[i] * dirs[i]
        r = q * state["H_diag"]
        for i in range(len(dirs)):
            r += (al[i] - _dot(dirs[i], r) * ro[i]) * stps[i]
        state["d"] = r
        return r

    def _line_search(self, closure, t, d, loss, flat_grad, gtd, max_ls):
        """The strong-Wolfe search from the current x (restored after every trial)."""
        x0 = [p.data.copy() for p in self._params]

        def evaluate(step: float) -> tuple[float, np.ndarray]:
            self._move(step, d)
            _, value, grad = self._loss_and_grad(closure)
            for p, x in zip(self._params, x0):
                np.copyto(p.data, x)
            return value, grad

        return _strong_wolfe(evaluate, t, d, loss, flat_grad, gtd, max_ls=max_ls)

    # -- checkpoints -----------------------------------------------------------------------------
    def state_shape(self, p: Tensor, key: str) -> tuple[int, ...]:
        """The flat vectors have shape (n,), n all parameters' elements."""
        return (self._numel(),) if key in _FLAT_STATE else p.shape

    def _cast_state(self, p: Tensor, index: int, key: str, value: Any) -> Any:
        if key in _FLAT_LISTS:
            return [super(LBFGS, self)._cast_state(p, index, "d", v) for v in value]
        return super()._cast_state(p, index, key, value)
