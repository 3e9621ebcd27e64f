"""Training-health diagnostics: what the telemetry says is wrong, in words.

``diagnose(learner)`` reads the records of the learner's ``TrainLossCallback``,
``TrainGradientsCallback`` (``wrt="parameters"``) and ``TrainActivationsCallback``; each check
runs only when the callback it needs is attached and has recorded enough. The thresholds are
module constants, stated in each finding's evidence.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._curve_findings import loss_findings
from ._finding import FINDINGS, Finding
from ._loss_history import TrainLossCallback
from ._stopping import EarlyStoppingCallback
from ._telemetry import TrainActivationsCallback, TrainGradientsCallback

__all__ = ["FINDINGS", "Finding", "diagnose"]

if TYPE_CHECKING:
    from ._learner import Learner

GRADIENT_RATIO = (
    1e-2  # first-layer / last-layer gradient RMS below this: vanishing (above 1/it: exploding)
)
GRADIENT_HUGE = 1e3  # any gradient RMS above this: exploding
DEAD_FRACTION = 0.5  # ReLU layer with at least this fraction of units never active: dead
SATURATED_FRACTION = (
    0.5  # sigmoid/tanh layer with this fraction of units saturated >90% of the time
)
GRADIENT_GROWTH = 1e3  # a weight's gradient RMS growing by this factor over the run: exploding
DEPTH_FACTOR = 2.0  # mean-square activation changing by more than this per layer (either way)
DEPTH_TOTAL = 10.0  # ... or by more than this from the first Linear output to the last


def diagnose(
    learner: Learner, recent: int = 20, baseline_loss: float | None = None
) -> list[Finding]:
    """Checks a learner's recorded training for common failures; returns the findings.

    Parameters
    ----------
    learner : Learner or fitted chainrule estimator
        After (or during) a fit, with telemetry callbacks attached: ``TrainLossCallback``
        (loss checks), ``TrainGradientsCallback`` (vanishing and exploding gradients),
        ``TrainActivationsCallback`` (dead ReLUs, saturated units, scale with depth).
    recent : int
        How many of the last recorded iterations the gradient and unit checks look at.
    baseline_loss : float, optional
        The training loss of the best constant prediction (the class frequencies, the mean
        target); when given, a run whose loss ends no lower has learnt nothing, and one still
        improving far above it at the end learnt too slowly.

    Returns
    -------
    list of Finding
        Empty when nothing looks wrong (or nothing was recorded).

    Notes
    -----
    - vanishing/exploding gradients: the RMS of each weight's gradient (median over the recent
      records), from the input layer to the output layer; the first over the last below
      ``GRADIENT_RATIO`` (at least 3 weight layers), above its inverse, or any RMS above
      ``GRADIENT_HUGE`` or non-finite.
    - dead ReLUs: units of a ``ReLU`` module that were zero on every sample of the last
      ``recent`` records; saturated units: sigmoid/tanh units whose derivative was below 10% of
      its peak on more than 90% of recent samples.
    - the loss curve (see ``chainrule.train._curve_findings``): rising or oscillating
      without progress means the learning rate is too high, flat (or no lower than
      ``baseline_loss``) means nothing is learnt, still falling far above ``baseline_loss``
      at the end means the rate is too low; a validation loss rising for several epochs
      while the training loss falls means overfitting.
    - activation scale with depth (Hanin & Rolnick 2018): the mean square of each ``Linear``
      output at the first recorded iteration (at least 3 layers); a per-layer factor beyond
      ``DEPTH_FACTOR`` or a total one beyond ``DEPTH_TOTAL``, either way, means the
      initialisation shrinks or grows the signal. For ReLU networks a
      weight variance of 2/fan_in keeps it constant.
    """
    if not hasattr(learner, "get_callback") and hasattr(learner, "learner_"):
        learner = learner.learner_  # a fitted estimator: its training loop's learner
    if not hasattr(learner, "get_callback"):
        raise TypeError(
            f"diagnose: expected a Learner or a fitted chainrule estimator, got "
            f"{type(learner).__name__}"
        )
    findings: list[Finding] = []
    loss_cb = learner.get_callback(TrainLossCallback)
    if isinstance(loss_cb, TrainLossCallback):
        h = loss_cb.history
        stopper = learner.get_callback(EarlyStoppingCallback)
        restored = None
        if (
            isinstance(stopper, EarlyStoppingCallback)
            and stopper.restore_best
            and stopper.stopped_epoch is not None
        ):
            restored = stopper.best_epoch
        findings += loss_findings(
            h["train_loss"], h["iteration"], h["epochs"], baseline_loss, restored
        )
    for cb in learner.callbacks:
        if isinstance(cb, TrainGradientsCallback) and cb.wrt == "parameters":
            findings += _gradient_findings(learner, cb, recent)
            break
    acts = learner.get_callback(TrainActivationsCallback)
    if acts is not None:
        findings += _unit_findings(acts, recent)
        found = _depth_finding(learner, acts)
        if found is not None:
            findings.append(found)
    return findings


def _ordered_weights(learner: Learner, cb: Any) -> list[str]:
    """The recorded weight (≥ 2-D parameter) keys in the model's order, input to output."""
    return [
        name
        for name, p in learner.model.named_parameters()
        if p.ndim >= 2 and name in cb.records and len(cb.records[name])
    ]


def _recent_median(values: np.ndarray, recent: int) -> float:
    tail = values[-recent:]
    tail = tail[np.isfinite(tail)]
    return float(np.median(tail)) if tail.size else math.nan


