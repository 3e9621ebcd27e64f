"""A ``chainrule train`` run: data, model and ``Learner`` from the options, the optional
learning-rate search, the fit with per-epoch lines and checkpoints, and Ctrl-C handling."""

from __future__ import annotations

import shlex
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import chainrule as cr
from chainrule.data import ArrayDataset, DataLoader
from chainrule.optim.lr_scheduler import LRScheduler
from chainrule.train import (
    Callback,
    CheckpointError,
    EarlyStoppingCallback,
    EveryBatchSchedulerCallback,
    Learner,
    LRFinderCallback,
    MetricsCallback,
    NonFiniteLossError,
    TelemetryCallback,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainLossCallback,
    TrainParametersCallback,
)

from ._data import Split, Table, content_hash, data_name, load_table, split
from ._files import RunError, RunFolder, open_run_folder, unique_dir
from ._model import (
    CHECKPOINT_NAME,
    LOSSES,
    RUN_FILES,
    ModelCard,
    make_loss,
    make_optimizer,
    make_schedule,
    targets_for,
)
from ._options import DEFAULT_LR, Options
from ._parallel import data_parallel, is_primary, scratch_folder
from ._resume import EpochCheckpoint, check_resume, held_epochs

TELEMETRY_RECORDS = 60  # about this many recorded iterations per telemetry callback
RUNS_DIR = Path("chainrule-runs")
Say = Callable[[str], object]  # where a run's lines go: print, or a test's collector
C = TypeVar("C", bound=Callback)


def task_metric(task: str) -> str:
    """The metric a run is validated and judged by: accuracy, or R² for a regression."""
    return "accuracy" if task == "classification" else "r2"


class Interrupted(Exception):
    """Ctrl-C during the fit, after the checkpoint was saved; the message says where."""


@dataclass
class Run:
    """Everything a run made, for the summary, ``metrics.json`` and the report."""

    options: Options
    table: Table
    parts: Split
    card: ModelCard
    learner: Learner
    losses: TrainLossCallback
    telemetry: dict[str, TelemetryCallback]  # activations, gradients, parameters
    saver: EpochCheckpoint
    out: Path
    finder: LRFinderCallback | None = None
    schedule: LRScheduler | None = None
    resumed_at: int | None = None
    best_epoch: int | None = None  # the epoch whose weights early stopping restored
    fit_seconds: float = 0.0
    checkpoint: Path | None = None
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    folder: RunFolder | None = None
    finished: bool = False  # --resume of a run that is complete: nothing to do

    @property
    def lr(self) -> float:
        """The run's (peak) learning rate, read from its one home, the optimiser's
        ``param_groups``: a one-cycle schedule's ``max_lr``, another schedule's
        ``initial_lr``, else ``lr`` (the default, ``--lr``, or the finder's suggestion)."""
        group = self.learner.optimizer.param_groups[0]
        return float(group.get("max_lr", group.get("initial_lr", group["lr"])))

    @property
    def metric(self) -> str:
        return task_metric(self.table.task)

    @property
    def metric_history(self) -> dict[str, list[float]]:
        """The validation metrics per epoch (the learner's ``MetricsCallback``)."""
        found = attached(self.learner, MetricsCallback)
        return {} if found is None else found.history

    def close(self) -> None:
        """Releases the output folder's lock."""
        if self.folder is not None:
            self.folder.release()


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


def _open_folder(options: Options) -> RunFolder:
    """The locked output folder: ``--out``, the resumed checkpoint's own folder, or a new one
    under ``chainrule-runs``. A folder holding files is refused unless it is the resumed run's
    own or ``--overwrite`` is given (then the files of the run it held are removed)."""
    if not is_primary():  # under mpiexec, rank 0 alone writes the run's folder
        return scratch_folder()
    own = Path(options.resume).parent if options.resume is not None else None
    if options.out is not None:
        path = Path(options.out)
    elif own is not None:
        path = own
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = unique_dir(RUNS_DIR / f"{data_name(options.data)}-{stamp}")
    reuse = own is not None and path.resolve() == own.resolve()
    folder = open_run_folder(path, reuse, options.overwrite)
    if options.overwrite and not reuse:
        for name in RUN_FILES:
            (folder.path / name).unlink(missing_ok=True)
    return folder


