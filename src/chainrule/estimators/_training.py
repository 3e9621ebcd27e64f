"""The estimators' stochastic training: scikit-learn's ``_fit_stochastic`` on the ``Loop``.

The ``Loop`` of ``chainrule.train`` (the ``Learner``'s) runs the fit, its epochs, the training
pass over ``IndexBatches`` and, with ``early_stopping``, the validation pass over the held-out
set as one batch, emitting the Learner's events to the estimator's callbacks. ``MLPStep`` holds
what scikit-learn does differently from a plain loss function, step for step (the same
shuffling draws, batches, loss bookkeeping, early stopping and learning-rate schedules):

- the batch loss over sample weights, reported as scikit-learn reports it, with the L2 term
  (``L2Penalty``), whose gradient is added in the backward pass;
- scikit-learn's Adam (ε before the bias correction) or SGD (``_solver``);
- at the end of each epoch scikit-learn's records (``n_iter_``, ``loss_``, ``t_``,
  ``loss_curve_``, the validation scores), the 'invscaling' and 'adaptive' schedules and the
  no-improvement rule (``_no_improvement``), which ends the fit without a cancel event.

What a cancelled stage leaves:

- a cancelled batch (or backward pass, or step) still counts as an iteration; its loss counts
  in ``loss_`` when it was computed (``after_loss`` was passed);
- an epoch ended by ``CancelTrainException`` or ``CancelEpochException`` is recorded from the
  batches it trained (``n_iter_``, ``loss_``, ``t_``, the schedules and the stopping rule); one
  that trained none is not; a cancelled validation records NaN;
- ``CancelFitException`` ends the fit after ``after_cancel_fit`` and ``after_fit``; an epoch in
  progress is not recorded, the weights stay as they are (the best validation weights with
  ``early_stopping``), and ``fit`` returns normally.

``solver='lbfgs'`` has no batches and no events (``_scipy_lbfgs``).

With ``distributed=True`` under ``mpiexec`` each rank computes its shard of every global
batch and the step sums the shards' losses and gradients (``_sharding``); only rank 0 prints.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .._random import set_shard_rows
from .._tensor import Tensor
from ..train import Callback, CompiledStep, Loop, NonFiniteLossError, TrainingStep, progress_bar
from . import _no_improvement, _solver
from ._batches import IndexBatches, ValidationSet
from ._objectives import BatchObjective, L2Penalty, batch_loss, batch_value
from ._sharding import Shard

if TYPE_CHECKING:
    from ._base import BaseMLP


class MLPStep(TrainingStep):
    """scikit-learn's batch and epoch on the ``Loop``, for the estimator ``est``.

    ``bar`` is the optional progress bar over the epochs; ``shard`` this process's part of
    each training batch (the whole batch by default).
    """

    def __init__(self, est: BaseMLP, bar: Any = None, shard: Shard | None = None) -> None:
        self.est, self.bar, self.shard = est, bar, shard or Shard()
        self.penalty = L2Penalty(est.alpha, est._linear)
        self.total_weight = 0.0  # Σw of the current (global) batch
        self.reported = np.nan  # its loss as scikit-learn reports it, with the L2 term
        self.seen = 0  # samples of this epoch's training batches whose loss was computed
        self.loss_sum = 0.0  # Σ reported·rows over them: the epoch's loss, as the loop sums it
        self.score = np.nan  # the validation score of this epoch
        self.objective = BatchObjective(est._objective)
        self._result: tuple[Tensor, Tensor, tuple[Tensor, ...]] | None = None

    def forward(self, loop: Loop) -> Tensor:
        self._result = None
        x = loop.xb[0]
        if not isinstance(x, Tensor):  # a sparse validation set, in blocks of rows
            return Tensor._wrap(self.est._logits(x))
        if loop.training and not self.shard.parallel and loop.dataloader.weights is None:
            compiled = self.compiled_step(loop, self.objective)
            if compiled is not None:
                return self._compiled_forward(loop, compiled, x)
        if not (loop.training and self.shard.parallel):
            return loop.model(x)
        set_shard_rows(loop.dataloader.shard_rows)  # dropout: the global batch's masks
        try:
            return loop.model(x)
        finally:
            set_shard_rows(None)

    def _compiled_forward(self, loop: Loop, compiled: CompiledStep, x: Tensor) -> Tensor:
        """An unweighted batch of one process through the compiled step."""
        rows = self.objective.rows = loop.dataloader.batch_rows
        pred, loss = compiled.forward((x,), loop.yb, key=rows)  # the loss reads 1/rows
        self._result = (pred, loss, compiled.extras)
        return pred

    def loss(self, loop: Loop) -> Tensor:
        """The batch's loss node; in a parallel training pass, its ``data`` is set to the sum
        of the ranks' parts (the global batch's loss), its graph stays this rank's part."""
        data, pred = loop.dataloader, loop.pred
        self.total_weight = data.total_weight
        y = loop.yb[0].data
        result = self._result
        if result is not None and pred is result[0]:  # the compiled step's
            loss, (source,) = result[1], result[2]
            value = batch_value(
                self.est._objective, pred.data, source.data, y, data.weights, self.total_weight
            )
        else:
            self._result = None
            loss, value = batch_loss(
                self.est._objective, pred, y, data.weights, self.total_weight, data.batch_rows
            )
        if loop.training and self.shard.parallel:
            total, value = self.shard.sum([float(loss.data), value])
            loss.data = np.asarray(total, dtype=loss.data.dtype)
        self.reported = value + self.penalty.value(self.total_weight)
        return loss

    def value(self, loop: Loop) -> float:
        data = loop.dataloader
        if loop.training:
            self.seen += data.batch_rows
            self.loss_sum += self.reported * data.batch_rows
        else:
            self.score = self.est._score_logits(loop.pred.data, data.labels, data.weights)
        return self.reported

    def backward(self, loop: Loop) -> None:
        result, self._result = self._result, None
        if result is not None and self.compiled is not None:
            self.compiled.backward_of(loop.loss, type(self.est).__name__)
        else:
            super().backward(loop)
        if self.shard.parallel:
            self.shard.sum_gradients([p for g in loop.optimizer.param_groups for p in g["params"]])
        self.penalty.add_gradient(self.total_weight)

    def update(self, loop: Loop) -> None:
        if self.est.solver == "adam":
            _solver.adam_step(loop.optimizer, self.est.epsilon)
        else:
            loop.optimizer.step()

    def end_pass(self, loop: Loop) -> None:
        log = loop.epoch_log
        if loop.training:  # the mean over the global batches' rows (the loop counts the shard's)
            log["train_loss"] = self.loss_sum / self.seen if self.seen else np.nan
            return
        if self.shard.parallel:  # rank 0's record on every rank: the same decisions
            log["valid_loss"], self.score = self.shard.of_rank_0([log["valid_loss"], self.score])
        # the score next to the validation loss, NaN if not computed
        log[self.est._score_name], self.score = self.score, np.nan

    def end_epoch(self, loop: Loop) -> bool:
        """scikit-learn's records, schedule and stopping rule, for an epoch that trained at
        least one batch; then the progress bar."""
        est, log = self.est, loop.epoch_log
        seen, self.seen, self.loss_sum, stop = self.seen, 0, 0.0, False
        if seen:
            est.n_iter_ += 1
            est.loss_ = log["train_loss"]
            est.t_ += seen
            est.loss_curve_.append(est.loss_)
            self._say(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
            scores, losses = est.validation_scores_, est.validation_loss_curve_
            if scores is not None and losses is not None:  # early_stopping
                losses.append(log.get("valid_loss", np.nan))
                scores.append(log.get(est._score_name, np.nan))
                self._say(f"Validation score: {scores[-1]:f}")
            _no_improvement.update_no_improvement_count(est)
            _solver.end_of_epoch(loop.optimizer, est, est.t_)
            stop, message = _no_improvement.on_plateau(est)
            if message:
                self._say(message)
        if self.bar is not None and est.n_iter_:
            self._show_progress()
        return stop

    def end_fit(self, loop: Loop) -> None:
        if self.est.early_stopping:
            _no_improvement.restore_best(self.est)

    def _say(self, message: str) -> None:
        """scikit-learn's verbose output: a line on stdout (rank 0's alone in a parallel job)."""
        if self.est.verbose and self.shard.primary:
            print(message)

    def _show_progress(self) -> None:
        """One more epoch on the bar, with the loss (and the validation score and loss)."""
        est = self.est
        shown = {"loss": f"{est.loss_:.6g}"}
        scores, losses = est.validation_scores_, est.validation_loss_curve_
        if scores is not None and losses is not None:
            shown["val_score"] = f"{scores[-1]:.4g}"
            shown["val_loss"] = f"{losses[-1]:.6g}"
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)


