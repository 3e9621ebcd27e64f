"""``DataParallel``: a ``Learner`` callback that trains over MPI ranks exactly as one process.

Every rank builds the same learner and the same data loaders and runs the same script. Each
global batch the loader yields is cut into one shard per rank (``shard_sizes``: uneven shards
are fine). With a loss that is a mean over the batch, the single-process gradient is

    g = (1/N) Σ_i ∇ℓ_i = (1/N) Σ_r n_r · ḡ_r,       N = Σ_r n_r,

where ḡ_r is rank r's mean gradient over its n_r rows. So each rank multiplies its gradients
by n_r, one allreduce sums them together with n_r in a single float64 buffer, and every rank
divides by N: the average is exact for uneven shards (averaging the ḡ_r would not be).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._random import set_shard_rows
from .._tensor import Tensor
from ..nn import BatchNorm1d, Module
from ..train import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelFitException,
    CancelStepException,
    CheckpointCallback,
    CSVLogger,
    Learner,
    Loop,
    LossStep,
    LRFinderCallback,
    NonFiniteLossError,
    ProgressCallback,
    TerminateOnNaNCallback,
    WritesCheckpoints,
    apply_pending_generators,
    checkpoint_bytes,
)
from ._cancel import IN_STEP, IN_TRAINING, IN_VALIDATION, N_VOTES, CancelVote, DesyncError, StopVote
from ._comm import (
    abort,
    allgather_rows,
    allreduce_,
    broadcast_bytes,
    init,
    local_size,
    pack_gradients,
    rank,
    set_gradients,
    shard_sizes,
    world_size,
)
from ._shards import ReducedLossStep, _array, _cpu_count, _rows, _rows_of

_WRITERS = (CheckpointCallback, CSVLogger, ProgressCallback)


class _CollectiveError(NonFiniteLossError):
    """A NaN guard's error raised on every rank at the same step (no abort needed)."""


def check_batch_independent(model: Module) -> None:
    """Raises unless every row's output depends on that row alone: a layer that normalises by
    the batch's statistics (``BatchNorm1d`` in training) would see each rank's shard instead of
    the global batch, and the run could not equal one process's."""
    for name, module in model.named_modules():
        if isinstance(module, BatchNorm1d):
            raise ValueError(
                f"DataParallel: the model's BatchNorm1d ({name or 'the model'!r}) normalises "
                f"each rank's shard by the shard's own mean and variance, so a data-parallel "
                f"run cannot equal one process's; use nn.LayerNorm, or train on one process"
            )


