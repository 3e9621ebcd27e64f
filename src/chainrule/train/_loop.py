"""``Loop``: the training state and fastai's event sequence, under the ``Learner`` and the
estimators alike.

The loop is a stack of stages (fit, epoch, training and validation pass, batch, backward,
step). Each runs between its ``before_X`` and ``after_X`` events, and its
``Cancel*Exception`` ends it early (``after_cancel_X``, then ``after_X``; see ``_events``).
What a front end computes for a batch, and what it records when a pass, an epoch or the fit
ends, is its ``TrainingStep``: ``LossStep`` (a loss function: the ``Learner``'s) or the
estimators' scikit-learn rules. The order of events and the state callbacks read are the
loop's alone, so a callback cannot tell the front ends apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .. import _blas
from .._tensor import Tensor, no_grad
from ..nn import Linear, Module
from ..optim import Optimizer
from ._callback import Callback
from ._compiled import CompiledStep
from ._events import (
    CANCELS,
    EVENTS,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
)


class TrainingStep:
    """What the loop computes for each batch, and records at the end of a pass, an epoch and
    a fit. Subclass it for a front end; :class:`LossStep` is the ``Learner``'s.

    Every method takes the ``Loop``, whose state (``model``, ``optimizer``, ``xb``, ``yb``,
    ``pred``, ``loss``, ``training``, ``epoch_log``...) it reads and sets.
    """

    #: The compiled step of the loop's model, loss and optimiser, once a batch has used one.
    compiled: CompiledStep | None = None

    def compiled_step(self, loop: Loop, loss_fn: Callable[..., Any]) -> CompiledStep | None:
        """The ``CompiledStep`` a training batch goes through, or None when the batch must
        run eagerly because an attached callback ``needs_graph``; made again when the loop's
        model or optimiser (or ``loss_fn``) is another one."""
        if not loop.training or loop.graph_needed:
            return None
        compiled = self.compiled
        if compiled is None or not compiled.runs(loop.model, loss_fn, loop.optimizer):
            compiled = self.compiled = CompiledStep(loop.model, loss_fn, loop.optimizer)
        return compiled

    def forward(self, loop: Loop) -> Any:
        """The batch's predictions (``loop.pred``): ``model(*xb)``."""
        return loop.model(*loop.xb)

    def loss(self, loop: Loop) -> Tensor:
        """The batch's loss node (``loop.pred`` is set), a scalar the backward pass starts from."""
        raise NotImplementedError(f"{type(self).__name__}.loss: a TrainingStep must define it")

    def value(self, loop: Loop) -> float:
        """The batch's loss as the epoch's mean counts it (after ``after_loss``): the mean of
        ``loop.loss``."""
        return float(np.mean(loop.loss.data)) if loop.loss is not None else float("nan")

    def backward(self, loop: Loop) -> None:
        """The gradients of the training batch: ``loss.backward()``."""
        if loop.loss is not None:
            loop.loss.backward()

    def update(self, loop: Loop) -> None:
        """The parameter update of the training batch: ``optimizer.step()``."""
        loop.optimizer.step()

    def end_pass(self, loop: Loop) -> None:
        """Just before ``after_train`` or ``after_validate`` (``epoch_log`` has the pass's mean
        loss)."""

    def end_epoch(self, loop: Loop) -> bool:
        """Just before ``after_epoch``, also after ``CancelEpochException``. True ends the fit
        after this epoch (no cancel event: a normal end)."""
        return False

    def end_fit(self, loop: Loop) -> None:
        """Just before ``after_fit``, also after ``CancelFitException``."""