def _gradient_findings(learner: Learner, cb: Any, recent: int) -> list[Finding]:
    names = _ordered_weights(learner, cb)
    if not names:
        return []
    rms, bad, growth = [], [], []
    for name in names:
        s = cb.records[name].stats()
        series = np.sqrt(s["mean"] ** 2 + s["std"] ** 2)
        rms.append(_recent_median(series, recent))
        start = _recent_median(series[: max(1, min(recent, len(series) // 4))], recent)
        if start > 0 and rms[-1] > GRADIENT_GROWTH * start:
            growth.append(f"{name} {start:.2g} → {rms[-1]:.2g}")
        if np.any(s["frac_nonfinite"][-recent:] > 0):
            bad.append(name)
    listing = ", ".join(f"{n} {r:.2g}" for n, r in zip(names, rms))
    if bad or growth or max(rms) > GRADIENT_HUGE:
        if bad:
            what = f"non-finite values in {bad}"
        elif growth:
            grew = ", ".join(growth)
            what = f"an RMS that grew more than {GRADIENT_GROWTH:g}-fold during the run ({grew})"
        else:
            what = f"an RMS above {GRADIENT_HUGE:g}"
        return [
            Finding(
                "exploding_gradients",
                "error",
                f"weight gradients have {what} (recent RMS, input to output: {listing})",
                "lower the learning rate, clip gradients, or use an initialisation and "
                "normalisation (BatchNorm, LayerNorm) that keep the scale constant with depth",
            )
        ]
    if len(names) < 3 or not all(r > 0 for r in rms):
        return []
    ratio = rms[0] / rms[-1]
    if ratio < GRADIENT_RATIO:
        return [
            Finding(
                "vanishing_gradients",
                "warning",
                f"the gradient RMS shrinks from the output layer to the input layer by "
                f"{1 / ratio:.3g}× (below the {1 / GRADIENT_RATIO:g}× limit) over {len(names)} "
                f"weight layers: {listing}",
                "the early layers barely learn; use ReLU-family activations instead of "
                "sigmoid/tanh in hidden layers, He (kaiming) initialisation, normalisation "
                "layers, or a shallower network",
            )
        ]
    if ratio > 1 / GRADIENT_RATIO:
        return [
            Finding(
                "exploding_gradients",
                "warning",
                f"the gradient RMS grows from the output layer to the input layer by "
                f"{ratio:.3g}× (above the {1 / GRADIENT_RATIO:g}× limit): {listing}",
                "scale the initial weights down (variance 2/fan_in for ReLU, 1/fan_in for "
                "tanh), lower the learning rate, or clip gradients",
            )
        ]
    return []


def _unit_findings(cb: Any, recent: int) -> list[Finding]:
    findings = []
    dead = []
    saturated = []
    for name, s in cb.records.items():
        if s.kind == "ReLU":
            frac = s.dead_fraction(recent)
            if frac is not None and frac >= DEAD_FRACTION:
                dead.append(f"{name} {frac:.0%} of {len(s.last_active)} units")
        frac = s.saturated_fraction(0.9)
        if frac is not None and frac >= SATURATED_FRACTION:
            saturated.append(f"{name} ({s.kind}) {frac:.0%} of {len(s.saturation)} units")
    if dead:
        findings.append(
            Finding(
                "dead_relus",
                "warning",
                f"ReLU units that output zero for every sample of the last {recent} recorded "
                f"iterations: {'; '.join(dead)}",
                "dead units get no gradient and never recover; lower the learning rate, "
                "initialise biases at zero or slightly positive, use He initialisation, or "
                "LeakyReLU/GELU",
            )
        )
    if saturated:
        findings.append(
            Finding(
                "saturated_units",
                "warning",
                f"sigmoid/tanh units whose derivative is below 10% of its peak on more than "
                f"90% of recent samples: {'; '.join(saturated)}",
                "saturated units pass almost no gradient; scale the inputs (standardise), "
                "use Xavier/Glorot initialisation or smaller weights, a lower learning rate, "
                "or ReLU-family activations",
            )
        )
    return findings


def _depth_finding(learner: Learner, cb: Any) -> Finding | None:
    names = [
        label
        for label, module in cb.modules()
        if type(module).__name__ == "Linear" and label in cb.records and len(cb.records[label])
    ]
    if len(names) < 3:
        return None
    ms, at = [], []
    for name in names:
        s = cb.records[name].stats()
        ms.append(float(s["mean"][0] ** 2 + s["std"][0] ** 2))
        at.append(int(s["iteration"][0]))
    if not all(m > 0 and math.isfinite(m) for m in ms):
        return None
    total = ms[-1] / ms[0]
    factor = total ** (1.0 / (len(ms) - 1))
    if 1 / DEPTH_FACTOR <= factor <= DEPTH_FACTOR and 1 / DEPTH_TOTAL <= total <= DEPTH_TOTAL:
        return None
    relu = any(type(m).__name__ in ("ReLU", "LeakyReLU") for m in learner.model.modules())
    listing = ", ".join(f"{n} {m:.3g}" for n, m in zip(names, ms))
    direction = "shrinks" if factor < 1 else "grows"
    advice = (
        "initialise each Linear weight with variance 2/fan_in (nn.init.kaiming_normal_), which "
        "keeps a ReLU network's activation length constant with depth (Hanin & Rolnick 2018)"
        if relu
        else "initialise each Linear weight with variance 1/fan_in or Xavier/Glorot "
        "(nn.init.xavier_normal_), which keeps tanh/sigmoid activations in range with depth"
    )
    return Finding(
        "activation_scale_with_depth",
        "warning",
        f"the mean square of the Linear outputs {direction} {max(total, 1 / total):.3g}-fold "
        f"over {len(ms)} layers ({factor:.3g}× per layer) at iteration {at[0]} (input to "
        f"output: {listing})",
        advice,
    )
