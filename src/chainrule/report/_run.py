"""A ``chainrule train`` run: data, model and ``Learner`` from the options, the optional
learning-rate search, the fit with per-epoch lines and checkpoints, and Ctrl-C handling."""

from __future__ import annotations

import copy
import shlex
import sys
import time
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from chainrule.train import Callback, EarlyStoppingCallback

from ._data import Reading, Split, Table, data_name, load_table, split
from ._files import RunError, prepare_out_dir, unique_dir
from ._model import (
    CHECKPOINT_NAME,
    LOSSES,
    ModelCard,
    make_loss,
    make_optimizer,
    make_schedule,
    targets_for,
)

DEFAULT_LR = {"adam": 1e-2, "adamw": 1e-2, "sgd": 0.05, "rmsprop": 1e-3}
TELEMETRY_RECORDS = 60  # about this many recorded iterations per telemetry callback
RUNS_DIR = Path("chainrule-runs")


@dataclass
class Options(Reading):
    """The options of ``chainrule train`` (see ``chainrule train --help``): how a table file is
    read (``Reading``'s fields), and the model and its training."""

    data: str = "digits"
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "relu"
    loss: str | None = None
    optimizer: str = "adam"
    lr: float | None = None
    lr_find: bool = False
    epochs: int = 20
    batch_size: int = 32
    schedule: str = "one-cycle"
    weight_decay: float | None = None  # None: the optimiser's own default
    dropout: float = 0.0
    patience: int | None = None
    seed: int = 0
    out: Path | None = None
    resume: Path | None = None
    command: list[str] = field(default_factory=list)

    def reading(self) -> Reading:
        """How a table file is read (``--target``, ``--task`` and the column options)."""
        return Reading(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(Reading)})


class Interrupted(Exception):
    """Ctrl-C during the fit, after the checkpoint was saved; the message says where."""


@dataclass
class Run:
    """Everything a run made, for the summary, ``metrics.json`` and the report."""

    options: Options
    table: Table
    parts: Split
    card: ModelCard
    learner: Any
    telemetry: dict[str, Any]
    out: Path
    lr: float
    finder: Any = None
    schedule: Any = None
    resumed_at: int | None = None
    best_epoch: int | None = None  # the epoch whose weights early stopping restored
    fit_seconds: float = 0.0
    checkpoint: Path | None = None
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        return "accuracy" if self.table.task == "classification" else "r2"


def _loss_name(options: Options, table: Table) -> str:
    allowed = LOSSES[table.task]
    name = options.loss or allowed[0]
    if name not in allowed:
        other = next(task for task, losses in LOSSES.items() if name in losses)
        how = "was asked with --task" if options.task != "auto" else "was read by --task auto"
        raise RunError(
            f"--loss {name} fits a {other} task, but {table.name} {how} as a {table.task} "
            f"task; give --task {other} to train it as a {other}, or use --loss "
            f"{' or '.join(allowed)}"
        )
    if name == "bce" and len(table.classes) != 2:
        raise RunError(f"--loss bce needs two classes, {table.name} has {len(table.classes)}")
    return name


def _out_dir(options: Options) -> Path:
    if options.out is not None:
        return prepare_out_dir(options.out)
    if options.resume is not None:
        return prepare_out_dir(Path(options.resume).parent)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return prepare_out_dir(unique_dir(RUNS_DIR / f"{data_name(options.data)}-{stamp}"))


def prepare(options: Options) -> Run:
    """Loads and splits the data, checks ``--resume`` against the architecture, makes the
    output folder, and builds the model and the learner (nothing is trained yet)."""
    import chainrule as cr

    table = load_table(options.data, options.reading(), options.seed)
    loss = _loss_name(options, table)
    parts = split(table, options.seed, options.impute, options.max_categories)
    n_out = len(table.classes) if loss == "cross-entropy" else 1
    card = ModelCard(
        table.task,
        parts.preprocessing.n_outputs,
        list(options.hidden),
        options.activation,
        n_out,
        loss,
        list(table.features),
        parts.preprocessing,
        table.target,
        list(table.classes),
        options.data,
        list(options.command),
        options.dropout,
    )
    if options.resume is not None:
        _check_resume(Path(options.resume), card)
    out = _out_dir(options)
    cr.manual_seed(options.seed)
    lr = options.lr if options.lr is not None else DEFAULT_LR[options.optimizer]
    learner, telemetry = _learner(options, card, out, lr, len(parts.train[0]))
    return Run(options, table, parts, card, learner, telemetry, out, lr)


