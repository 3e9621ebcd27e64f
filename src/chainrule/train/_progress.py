"""``ProgressCallback``: tqdm progress bars over epochs and batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._callback import Callback


class ProgressCallback(Callback):
    """tqdm progress bars: one over epochs, one over the batches of each pass.

    Parameters
    ----------
    file : file-like, optional
        Where the bars are written (standard error by default).
    """

    order = 100

    def __init__(self, file: Any = None) -> None:
        super().__init__()
        self.file = file
        self._epochs: Any = None
        self._batches: Any = None

    def _bar(self, **kwargs: Any) -> Any:
        from tqdm.auto import tqdm

        return tqdm(file=self.file, dynamic_ncols=True, **kwargs)

    def before_fit(self) -> None:
        self._epochs = self._bar(total=self._require_learner().n_epochs, desc="epochs", unit="ep")

    def before_train(self) -> None:
        self._batches = self._bar(
            total=self._require_learner().n_batches, desc="train", leave=False
        )

    def before_validate(self) -> None:
        self._close_batches()
        self._batches = self._bar(
            total=self._require_learner().n_batches, desc="valid", leave=False
        )

    def after_batch(self) -> None:
        learner = self._require_learner()
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
            log = self._require_learner().epoch_log
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
