"""The learning-rate range test (Smith 2015; fastai's ``lr_find``): an exponential ramp of the
learning rate over a short run, the smoothed loss against it, and two suggestions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._checks import check_int
from .._random import default_generator
from ..plot import lr_finder
from ._callback import Callback
from ._events import CancelFitException, CancelValidateException
from ._progress import ProgressCallback

if TYPE_CHECKING:
    from ._learner import Learner


class LRSuggestion(NamedTuple):
    """Suggested learning rates: where the smoothed loss falls fastest (``steep``), and halfway
    along the longest valley, the longest run over which it keeps falling (``valley``, fastai's
    default rule; see :func:`valley`)."""

    steep: float
    valley: float


def _trimmed(lrs: np.ndarray, losses: np.ndarray, num_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """fastai's ``lr_find``: drops the first ``num_iter // 10`` points (the smoothing's warm-up)
    and the last five (the blow-up), then everything from the first NaN on."""
    lrs, losses = lrs[num_iter // 10 : len(lrs) - 5], losses[num_iter // 10 : len(losses) - 5]
    bad = np.flatnonzero(np.isnan(losses))
    if bad.size:
        lrs, losses = lrs[: bad[0]], losses[: bad[0]]
    return lrs, losses


def steepest(lrs: np.ndarray, losses: np.ndarray) -> int:
    """Index of the most negative slope d(loss)/d(log lr)."""
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return int(np.argmin(slopes))


def valley(losses: np.ndarray) -> int:
    """fastai's ``valley`` rule: the index halfway along the longest valley.

    The valley ends at the first point that closes a longest strictly decreasing subsequence
    of ``losses`` (length L, end e) and starts at s = e − L; the suggestion is
    s + ⌊(e − s)/3⌋ + ⌊(e − s)/6⌋, halfway down it, where the loss still falls.
    """
    n = len(losses)
    length = np.ones(n, dtype=np.int64)  # longest decreasing subsequence ending at i
    for i in range(1, n):
        higher = losses[:i] > losses[i]
        if higher.any():
            length[i] = length[:i][higher].max() + 1
    end = int(np.argmax(length))  # the first index reaching the longest
    start = end - int(length[end])
    third = (end - start) / 3
    return max(0, start + int(third) + int(third / 2))


class LRFinderCallback(Callback):
    """Raises the learning rate exponentially from ``min_lr`` to ``max_lr`` over ``num_iter``
    batches, recording the loss; stops early once the smoothed loss exceeds ``stop_factor``
    times its best or is NaN; then restores the model and the optimiser.

    Use it through ``Learner.find_learning_rate(dataloader, lr_find_callback=...)``.

    Parameters
    ----------
    min_lr, max_lr : float
        The first and last rate of the ramp (0 < min_lr < max_lr).
    num_iter : int
        Batches in the ramp (>= 2); batch k runs at min_lr·(max_lr/min_lr)^(k/(num_iter−1)).
    smooth : float
        Exponential smoothing of the loss, in [0, 1): s_k = β s_{k−1} + (1 − β) L_k,
        debiased by 1 − β^k (fastai's 0.98).
    stop_factor : float
        Stop when the smoothed loss exceeds this multiple of its best (4, as fastai).

    Attributes
    ----------
    lrs, losses, raw_losses : ndarray
        Rate, smoothed loss and batch loss of every batch run.
    """

    needs_graph = False  # reads values only

    order = -60  # before TerminateOnNaNCallback: a NaN loss ends the search, not the program

    def __init__(
        self,
        min_lr: float = 1e-7,
        max_lr: float = 10.0,
        num_iter: int = 100,
        smooth: float = 0.98,
        stop_factor: float = 4.0,
    ) -> None:
        super().__init__()
        for name, value in (("min_lr", min_lr), ("max_lr", max_lr), ("stop_factor", stop_factor)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(
                    f"LRFinderCallback: {name} must be a positive number, got {value!r}"
                )
        if not min_lr < max_lr:
            raise ValueError(
                f"LRFinderCallback: min_lr must be below max_lr, got min_lr={min_lr!r} and "
                f"max_lr={max_lr!r}"
            )
        num_iter = check_int("LRFinderCallback", "num_iter", num_iter, 2)
        if not isinstance(smooth, (int, float)) or not 0 <= smooth < 1:
            raise ValueError(f"LRFinderCallback: smooth must be in [0, 1), got {smooth!r}")
        self.min_lr, self.max_lr, self.num_iter = float(min_lr), float(max_lr), num_iter
        self.smooth, self.stop_factor = float(smooth), float(stop_factor)
        self._lrs: list[float] = []
        self._losses: list[float] = []
        self._raw: list[float] = []
        self._saved: tuple[Any, Any] | None = None
        self.stopped_by = ""

    @property
    def lrs(self) -> np.ndarray:
        return np.asarray(self._lrs)

    @property
    def losses(self) -> np.ndarray:
        return np.asarray(self._losses)

    @property
    def raw_losses(self) -> np.ndarray:
        return np.asarray(self._raw)

    def lr_at(self, k: int) -> float:
        """The rate of batch ``k`` of the ramp."""
        return self.min_lr * (self.max_lr / self.min_lr) ** (k / (self.num_iter - 1))

    def before_fit(self) -> None:
        learner = self.require_learner()
        self._saved = (learner.model.state_dict(), learner.optimizer.state_dict())
        self._lrs, self._losses, self._raw = [], [], []
        self._avg, self._best, self.stopped_by = 0.0, math.inf, ""

    def before_batch(self) -> None:
        learner = self.require_learner()
        if learner.training:
            lr = self.lr_at(len(self._lrs))
            for group in learner.optimizer.param_groups:
                group["lr"] = lr

    def after_loss(self) -> None:
        learner = self.require_learner()
        if not learner.training or learner.loss is None:
            return
        raw = learner.step.value(learner)  # under DataParallel: the global batch's
        k = len(self._lrs) + 1
        self._lrs.append(float(learner.optimizer.param_groups[0]["lr"]))
        self._raw.append(raw)
        if not math.isfinite(raw):
            self._losses.append(math.nan)
            self.stopped_by = f"a non-finite loss ({raw}) at lr {self._lrs[-1]:.3g}"
            raise CancelFitException()
        self._avg = self.smooth * self._avg + (1 - self.smooth) * raw
        smoothed = self._avg / (1 - self.smooth**k)
        self._losses.append(smoothed)
        self._best = min(self._best, smoothed)
        if smoothed > self.stop_factor * self._best:
            self.stopped_by = f"the loss exceeding {self.stop_factor:g}× its best"
            raise CancelFitException()

    def after_batch(self) -> None:
        if self.require_learner().training and len(self._lrs) >= self.num_iter:
            self.stopped_by = f"{self.num_iter} iterations"
            raise CancelFitException()

    def before_validate(self) -> None:
        raise CancelValidateException()

    def teardown(self) -> None:
        """Puts the model's weights and the optimiser's state (and rates) back."""
        if self._saved is not None and self.learner is not None:
            model_state, opt_state = self._saved
            self.learner.model.load_state_dict(model_state)
            self.learner.optimizer.load_state_dict(opt_state)
            self.learner.optimizer.zero_grad()
            self._saved = None

    def suggestion(self) -> LRSuggestion:
        """The ``steep`` and ``valley`` suggestions (see :class:`LRSuggestion`).

        Raises
        ------
        RuntimeError
            When fewer than three finite losses were recorded.
        """
        lrs, losses = _trimmed(self.lrs, self.losses, self.num_iter)
        if len(losses) < 3:
            raise RuntimeError(
                f"LRFinderCallback.suggestion: only {len(losses)} usable losses were recorded "
                f"(stopped by {self.stopped_by or 'nothing: run find_learning_rate first'}); "
                f"lower min_lr or raise num_iter"
            )
        return LRSuggestion(
            steep=float(lrs[steepest(lrs, losses)]), valley=float(lrs[valley(losses)])
        )

    def plot(self, ax: Any = None, suggest: bool = True) -> Any:
        """The smoothed loss against the rate on a log axis, with the suggestions marked
        (when ``suggest`` and enough losses were recorded); see ``chainrule.plot.lr_finder``.
        Returns the Figure."""
        marks = None
        if suggest:
            try:
                marks = self.suggestion()._asdict()
            except RuntimeError:  # too few losses to suggest a rate: the curve alone
                marks = None
        return lr_finder((self.lrs, self.losses), ax=ax, suggestions=marks)


def find_learning_rate(
    learner: Learner, dataloader: Any, n_epochs: int | None, cb: LRFinderCallback | None
) -> LRFinderCallback:
    """``Learner.find_learning_rate``: runs ``cb`` alone, then puts back the learner's
    callbacks, counters and loaders, and the generators' states."""
    cb = LRFinderCallback() if cb is None else cb
    if not isinstance(cb, LRFinderCallback):
        raise TypeError(
            f"Learner.find_learning_rate: lr_find_callback must be an LRFinderCallback, "
            f"got {type(cb).__name__}"
        )
    if n_epochs is None:
        n_epochs = max(1, -(-cb.num_iter // max(1, len(dataloader))))
    generators = [default_generator]
    if getattr(dataloader, "generator", None) is not None:
        generators.append(dataloader.generator)
    saved_rng = [g.get_state() for g in generators]
    saved = (learner.callbacks, learner.epoch, learner.iteration, learner.dataloader_train)
    saved_valid, saved_pending = learner.dataloader_valid, learner._pending_generators
    # callbacks that make the search itself collective (DataParallel) stay
    kept = [c for c in learner.callbacks if getattr(c, "runs_in_lr_finder", False)]
    learner.callbacks, learner._pending_generators = list(kept), {}
    learner._sort_callbacks()
    try:
        learner.add_callback(cb)
        if learner.show_progress:
            learner.add_callback(ProgressCallback())
        learner.fit(dataloader, n_epochs)
    finally:
        for c in learner.callbacks:
            if c not in kept:
                c.learner = None
        learner.callbacks, learner.epoch, learner.iteration, learner.dataloader_train = saved
        learner.dataloader_valid, learner._pending_generators = saved_valid, saved_pending
        learner._sort_callbacks()
        for g, state in zip(generators, saved_rng):
            g.set_state(state)
    return cb
