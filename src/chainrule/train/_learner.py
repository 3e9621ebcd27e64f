"""``Learner``: the training loop, with events for callbacks (fastai's design, explicit state)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_int
from .._tensor import Tensor, no_grad
from ._callback import Callback
from ._dispatch import CallbackHost
from ._events import (
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
)
from ._header import SUFFIX

if TYPE_CHECKING:
    from ..nn import Module
    from ..optim import Optimizer
    from ._lr_finder import LRFinderCallback


def _check_loader(name: str, loader: Any) -> None:
    if not (hasattr(loader, "__iter__") and hasattr(loader, "__len__")):
        raise TypeError(
            f"Learner: {name} must be a DataLoader (iterable with a length), got "
            f"{type(loader).__name__}"
        )
    if len(loader) == 0:  # a pass over it would end with a NaN mean loss and nothing learnt
        dataset = getattr(loader, "dataset", None)
        rows = "" if dataset is None else f" (its data set has {len(dataset)} rows)"
        raise ValueError(
            f"Learner: {name} yields no batches{rows}; give it at least one row, or "
            f"drop_last=False when there are fewer rows than batch_size"
        )


class Learner(CallbackHost):
    """Trains ``model`` with ``optimizer`` on ``loss_func``, emitting events to callbacks.

    Parameters
    ----------
    model : nn.Module
        Maps a batch's inputs to predictions.
    optimizer : optim.Optimizer
        Updates the model's parameters from their gradients. One that ``needs_closure``
        (``optim.LBFGS``, a line search) is stepped with a closure that recomputes the
        batch's loss and gradients.
    loss_func : callable
        ``loss_func(pred, target) -> Tensor`` (a scalar), e.g. ``nn.BCEWithLogitsLoss()``.
    callbacks : sequence of Callback, optional
        Callbacks for every fit; more can be added with :meth:`add_callback` or per fit.
    save_dir : str or Path, optional
        Folder of checkpoints (:meth:`save`, ``CheckpointCallback``, ``CSVLogger``).
    metrics : sequence of str or callable, optional
        Validation metrics (``"accuracy"``, ``"f1"``, ``"r2"``, ``"mae"``, ...); adds a
        ``MetricsCallback``.
    show_progress : bool
        Progress bars (tqdm) over epochs and batches, on standard error.

    Attributes
    ----------
    callbacks : list of Callback
        Attached callbacks in the order they run. A ``TerminateOnNaNCallback`` is attached by
        default (remove it with :meth:`remove_callback` to train through NaNs).
    epoch : int
        Index of the current epoch counted over all fits (after a fit: epochs completed).
    iteration : int
        Index of the current training batch over all fits (after a fit: batches trained).
    training : bool
        Whether the loop is in a training pass (False while validating).
    xb, yb : tuple of Tensor
        The current batch's inputs and targets (a batch ``(x, y)`` gives ``xb = (x,)``,
        ``yb = (y,)``; the last element of a tuple batch is the target).
    pred, loss : Tensor
        The current batch's predictions and loss.
    batch_index, n_batches : int
        Position in, and length of, the current pass's data loader.
    epoch_log : dict of str to float
        The current epoch's results: ``epoch``, ``train_loss``, ``valid_loss``, metrics, ``lr``.
    dataloader, dataloader_train, dataloader_valid
        The loader of the current pass and those of the current (or last) fit.

    Examples
    --------
    >>> learner = Learner(model, optim.SGD(model.parameters(), lr=0.1), nn.BCEWithLogitsLoss())
    >>> learner.fit(dl_train, n_epochs=2, dataloader_valid=dl_valid)
    >>> probabilities = cr.sigmoid(cr.tensor(learner.predict(dl_test)))
    """

    def __init__(
        self,
        model: Module,
        optimizer: Optimizer,
        loss_func: Callable[..., Tensor],
        callbacks: Sequence[Callback] | None = None,
        save_dir: str | Path | None = None,
        metrics: Sequence[Any] | None = None,
        show_progress: bool = True,
    ) -> None:
        from ..nn import Module
        from ..optim import Optimizer
        from ._metrics import MetricsCallback
        from ._progress import ProgressCallback
        from ._stopping import TerminateOnNaNCallback

        if not isinstance(model, Module):
            raise TypeError(f"Learner: model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"Learner: optimizer must be an optim.Optimizer, got {type(optimizer).__name__}"
            )
        if not callable(loss_func):
            raise TypeError(f"Learner: loss_func must be callable, got {type(loss_func).__name__}")
        self.model, self.optimizer, self.loss_func = model, optimizer, loss_func
        self.save_dir = None if save_dir is None else Path(save_dir)
        self.show_progress = bool(show_progress)
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
        self.dataloader = self.dataloader_train = self.dataloader_valid = None
        self._epoch_done = False
        self._pending_generators: dict[str, Any] = {}
        self.add_callback(TerminateOnNaNCallback())
        if self.show_progress:
            self.add_callback(ProgressCallback())
        if metrics:
            self.add_callback(MetricsCallback(metrics))
        for cb in callbacks or ():
            self.add_callback(cb)

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        dataloader_train: Iterable[Any],
        n_epochs: int,
        dataloader_valid: Iterable[Any] | None = None,
        callbacks: Sequence[Callback] | None = None,
    ) -> None:
        """Trains for ``n_epochs`` more epochs, validating after each when a loader is given.

        Parameters
        ----------
        dataloader_train : DataLoader
            Batches ``(x, y)`` for training.
        n_epochs : int
            Number of epochs to run (counters continue from earlier fits and checkpoints).
        dataloader_valid : DataLoader, optional
            Batches for the validation pass at the end of each epoch.
        callbacks : sequence of Callback, optional
            Attached for this fit only.

        Notes
        -----
        With two training batches and one validation batch, ``fit(dl_train, 1, dl_valid)``
        emits exactly these events (see ``chainrule.train.EVENTS`` for the cancel events)::

            before_fit
            before_epoch
            before_train
            before_batch
            after_pred
            after_loss
            before_backward
            after_backward
            before_step
            after_step
            after_batch
            before_batch
            after_pred
            after_loss
            before_backward
            after_backward
            before_step
            after_step
            after_batch
            after_train
            before_validate
            before_batch
            after_pred
            after_loss
            after_batch
            after_validate
            after_epoch
            after_fit

        Gradients are cleared at the start of each training batch, so they stay readable
        until the next one.
        """
        n_epochs = check_int("Learner", "n_epochs", n_epochs, 0)
        _check_loader("dataloader_train", dataloader_train)
        if dataloader_valid is not None:
            _check_loader("dataloader_valid", dataloader_valid)
        if self.in_fit:
            raise RuntimeError("Learner.fit: already fitting (fit was called from a callback)")
        added: list[Callback] = []
        self.dataloader_train, self.dataloader_valid = dataloader_train, dataloader_valid
        self.n_epochs, self.in_fit, was_training = n_epochs, True, self.model.training
        try:
            from ._resume import apply_pending_generators

            added += [self.add_callback(cb) for cb in callbacks or ()]
            apply_pending_generators(self)
            self._with_events(self._do_fit, "fit", CancelFitException)
        finally:
            self.in_fit, self.training, self.event = False, False, None
            self.model.train(was_training)
            for cb in list(self.callbacks):
                cb.teardown()
            for cb in added:
                if cb in self.callbacks:
                    self.remove_callback(cb)

    def _do_fit(self) -> None:
        for _ in range(self.n_epochs):
            self.epoch_log, self._epoch_done = {"epoch": self.epoch}, False
            try:
                self._with_events(self._do_epoch, "epoch", CancelEpochException, self._end_epoch)
            finally:
                if self._epoch_done:
                    self.epoch, self._epoch_done = self.epoch + 1, False

    def _end_epoch(self) -> None:
        self._epoch_done = True
        self.epoch_log["lr"] = float(self.optimizer.param_groups[0]["lr"])

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

        if training:
            self._with_events(self._all_batches, stage, cancel, finish)
        else:
            with no_grad():
                self._with_events(self._all_batches, stage, cancel, finish)

    def _all_batches(self) -> None:
        for i, batch in enumerate(self.dataloader):
            self.batch_index = i
            self.xb, self.yb = self._split(batch)
            try:
                self._with_events(self._one_batch, "batch", CancelBatchException)
            finally:
                if self.training:
                    self.iteration += 1

    @staticmethod
    def _split(batch: Any) -> tuple[tuple, tuple]:
        if isinstance(batch, (tuple, list)):
            return (tuple(batch), ()) if len(batch) == 1 else (tuple(batch[:-1]), (batch[-1],))
        return (batch,), ()

    def _one_batch(self) -> None:
        if self.training:
            self.optimizer.zero_grad()
        self.pred = self.model(*self.xb)
        self._event("after_pred")
        if not self.yb:
            raise ValueError(
                "Learner: a batch must be (inputs, targets) to compute a loss, got a single "
                "tensor; give the DataLoader an ArrayDataset(X, y)"
            )
        self.loss = self.loss_func(self.pred, *self.yb)
        self._event("after_loss")
        n = len(self.pred) if getattr(self.pred, "ndim", 0) else 1
        self._loss_sum += float(np.mean(self.loss.data)) * n
        self._loss_count += n
        if not self.training:
            return
        self._with_events(self.loss.backward, "backward", CancelBackwardException)
        self._with_events(self._step, "step", CancelStepException)

    def _step(self) -> None:
        """``optimizer.step()``, or ``step(closure)`` for optimisers that re-evaluate the loss
        (``LBFGS``), the closure recomputing this batch's loss and gradients."""
        if not getattr(self.optimizer, "needs_closure", False):
            self.optimizer.step()
            return

        def closure() -> Any:
            self.optimizer.zero_grad()
            loss = self.loss_func(self.model(*self.xb), *self.yb)
            loss.backward()
            return loss

        self.optimizer.step(closure)

    # -- evaluation -----------------------------------------------------------------------------
    def validate(self, dataloader: Iterable[Any]) -> dict[str, float]:
        """The mean loss (``"valid_loss"``) and metrics over ``dataloader``, in eval mode.

        Emits ``before_validate``, the batch events and ``after_validate`` (with
        ``learner.training`` False), so metric callbacks run; epoch and fit events are not
        emitted. Returns a copy of ``epoch_log`` for this pass.
        """
        _check_loader("dataloader", dataloader)
        if self.in_fit:
            raise RuntimeError("Learner.validate: cannot be called during fit")
        saved, was_training = self.epoch_log, self.model.training
        self.epoch_log = {}
        try:
            self._run_pass(dataloader, training=False)
            return dict(self.epoch_log)
        finally:
            self.epoch_log, self.event = saved, None
            self.model.train(was_training)

    def predict(self, dataloader: Iterable[Any]) -> np.ndarray:
        """The model's outputs over ``dataloader`` in eval mode, concatenated along axis 0.

        Batches may be inputs alone or ``(inputs, targets)`` (targets are ignored). No events
        are emitted. Returns an ndarray of shape ``(n_samples, *output_shape)``.
        """
        _check_loader("dataloader", dataloader)
        was_training = self.model.training
        self.model.eval()
        outputs = []
        try:
            with no_grad():
                for batch in dataloader:
                    xb, _ = self._split(batch)
                    out = self.model(*xb)
                    outputs.append(np.asarray(out.data if isinstance(out, Tensor) else out))
        finally:
            self.model.train(was_training)
        if not outputs:
            raise ValueError("Learner.predict: the data loader yielded no batches")
        return np.concatenate(outputs, axis=0)

    def find_learning_rate(
        self,
        dataloader: Iterable[Any],
        n_epochs: int | None = None,
        lr_find_callback: LRFinderCallback | None = None,
    ) -> LRFinderCallback:
        """Runs the LR range test and returns the finder (``.plot()``, ``.suggestion()``).

        Only the finder (and the progress bar) runs: the other callbacks are set aside, so that
        schedules, telemetry and checkpoints see nothing. The model, the optimiser, the
        counters and the random generators (the default one, the loader's) are restored
        afterwards, so a later ``fit`` is the same as without the search.

        Parameters
        ----------
        dataloader : DataLoader
            Training batches.
        n_epochs : int, optional
            Upper bound on epochs (default: enough for the finder's ``num_iter`` batches).
        lr_find_callback : LRFinderCallback, optional
            The finder's settings (default ``LRFinderCallback()``).
        """
        from ._lr_finder import find_learning_rate

        _check_loader("dataloader", dataloader)
        return find_learning_rate(self, dataloader, n_epochs, lr_find_callback)

    # -- checkpoints ----------------------------------------------------------------------------
    def checkpoint_path(self, path: str | Path | None = None) -> Path:
        """Where :meth:`save` writes: ``path`` (a bare file name goes into ``save_dir``), or
        ``save_dir / "learner.safetensors"``; ``.safetensors`` is appended to a name without a
        suffix."""
        if path is None:
            if self.save_dir is None:
                raise ValueError(
                    "Learner.save: give a path, or a save_dir when building the Learner"
                )
            path = self.save_dir / f"learner{SUFFIX}"
        path = Path(path)
        if self.save_dir is not None and not path.is_absolute() and path.parent == Path("."):
            path = self.save_dir / path
        return path if path.suffix else path.with_name(path.name + SUFFIX)

    def save(self, path: str | Path | None = None) -> Path:
        """Writes a checkpoint (model, optimiser, callbacks' state, counters, generators) to one
        safetensors file, atomically (temporary file renamed into place). Returns its path.

        A checkpoint written at the end of an epoch (``CheckpointCallback``, or between fits)
        resumes exactly: loading it into a freshly built learner and fitting the remaining
        epochs gives bit-identical parameters.
        """
        from ._checkpoint import save_checkpoint

        return save_checkpoint(self, self.checkpoint_path(path))

    def load(self, path: str | Path, strict: bool = True) -> None:
        """Restores a checkpoint written by :meth:`save`; checks the whole file first.

        Parameters
        ----------
        path : str or Path
            The checkpoint file (a bare file name is looked up in ``save_dir``).
        strict : bool
            Require the model's parameter and buffer names to match exactly.

        Raises
        ------
        CheckpointError
            When the file is not a checkpoint, is truncated, corrupted or malformed, is from
            another format, or does not fit this learner's model, optimiser or callbacks;
            nothing in the learner is changed then.

        Notes
        -----
        The generator states of the data loaders saved with the checkpoint are applied at the
        start of the next ``fit`` to its loaders' generators.
        """
        from ._resume import load_checkpoint

        load_checkpoint(self, self.checkpoint_path(path), strict=strict)

    def __repr__(self) -> str:
        names = ", ".join(type(cb).__name__ for cb in self.callbacks)
        return (
            f"Learner(model={type(self.model).__name__}, optimizer={type(self.optimizer).__name__}"
            f", loss_func={type(self.loss_func).__name__}, epoch={self.epoch}, "
            f"iteration={self.iteration}, callbacks=[{names}])"
        )