class LossStep(TrainingStep):
    """The ``Learner``'s step: ``loss_func(pred, *yb)``, its backward pass and the optimiser's
    step (with a closure recomputing the batch's loss for optimisers that need one, LBFGS).

    Training batches run through a :class:`CompiledStep` (recorded once, then replayed with
    the same results bit for bit) when ``compile`` is on and every attached callback has
    ``needs_graph = False``; otherwise, and wherever the compiled step cannot vouch for a
    replay (see its notes), they run eagerly.

    Parameters
    ----------
    loss_func : callable
        ``loss_func(pred, target) -> Tensor`` (a scalar), e.g. ``nn.BCEWithLogitsLoss()``.
    compile : bool
        Replay recorded training steps where that is valid (default True).

    Attributes
    ----------
    compiled : CompiledStep or None
        The compiled step of the current model, loss and optimiser, once a batch has used it.
    """

    def __init__(self, loss_func: Callable[..., Tensor], compile: bool = True) -> None:
        if not isinstance(compile, bool):
            raise TypeError(f"compile must be True or False, got {compile!r}")
        self.loss_func = loss_func
        self.compile = compile
        self._result: tuple[Any, Tensor] | None = None  # the compiled step's pred and loss

    def forward(self, loop: Loop) -> Any:
        self._result = None
        compiled = self.compiled_step(loop, self.loss_func) if self.compile and loop.yb else None
        if compiled is None:
            return loop.model(*loop.xb)
        self._result = compiled.forward(loop.xb, loop.yb)
        return self._result[0]

    def loss(self, loop: Loop) -> Tensor:
        if self._result is not None and loop.pred is self._result[0]:
            return self._result[1]
        self._result = None  # a callback replaced the predictions: the loss is computed again
        if not loop.yb:
            raise ValueError(
                f"{type(loop).__name__}: a batch must be (inputs, targets) to compute a loss, "
                "got a single tensor; give the DataLoader an ArrayDataset(X, y)"
            )
        return self.loss_func(loop.pred, *loop.yb)

    def backward(self, loop: Loop) -> None:
        result, self._result = self._result, None
        if result is not None and self.compiled is not None:
            self.compiled.backward_of(loop.loss, type(loop).__name__)
        elif loop.loss is not None:
            loop.loss.backward()

    def update(self, loop: Loop) -> None:
        if not getattr(loop.optimizer, "needs_closure", False):
            loop.optimizer.step()
            return
        loop.optimizer.step(self.closure(loop))

    def closure(self, loop: Loop) -> Callable[[], Tensor]:
        """What an optimiser that ``needs_closure`` calls to re-evaluate the batch: clears the
        gradients, recomputes the loss and its gradients, returns the loss."""

        def closure() -> Tensor:
            loop.optimizer.zero_grad()
            loss = self.loss_func(loop.model(*loop.xb), *loop.yb)
            loss.backward()
            return loss

        return closure


def largest_product(model: Module, dataloader: Any) -> int | None:
    """Multiply-adds of the largest dense-layer product a training batch makes (batch rows ×
    in × out features), None when the loader does not say its ``batch_size``."""
    weights = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, Linear)]
    return _blas.largest_product(weights, getattr(dataloader, "batch_size", None))


def split_batch(batch: Any) -> tuple[tuple, tuple]:
    """``(xb, yb)`` of a batch: the last element of a tuple is the target, a lone tensor has
    none."""
    if isinstance(batch, (tuple, list)):
        return (tuple(batch), ()) if len(batch) == 1 else (tuple(batch[:-1]), (batch[-1],))
    return (batch,), ()


