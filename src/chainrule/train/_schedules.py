"""Callbacks that change the learning rate: a schedule stepped every batch, and a reduction
when a metric stalls."""

from __future__ import annotations

from typing import Any, Literal

from ..optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from ._callback import Callback
from ._monitor import monitored_value, resolve_mode


class EveryBatchSchedulerCallback(Callback):
    """Steps a learning-rate schedule after every optimiser step (``OneCycleLR`` and the like).

    It steps in ``after_step``, which also runs when the step was cancelled, so that the
    schedule follows the training batches.

    Parameters
    ----------
    scheduler : optim.lr_scheduler.LRScheduler
        A schedule over the learner's optimiser; its state is saved in checkpoints.
    """

    needs_graph = False  # reads values only

    def __init__(self, scheduler: Any) -> None:
        super().__init__()
        if not isinstance(scheduler, LRScheduler) or isinstance(scheduler, ReduceLROnPlateau):
            raise TypeError(
                f"EveryBatchSchedulerCallback: scheduler must be an LRScheduler stepped without "
                f"arguments (e.g. OneCycleLR), got {type(scheduler).__name__}"
                + (
                    "; use ReduceLROnPlateauCallback"
                    if isinstance(scheduler, ReduceLROnPlateau)
                    else ""
                )
            )
        self.scheduler = scheduler

    def before_fit(self) -> None:
        if self.scheduler.optimizer is not self.require_learner().optimizer:
            raise ValueError(
                "EveryBatchSchedulerCallback: the scheduler was built on another optimizer than "
                "the learner's; build it on learner.optimizer"
            )

    def after_step(self) -> None:
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return {"class": type(self.scheduler).__name__, "state": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        kind = type(self.scheduler).__name__
        if state.get("class") != kind or not isinstance(state.get("state"), dict):
            raise ValueError(
                f"EveryBatchSchedulerCallback: the checkpoint holds a {state.get('class')!r} "
                f"schedule, this callback a {kind!r}"
            )
        self.scheduler.load_state_dict(state["state"])


class ReduceLROnPlateauCallback(Callback):
    """Lowers the learning rate when ``monitor`` stalls (``optim.lr_scheduler.ReduceLROnPlateau``,
    stepped once per epoch with the monitored value).

    Parameters
    ----------
    monitor : str
        A key of ``learner.epoch_log`` (default ``"valid_loss"``).
    mode : {"auto", "min", "max"}
    **kwargs
        ``factor``, ``patience``, ``threshold``, ``threshold_mode``, ``cooldown``, ``min_lr``,
        ``eps``: as ``ReduceLROnPlateau``.
    """

    needs_graph = False  # reads values only

    order = 10

    def __init__(
        self,
        monitor: str = "valid_loss",
        mode: Literal["auto", "min", "max"] = "auto",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        self.monitor = str(monitor)
        self.mode = resolve_mode("ReduceLROnPlateauCallback", self.monitor, mode)
        self.options: dict[str, Any] = dict(
            mode=self.mode,
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
            min_lr=min_lr,
            eps=eps,
        )
        self._scheduler: Any = None

    @property
    def scheduler(self) -> Any:
        """The ``ReduceLROnPlateau`` over the learner's optimiser (built on first use)."""
        optimizer = self.require_learner().optimizer
        if self._scheduler is None or self._scheduler.optimizer is not optimizer:
            self._scheduler = ReduceLROnPlateau(optimizer, **self.options)
        return self._scheduler

    def before_fit(self) -> None:
        self.scheduler  # noqa: B018 - builds it, checking the options before training

    def after_epoch(self) -> None:
        learner = self.require_learner()
        self.scheduler.step(monitored_value("ReduceLROnPlateauCallback", learner, self.monitor))

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict() if self.learner is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        need = {"best", "num_bad_epochs", "cooldown_counter", "last_epoch"}
        if not need <= set(state):
            raise ValueError(
                f"ReduceLROnPlateauCallback: checkpoint state lacks {sorted(need - set(state))}"
            )
        self.scheduler.load_state_dict(state)
