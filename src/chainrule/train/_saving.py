"""Callbacks that write to disk: periodic and best checkpoints, and a CSV log of the epochs."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._checks import check_int
from ._callback import Callback
from ._checkpoint import non_finite
from ._learner import Learner
from ._monitor import monitored_value, resolve_mode


class CheckpointCallback(Callback):
    """Saves the learner every ``every_n_epochs`` epochs, keeping the last ``keep_last`` files,
    and ``best.safetensors`` whenever ``save_best_on`` improves.

    Files go to ``directory`` (default: the learner's ``save_dir``) as
    ``epoch_0003.safetensors`` (three epochs done). An epoch whose training or validation loss
    or a weight is not finite is not saved (a warning says why), so the files stay good. Each
    is written to a temporary file and renamed into place, so an interrupted run never leaves
    a half-written checkpoint. When another callback stops the
    fit in ``after_epoch`` (early stopping), the finished epoch is still saved.

    Parameters
    ----------
    every_n_epochs : int
        Save after every n-th epoch (>= 1).
    keep_last : int or None
        How many periodic checkpoints to keep (older ones this callback wrote are deleted);
        None keeps all.
    save_best_on : str, optional
        A key of ``learner.epoch_log`` (``"valid_loss"``, a metric) to keep ``best.safetensors`` on.
    mode : {"auto", "min", "max"}
        Whether lower or higher ``save_best_on`` is better.
    directory : str or Path, optional

    Attributes
    ----------
    last_path : Path or None
        The last periodic checkpoint written.
    """

    needs_graph = False  # reads values only

    order = 30

    def __init__(
        self,
        every_n_epochs: int = 1,
        keep_last: int | None = 3,
        save_best_on: str | None = None,
        mode: Literal["auto", "min", "max"] = "auto",
        directory: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.every_n_epochs = check_int("CheckpointCallback", "every_n_epochs", every_n_epochs, 1)
        self.keep_last = (
            None
            if keep_last is None
            else check_int("CheckpointCallback", "keep_last", keep_last, 1)
        )
        self.save_best_on = save_best_on
        self.mode = resolve_mode("CheckpointCallback", save_best_on or "loss", mode)
        self.directory = None if directory is None else Path(directory)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved: list[str] = []
        self.last_path: Path | None = None
        self._saved_epoch: int | None = None
        self._start_epoch = 0

    def _dir(self) -> Path:
        learner = self.require_learner()
        directory = self.directory or learner.save_dir
        if directory is None:
            raise ValueError(
                "CheckpointCallback: no folder to write to; give Learner(save_dir=...) or "
                "CheckpointCallback(directory=...)"
            )
        return Path(directory)

    def before_fit(self) -> None:
        self._dir().mkdir(parents=True, exist_ok=True)
        self._saved_epoch, self._start_epoch = None, self.require_learner().epoch

    def after_epoch(self) -> None:
        learner = self.require_learner(Learner)
        done = learner.epoch + 1
        bad = non_finite(learner)
        if bad:
            warnings.warn(
                f"CheckpointCallback: epoch {done} is not saved: {' and '.join(bad)}",
                stacklevel=2,
            )
            return
        if self.save_best_on is not None:
            value = monitored_value("CheckpointCallback", learner, self.save_best_on)
            better = value < self.best if self.mode == "min" else value > self.best
            if not math.isnan(value) and better:
                self.best = value
                learner.save(self._dir() / "best.safetensors")
        if done % self.every_n_epochs == 0:
            self._save_periodic(done)

    def after_cancel_fit(self) -> None:
        # a callback that runs before this one stopped the fit in after_epoch: the epoch
        # finished (the loop has counted it), so save it as after_epoch would have
        done = self.require_learner().epoch
        if (
            done > self._start_epoch
            and self._saved_epoch != done
            and done % self.every_n_epochs == 0
        ):
            self._save_periodic(done)

    def _save_periodic(self, done: int) -> None:
        learner = self.require_learner(Learner)
        path = learner.save(self._dir() / f"epoch_{done:04d}.safetensors")
        self._saved_epoch, self.last_path = done, path
        if str(path) in self.saved:
            self.saved.remove(str(path))
        self.saved.append(str(path))
        while self.keep_last is not None and len(self.saved) > self.keep_last:
            Path(self.saved.pop(0)).unlink(missing_ok=True)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "saved": list(self.saved)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not {"best", "saved"} <= set(state):
            raise ValueError("CheckpointCallback: checkpoint state lacks 'best' or 'saved'")
        self.best, self.saved = float(state["best"]), [str(s) for s in state["saved"]]


class CSVLogger(Callback):
    """Appends one row per epoch (``learner.epoch_log``) to a CSV file.

    Parameters
    ----------
    path : str or Path
        The file; a bare file name goes into the learner's ``save_dir`` when it has one.
    append : bool
        Keep existing rows (resuming a run) instead of starting a new file at the first fit.
    """

    needs_graph = False  # reads values only

    order = 15

    def __init__(self, path: str | Path = "history.csv", append: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.append = bool(append)
        self.columns: list[str] | None = None

    def _file(self) -> Path:
        learner = self.require_learner()
        if learner.save_dir is not None and self.path.parent == Path("."):
            return learner.save_dir / self.path
        return self.path

    def before_fit(self) -> None:
        path = self._file()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.append and self.columns is None:
            path.unlink(missing_ok=True)
        if path.exists() and path.stat().st_size:
            with path.open(newline="") as f:
                self.columns = next(csv.reader(f), None)
        self.append = True  # later fits of this learner continue the file

    def after_epoch(self) -> None:
        log = self.require_learner().epoch_log
        path = self._file()
        new = self.columns is None
        columns = self.columns = list(log) if self.columns is None else self.columns
        extra = [k for k in log if k not in columns]
        if extra:
            raise ValueError(
                f"CSVLogger: epoch values {extra} are not columns of {path} ({columns})"
            )
        with path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(columns)
            writer.writerow([_cell(log.get(k)) for k in columns])


def _cell(value: Any) -> str:
    """A CSV cell: empty for a missing value, full precision for floats."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)
