"""``TrainLossCallback``: the training loss per iteration and the validation loss per epoch."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plot import loss_curves
from ._callback import Callback

_ITER_KEYS = ("iteration", "epoch", "train_loss", "lr")
_EPOCH_KEYS = ("epoch", "end_iteration", "train_loss", "valid_loss")


class TrainLossCallback(Callback):
    """Records the training loss of every batch and the mean losses of every epoch.

    One float per iteration and four per epoch, kept as Python lists (a million iterations take
    about 32 MB); the batches' tensors are not kept.

    Attributes
    ----------
    history : dict of str to ndarray
        Per iteration: ``"iteration"``, ``"epoch"``, ``"train_loss"`` and ``"lr"`` (the first
        parameter group's rate used for that step). Per epoch, under ``"epochs"``: a dict with
        ``"epoch"``, ``"end_iteration"`` (iterations done at its end), ``"train_loss"`` (mean
        over the epoch) and ``"valid_loss"`` (NaN without validation).
    """

    needs_graph = False  # reads values only

    def __init__(self) -> None:
        super().__init__()
        self._iters: dict[str, list[float]] = {k: [] for k in _ITER_KEYS}
        self._epochs: dict[str, list[float]] = {k: [] for k in _EPOCH_KEYS}

    def after_loss(self) -> None:
        learner = self.require_learner()
        if learner.training and learner.loss is not None:
            values = (
                learner.iteration,
                learner.epoch,
                float(np.mean(learner.loss.data)),
                float(learner.optimizer.param_groups[0]["lr"]),
            )
            for key, value in zip(_ITER_KEYS, values):
                self._iters[key].append(value)

    def after_epoch(self) -> None:
        learner = self.require_learner()
        log = learner.epoch_log
        values = (
            learner.epoch,
            learner.iteration,
            log.get("train_loss", float("nan")),
            log.get("valid_loss", float("nan")),
        )
        for key, value in zip(_EPOCH_KEYS, values):
            self._epochs[key].append(value)

    @property
    def history(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: np.asarray(v) for k, v in self._iters.items()}
        out["epochs"] = {k: np.asarray(v) for k, v in self._epochs.items()}
        return out

    @property
    def losses(self) -> np.ndarray:
        """The training loss per iteration."""
        return np.asarray(self._iters["train_loss"], dtype=np.float64)

    def to_dataframe(self, per: str = "iteration") -> Any:
        """The history as a ``pandas.DataFrame``, one row per iteration or per ``"epoch"``.

        Raises
        ------
        ImportError
            When pandas is not installed (it is optional).
        """
        if per not in ("iteration", "epoch"):
            raise ValueError(
                f"TrainLossCallback.to_dataframe: per must be 'iteration' or 'epoch', got {per!r}"
            )
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError(
                "TrainLossCallback.to_dataframe needs pandas (pip install pandas); "
                "callback.history holds the same data as NumPy arrays"
            ) from err
        data = self._iters if per == "iteration" else self._epochs
        return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})

    def plot(self, ax: Any = None, **options: Any) -> Any:
        """The loss curves drawn from ``history``; ``options`` are those of
        ``chainrule.plot.loss_curves`` (``smooth``, ``logy``, ``ylabel``, ``best_epoch``).
        Returns the Figure."""
        return loss_curves(self.history, ax=ax, **options)

    def state_dict(self) -> dict[str, Any]:
        return {
            "iterations": {k: np.asarray(v, dtype=np.float64) for k, v in self._iters.items()},
            "epochs": {k: np.asarray(v, dtype=np.float64) for k, v in self._epochs.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        iters, epochs = state.get("iterations"), state.get("epochs")
        if not (
            isinstance(iters, dict)
            and isinstance(epochs, dict)
            and set(iters) == set(_ITER_KEYS)
            and set(epochs) == set(_EPOCH_KEYS)
        ):
            raise ValueError("TrainLossCallback: checkpoint state does not hold a loss history")
        self._iters = {k: _as_list(k, iters[k]) for k in _ITER_KEYS}
        self._epochs = {k: _as_list(k, epochs[k]) for k in _EPOCH_KEYS}


def _as_list(key: str, values: Any) -> list[Any]:
    arr = np.asarray(values, dtype=np.float64)
    if key in ("iteration", "epoch", "end_iteration"):
        return [int(v) for v in arr]
    return arr.tolist()