def check_callbacks(owner: str, callbacks: Sequence[Any] | None) -> list[Callback]:
    """The estimator's ``callbacks`` parameter as a list, checked before anything is fitted."""
    callbacks = list(callbacks or ())
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"{owner}: callbacks must hold chainrule.train.Callback instances, got "
                f"{type(cb).__name__}" + (" (a class; call it)" if isinstance(cb, type) else "")
            )
        if cb.learner is not None and type(cb.learner) is not Loop:  # a Learner's
            raise ValueError(
                f"{owner}: {type(cb).__name__} is attached to a Learner; pass a new instance, or "
                f"remove it from that Learner first"
            )
    if len({id(cb) for cb in callbacks}) != len(callbacks):
        raise ValueError(f"{owner}: callbacks lists the same callback instance twice")
    return callbacks


def attach(loop: Loop, callbacks: list[Callback]) -> None:
    """Makes ``callbacks`` (checked by ``check_callbacks``) the attached ones, taking over
    those left attached to an earlier fit's loop (this estimator's, or the original of a
    clone, whose callbacks are copies) and detaching those no longer listed."""
    for cb in list(loop.callbacks):
        if not any(cb is k for k in callbacks):
            loop.remove_callback(cb)
    for cb in callbacks:
        if cb.learner is loop:
            continue
        if cb.learner is not None and cb in cb.learner.callbacks:
            cb.learner.remove_callback(cb)
        cb.learner = None
        loop.add_callback(cb)