class DataParallel(Callback):
    """Data-parallel training over the ranks of ``mpiexec``, equal to the single-process run.

    On each fit it

    - broadcasts rank 0's learner state (weights, optimiser and callbacks' state, counters,
      random generators) as the bytes of a checkpoint file (safetensors + JSON, never pickle);
    - hands each rank its shard of every global batch (training and validation; outside a
      fit, ``Learner.validate`` and ``predict`` run whole on each rank);
    - sums ``n_r``-weighted gradients and the sample count in one float64 allreduce per step
      and divides by the global count;
    - reduces each step's loss before the NaN guard, so a non-finite loss on any rank stops
      every rank at the same step (``NonFiniteLossError`` on each);
    - gathers validation predictions and targets, so the validation loss and metrics, and the
      decisions made from them (early stopping, plateau schedules, best checkpoints), are the
      same on every rank;
    - makes cancel exceptions collective: one raised by a callback on some ranks only is
      kept, the rank goes on, and every rank raises it at the next buffer they all reduce,
      where it votes with one float per kind (see Notes);
    - detaches checkpoint, CSV and progress callbacks on ranks other than 0 (only rank 0
      writes);
    - aborts the whole job (``MPI.COMM_WORLD.Abort``) when a rank raises any other exception,
      after printing that rank's traceback, so no rank hangs;
    - limits BLAS threads to the machine's cores divided among its ranks (threadpoolctl).

    Alone (no ``mpiexec``) it changes nothing: one shard, no communication.

    Parameters
    ----------
    split_threads : bool
        Limit BLAS threads per rank to ``max(1, cpu_count // ranks_on_this_machine)``.
    primary_only : tuple of Callback classes
        Callbacks that run on rank 0 only, besides checkpoints, CSV logs and progress bars
        (printing callbacks, say).

    Attributes
    ----------
    rank, world_size : int
    shard_sizes : list of int
        The shard sizes of the first training batch of the last epoch, rank by rank.
    allreduce_seconds, compute_seconds : float
        Wall time of this rank's gradient allreduces, and of its whole training batches
        (allreduces included), summed over the fits; :meth:`report` gives the difference.
    n_steps : int
        Training steps reduced.

    Notes
    -----
    The loss must be a mean over the batch (PyTorch's default ``reduction="mean"``). Each
    global batch needs at least one row per rank. Optimisers that need a closure
    (``optim.LBFGS``) get the whole batch's loss and gradients from it.

    A ``Cancel*Exception`` raised by a callback (other than the LR finder, which decides from
    the global loss on every rank alike) takes effect on every rank at the next vote: the
    batch's first allreduce (``after_loss``, training and validation), the gradients'
    (``after_backward``) or the epoch's end. Raised before the vote of its batch it ends
    the same stage as alone; raised later in the batch, it ends its stage at the next vote
    (that of the next batch or epoch). ``CancelBackwardException`` agreed on at the
    gradients' allreduce drops the batch's gradients on every rank. Past the gradients'
    allreduce (``before_step`` to ``after_batch``) a ``CancelBatchException`` or
    ``CancelStepException`` runs on its rank alone. With an optimiser that needs a closure
    (``optim.LBFGS``) a rank that skipped the step alone joins the others' first allreduce in
    the closure with its vote, and every rank skips the step. With any other optimiser no rank
    waits for it: if some ranks, not all, skipped the step, the next vote raises
    :class:`DesyncError` on every rank; raise a step's cancel on every rank (from the reduced
    gradients), or before the gradients' allreduce. What callbacks read of a
    training batch before the step is this rank's shard: the per-batch loss that
    ``TrainLossCallback`` records and the activations of telemetry (the epoch's
    ``train_loss`` and the gradients after ``after_backward`` are the whole batch's). Dropout
    masks are keyed by the row's index in the global batch: each rank draws the global batch's
    mask from the (broadcast) generator and keeps its rows, as one process would draw them.
    """

    order = -100  # before the NaN guard (-50) and the metrics (-10)
    runs_in_lr_finder = True  # the finder's curve is the global batches' on every rank

    def __init__(
        self, split_threads: bool = True, primary_only: tuple[type[Callback], ...] = ()
    ) -> None:
        super().__init__()
        self.split_threads = bool(split_threads)
        self.primary_only = (*_WRITERS, WritesCheckpoints, *primary_only)
        self.rank, self.world_size = 0, 1
        self.shard_sizes: list[int] = []
        self.allreduce_seconds = self.compute_seconds = 0.0
        self.n_steps = 0
        self._limits: Any = None
        self._detached: list[Callback] = []
        self._vote: StopVote | None = None
        self._cancels = CancelVote(self, (LRFinderCallback, StopVote))
        self._stepped = self._nan_guard = False
        self.batch_loss = math.nan  # the global batch's mean training loss
        self._loss = np.zeros(2)
        self._batch_start = 0.0
        self._active = False  # in a fit: Learner.validate and predict outside one stay local
        self._own_step: LossStep | None = None

    def _setup(self) -> Learner:
        learner = self.require_learner(Learner)
        init()
        self.rank, self.world_size = rank(), world_size()
        return learner

    # -- fit ------------------------------------------------------------------------------------
    def before_fit(self) -> None:
        learner = self._setup()
        if self.world_size > 1:
            check_batch_independent(learner.model)
        if self.world_size > 1 and type(learner.step) is LossStep:
            # optimisers that need a closure (LBFGS) re-evaluate the batch without events
            self._own_step = learner.step
            learner.step = ReducedLossStep(learner.step.loss_func, self)
        if self.split_threads and self.world_size > 1:
            from threadpoolctl import threadpool_limits  # optional: only under mpiexec

            self._limits = threadpool_limits(max(1, (_cpu_count()) // local_size()))
        self._broadcast_state(learner)
        if self.rank != 0:
            self._detached = [cb for cb in learner.callbacks if isinstance(cb, self.primary_only)]
            for cb in self._detached:
                learner.remove_callback(cb)
        self._cancels = CancelVote(self, (LRFinderCallback, StopVote))
        self._nan_guard = learner.get_callback(TerminateOnNaNCallback) is not None
        if self.world_size > 1:
            self._vote = StopVote(self._cancels, self.world_size)
            learner.add_callback(self._vote)
            learner.cancel_hook = self._cancels.hook
        self._active = True

    def _broadcast_state(self, learner: Learner) -> None:
        """Every rank takes rank 0's state, sent as a checkpoint file's bytes."""
        if self.world_size == 1:
            return
        data = broadcast_bytes(checkpoint_bytes(learner) if self.rank == 0 else None)
        if self.rank == 0:
            return
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "rank0.safetensors"
            path.write_bytes(data)
            with warnings.catch_warnings():  # "saved during before_fit": the fit is starting
                warnings.simplefilter("ignore", UserWarning)
                learner.load(path)
        apply_pending_generators(learner)

    def teardown(self) -> None:
        error = sys.exc_info()[1]  # the exception ending the fit, if any
        learner = self.learner
        if learner is not None:
            if self._vote is not None and self._vote in learner.callbacks:
                learner.remove_callback(self._vote)
            for cb in self._detached:
                learner.add_callback(cb)
            learner.cancel_hook = None
        if learner is not None and self._own_step is not None:
            learner.step = self._own_step
        self._vote, self._detached, self._active, self._own_step = None, [], False, None
        set_shard_rows(None)
        if self._limits is not None:
            self._limits.restore_original_limits()
            self._limits = None
        if (
            error is not None
            and self.world_size > 1
            and not isinstance(error, (_CollectiveError, DesyncError, CancelFitException))
        ):
            abort(error)  # the other ranks would wait for this one forever

    # -- batches --------------------------------------------------------------------------------
    def before_batch(self) -> None:
        learner = self.learner
        if learner is None or not self._active:
            return
        if learner.training:
            self._batch_start = time.perf_counter()
        self._cancels.after_gradients = self._cancels.raised = self._stepped = False
        if self.world_size == 1:
            return
        n = _rows(learner.xb[0])
        sizes = shard_sizes(n, self.world_size)
        if sizes[-1] == 0:
            raise ValueError(
                f"DataParallel: a batch of {n} rows cannot give each of {self.world_size} "
                f"ranks a row; use a batch_size of at least {self.world_size} and drop_last=True "
                f"if the last batch is smaller"
            )
        start = sum(sizes[: self.rank])
        stop = start + sizes[self.rank]
        if learner.training:  # dropout masks: those of the global batch's rows
            set_shard_rows((start, stop, n))
        learner.xb = tuple(_rows_of(t, start, stop) for t in learner.xb)
        learner.yb = tuple(_rows_of(t, start, stop) for t in learner.yb)
        if learner.training and learner.batch_index == 0:
            self.shard_sizes = sizes

    def after_loss(self) -> None:
        learner = self.learner
        if learner is None or learner.loss is None or not self._active:
            return
        n = _rows(learner.pred)
        local_mean = float(np.mean(learner.loss.data))
        if learner.training:
            buf = self._reduce_votes(np.array([local_mean * n, n]))
            self._cancels.raise_agreed(IN_TRAINING)
            self._loss += buf[:2]
            self.batch_loss = float(buf[0] / buf[1])
            if not math.isfinite(buf[0]) and self._nan_guard:
                raise _CollectiveError(
                    f"DataParallel: the training loss is {buf[0] / buf[1]} at iteration "
                    f"{learner.iteration} (epoch {learner.epoch}, batch "
                    f"{learner.batch_index + 1} of {learner.n_batches}) on at least one of "
                    f"{self.world_size} ranks; every rank stopped at this step"
                )
        elif self.world_size > 1:
            self._gather_validation(learner, local_mean, n)

    def _gather_validation(self, learner: Loop, local_mean: float, n: int) -> None:
        """The whole batch's predictions, targets and mean loss on every rank, so that the
        loop's loss sum and the metrics see the global batch."""
        buf = self._reduce_votes(np.array([local_mean * n, n]))
        self._cancels.raise_agreed(IN_VALIDATION)
        self._cancels.agreed.clear()  # a training pass's, backward's or step's: over
        counts = shard_sizes(int(buf[1]), self.world_size)
        learner.pred = Tensor(allgather_rows(_array(learner.pred), counts))
        learner.yb = tuple(Tensor(allgather_rows(_array(t), counts)) for t in learner.yb)
        learner.loss = Tensor(np.asarray(buf[0] / buf[1]))

    def after_backward(self) -> None:
        """Gradients ← (Σ_r n_r · ḡ_r) / Σ_r n_r, in one float64 allreduce."""
        learner = self.learner
        if learner is None or self.world_size == 1 or not self._active:
            return
        self.reduce(learner, float(_rows(learner.pred)), votes=True)
        self.n_steps += 1
        self._cancels.after_gradients = True
        if CancelBackwardException in self._cancels.agreed:  # as if no backward had run
            self._cancels.agreed.discard(CancelBackwardException)
            learner.optimizer.zero_grad()
        self._cancels.raise_agreed(IN_TRAINING)

    def _reduce_votes(self, head: np.ndarray) -> np.ndarray:
        """``head`` summed over ranks, with every rank's cancel votes read from the sum."""
        buf = np.zeros(len(head) + N_VOTES)
        buf[: len(head)] = head
        self._cancels.fill(buf)
        allreduce_(buf)
        self._cancels.read(buf, self.world_size)
        return buf

    def before_backward(self) -> None:
        self._cancels.raise_inner(CancelBackwardException)

    def before_step(self) -> None:
        self._cancels.raise_inner(CancelStepException)

    def raise_in_step(self) -> None:
        """After an allreduce in the step's closure: the cancels agreed on."""
        self._cancels.raise_agreed(IN_STEP)

    def after_step(self) -> None:
        self._stepped = True

    def reduce(self, learner: Loop, n: float, loss: float = 0.0, votes: bool = False) -> float:
        """Replaces each parameter's gradient, this rank's mean over its ``n`` rows, by the
        mean over all ranks' rows, and returns the global mean of ``loss`` (a mean over the
        same rows): one allreduce of ``[n·grads..., n·loss, n]`` (and the cancel votes after them
        when ``votes``)."""
        params = [p for g in learner.optimizer.param_groups for p in g["params"]]
        extra = N_VOTES if votes else 0
        buf = pack_gradients(params, scale=n, tail=2 + extra)
        end = len(buf) - extra
        buf[end - 2 : end] = loss * n, n
        if votes:
            self._cancels.fill(buf)
        start = time.perf_counter()
        allreduce_(buf)
        self.allreduce_seconds += time.perf_counter() - start
        if votes:
            self._cancels.read(buf, self.world_size)
        if not buf[end - 1]:  # every rank skipped the step and joined (see _skipped)
            return 0.0
        buf[: end - 1] /= buf[end - 1]
        set_gradients(params, buf)
        return float(buf[end - 2])

    def after_cancel_step(self) -> None:
        self._skipped(CancelStepException)

    def after_cancel_batch(self) -> None:
        if self._cancels.after_gradients and not self._stepped:
            self._skipped(CancelBatchException)

    def _skipped(self, kind: type[Exception]) -> None:
        """This rank skipped the step. With an optimiser that needs a closure, the ranks that
        did not are waiting in its first allreduce: this rank joins it with its vote, and
        they raise ``kind`` from the closure (before any update)."""
        learner = self.learner
        if (
            not self._cancels.raised  # agreed on: every rank skipped it
            and learner is not None
            and self.world_size > 1
            and getattr(learner.optimizer, "needs_closure", False)
        ):
            self._cancels.vote(kind)
            for p in (p for g in learner.optimizer.param_groups for p in g["params"]):
                p.grad = None  # this rank adds no rows
            self.reduce(learner, 0.0, votes=True)
            self._cancels.agreed.clear()
        self._cancels.skipped_step()

    def after_batch(self) -> None:
        set_shard_rows(None)
        learner = self.learner
        if learner is not None and learner.training and self._batch_start:
            self.compute_seconds += time.perf_counter() - self._batch_start
            self._batch_start = 0.0

    def before_train(self) -> None:
        self._loss = np.zeros(2)

    def after_train(self) -> None:
        """The epoch's training loss over all ranks' rows (each rank's own is partial)."""
        learner = self.learner
        if learner is not None and self._active and self.world_size > 1 and self._loss[1]:
            learner.epoch_log["train_loss"] = float(self._loss[0] / self._loss[1])

    def report(self) -> dict[str, Any]:
        """What a run report says of the parallel training: ranks, shard sizes, time in
        communication and in the rest of the training steps (this rank's)."""
        return {
            "world_size": self.world_size,
            "shard_sizes": list(self.shard_sizes),
            "n_steps": self.n_steps,
            "allreduce_seconds": self.allreduce_seconds,
            "compute_seconds": self.compute_seconds - self.allreduce_seconds,
        }
