"""The estimators' stochastic training loop: fit, epoch, pass and batch, each a stage.

It reproduces scikit-learn's ``_fit_stochastic`` step for step (the same shuffling draws, the
same batches, the same loss bookkeeping, early stopping and learning-rate schedules), on
chainrule's engine: each batch is a forward pass through ``model_``, a loss node, ``backward()``
and an optimiser step.

It is the ``Learner``'s loop in shape: the state lives on ``learner_`` (an ``EstimatorLearner``)
under the Learner's names, each stage is run by ``chainrule.train``'s ``_with_events`` (its
``before_X``/``after_X`` events, its ``Cancel*Exception`` and ``after_cancel_X``), so the
estimators' callbacks see the Learner's event sequence (``Learner.fit``'s docstring) with the
validation set of ``early_stopping`` as one validation batch. What a cancelled stage leaves:

- a cancelled batch (or backward pass, or step) still counts as an iteration; its loss counts
  in ``loss_`` when it was computed (``after_loss`` was reached);
- an epoch ended by ``CancelTrainException`` or ``CancelEpochException`` is recorded from the
  batches it trained (``n_iter_``, ``loss_``, ``t_``, the schedules and the stopping rule); one
  that trained none is not; a cancelled validation records NaN;
- ``CancelFitException`` ends the fit after ``after_cancel_fit`` and ``after_fit``; an epoch in
  progress is not recorded, the weights stay as they are (the best validation weights with
  ``early_stopping``), and ``fit`` returns normally.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .._tensor import Tensor, no_grad
from ..train import (
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
    NonFiniteLossError,
)
from . import _solver
from ._batches import batch_buffer, take_rows
from ._objectives import sample_coefficients
from ._validation import dense_rows


@dataclass
class _Run:
    """One call to fit or partial_fit: the split data and what its epochs add up."""

    X: Any
    y: Any  # targets as the objective takes them
    w: np.ndarray | None
    batch_size: int
    X_val: Any = None
    y_val: Any = None  # labels or values, for the score
    t_val: Any = None  # targets, for the validation loss
    w_val: np.ndarray | None = None
    order: np.ndarray = field(default=None)  # type: ignore[assignment]
    scratch: list[np.ndarray] = field(default_factory=list)  # L2 gradient buffers
    buffers: tuple = (None, None, None)  # reused batch arrays for X, y and w (take_rows)
    n_batches: int = 0
    n_epochs: int = 0
    wb: np.ndarray | None = None  # the training batch's sample weights
    loss_sum: float = 0.0  # Σ batch loss × batch size over this epoch's training batches
    n_seen: int = 0  # samples of those batches
    val_loss: float = np.nan
    val_score: float = np.nan
    epoch_done: bool = False
    stop: bool = False  # the stopping rule fired
    exhausted: bool = False  # max_iter epochs ran


class TrainingLoop:
    """Mixin of the MLP estimators: ``_train`` → ``_fit_epoch`` → ``_fit_batch``."""

    # -- one fit ---------------------------------------------------------------------------
    def _start_run(self, X: Any, Y: np.ndarray, w: np.ndarray | None, incremental: bool) -> _Run:
        """Splits off the validation set (early stopping), converts the targets to what the
        objective takes, sets the batch size and allocates the L2 gradient and batch
        buffers."""
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        run = _Run(X, Y, w, 0)
        if self.early_stopping:
            self._split_validation(run)
        run.y = self._objective.targets(run.y, self._dtype())
        n = run.X.shape[0]
        run.batch_size = self._batch_size(n)
        run.n_batches = -(-n // run.batch_size)
        run.n_epochs = 1 if incremental else self.max_iter
        run.order = np.arange(n, dtype=int)
        run.scratch = [np.empty_like(a) for a in self.coefs_] if self.alpha else []
        if self.shuffle:  # unshuffled batches are views of the data
            run.buffers = tuple(batch_buffer(a, run.batch_size) for a in (run.X, run.y, run.w))
        return run

    def _split_validation(self, run: _Run) -> None:
        """scikit-learn's split: stratified for single-output classifiers, same random draws."""
        stratify = run.y if self._stratify_validation() else None
        arrays = [run.X, run.y] + ([run.w] if run.w is not None else [])
        parts = train_test_split(
            *arrays,
            random_state=self._random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        run.X, run.X_val, run.y, Y_val = parts[:4]
        if run.w is not None:
            run.w, run.w_val = parts[4:6]
        if run.X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        run.y_val = self._labels_from_targets(Y_val)
        run.t_val = self._objective.targets(Y_val, self._dtype())

    def _train(self, run: _Run, incremental: bool) -> None:
        """The fit stage: epochs until convergence, ``max_iter``, ``CancelFitException`` or
        Ctrl-C (which keeps the best weights). A non-finite loss goes on as in scikit-learn
        (NaN losses count as no worse, ``fit`` checks the weights at the end), unless a
        ``TerminateOnNaNCallback`` stops it at once, with scikit-learn's ValueError."""
        learner = self.learner_
        self.n_iter_ = 0
        bar = self._progress_bar(incremental)
        learner.begin_fit(run.n_epochs)
        self.model_.train()
        try:
            fit = partial(self._fit_epochs, run, bar)
            learner._with_events(fit, "fit", CancelFitException, self._end_fit)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
            self._restore_best()
        except NonFiniteLossError as err:
            raise ValueError(  # scikit-learn's error and message, then what happened
                "Solver produced non-finite parameter weights. The input data may contain large "
                f"values and need to be preprocessed. ({type(self).__name__} stopped at the "
                f"first non-finite training loss, in epoch {learner.epoch}, before that batch's "
                "backward pass and step, so its weights are those that gave that loss; the "
                "cause says which batch.)"
            ) from err
        finally:
            if bar is not None:
                bar.close()
            self.model_.eval()
            learner.end_fit()
        if run.exhausted and not incremental:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _fit_epochs(self, run: _Run, bar: Any) -> None:
        """The body of the fit stage: each epoch a stage, its records kept as it ends."""
        learner = self.learner_
        for _ in range(run.n_epochs):
            learner.epoch_log, run.epoch_done = {"epoch": learner.epoch}, False
            try:
                epoch = partial(self._fit_epoch, run)
                end = partial(self._end_epoch, run)
                learner._with_events(epoch, "epoch", CancelEpochException, end)
            finally:
                if run.epoch_done:  # also when after_epoch raised CancelFitException
                    learner.epoch += 1
            if bar is not None and self.n_iter_:
                self._show_progress(bar)
            if run.stop:
                return
        run.exhausted = True

    def _end_fit(self) -> None:
        """Just before ``after_fit``, also after ``CancelFitException``."""
        if self.early_stopping:
            self._restore_best()

    def _progress_bar(self, incremental: bool) -> Any:
        if not self.progress_bar:
            return None
        from ..train import progress_bar

        total = 1 if incremental else self.max_iter
        return progress_bar(
            total=total, only_on_terminal=False, desc=type(self).__name__, unit="epoch"
        )

    def _show_progress(self, bar: Any) -> None:
        """One more epoch on the bar, with the loss (and the validation score and loss)."""
        shown = {"loss": f"{self.loss_:.6g}"}
        if self.early_stopping:
            shown["val_score"] = f"{self.validation_scores_[-1]:.4g}"
            shown["val_loss"] = f"{self.validation_loss_curve_[-1]:.6g}"
        bar.set_postfix(shown, refresh=False)
        bar.update(1)

    def _say(self, message: str) -> None:
        """scikit-learn's verbose output: a line on stdout."""
        if self.verbose:
            print(message)

    # -- one epoch ---------------------------------------------------------------------------
    def _fit_epoch(self, run: _Run) -> None:
        """The body of an epoch stage: shuffle, the training pass, the validation pass."""
        learner = self.learner_
        if self.shuffle:  # scikit-learn's utils.shuffle, draw for draw: shuffle the indices
            perm = np.arange(run.X.shape[0])
            self._random_state.shuffle(perm)
            run.order = run.order[perm]
        run.loss_sum, run.n_seen, run.val_loss, run.val_score = 0.0, 0, np.nan, np.nan
        learner.training, learner.n_batches = True, run.n_batches
        train, end = partial(self._train_batches, run), partial(self._end_train, run)
        learner._with_events(train, "train", CancelTrainException, end)
        if self.early_stopping:
            learner.training, learner.n_batches = False, 1
            validate, end = partial(self._validate, run), partial(self._end_validate, run)
            with no_grad():
                learner._with_events(validate, "validate", CancelValidateException, end)

    def _end_train(self, run: _Run) -> None:
        """Just before ``after_train``: the pass's mean loss, as the Learner logs it."""
        mean = run.loss_sum / run.n_seen if run.n_seen else np.nan
        self.learner_.epoch_log["train_loss"] = mean

    def _end_validate(self, run: _Run) -> None:
        """Just before ``after_validate``: the validation loss and score (NaN if cancelled)."""
        log = self.learner_.epoch_log
        log["valid_loss"], log[self._score_name] = run.val_loss, run.val_score

    def _end_epoch(self, run: _Run) -> None:
        """Just before ``after_epoch`` (also after ``CancelEpochException``): scikit-learn's
        records, schedule and stopping rule, for an epoch that trained at least one batch."""
        run.epoch_done = True
        self.learner_.epoch_log["lr"] = float(_solver.learning_rate(self._optimizer))
        if not run.n_seen:
            return
        self.n_iter_ += 1
        self.loss_ = run.loss_sum / run.n_seen
        self.t_ += run.n_seen
        self.loss_curve_.append(self.loss_)
        self._say(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        if self.early_stopping:
            self.validation_loss_curve_.append(run.val_loss)
            self.validation_scores_.append(run.val_score)
            self._say(f"Validation score: {run.val_score:f}")
        self._update_no_improvement_count()
        _solver.end_of_epoch(self._optimizer, self, self.t_)
        run.stop = self._on_plateau()

    def _on_plateau(self) -> bool:
        """After ``n_iter_no_change`` epochs without improvement: stop, or lower η."""
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if self.early_stopping else "Training loss"
        if self.early_stopping and self.early_stopping_monitor == "loss":
            what = "Validation loss"
        stop, action = _solver.on_plateau(self._optimizer, self)
        self._say(
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs. {action}"
        )
        if not stop:
            self._no_improvement_count = 0
        return stop

    # -- one batch ---------------------------------------------------------------------------
    def _train_batches(self, run: _Run) -> None:
        """The body of the training pass: each batch a stage."""
        learner = self.learner_
        n, bs = run.X.shape[0], run.batch_size
        fit_batch = partial(self._fit_batch, run)
        for learner.batch_index, start in enumerate(range(0, n, bs)):
            self._next_batch(run, start, min(start + bs, n))
            try:
                learner._with_events(fit_batch, "batch", CancelBatchException)
            finally:
                learner.iteration += 1

    def _next_batch(self, run: _Run, start: int, stop: int) -> None:
        """Rows ``start:stop`` of this epoch's order as ``learner_.xb``, ``yb`` and ``run.wb``:
        views of the data without shuffling, else gathered into the run's reused buffers."""
        if self.shuffle:
            index = run.order[start:stop]
            bx, by, bw = run.buffers
            x, y = take_rows(run.X, index, bx), take_rows(run.y, index, by)
            run.wb = take_rows(run.w, index, bw) if run.w is not None else None
        else:
            x, y = dense_rows(run.X, slice(start, stop)), run.y[start:stop]
            run.wb = run.w[start:stop] if run.w is not None else None
        self.learner_.xb, self.learner_.yb = (Tensor._wrap(x),), (Tensor._wrap(y),)

    def _fit_batch(self, run: _Run) -> None:
        """Forward, loss, then the backward stage (with the L2 gradient) and the step stage;
        adds the batch loss as scikit-learn reports it (with the penalty) to the epoch's."""
        learner = self.learner_
        (xb,), (yb,) = learner.xb, learner.yb
        total_weight = float(xb.shape[0] if run.wb is None else run.wb.sum())
        self._optimizer.zero_grad()
        learner.pred = self.model_(xb)
        learner._event("after_pred")
        learner.loss, value = self._batch_loss(learner.pred, yb.data, run.wb, total_weight)
        learner._event("after_loss")
        run.loss_sum += value * xb.shape[0]
        run.n_seen += xb.shape[0]
        backward = partial(self._backward, run.scratch, total_weight)
        learner._with_events(backward, "backward", CancelBackwardException)
        learner._with_events(self._step, "step", CancelStepException)

    def _backward(self, scratch: list[np.ndarray], total_weight: float) -> None:
        self.learner_.loss.backward()
        self._add_penalty_gradient(scratch, total_weight)

    def _step(self) -> None:
        if self.solver == "adam":
            _solver.adam_step(self._optimizer, self.epsilon)
        else:
            self._optimizer.step()

    def _batch_loss(
        self, z: Tensor, y: Any, w: np.ndarray | None, total_weight: float
    ) -> tuple[Tensor, float]:
        """The data loss as a graph node, and its reported value plus the L2 penalty
        α/(2·Σw)·Σ‖W‖² (scikit-learn's convention: weights only, Σw of this batch)."""
        c = sample_coefficients(w, z.shape[0], total_weight, z.dtype)
        loss, terms = self._objective.loss(z, y, c)
        value = self._objective.reported(terms, z.data, y, w, total_weight)
        return loss, value + self._penalty(total_weight)

    def _penalty(self, total_weight: float) -> float:
        if not self.alpha:
            return 0.0
        weights = [m.weight.data.ravel() for m in self._linear]
        squares = sum(float(np.dot(a, a)) for a in weights)
        return 0.5 * self.alpha * squares / total_weight

    def _add_penalty_gradient(self, scratch: list[np.ndarray], total_weight: float) -> None:
        """W.grad += α/Σw · W, into buffers allocated once per fit."""
        if not self.alpha:
            return
        c = self.alpha / float(total_weight)
        for layer, buf in zip(self._linear, scratch):
            np.multiply(layer.weight.data, c, out=buf)
            layer.weight.grad.data += buf

    # -- validation and early stopping -------------------------------------------------------
    def _validate(self, run: _Run) -> None:
        """The body of the validation pass: the validation set as one batch stage."""
        learner = self.learner_
        dense = not hasattr(run.X_val, "toarray")
        learner.batch_index = 0
        learner.xb = (Tensor._wrap(run.X_val) if dense else run.X_val,)
        learner.yb = (Tensor._wrap(run.t_val),)
        learner._with_events(partial(self._validation_batch, run), "batch", CancelBatchException)

    def _validation_batch(self, run: _Run) -> None:
        """Validation loss and score (accuracy or R²) from one forward pass."""
        learner = self.learner_
        z = self._logits(run.X_val)
        learner.pred = Tensor._wrap(z)
        learner._event("after_pred")
        total = float(z.shape[0] if run.w_val is None else run.w_val.sum())
        learner.loss, run.val_loss = self._batch_loss(learner.pred, run.t_val, run.w_val, total)
        learner._event("after_loss")
        run.val_score = self._score_logits(z, run.y_val, run.w_val)

    def _update_no_improvement_count(self) -> None:
        """scikit-learn's rule, on the validation score, the validation loss
        (``early_stopping_monitor='loss'``) or the training loss; keeps the best weights."""
        tol = self.tol
        if self.early_stopping:
            score = self.validation_scores_[-1]
            if self.early_stopping_monitor == "score":
                worse = score < self.best_validation_score_ + tol
                better = score > self.best_validation_score_
            else:
                loss = self.validation_loss_curve_[-1]
                worse = loss > self.best_validation_loss_ - tol
                better = loss < self.best_validation_loss_
                if better:
                    self.best_validation_loss_ = loss
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
        else:
            loss = self.loss_curve_[-1]
            worse, better = loss > self.best_loss_ - tol, loss < self.best_loss_
            if better:
                self.best_loss_ = loss
        self._no_improvement_count = self._no_improvement_count + 1 if worse else 0
        if better:
            for best, p in zip(self._best_params, self.model_.parameters()):
                np.copyto(best, p.data)

    def _restore_best(self) -> None:
        """Copies the best weights seen back into the network (in place)."""
        for p, best in zip(self.model_.parameters(), self._best_params):
            p.data[...] = best
