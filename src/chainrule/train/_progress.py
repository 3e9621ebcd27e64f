"""``ProgressCallback``: tqdm progress bars over epochs and batches."""

from __future__ import annotations

import shutil
import sys
from typing import Any

import numpy as np

from ._callback import Callback


def shows_bars(file: Any) -> bool:
    """True when ``file`` is a terminal (or a notebook, whose bars are widgets): a file or a
    pipe gets no bars, so a log holds plain lines and no carriage-return redraws."""
    from tqdm.auto import tqdm

    if tqdm.__module__ == "tqdm.notebook":
        return True
    isatty = getattr(file, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(file: Any = None, only_on_terminal: bool = True, **kwargs: Any) -> Any:
    """A tqdm bar on ``file`` (standard error by default), drawn only where ``shows_bars``
    unless ``only_on_terminal`` is False (a bar the user asked for by name).

    The size comes from the terminal, or 80 × 24 where it reports none: in a pseudo-terminal
    of size 0 (``script``, some CI runners and editors), tqdm's own reading gives −1 rows and
    draws nothing at all."""
    from tqdm.auto import tqdm

    file = sys.stderr if file is None else file
    size = shutil.get_terminal_size((80, 24))
    return tqdm(
        file=file,
        disable=only_on_terminal and not shows_bars(file),
        ncols=min(size.columns or 80, 160),
        nrows=size.lines if size.lines > 0 else 24,
        **kwargs,
    )


class ProgressCallback(Callback):
    """tqdm progress bars: one over epochs, one over the batches of each pass; drawn only on a
    terminal (or in a notebook).

    Parameters
    ----------
    file : file-like, optional
        Where the bars are written (standard error by default).
    """

    needs_graph = False  # reads values only

    order = 100

    def __init__(self, file: Any = None) -> None:
        super().__init__()
        self.file = file
        self._epochs: Any = None
        self._batches: Any = None

    def _bar(self, **kwargs: Any) -> Any:
        return progress_bar(self.file, **kwargs)

    def before_fit(self) -> None:
        self._epochs = self._bar(total=self.require_learner().n_epochs, desc="epochs", unit="ep")

    def before_train(self) -> None:
        self._batches = self._bar(total=self.require_learner().n_batches, desc="train", leave=False)

    def before_validate(self) -> None:
        self._close_batches()
        self._batches = self._bar(total=self.require_learner().n_batches, desc="valid", leave=False)

    def after_batch(self) -> None:
        learner = self.require_learner()
        if self._batches is None:
            return
        self._batches.update(1)
        if learner.loss is not None and learner.batch_index % 10 == 0:
            self._batches.set_postfix(
                loss=f"{float(np.mean(learner.loss.data)):.4g}", refresh=False
            )

    def after_train(self) -> None:
        self._close_batches()

    def after_validate(self) -> None:
        self._close_batches()

    def after_epoch(self) -> None:
        if self._epochs is not None:
            log = self.require_learner().epoch_log
            self._epochs.set_postfix({k: f"{v:.4g}" for k, v in log.items() if k != "epoch"})
            self._epochs.update(1)

    def _close_batches(self) -> None:
        if self._batches is not None:
            self._batches.close()
            self._batches = None

    def teardown(self) -> None:
        self._close_batches()
        if self._epochs is not None:
            self._epochs.close()
            self._epochs = None
