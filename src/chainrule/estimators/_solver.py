"""scikit-learn's stochastic solvers expressed with ``chainrule.optim``.

scikit-learn keeps a velocity v ← μv − ηg and adds it to the weights; ``optim.SGD`` keeps
PyTorch's buffer b ← μb + g and subtracts ηb. With a constant η the two are the same sequence
of weights (v = −ηb). When η changes (the 'invscaling' and 'adaptive' schedules) scikit-learn's
velocity keeps the old step sizes, so ``set_learning_rate`` rescales b by η_old/η_new, which
keeps v = −η_new·b and both updates equal (Nesterov's too).

scikit-learn's Adam adds ε to √v before the bias correction of the step size,
η_t = η√(1 − β₂ᵗ)/(1 − β₁ᵗ), w ← w − η_t·m/(√v + ε); ``optim.Adam`` adds it after
(PyTorch's form). ``adam_step`` passes ε/√(1 − β₂ᵗ) to each step, which makes them equal.
"""

from __future__ import annotations

import math
from typing import Any

from .. import optim


def make_optimizer(est: Any, params: list) -> optim.Optimizer:
    """A new optimiser over ``params`` with the estimator's hyper-parameters."""
    if est.solver == "sgd":
        return optim.SGD(
            params,
            lr=est.learning_rate_init,
            momentum=est.momentum,
            nesterov=bool(est.nesterovs_momentum and est.momentum > 0),
        )
    return optim.Adam(
        params, lr=est.learning_rate_init, betas=(est.beta_1, est.beta_2), eps=est.epsilon
    )


def matches(opt: optim.Optimizer | None, est: Any, params: list) -> bool:
    """Whether ``opt`` can keep training ``params`` for this estimator (warm start)."""
    if opt is None:
        return False
    kind = optim.SGD if est.solver == "sgd" else optim.Adam
    held = [p for g in opt.param_groups for p in g["params"]]
    return (
        type(opt) is kind and len(held) == len(params) and all(a is b for a, b in zip(held, params))
    )


def reset_hyper_parameters(opt: optim.Optimizer, est: Any) -> None:
    """The estimator's current hyper-parameters on a kept optimiser (its state stays)."""
    group = opt.param_groups[0]
    if isinstance(opt, optim.SGD):
        set_learning_rate(opt, est.learning_rate_init)
        group["momentum"] = est.momentum
        group["nesterov"] = bool(est.nesterovs_momentum and est.momentum > 0)
    else:
        group["lr"] = est.learning_rate_init
        group["betas"] = (est.beta_1, est.beta_2)


def learning_rate(opt: optim.Optimizer) -> float:
    return opt.param_groups[0]["lr"]


def set_learning_rate(opt: optim.Optimizer, lr: float) -> None:
    """Sets η, rescaling SGD's momentum buffers so that scikit-learn's velocity is kept."""
    group = opt.param_groups[0]
    old = group["lr"]
    if old == lr:
        return
    if isinstance(opt, optim.SGD) and old > 0:
        for p in group["params"]:
            buf = opt.state[p].get("momentum_buffer") if p in opt.state else None
            if buf is not None:
                buf *= old / lr
    group["lr"] = lr


def adam_step(opt: optim.Optimizer, epsilon: float) -> None:
    """One Adam step with scikit-learn's placement of ε."""
    group = opt.param_groups[0]
    state = opt.state.get(group["params"][0]) or {}
    t = state.get("step", 0) + 1
    group["eps"] = epsilon / math.sqrt(1.0 - group["betas"][1] ** t)
    opt.step()


def end_of_epoch(opt: optim.Optimizer, est: Any, samples_seen: int) -> None:
    """scikit-learn's ``iteration_ends``: 'invscaling' sets η = η₀/(t + 1)^power_t."""
    if isinstance(opt, optim.SGD) and est.learning_rate == "invscaling":
        set_learning_rate(opt, float(est.learning_rate_init) / (samples_seen + 1) ** est.power_t)


def on_plateau(opt: optim.Optimizer, est: Any) -> tuple[bool, str]:
    """scikit-learn's ``trigger_stopping``: stop, or (for 'adaptive' SGD) divide η by 5 until
    it falls to 1e-6. Returns (stop, what was done)."""
    if not isinstance(opt, optim.SGD) or est.learning_rate != "adaptive":
        return True, "Stopping."
    lr = learning_rate(opt)
    if lr <= 1e-6:
        return True, "Learning rate too small. Stopping."
    set_learning_rate(opt, lr / 5.0)
    return False, f"Setting learning rate to {learning_rate(opt):f}"