def _learner(
    options: Options, card: ModelCard, out: Path, lr: float, n_train: int
) -> tuple[Any, dict[str, Any]]:
    from chainrule.train import (
        Learner,
        TrainActivationsCallback,
        TrainGradientsCallback,
        TrainLossCallback,
        TrainParametersCallback,
    )

    model = card.build(options.seed)
    optimizer = make_optimizer(options.optimizer, model.parameters(), lr, options.weight_decay)
    n_iter = options.epochs * -(-n_train // options.batch_size)
    every = max(1, n_iter // TELEMETRY_RECORDS)
    telemetry = {
        "loss": TrainLossCallback(),
        "activations": TrainActivationsCallback(every_n=every),
        "gradients": TrainGradientsCallback(every_n=every),
        "parameters": TrainParametersCallback(every_n=every),
    }
    metric = "accuracy" if card.task == "classification" else "r2"
    callbacks = [*telemetry.values(), EpochLines(options.epochs, metric), EpochCheckpoint()]
    if options.patience is not None:
        callbacks.append(EarlyStop(patience=options.patience))
    learner = Learner(
        model, optimizer, make_loss(card.loss), callbacks=callbacks, save_dir=out, metrics=[metric]
    )
    return learner, telemetry


def _check_resume(path: Path, card: ModelCard) -> None:
    """Fails early (before any folder is made) when ``--resume`` names no checkpoint of this
    architecture."""
    from chainrule.train import read_checkpoint

    from ._model import check_architecture

    if not path.is_file():
        raise RunError(f"checkpoint {path} does not exist")
    what = f"the MLP {'-'.join(map(str, card.sizes))} that --data and --hidden give"
    check_architecture(path, read_checkpoint(path)[0], card.build(), what)


def _resume(run: Run, path: Path, total: int, say: Any) -> None:
    """Loads the checkpoint (with the schedule attached, so its state comes back too)."""
    from chainrule.train import CheckpointError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run.learner.load(path)
        except CheckpointError as err:
            raise RunError(
                f"cannot resume: {err}; give the options of the run that wrote it"
            ) from err
    run.notes += [str(w.message) for w in caught]
    run.resumed_at = run.learner.epoch
    say(f"resumed from {path} after epoch {run.resumed_at}")
    group = run.learner.optimizer.param_groups[0]
    run.lr = float(group.get("max_lr", group.get("initial_lr", group["lr"])))
    end = getattr(run.schedule, "total_steps", None)
    if end is not None and end < total:
        raise RunError(
            f"cannot resume: the checkpoint's one-cycle schedule ends after {end} batches, "
            f"and --epochs {run.options.epochs} with --batch-size {run.options.batch_size} "
            f"needs {total}; resume with the options of the run that wrote it"
        )


def loaders(run: Run) -> tuple[Any, Any]:
    """The shuffled training loader (its own seeded generator) and the validation loader."""
    import chainrule as cr
    from chainrule.data import ArrayDataset, DataLoader

    def dataset(part: str) -> Any:
        X, y = run.parts.scaled(part)
        return ArrayDataset(X, targets_for(run.card.loss, y))

    bs = run.options.batch_size
    train = DataLoader(
        dataset("train"), batch_size=bs, shuffle=True, generator=cr.Generator(run.options.seed)
    )
    return train, DataLoader(dataset("valid"), batch_size=1024)


def fit(run: Run, say: Any = print) -> None:
    """The LR search when asked, the schedule, and the fit; Ctrl-C raises ``Interrupted``
    after saying which checkpoint holds the run."""
    from chainrule.train import EveryBatchSchedulerCallback, NonFiniteLossError

    learner, options = run.learner, run.options
    dl_train, dl_valid = loaders(run)
    if options.lr_find and options.resume is None:
        _find_lr(run, dl_train, say)
    total = options.epochs * len(dl_train)
    run.schedule = make_schedule(options.schedule, learner.optimizer, run.lr, total)
    if run.schedule is not None:
        learner.add_callback(EveryBatchSchedulerCallback(run.schedule))
    if options.resume is not None:
        _resume(run, Path(options.resume), total, say)
    remaining = max(0, options.epochs - learner.epoch)
    if options.resume is None:
        run.checkpoint = learner.save(CHECKPOINT_NAME)  # what Ctrl-C in epoch 1 leaves
    else:
        run.checkpoint = Path(options.resume)
    run.card.save(run.out)
    saver = learner.get_callback(EpochCheckpoint)
    start = time.perf_counter()
    try:
        learner.fit(dl_train, remaining, dataloader_valid=dl_valid)
    except KeyboardInterrupt:
        run.checkpoint = saver.last_path or run.checkpoint
        raise Interrupted(_interrupted(run)) from None
    except NonFiniteLossError as err:
        last = saver.last_path or run.checkpoint
        reason = str(err).removeprefix("TerminateOnNaNCallback: ")
        reason = reason.replace("learner.find_learning_rate", "--lr-find")
        raise RunError(f"training diverged: {reason}; the last good checkpoint is {last}") from err
    finally:
        run.fit_seconds = time.perf_counter() - start
    stopper = learner.get_callback(EarlyStop)
    if stopper is not None and stopper.stopped_epoch is not None:
        run.best_epoch = stopper.best_epoch
        say(
            f"early stopping: the validation loss did not improve for {stopper.patience} "
            f"epochs after epoch {stopper.best_epoch + 1}; stopped after epoch "
            f"{stopper.stopped_epoch + 1} and restored the weights of epoch "
            f"{stopper.best_epoch + 1}"
        )
    run.checkpoint = learner.save(CHECKPOINT_NAME)


def _find_lr(run: Run, dl_train: Any, say: Any) -> None:
    """The LR range test; its valley suggestion becomes the rate unless ``--lr`` was given."""
    from chainrule.train import LRFinderCallback

    finder = LRFinderCallback()  # fastai's lr_find: 1e-7 to 10 over 100 batches
    run.finder = run.learner.find_learning_rate(dl_train, lr_find_callback=finder)
    try:
        suggested = finder.suggestion().valley
    except RuntimeError as err:
        raise RunError(f"--lr-find found no usable rate: {err}") from err
    if run.options.lr is None:
        run.lr = float(suggested)
        for group in run.learner.optimizer.param_groups:
            group["lr"] = run.lr
        say(f"learning-rate finder: valley at {suggested:.3g}, used as the rate")
    else:
        say(f"learning-rate finder: valley at {suggested:.3g}; using --lr {run.lr:g} as given")


def _interrupted(run: Run) -> str:
    learner, path = run.learner, run.checkpoint
    done = learner.epoch
    argv = ["chainrule", *_without_resume(run.options.command), "--resume", str(path)]
    resume = " ".join(shlex.quote(a) for a in argv)
    return (
        f"interrupted during epoch {done + 1} of {run.options.epochs}: the checkpoint "
        f"{path} holds the run after epoch {done}; continue with: {resume}"
    )


def _without_resume(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--resume":
            skip = True
        elif not a.startswith("--resume="):
            out.append(a)
    return out


# -- callbacks of the run ----------------------------------------------------------------------
class EpochLines(Callback):
    """Prints one line per epoch: losses, the validation metric, the rate and the time."""

    order = 90  # after the metrics and the loss history, before the progress bars

    def __init__(self, n_epochs: int, metric: str) -> None:
        super().__init__()
        self.n_epochs, self.metric = n_epochs, metric
        self._start = time.perf_counter()

    def before_epoch(self) -> None:
        self._start = time.perf_counter()

    def after_epoch(self) -> None:
        from tqdm.auto import tqdm

        log = self._require_learner().epoch_log
        line = (
            f"epoch {log['epoch'] + 1:3d}/{self.n_epochs}  train loss "
            f"{log.get('train_loss', float('nan')):.4f}  valid loss "
            f"{log.get('valid_loss', float('nan')):.4f}  valid {self.metric} "
            f"{log.get(self.metric, float('nan')):.4f}  lr {log.get('lr', float('nan')):.2e}  "
            f"({_duration(time.perf_counter() - self._start)})"
        )
        tqdm.write(line, file=sys.stdout)


def _duration(seconds: float) -> str:
    """'0.42 s' reads as nothing happened; below a second, milliseconds."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


class EarlyStop(EarlyStoppingCallback):
    """``--patience N``: early stopping on the validation loss, restoring the best epoch's
    weights; it runs after the epoch's line and checkpoint, so the last epoch is shown and
    saved before the fit stops."""

    order = 95


class EpochCheckpoint(Callback):
    """Saves the learner to ``save_dir / checkpoint.npz`` at the end of every epoch (the
    state Ctrl-C leaves, and the one ``--resume`` continues exactly)."""

    order = 50  # after every callback that updates its state in after_epoch

    def __init__(self) -> None:
        super().__init__()
        self.last_path: Path | None = None

    def after_epoch(self) -> None:
        self.last_path = self._require_learner().save(CHECKPOINT_NAME)
