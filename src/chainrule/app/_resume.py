"""Resuming a ``chainrule train`` run: the checkpoint callback that records the run's
settings and fit time with its state, the check that ``--resume`` continues the same run,
and reading back which epoch a checkpoint file holds."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from chainrule.train import (
    Callback,
    CheckpointError,
    Learner,
    NonFiniteLossError,
    non_finite,
    open_checkpoint,
    unpack,
)

from ._files import RunError
from ._model import CHECKPOINT_NAME, ModelCard, check_architecture


class EpochCheckpoint(Callback):
    """Saves the learner to ``save_dir / checkpoint.safetensors`` at the end of every epoch
    whose training and validation losses and weights are all finite (the state Ctrl-C leaves,
    and the one ``--resume`` continues exactly); a non-finite epoch stops the fit with
    ``NonFiniteLossError`` and leaves the last good checkpoint in place. Its state, saved in
    every checkpoint, is the run's settings, its fit time so far, and whether its training
    has ended (the checkpoint saved after the fit)."""

    needs_graph = False  # reads values only

    order = 50  # after every callback that updates its state in after_epoch

    def __init__(self) -> None:
        super().__init__()
        self.settings: dict[str, Any] = {}
        self.fit_seconds = 0.0  # of the epochs in the last checkpoint, earlier sessions too
        self.finished = False
        self.last_path: Path | None = None
        self._base, self._start = 0.0, time.perf_counter()

    def before_fit(self) -> None:
        self._base, self._start = self.fit_seconds, time.perf_counter()

    def elapsed(self) -> float:
        """The run's fit time until now, earlier sessions included."""
        return self._base + time.perf_counter() - self._start

    def after_epoch(self) -> None:
        learner = self.require_learner(Learner)
        bad = non_finite(learner)
        if bad:
            raise NonFiniteLossError(f"in epoch {learner.epoch + 1}, {' and '.join(bad)}")
        self.fit_seconds = self.elapsed()
        self.last_path = learner.save(CHECKPOINT_NAME)

    def state_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "fit_seconds": self.fit_seconds,
            "finished": self.finished,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.settings, self.fit_seconds = dict(state["settings"]), float(state["fit_seconds"])
        self.finished = bool(state["finished"])


def check_resume(path: Path, card: ModelCard, settings: dict[str, Any]) -> bool:
    """Fails early (before any folder is made or locked) unless ``--resume`` names a
    checkpoint of a run with exactly these settings and this architecture; returns whether
    the run's training has ended."""
    if not path.is_file():
        raise RunError(f"checkpoint {path} does not exist")
    ckpt = open_checkpoint(path)
    state = run_state(ckpt.header, path)
    saved = state["settings"]
    changed = [
        f"{_option(k)} {_shown(saved.get(k, '(not recorded)'))} -> {_shown(settings.get(k))}"
        for k in {**saved, **settings}
        if saved.get(k, ...) != settings.get(k, ...)
    ]
    if changed:
        raise RunError(
            f"cannot resume {path}: it was trained with other settings ({'; '.join(changed)}); "
            f"give the options of the run that wrote it, or start a new run without --resume"
        )
    what = f"the MLP {'-'.join(map(str, card.sizes))} that --data and --hidden give"
    check_architecture(path, ckpt, card, what)
    done = ckpt.header["counters"]["epoch"]
    if done > settings["epochs"]:
        raise CheckpointError(
            f"{path} holds {done} epochs of a run of {settings['epochs']} epochs; it is not a "
            f"checkpoint chainrule train wrote"
        )
    return state["finished"]


def run_state(header: dict[str, Any], path: Path) -> dict[str, Any]:
    """The run's state (settings and fit time) that ``EpochCheckpoint`` saved in a checked
    checkpoint header; a ``CheckpointError`` when it is absent or malformed."""
    entry = header["callbacks"].get(EpochCheckpoint().name)
    if entry is None or entry["class"] != EpochCheckpoint.__name__:
        raise CheckpointError(
            f"{path} is a Learner checkpoint without a chainrule train run in it (no run "
            f"settings); resume it with Learner.load"
        )
    state = unpack(entry["state"], {})
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("settings"), dict)
        or not isinstance(state.get("fit_seconds"), (int, float))
        or not 0 <= state["fit_seconds"] < math.inf
        or not isinstance(state.get("finished"), bool)
    ):
        raise CheckpointError(f"{path}: the run's settings in the checkpoint are malformed")
    return state


def _option(name: str) -> str:
    if name == "data_sha256":
        return "the data's content (SHA-256)"
    return "--" + name.replace("_", "-")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(none)"
    if value is None:
        return "(default)"
    if isinstance(value, str) and len(value) == 64 and value.isalnum():
        return value[:12] + "..."
    return str(value)


def held_epochs(out: Path, resumed: Path | None) -> tuple[Path, int] | None:
    """The checkpoint of a run writing to ``out`` and the number of epochs it holds now,
    read back from the file (an interrupted save may or may not have replaced it): this
    session's, else the resumed one; None when there is none."""
    for path in [out / CHECKPOINT_NAME, *([Path(resumed)] if resumed is not None else [])]:
        try:
            return path, open_checkpoint(path).header["counters"]["epoch"]
        except (OSError, CheckpointError):
            continue
    return None