class Loop:
    """The training state and the event sequence of a fit, with its callbacks.

    Parameters
    ----------
    model : nn.Module
    optimizer : optim.Optimizer
    step : TrainingStep
        What each batch computes (``LossStep(loss_func)`` for a plain loss function).
    callbacks : sequence of Callback, optional

    Attributes
    ----------
    callbacks : list of Callback
        Attached callbacks in the order they run (by ``order``; ties keep the order added).
    epoch, iteration : int
        Epochs and training batches counted over all runs (after a run: those completed).
    training : bool
        Whether the loop is in a training pass (False while validating).
    xb, yb : tuple
        The current batch's inputs and targets.
    pred, loss
        The current batch's predictions and loss node.
    batch_index, n_batches, n_epochs : int
        Position in, and length of, the current pass; epochs of the current run.
    epoch_log : dict of str to float
        The current epoch's results: ``epoch``, ``train_loss``, ``valid_loss``, ``lr``, ...
    dataloader, dataloader_train, dataloader_valid
        The batches of the current pass and those of the current (or last) run.
    event : str or None
        The event being dispatched.
    graph_needed : bool
        Whether an attached callback has ``needs_graph`` (training batches then run eagerly).
    """

    def __init__(
        self,
        model: Module,
        optimizer: Optimizer,
        step: TrainingStep,
        callbacks: Sequence[Callback] | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(model, Module):
            raise TypeError(f"{owner}: model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{owner}: optimizer must be an optim.Optimizer, got {type(optimizer).__name__}"
            )
        if not isinstance(step, TrainingStep):
            raise TypeError(f"{owner}: step must be a TrainingStep, got {type(step).__name__}")
        self.model, self.optimizer, self.step = model, optimizer, step
        self.save_dir: Any = None  # the Learner's checkpoint folder; a bare loop has none
        self.callbacks: list[Callback] = []
        self._handlers: dict[str, list[tuple[Callback, Callable[[], Any]]]] = {}
        self.epoch = self.iteration = 0
        self.training = self.in_fit = False
        self.xb: tuple = ()
        self.yb: tuple = ()
        self.pred: Any = None
        self.loss: Tensor | None = None
        self.batch_index = self.n_batches = self.n_epochs = 0
        self.epoch_log: dict[str, float] = {}
        self.event: str | None = None
        self.dataloader: Any = None
        self.dataloader_train: Any = None
        self.dataloader_valid: Any = None
        self._epoch_done = self._stop = self._completed = False
        self._loss_sum, self._loss_count = 0.0, 0
        # Called with (callback, exception) when a handler raises a Cancel*Exception; True
        # takes it (the loop goes on). DataParallel defers one rank's cancels to a vote.
        self.cancel_hook: Callable[[Callback, Exception], bool] | None = None
        self.graph_needed = False  # whether an attached callback needs_graph (kept by _sort)
        self._sort_callbacks()
        for cb in callbacks or ():
            self.add_callback(cb)

    # -- callbacks ------------------------------------------------------------------------------
    def add_callback(self, callback: Callback) -> Callback:
        """Attaches ``callback`` (it runs from the next event on) and returns it."""
        owner = type(self).__name__
        if not isinstance(callback, Callback):
            raise TypeError(
                f"{owner}.add_callback: expected a Callback instance, got "
                f"{type(callback).__name__}"
                + (" (a class; call it)" if isinstance(callback, type) else "")
            )
        if callback.learner is not None and callback.learner is not self:
            raise ValueError(
                f"{owner}.add_callback: {type(callback).__name__} is already attached to "
                f"another Learner; make a new instance"
            )
        if callback in self.callbacks:
            raise ValueError(f"{owner}.add_callback: {callback!r} is already attached")
        callback.learner = self
        self.callbacks.append(callback)
        self._sort_callbacks()
        return callback

    def remove_callback(self, callback: Callback) -> Callback:
        """Detaches ``callback`` (it runs no more events) and returns it."""
        if callback not in self.callbacks:
            raise ValueError(f"{type(self).__name__}.remove_callback: {callback!r} is not attached")
        self.callbacks.remove(callback)
        callback.learner = None
        self._sort_callbacks()
        return callback

    def get_callback(self, kind: type | str) -> Callback | None:
        """The first attached callback of class ``kind`` (or with ``name == kind``), or None."""
        for cb in self.callbacks:
            if (isinstance(kind, str) and cb.name == kind) or (
                isinstance(kind, type) and isinstance(cb, kind)
            ):
                return cb
        return None

    def _sort_callbacks(self) -> None:
        self.callbacks.sort(key=lambda cb: cb.order)  # stable: ties keep insertion order
        self.graph_needed = any(cb.needs_graph for cb in self.callbacks)
        self._handlers = {
            e: [(cb, getattr(cb, e)) for cb in self.callbacks if callable(getattr(cb, e, None))]
            for e in EVENTS
        }

    def _event(self, name: str) -> None:
        """Runs every attached callback's handler of event ``name``, in order."""
        self.event = name
        for cb, handler in self._handlers[name]:
            if cb.learner is self:  # skip callbacks removed during this event
                try:
                    handler()
                except CANCELS as exc:
                    if self.cancel_hook is None or not self.cancel_hook(cb, exc):
                        raise

    def _with_events(
        self,
        f: Callable[[], Any],
        stage: str,
        cancel: type[Exception],
        finish: Callable[[], Any] | None = None,
    ) -> None:
        """``before_stage``, ``f()``, then ``after_stage`` (``after_cancel_stage`` first if
        ``f`` or ``before_stage`` raised ``cancel``); ``finish()`` runs just before ``after``."""
        try:
            self._event(f"before_{stage}")
            f()
        except cancel:
            self._event(f"after_cancel_{stage}")
        if finish is not None:
            finish()
        self._event(f"after_{stage}")

    # -- the sequence ---------------------------------------------------------------------------
    def run(
        self, n_epochs: int, dataloader_train: Iterable[Any], dataloader_valid: Any = None
    ) -> bool:
        """The fit stage: ``n_epochs`` epochs of a training pass over ``dataloader_train`` and,
        when given, a validation pass over ``dataloader_valid`` (iterables with a length).

        Returns True when every epoch ran (no ``CancelFitException``, and the step did not end
        the fit). Callbacks' ``teardown`` runs however the run ends.
        """
        if self.in_fit:
            raise RuntimeError(
                f"{type(self).__name__}.run: already running (called from a callback)"
            )
        self.dataloader_train, self.dataloader_valid = dataloader_train, dataloader_valid
        self.n_epochs, self.in_fit = n_epochs, True
        self._stop = self._completed = False
        try:
            with _blas.threads_for(largest_product(self.model, dataloader_train)):
                self._with_events(self._do_fit, "fit", CancelFitException, self._end_fit)
        finally:
            self.in_fit, self.training, self.event = False, False, None
            for cb in list(self.callbacks):
                cb.teardown()
        return self._completed

    def _do_fit(self) -> None:
        for _ in range(self.n_epochs):
            self.epoch_log, self._epoch_done = {"epoch": self.epoch}, False
            try:
                self._with_events(self._do_epoch, "epoch", CancelEpochException, self._end_epoch)
            finally:
                if self._epoch_done:  # also when after_epoch raised CancelFitException
                    self.epoch, self._epoch_done = self.epoch + 1, False
            if self._stop:
                return
        self._completed = True

    def _end_fit(self) -> None:
        self.step.end_fit(self)

    def _end_epoch(self) -> None:
        self._epoch_done = True
        self.epoch_log["lr"] = float(self.optimizer.param_groups[0]["lr"])
        self._stop = self.step.end_epoch(self)

    def _do_epoch(self) -> None:
        self._run_pass(self.dataloader_train, training=True)
        if self.dataloader_valid is not None:
            self._run_pass(self.dataloader_valid, training=False)

    def _run_pass(self, dataloader: Any, training: bool) -> None:
        """One pass over ``dataloader``: training (with backward and step) or validation."""
        self.training, self.dataloader = training, dataloader
        self.n_batches, self._loss_sum, self._loss_count = len(dataloader), 0.0, 0
        self.model.train(training)
        stage = "train" if training else "validate"
        cancel = CancelTrainException if training else CancelValidateException

        def finish() -> None:
            mean = self._loss_sum / self._loss_count if self._loss_count else float("nan")
            self.epoch_log["train_loss" if training else "valid_loss"] = mean
            self.step.end_pass(self)

        if training:
            self._with_events(self._all_batches, stage, cancel, finish)
        else:
            with no_grad():
                self._with_events(self._all_batches, stage, cancel, finish)

    def _all_batches(self) -> None:
        for i, batch in enumerate(self.dataloader):
            self.batch_index = i
            self.xb, self.yb = split_batch(batch)
            try:
                self._with_events(self._one_batch, "batch", CancelBatchException)
            finally:
                if self.training:
                    self.iteration += 1

    def _one_batch(self) -> None:
        """Gradients are cleared at the start of each training batch, so they stay readable
        until the next one."""
        if self.training:
            self.optimizer.zero_grad()
        self.pred = self.step.forward(self)
        self._event("after_pred")
        self.loss = self.step.loss(self)
        self._event("after_loss")
        n = len(self.pred) if getattr(self.pred, "ndim", 0) else 1
        self._loss_sum += self.step.value(self) * n
        self._loss_count += n
        if not self.training:
            return
        self._with_events(self._backward, "backward", CancelBackwardException)
        self._with_events(self._update, "step", CancelStepException)

    def _backward(self) -> None:
        self.step.backward(self)

    def _update(self) -> None:
        self.step.update(self)

    def __repr__(self) -> str:
        names = ", ".join(type(cb).__name__ for cb in self.callbacks)
        return (
            f"{type(self).__name__}(model={type(self.model).__name__}, "
            f"optimizer={type(self.optimizer).__name__}, {self._repr_step()}, "
            f"epoch={self.epoch}, iteration={self.iteration}, callbacks=[{names}])"
        )

    def _repr_step(self) -> str:
        """What ``repr`` says of the step: a front end names what its users set."""
        return f"step={type(self.step).__name__}"
