"""Callbacks that stop training: on a NaN or infinite loss, and when a metric stops improving."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from .._checks import check_int
from ._callback import Callback
from ._events import CancelFitException
from ._monitor import monitored_value, resolve_mode


class NonFiniteLossError(FloatingPointError):
    """Raised by :class:`TerminateOnNaNCallback` when a training loss is NaN or infinite."""


def _finite(a: Any) -> bool:
    """Whether every value of ``a`` is finite (a scalar loss without NumPy's reduction)."""
    if getattr(a, "ndim", None) == 0 and a.dtype.kind == "f":
        return math.isfinite(a)
    return bool(np.all(np.isfinite(a)))


@runtime_checkable
class WritesCheckpoints(Protocol):
    """A callback that writes checkpoints (``CheckpointCallback``, the application's epoch
    checkpoint): the path of its last one, ``None`` before the first."""

    last_path: Path | None


class TerminateOnNaNCallback(Callback):
    """Stops training with :class:`NonFiniteLossError` when a training loss is NaN or ±inf.

    It acts in ``after_loss``, before the backward pass and the step, so the parameters stay
    those that produced the bad loss, and no later checkpoint overwrites the last good one.
    The error names the iteration, the epoch and the batch, and the last checkpoint that a
    callback wrote (a ``CheckpointCallback``, say). A ``Learner`` attaches one by default.
    """

    needs_graph = False  # reads values only

    order = -50

    def after_loss(self) -> None:
        learner = self.require_learner()
        loss = learner.loss
        if not learner.training or loss is None or _finite(loss.data):
            return
        value = float(np.mean(loss.data))
        where = (
            f"iteration {learner.iteration} (epoch {learner.epoch}, batch "
            f"{learner.batch_index + 1} of {learner.n_batches})"
        )
        written = [
            cb.last_path
            for cb in learner.callbacks
            if isinstance(cb, WritesCheckpoints) and cb.last_path is not None
        ]
        saved = f"; the last checkpoint, {written[0]}, is intact" if written else ""
        raise NonFiniteLossError(
            f"TerminateOnNaNCallback: the training loss is {value} at {where}; training "
            f"stopped before the backward pass{saved}. Lower the learning rate (try "
            f"learner.find_learning_rate), check the inputs for NaN, or clip gradients"
        )


class EarlyStoppingCallback(Callback):
    """Stops the fit when ``monitor`` has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of ``learner.epoch_log``: ``"valid_loss"``, ``"train_loss"`` or a metric.
    patience : int
        Epochs without improvement tolerated; the fit stops at the next one (>= 1).
    min_delta : float
        Smallest change that counts as an improvement (>= 0).
    restore_best : bool
        When it stops the fit, load the weights of the best epoch back into the model.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"``: higher for accuracy, F1 and R².

    Attributes
    ----------
    best : float
        Best value seen; ``best_epoch`` its epoch, ``wait`` epochs since, ``stopped_epoch``
        the epoch at which the fit was stopped (or None). All are saved in checkpoints, with
        the best weights.
    """

    needs_graph = False  # reads values only

    order = 20

    def __init__(
        self,
        monitor: str = "valid_loss",
        patience: int = 3,
        min_delta: float = 0.0,
        restore_best: bool = True,
        mode: Literal["auto", "min", "max"] = "auto",
    ) -> None:
        super().__init__()
        self.monitor = str(monitor)
        self.patience = check_int("EarlyStoppingCallback", "patience", patience, 1)
        if not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(
                f"EarlyStoppingCallback: min_delta must be a number >= 0, got {min_delta!r}"
            )
        self.min_delta, self.restore_best = float(min_delta), bool(restore_best)
        self.mode = resolve_mode("EarlyStoppingCallback", self.monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def before_fit(self) -> None:
        self.stopped_epoch = None

    def after_epoch(self) -> None:
        learner = self.require_learner()
        value = monitored_value("EarlyStoppingCallback", learner, self.monitor)
        if not math.isnan(value) and self._improved(value):
            self.best, self.best_epoch, self.wait = value, learner.epoch, 0
            if self.restore_best:
                self.best_weights = learner.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = learner.epoch
            raise CancelFitException()

    def after_fit(self) -> None:
        if self.stopped_epoch is not None and self.restore_best and self.best_weights is not None:
            self.require_learner().model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        missing = {"best", "best_epoch", "wait", "stopped_epoch", "best_weights"} - set(state)
        if missing:
            raise ValueError(f"EarlyStoppingCallback: checkpoint state lacks {sorted(missing)}")
        weights = state["best_weights"]
        if weights is not None and self.learner is not None:
            own = self.learner.model.state_dict()
            bad = [k for k in own if k not in weights or np.shape(weights[k]) != own[k].shape]
            if bad or set(weights) - set(own):
                raise ValueError(
                    f"EarlyStoppingCallback: the saved best weights do not fit the model "
                    f"(mismatched keys {sorted(set(bad) | (set(weights) - set(own)))})"
                )
        self.best, self.wait = float(state["best"]), int(state["wait"])
        self.best_epoch, self.stopped_epoch = state["best_epoch"], state["stopped_epoch"]
        self.best_weights = (
            None if weights is None else {k: np.array(v) for k, v in weights.items()}
        )
