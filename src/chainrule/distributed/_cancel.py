"""Cancel exceptions made collective: a vote of one float per kind, sent in the buffers that
``DataParallel`` reduces anyway.

A callback raising ``Cancel*Exception`` on one rank alone would end a stage there while the
other ranks wait in an allreduce that rank no longer reaches. So while a data-parallel fit
runs, the loop hands such exceptions to :class:`CancelVote` (``Loop.cancel_hook``): it keeps
the kind and lets the rank go on. The next buffer every rank reduces carries the votes (the
first allreduce of each batch, training or validation; the gradients'; the epoch's end), and
every rank then raises the same exception at the same point.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..train import (
    CANCELS,
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
)
from ._comm import allreduce_

N_VOTES = len(CANCELS) + 1  # one per kind, and the count of ranks that skipped a step alone
_SKIPPED = len(CANCELS)


class DesyncError(RuntimeError):
    """Raised on every rank at once when some ranks, not all, skipped an optimiser step: their
    weights differ from then on."""


class CancelVote:
    """The cancels this rank's callbacks raised since the last vote, and those agreed on."""

    def __init__(self, owner: Any, collective: tuple[type, ...]) -> None:
        self.owner = owner  # DataParallel: its own raises are agreed already
        self.collective = collective  # callbacks that decide alike on every rank
        self.pending = np.zeros(N_VOTES)
        self.agreed: set[type[Exception]] = set()
        self.after_gradients = False  # in a training batch, past the gradients' allreduce
        self.raised = False  # this batch's cancel was agreed on (raised on every rank)

    def hook(self, cb: Callback, exc: Exception) -> bool:
        """``Loop.cancel_hook``: True keeps ``exc`` for the next vote (the rank goes on)."""
        if cb is self.owner or isinstance(cb, self.collective):
            return False
        if self.after_gradients and isinstance(exc, (CancelBatchException, CancelStepException)):
            # Past the last collective of the batch: no rank waits for this one, so the cancel
            # runs here alone; a step skipped on some ranks only is caught at the next vote.
            return False
        if self.after_gradients and isinstance(exc, CancelBackwardException):
            warnings.warn(
                f"DataParallel: {type(exc).__name__} raised by {type(cb).__name__} after the "
                f"backward pass is ignored",
                RuntimeWarning,
                stacklevel=2,
            )
            return True
        self.vote(type(exc))
        return True

    def vote(self, kind: type[Exception]) -> None:
        self.pending[CANCELS.index(kind)] = 1.0

    def skipped_step(self) -> None:
        self.pending[_SKIPPED] = 1.0

    def fill(self, buf: np.ndarray) -> None:
        """Writes this rank's votes into the last ``N_VOTES`` entries of ``buf``."""
        buf[-N_VOTES:] = self.pending
        self.pending[:] = 0.0

    def read(self, buf: np.ndarray, world: int) -> set[type[Exception]]:
        """The kinds some rank voted for, from the reduced ``buf``; adds them to ``agreed``."""
        votes = buf[-N_VOTES:]
        if 0 < votes[_SKIPPED] < world:
            raise DesyncError(
                f"DataParallel: {int(votes[_SKIPPED])} of {world} ranks skipped the last "
                f"optimiser step (CancelStepException or CancelBatchException raised after the "
                f"gradients' allreduce on those ranks alone), so the ranks' weights differ; "
                f"raise it on every rank (decide from the reduced gradients) or before "
                f"after_backward"
            )
        kinds = {kind for kind, v in zip(CANCELS, votes) if v > 0}
        self.agreed |= kinds
        return kinds

    def raise_inner(self, kind: type[Exception]) -> None:
        """Raises ``kind`` (the backward pass's or the step's) if agreed on."""
        if kind in self.agreed:
            self.agreed.discard(kind)
            self.raised = True
            raise kind()

    def raise_agreed(self, allowed: tuple[type[Exception], ...]) -> None:
        """Raises the outermost agreed kind among ``allowed`` (outermost first), if any."""
        for kind in allowed:
            if kind in self.agreed:
                self.agreed.clear()  # the batch is over: its backward and step with it
                self.raised = True
                raise kind()


IN_TRAINING = (
    CancelFitException,
    CancelEpochException,
    CancelTrainException,
    CancelValidateException,  # outside its pass, as alone: it ends the fit with an error
    CancelBatchException,
)
IN_STEP = (*IN_TRAINING, CancelStepException)  # in a closure (optim.LBFGS)
IN_VALIDATION = (
    CancelFitException,
    CancelEpochException,
    CancelValidateException,
    CancelBatchException,
)


class StopVote(Callback):
    """The end-of-epoch vote, after every other callback's ``after_epoch``: a fit cancelled
    on any rank (early stopping, a callback of one rank) ends on all. One small allreduce per
    epoch."""

    order = 10_000

    def __init__(self, votes: CancelVote, world: int) -> None:
        super().__init__()
        self.votes, self.world = votes, world

    def after_epoch(self) -> None:
        buf = np.zeros(N_VOTES)
        self.votes.fill(buf)
        self.votes.read(allreduce_(buf), self.world)
        # the epoch is over: only a cancelled fit still has a stage to end
        stop = CancelFitException in self.votes.agreed
        self.votes.agreed.clear()
        if stop:
            raise CancelFitException()
