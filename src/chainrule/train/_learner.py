"""``Learner``: a ``Loop`` over data loaders, with checkpoints, validation, prediction and the
learning-rate finder (fastai's design, explicit state)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_int
from .._tensor import Tensor, no_grad
from ._callback import Callback
from ._checkpoint import save_checkpoint
from ._header import SUFFIX
from ._loading import apply_pending_generators, load_checkpoint
from ._loop import Loop, LossStep, split_batch
from ._lr_finder import LRFinderCallback, find_learning_rate
from ._metrics import MetricsCallback
from ._progress import ProgressCallback
from ._stopping import TerminateOnNaNCallback

if TYPE_CHECKING:
    from ..nn import Module
    from ..optim import Optimizer


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


class Learner(Loop):
    """Trains ``model`` with ``optimizer`` on ``loss_func``, emitting events to callbacks: a
    ``Loop`` over data loaders, with a ``LossStep``, checkpoints, validation, prediction and
    the learning-rate finder.

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
    compile : bool
        Replay recorded training steps where that is valid (``CompiledStep``: the same results
        bit for bit, without the engine's per-op bookkeeping). A callback with
        ``needs_graph = True``, module hooks, or a model or loss outside ``nn``'s replay-safe
        modules make the batches run eagerly. ``learner.step.compiled`` reports what ran.

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
        compile: bool = True,
    ) -> None:
        self.step: LossStep
        super().__init__(model, optimizer, LossStep(loss_func, compile=compile))
        self.loss_func = loss_func  # checked
        self.save_dir = None if save_dir is None else Path(save_dir)
        self.show_progress = bool(show_progress)
        self._pending_generators: dict[str, Any] = {}
        self.add_callback(TerminateOnNaNCallback())
        if self.show_progress:
            self.add_callback(ProgressCallback())
        if metrics:
            self.add_callback(MetricsCallback(metrics))
        for cb in callbacks or ():
            self.add_callback(cb)

    @property
    def loss_func(self) -> Callable[..., Tensor]:
        """The loss function the learner was built with (held by its ``LossStep``)."""
        return self.step.loss_func

    @loss_func.setter
    def loss_func(self, value: Callable[..., Tensor]) -> None:
        if not callable(value):
            raise TypeError(f"Learner: loss_func must be callable, got {type(value).__name__}")
        self.step.loss_func = value

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
        was_training = self.model.training
        try:
            added += [self.add_callback(cb) for cb in callbacks or ()]
            self.dataloader_train, self.dataloader_valid = dataloader_train, dataloader_valid
            apply_pending_generators(self)
            self.run(n_epochs, dataloader_train, dataloader_valid)
        finally:
            self.model.train(was_training)
            for cb in added:
                if cb in self.callbacks:
                    self.remove_callback(cb)

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
                    xb, _ = split_batch(batch)
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

        Only the finder (and the progress bar, and callbacks that set ``runs_in_lr_finder``:
        ``DataParallel``, so every rank gets the same curve) runs; the others are set aside, so
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
        where = Path(path)
        if self.save_dir is not None and not where.is_absolute() and where.parent == Path("."):
            where = self.save_dir / where
        return where if where.suffix else where.with_name(where.name + SUFFIX)

    def save(self, path: str | Path | None = None) -> Path:
        """Writes a checkpoint (model, optimiser, callbacks' state, counters, generators) to one
        safetensors file, atomically (temporary file renamed into place). Returns its path.

        A checkpoint written at the end of an epoch (``CheckpointCallback``, or between fits)
        resumes exactly: loading it into a freshly built learner and fitting the remaining
        epochs gives bit-identical parameters.
        """
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
        load_checkpoint(self, self.checkpoint_path(path), strict=strict)

    def _repr_step(self) -> str:
        return f"loss_func={type(self.loss_func).__name__}"
