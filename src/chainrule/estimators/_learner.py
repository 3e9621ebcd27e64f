"""``EstimatorLearner``: what ``chainrule.train``'s callbacks see as ``learner`` in an estimator.

The estimators' loop (``_training``) keeps its state here, under the ``Learner``'s names, and
dispatches its events with ``chainrule.train``'s own ``CallbackHost``, so a callback cannot tell
the two loops apart by the attributes it reads, and both order, add, remove and run callbacks
with the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..train import Callback
from ..train._dispatch import CallbackHost


def check_callbacks(owner: str, callbacks: Sequence[Any] | None) -> list[Callback]:
    """The estimator's ``callbacks`` parameter as a list, checked before anything is fitted."""
    callbacks = list(callbacks or ())
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"{owner}: callbacks must hold chainrule.train.Callback instances, got "
                f"{type(cb).__name__}" + (" (a class; call it)" if isinstance(cb, type) else "")
            )
        if cb.learner is not None and not isinstance(cb.learner, EstimatorLearner):
            raise ValueError(
                f"{owner}: {type(cb).__name__} is attached to a Learner; pass a new instance, or "
                f"remove it from that Learner first"
            )
    if len({id(cb) for cb in callbacks}) != len(callbacks):
        raise ValueError(f"{owner}: callbacks lists the same callback instance twice")
    return callbacks


class EstimatorLearner(CallbackHost):
    """The training state of an MLP estimator under the ``Learner``'s names: the ``learner`` of
    its callbacks during ``fit`` and ``partial_fit``, and ``learner_`` afterwards.

    It is not a ``Learner`` (it has no ``fit``, data loaders or checkpoints): callbacks that read
    or steer the loop (telemetry, ``TrainLossCallback``, ``MetricsCallback``, ``ProgressCallback``,
    ``EarlyStoppingCallback``, the ``Cancel*Exception``s) work; those that need a Learner's data
    loaders or checkpoints (``CheckpointCallback``, ``LRFinderCallback``) do not.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The estimator whose loop this is; its ``model_`` and optimiser are taken at each fit.

    Attributes
    ----------
    estimator : MLPClassifier or MLPRegressor
    model : nn.Sequential
        The estimator's ``model_`` (X to logits).
    optimizer : optim.SGD or optim.Adam
        The estimator's optimiser.
    callbacks : list of Callback
        The estimator's ``callbacks``, in the order they run. Unlike a ``Learner``, no
        ``TerminateOnNaNCallback`` is added: a non-finite loss goes on as in scikit-learn
        (the estimator's docstring); pass one to stop at the first.
    epoch, iteration : int
        Epochs and training batches since the estimator's last fresh ``fit`` (they go on over
        ``warm_start`` fits and ``partial_fit`` calls, as over a Learner's fits).
    training : bool
        False during the validation pass of ``early_stopping``.
    xb, yb : tuple of Tensor
        ``(X_batch,)`` and ``(targets,)``: the targets as the loss takes them (one column per
        output; one-hot for classes). Empty between fits. With ``shuffle`` their arrays are
        buffers that the next batch overwrites (views of the data without): copy to keep.
    pred, loss : Tensor or None
        The batch's logits and its data loss (a scalar, without the L2 penalty, whose
        gradient is added in the backward stage). None between fits.
    batch_index, n_batches, n_epochs : int
    epoch_log : dict of str to float
        ``epoch``, ``train_loss`` (the epoch's ``loss_``), ``lr``, and with ``early_stopping``
        ``valid_loss`` and the validation score as ``accuracy`` (classifiers) or ``r2``.
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.model: Any = estimator.model_
        self.optimizer: Any = None
        self.callbacks: list[Callback] = []
        self.epoch = self.iteration = 0
        self.training = self.in_fit = False
        self.xb: tuple = ()
        self.yb: tuple = ()
        self.pred: Any = None
        self.loss: Any = None
        self.batch_index = self.n_batches = self.n_epochs = 0
        self.epoch_log: dict[str, float] = {}
        self.event: str | None = None
        self.dataloader = self.dataloader_train = self.dataloader_valid = None
        self.save_dir = None
        self._sort_callbacks()  # the (empty) handler table of every event

    def attach(self, callbacks: list[Callback]) -> None:
        """Makes ``callbacks`` (checked by ``check_callbacks``) the attached ones, taking over
        those left attached to an earlier fit's learner (this estimator's, or the original of a
        clone, whose callbacks are copies) and detaching those no longer listed."""
        for cb in list(self.callbacks):
            if not any(cb is k for k in callbacks):
                self.remove_callback(cb)
        for cb in callbacks:
            if cb.learner is self:
                continue
            if isinstance(cb.learner, EstimatorLearner) and cb in cb.learner.callbacks:
                cb.learner.remove_callback(cb)
            cb.learner = None  # check_callbacks let through no Learner's callback
            self.add_callback(cb)

    def begin_fit(self, n_epochs: int) -> None:
        """Takes the estimator's network and optimiser (new after a fresh fit or a change of
        solver) for a call to fit or partial_fit of ``n_epochs`` epochs."""
        self.model, self.optimizer = self.estimator.model_, self.estimator._optimizer
        self.n_epochs, self.in_fit = n_epochs, True

    def end_fit(self) -> None:
        """After any fit, however it ended: every callback's ``teardown``; the batch is let go
        (it holds data and a graph)."""
        self.in_fit, self.training, self.event = False, False, None
        self.xb, self.yb, self.pred, self.loss = (), (), None, None
        for cb in list(self.callbacks):
            cb.teardown()

    def __repr__(self) -> str:
        names = ", ".join(type(cb).__name__ for cb in self.callbacks)
        return (
            f"EstimatorLearner(estimator={type(self.estimator).__name__}, epoch={self.epoch}, "
            f"iteration={self.iteration}, callbacks=[{names}])"
        )