def prepare(options: Options) -> Run:
    """Loads and splits the data, checks ``--resume`` against the architecture, makes the
    output folder, and builds the model and the learner (nothing is trained yet)."""
    table = load_table(options.data, options.reading(), options.seed)
    settings = options.settings(content_hash(options.data, table))  # before split takes X
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
    ended = options.resume is not None and check_resume(Path(options.resume), card, settings)
    folder = _open_folder(options)
    try:
        cr.manual_seed(options.seed)
        lr = options.lr if options.lr is not None else DEFAULT_LR[options.optimizer]
        learner, kept = _learner(options, card, folder.path, lr, len(parts.train[0]))
        kept.saver.settings = settings
    except BaseException:
        folder.release()
        raise
    run = Run(options, table, parts, card, learner, *kept, folder.path, folder=folder)
    run.finished = ended and (folder.path / "metrics.json").is_file()
    return run


class Recorders(NamedTuple):
    """The callbacks that record a run: its losses, its activations, gradients and parameters
    every few iterations, and its checkpoint after every epoch."""

    losses: TrainLossCallback
    telemetry: dict[str, TelemetryCallback]
    saver: EpochCheckpoint


def _learner(
    options: Options, card: ModelCard, out: Path, lr: float, n_train: int
) -> tuple[Learner, Recorders]:
    model = card.build(options.seed)
    optimizer = make_optimizer(options.optimizer, model.parameters(), lr, options.weight_decay)
    n_iter = options.epochs * -(-n_train // options.batch_size)
    every = max(1, n_iter // TELEMETRY_RECORDS)
    telemetry: dict[str, TelemetryCallback] = {
        "activations": TrainActivationsCallback(every_n=every),
        "gradients": TrainGradientsCallback(every_n=every),
        "parameters": TrainParametersCallback(every_n=every),
    }
    kept = Recorders(TrainLossCallback(), telemetry, EpochCheckpoint())
    metric = task_metric(card.task)
    lines = EpochLines(options.epochs, metric)
    callbacks: list[Callback] = [kept.losses, *telemetry.values(), lines, kept.saver]
    if options.patience is not None:
        callbacks.append(EarlyStop(patience=options.patience))
    callbacks += data_parallel(primary_only=(EpochLines,))
    learner = Learner(
        model, optimizer, make_loss(card.loss), callbacks=callbacks, save_dir=out, metrics=[metric]
    )
    return learner, kept


def attached(learner: Learner, kind: type[C]) -> C | None:
    """The learner's callback of class ``kind``, typed as one, or None."""
    found = learner.get_callback(kind)
    return found if isinstance(found, kind) else None


def _resume(run: Run, path: Path, say: Say) -> None:
    """Loads the checkpoint (with the schedule attached, so its state comes back too)."""
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


def loaders(run: Run) -> tuple[DataLoader, DataLoader]:
    """The shuffled training loader (its own seeded generator) and the validation loader."""

    def dataset(part: str) -> ArrayDataset:
        X, y = run.parts.scaled(part)
        return ArrayDataset(X, targets_for(run.card.loss, y))

    bs = run.options.batch_size
    train = DataLoader(
        dataset("train"), batch_size=bs, shuffle=True, generator=cr.Generator(run.options.seed)
    )
    return train, DataLoader(dataset("valid"), batch_size=1024)


def fit(run: Run, say: Say = print) -> None:
    """The LR search when asked, the schedule, and the fit; Ctrl-C raises ``Interrupted``
    naming the epoch the checkpoint holds."""
    learner, options = run.learner, run.options
    saver = run.saver
    run.checkpoint = Path(options.resume) if options.resume is not None else None
    try:
        dl_train, dl_valid = loaders(run)
        if options.lr_find and options.resume is None:
            _find_lr(run, dl_train, say)
        total = options.epochs * len(dl_train)
        run.schedule = make_schedule(options.schedule, learner.optimizer, total)
        if run.schedule is not None:
            learner.add_callback(EveryBatchSchedulerCallback(run.schedule))
        if options.resume is not None:
            _resume(run, Path(options.resume), say)
        else:
            run.checkpoint = learner.save(CHECKPOINT_NAME)  # what Ctrl-C in epoch 1 leaves
        run.card.save(run.out)
        # a run whose training ended (all epochs, or early stopping) trains no further
        remaining = 0 if saver.finished else max(0, options.epochs - learner.epoch)
        learner.fit(dl_train, remaining, dataloader_valid=dl_valid)
        run.fit_seconds = saver.fit_seconds = saver.elapsed()
        _say_early_stop(run, say)
        saver.finished = True
        run.checkpoint = learner.save(CHECKPOINT_NAME)
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(run)) from None
    except NonFiniteLossError as err:
        reason = str(err).removeprefix("TerminateOnNaNCallback: ")
        reason = reason.replace("learner.find_learning_rate", "--lr-find")
        raise RunError(f"training diverged: {reason}; {_holding(run)}") from err


def _say_early_stop(run: Run, say: Say) -> None:
    stopper = attached(run.learner, EarlyStop)
    if stopper is None or stopper.stopped_epoch is None or stopper.best_epoch is None:
        return
    run.best_epoch = stopper.best_epoch
    say(
        f"early stopping: the validation loss did not improve for {stopper.patience} "
        f"epochs after epoch {stopper.best_epoch + 1}; stopped after epoch "
        f"{stopper.stopped_epoch + 1} and restored the weights of epoch "
        f"{stopper.best_epoch + 1}"
    )


def _find_lr(run: Run, dl_train: DataLoader, say: Say) -> None:
    """The LR range test; its valley suggestion becomes the rate unless ``--lr`` was given."""
    finder = LRFinderCallback()  # fastai's lr_find: 1e-7 to 10 over 100 batches
    run.finder = run.learner.find_learning_rate(dl_train, lr_find_callback=finder)
    try:
        suggested = finder.suggestion().valley
    except RuntimeError as err:
        raise RunError(f"--lr-find found no usable rate: {err}") from err
    if run.options.lr is None:
        for group in run.learner.optimizer.param_groups:
            group["lr"] = float(suggested)
        say(f"learning-rate finder: valley at {suggested:.3g}, used as the rate")
    else:
        say(f"learning-rate finder: valley at {suggested:.3g}; using --lr {run.lr:g} as given")


def _held(run: Run) -> int | None:
    """The epochs the run's checkpoint holds (``run.checkpoint`` set to it), or None."""
    found = held_epochs(run.out, run.options.resume)
    if found is None:
        return None
    run.checkpoint, done = found
    return done


def _holding(run: Run) -> str:
    done = _held(run)
    if done is None:
        return "no checkpoint was written"
    return f"the last good checkpoint is {run.checkpoint} (the run after epoch {done})"


def _interrupted(run: Run) -> str:
    done = _held(run)
    if done is None:
        return "interrupted before the first checkpoint was written; nothing to resume"
    argv = ["chainrule", *_without_resume(run.options.command), "--resume", str(run.checkpoint)]
    resume = " ".join(shlex.quote(a) for a in argv)
    return (
        f"interrupted during epoch {min(done + 1, run.options.epochs)} of {run.options.epochs}: "
        f"the checkpoint {run.checkpoint} holds the run after epoch {done}; continue with: "
        f"{resume}"
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

    needs_graph = False  # reads values only

    order = 90  # after the metrics and the loss history, before the progress bars

    def __init__(self, n_epochs: int, metric: str) -> None:
        super().__init__()
        self.n_epochs, self.metric = n_epochs, metric
        self._start = time.perf_counter()

    def before_epoch(self) -> None:
        self._start = time.perf_counter()

    def after_epoch(self) -> None:
        from tqdm.auto import tqdm

        log = self.require_learner().epoch_log
        line = (
            f"epoch {log['epoch'] + 1:3d}/{self.n_epochs}  train loss "
            f"{log.get('train_loss', float('nan')):.4f}  valid loss "
            f"{log.get('valid_loss', float('nan')):.4f}  valid {self.metric} "
            f"{log.get(self.metric, float('nan')):.4f}  lr {log.get('lr', float('nan')):.2e}  "
            f"({duration(time.perf_counter() - self._start)})"
        )
        tqdm.write(line, file=sys.stdout)


def duration(seconds: float) -> str:
    """'0.42 s' reads as nothing happened; below a second, milliseconds."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


class EarlyStop(EarlyStoppingCallback):
    """``--patience N``: early stopping on the validation loss, restoring the best epoch's
    weights; it runs after the epoch's line and checkpoint, so the last epoch is shown and
    saved before the fit stops."""

    order = 95
