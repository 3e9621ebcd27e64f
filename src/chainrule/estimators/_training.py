"""The estimators' stochastic training loop: one method per fit, epoch and batch.

It reproduces scikit-learn's ``_fit_stochastic`` step for step (the same shuffling draws, the
same batches, the same loss bookkeeping, early stopping and learning-rate schedules), on
chainrule's engine: each batch is a forward pass through ``model_``, a loss node, ``backward()``
and an optimiser step.

The loop announces fastai's training events (``before_fit``, ``before_epoch``,
``before_train``, ``before_batch``, ``after_pred``, ``after_loss``, ``before_backward``,
``after_backward``, ``before_step``, ``after_step``, ``after_batch``, ``after_train``,
``before_validate``, ``after_validate``, ``after_epoch``, ``after_fit``) through ``_emit``, with
the batch in flight on a ``_Run`` under the Learner's names (``xb``, ``yb``, ``pred``, ``loss``,
``epoch``, ``iteration``, ``batch_index``, ``n_batches``, ``n_epochs``, ``training``), so that
``chainrule.train``'s callbacks can be run from these points. Validation is one batch (one
forward pass over the validation set) with its own ``before_batch`` ... ``after_batch``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .._tensor import Tensor, no_grad
from . import _solver
from ._objectives import sample_coefficients
from ._validation import dense_rows

EVENTS = (
    "before_fit",
    "before_epoch",
    "before_train",
    "before_batch",
    "after_pred",
    "after_loss",
    "before_backward",
    "after_backward",
    "before_step",
    "after_step",
    "after_batch",
    "after_train",
    "before_validate",
    "after_validate",
    "after_epoch",
    "after_fit",
)
"""The events ``_emit`` announces, in the order of one epoch (validation only with
``early_stopping``)."""


@dataclass
class _Run:
    """One call to fit or partial_fit: the split data and the batch in flight."""

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
    epoch: int = 0
    iteration: int = 0
    batch_index: int = 0
    n_batches: int = 0
    n_epochs: int = 0
    training: bool = True
    xb: Any = None
    yb: Any = None
    pred: Tensor | None = None
    loss: Tensor | None = None


class TrainingLoop:
    """Mixin of the MLP estimators: ``_train`` → ``_fit_epoch`` → ``_fit_batch``."""

    def _emit(self, event: str) -> None:
        """Announces a training event (see ``EVENTS``). Nothing listens yet: this is where
        ``chainrule.train``'s callbacks are to be run from once estimators accept them."""

    # -- one fit ---------------------------------------------------------------------------
    def _start_run(self, X: Any, Y: np.ndarray, w: np.ndarray | None, incremental: bool) -> _Run:
        """Splits off the validation set (early stopping), converts the targets to what the
        objective takes, sets the batch size and allocates the L2 gradient buffers."""
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
        """Epochs until convergence, ``max_iter`` or Ctrl-C (which keeps the best weights)."""
        self.n_iter_ = 0
        bar = self._progress_bar(incremental)
        self.model_.train()
        self._emit("before_fit")
        try:
            for _ in range(self.max_iter):
                stop = self._fit_epoch(run)
                if bar is not None:
                    self._show_progress(bar)
                if stop or incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
            self._restore_best()
        finally:
            if bar is not None:
                bar.close()
            self.model_.eval()
        if self.early_stopping:
            self._restore_best()
        self._emit("after_fit")

    def _progress_bar(self, incremental: bool) -> Any:
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        total = 1 if incremental else self.max_iter
        return tqdm(total=total, desc=type(self).__name__, unit="epoch")

    def _show_progress(self, bar: Any) -> None:
        """One more epoch on the bar, with the loss (and the validation score and loss)."""
        shown = {"loss": f"{self.loss_:.6g}"}
        if self.early_stopping:
            shown["val_score"] = f"{self.validation_scores_[-1]:.4g}"
            shown["val_loss"] = f"{self.validation_loss_curve_[-1]:.6g}"
        bar.set_postfix(shown, refresh=False)
        bar.update(1)

    def _say(self, message: str) -> None:
        if self.verbose:
            from tqdm.auto import tqdm

            tqdm.write(message)

    # -- one epoch ---------------------------------------------------------------------------
    def _fit_epoch(self, run: _Run) -> bool:
        """One pass over the training data; returns whether training should stop."""
        self._emit("before_epoch")
        n, bs = run.X.shape[0], run.batch_size
        if self.shuffle:  # scikit-learn's utils.shuffle, draw for draw: shuffle the indices
            perm = np.arange(n)
            self._random_state.shuffle(perm)
            run.order = run.order[perm]
        run.training = True
        self._emit("before_train")
        total = 0.0
        for run.batch_index, start in enumerate(range(0, n, bs)):
            index = run.order[start : start + bs] if self.shuffle else slice(start, start + bs)
            total += self._fit_batch(run, index) * (min(start + bs, n) - start)
        self._emit("after_train")
        self.n_iter_ += 1
        self.loss_ = total / n
        self.t_ += n
        self.loss_curve_.append(self.loss_)
        if self.early_stopping:
            self._validate(run)
        self._update_no_improvement_count()
        _solver.end_of_epoch(self._optimizer, self, self.t_)
        stop = self._on_plateau()
        run.epoch += 1
        self._emit("after_epoch")
        return stop

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
    def _fit_batch(self, run: _Run, index: Any) -> float:
        """Forward, loss, backward, L2 gradient and step on one batch; returns the batch loss
        as scikit-learn reports it (with the penalty)."""
        run.xb, run.yb = dense_rows(run.X, index), run.y[index]
        wb = run.w[index] if run.w is not None else None
        total_weight = float(run.xb.shape[0] if wb is None else wb.sum())
        self._emit("before_batch")
        run.pred = self.model_(Tensor._wrap(run.xb))
        self._emit("after_pred")
        run.loss, value = self._batch_loss(run.pred, run.yb, wb, total_weight)
        self._emit("after_loss")
        self._optimizer.zero_grad()
        self._emit("before_backward")
        run.loss.backward()
        self._add_penalty_gradient(run.scratch, total_weight)
        self._emit("after_backward")
        self._emit("before_step")
        if self.solver == "adam":
            _solver.adam_step(self._optimizer, self.epsilon)
        else:
            self._optimizer.step()
        self._emit("after_step")
        run.iteration += 1
        self._emit("after_batch")
        return value

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
        """Validation score (accuracy or R²) and loss, from one forward pass."""
        run.training = False
        self._emit("before_validate")
        run.batch_index, run.xb, run.yb = 0, run.X_val, run.t_val
        self._emit("before_batch")
        z = self._logits(run.X_val)
        run.pred = Tensor._wrap(z)
        self._emit("after_pred")
        total = float(z.shape[0] if run.w_val is None else run.w_val.sum())
        with no_grad():
            run.loss, loss = self._batch_loss(run.pred, run.t_val, run.w_val, total)
        self._emit("after_loss")
        self._emit("after_batch")
        self.validation_loss_curve_.append(loss)
        self.validation_scores_.append(self._score_logits(z, run.y_val, run.w_val))
        self._emit("after_validate")

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