def train(
    est: BaseMLP,
    X: Any,
    Y: np.ndarray,
    w: np.ndarray | None,
    incremental: bool,
    callbacks: list[Callback],
    fresh: bool,
    shard: Shard | None = None,
) -> None:
    """One fit or partial_fit: epochs until convergence, ``max_iter``, ``CancelFitException``
    or Ctrl-C (which keeps the best weights). A non-finite loss goes on as in scikit-learn
    (NaN losses count as no worse, ``fit`` checks the weights at the end), unless a
    ``TerminateOnNaNCallback`` stops it at once, with scikit-learn's ValueError. A ``fresh``
    fit starts a new loop (counters from 0); ``warm_start`` and ``partial_fit`` go on with
    ``learner_``. With a parallel ``shard`` every rank starts from rank 0's weights and trains
    on its shard of each batch."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if est._optimizer is None:
        raise RuntimeError(f"{type(est).__name__}: no optimiser was made before training")
    _no_improvement.check_records(est)
    shard = shard or Shard()
    shard.broadcast_parameters(list(est.model_.parameters()))
    batches, validation = split_data(est, X, Y, w, shard)
    est.n_iter_ = 0
    step = MLPStep(est, _progress_bar(est, incremental) if shard.primary else None, shard)
    loop = None if fresh else getattr(est, "learner_", None)
    if loop is None:
        loop = est.learner_ = Loop(est.model_, est._optimizer, step)
    loop.model, loop.optimizer, loop.step = est.model_, est._optimizer, step
    attach(loop, callbacks)
    completed = False
    try:
        completed = loop.run(1 if incremental else est.max_iter, batches, validation)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=4)
        _no_improvement.restore_best(est)
    except NonFiniteLossError as err:
        raise ValueError(  # scikit-learn's error and message, then what happened
            "Solver produced non-finite parameter weights. The input data may contain large "
            f"values and need to be preprocessed. ({type(est).__name__} stopped at the first "
            f"non-finite training loss, in epoch {loop.epoch}, before that batch's backward "
            "pass and step, so its weights are those that gave that loss; the cause says which "
            "batch.)"
        ) from err
    finally:
        if step.bar is not None:
            step.bar.close()
        est.model_.eval()
        # let go of the data and of the last batch's graph
        loop.xb, loop.yb, loop.pred, loop.loss = (), (), None, None
        loop.dataloader = loop.dataloader_train = loop.dataloader_valid = None
        step.bar = None
    if completed and not incremental:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
            "and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=4,
        )


def split_data(
    est: BaseMLP, X: Any, Y: np.ndarray, w: np.ndarray | None, shard: Shard | None = None
) -> tuple[IndexBatches, ValidationSet | None]:
    """The training batches (this ``shard``'s rows of each) and, with ``early_stopping``, the
    validation set: scikit-learn's split (stratified for single-output classifiers, the same
    draws)."""
    dtype, validation = est._dtype(), None
    if est.early_stopping:
        stratify = Y if est._stratify_validation() else None
        arrays = [X, Y] + ([w] if w is not None else [])
        parts = train_test_split(
            *arrays,
            random_state=est._random_state,
            test_size=est.validation_fraction,
            stratify=stratify,
        )
        X, X_val, Y, Y_val = parts[:4]
        w, w_val = parts[4:6] if w is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the "
                "size of your dataset."
            )
        targets = est._objective.targets(Y_val, dtype)
        validation = ValidationSet(X_val, targets, est._labels_from_targets(Y_val), w_val)
    batch_size = est._batch_size(X.shape[0])
    order = est._random_state if est.shuffle else None
    targets = est._objective.targets(Y, dtype)
    return IndexBatches(X, targets, w, batch_size, order, shard), validation


def _progress_bar(est: BaseMLP, incremental: bool) -> Any:
    if not est.progress_bar:
        return None
    total = 1 if incremental else est.max_iter
    return progress_bar(total=total, only_on_terminal=False, desc=type(est).__name__, unit="epoch")
