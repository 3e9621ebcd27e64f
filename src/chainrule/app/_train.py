"""``chainrule train`` from options to files: the run, the side-by-side summary on the
terminal, ``metrics.json``, and ``report.html``."""

from __future__ import annotations

import contextlib
import gc
import importlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule import __version__
from chainrule._blas import largest_product, threads_for
from chainrule.report import METRIC_LABELS, Boundary, RunRecord, figures, render

from ._evaluate import baseline, compare_sklearn, diagnostics, evaluate, graph_svg
from ._files import write_atomic, write_json
from ._model import CARD_NAME, CHECKPOINT_NAME, scores
from ._parallel import agree, announce, describe, is_primary, parallel_summary, whole_job
from ._run import Interrupted, Options, Run, Say, duration, fit, prepare


def train(options: Options, say: Say = print) -> Run:
    """Trains, compares with scikit-learn, and writes the report, the metrics and the
    checkpoint with its model card into the run's folder. Returns the run.

    Under ``mpiexec -n N`` every rank trains its shards of each batch; rank 0 alone prints
    and writes the folder; an error on any rank ends the job."""
    with whole_job():
        return _train(options, say)


class Stopwatch:
    """The wall time of a run and of each of its phases, for the last line: where the time
    went. A phase timed twice adds up."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - begin

    def summary(self) -> str:
        """``done in 1.9 s (importing scikit-learn 780 ms, data 90 ms, ...)``."""
        total = time.perf_counter() - self.start
        parts = ", ".join(f"{name} {duration(seconds)}" for name, seconds in self.phases.items())
        return f"done in {total:.1f} s ({parts})" if parts else f"done in {total:.1f} s"


# the parts of scikit-learn a run uses: its preprocessing and splitting, the MLP it is compared
# with, the baselines and the metrics (each module imports the others it needs); one missing
# here is still imported where it is used, only after the freeze
SKLEARN_MODULES = (
    "sklearn.compose",
    "sklearn.dummy",
    "sklearn.impute",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.neural_network",
    "sklearn.pipeline",
    "sklearn.preprocessing",
)


def import_frozen(modules: tuple[str, ...]) -> bool:
    """Imports ``modules`` with the garbage collector paused, then freezes every object that
    exists by then (``gc.freeze``), so that the collections of the run do not go over them;
    returns whether it froze (the caller then calls ``gc.unfreeze`` when it is done).

    scikit-learn brings SciPy and pandas, about 130,000 objects that never become
    garbage, and every full collection went over them all: three in a default run, two of
    them during the import, 0.1-0.15 s together. Where the caller froze objects or paused the
    collector itself, the collector is left as it is."""
    ours = gc.isenabled() and not gc.get_freeze_count()
    if ours:
        gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
        if ours:
            gc.freeze()
    finally:
        if ours:
            gc.enable()
    return ours


def blas_threads(run: Run) -> contextlib.AbstractContextManager[None]:
    """BLAS on one thread while a small network trains, is evaluated and is compared
    (``chainrule._blas``: its largest product, on the most rows any of these multiplies at
    once, is small); a larger one keeps BLAS's own threads."""
    parts = run.parts
    rows = max(run.options.batch_size, 200, *(len(p[0]) for p in (parts.valid, parts.test)))
    sizes = run.card.sizes
    return threads_for(largest_product(zip(sizes[:-1], sizes[1:]), rows))  # 200: sklearn's batch


def _train(options: Options, say: Say) -> Run:
    clock = Stopwatch()
    if not is_primary():
        say = _silent
    with clock.phase("importing scikit-learn"):
        froze = import_frozen(SKLEARN_MODULES)
    try:
        return _phases(options, say, clock)
    finally:
        if froze:
            gc.unfreeze()


def _phases(options: Options, say: Say, clock: Stopwatch) -> Run:
    """The run after the imports: data, training, evaluation, comparison and report."""
    with clock.phase("data"):
        run = prepare(options)
    try:
        if agree(run.finished):
            say(
                f"the run in {run.out} has finished already, its training and its report "
                f"(see {run.out / 'report.html'}); nothing was changed"
            )
            return run
        _introduce(run, say)
        with blas_threads(run):
            _fit_and_finish(run, say, clock)
    finally:
        run.close()
    say(clock.summary())
    return run


def _fit_and_finish(run: Run, say: Say, clock: Stopwatch) -> None:
    """Trains, then (rank 0) evaluates, compares and writes the report."""
    with clock.phase("training"):
        fit(run, say)
    if is_primary():
        try:
            _finish(run, say, clock)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted after training, while evaluating and writing the report: the "
                f"checkpoint {run.checkpoint} holds the finished training; the same command "
                f"with --resume {run.checkpoint} writes the report without training"
            ) from None


def _silent(line: str) -> None:
    """The lines of ranks other than 0: rank 0 says them."""


def _finish(run: Run, say: Say, clock: Stopwatch) -> None:
    """Evaluates, compares with scikit-learn, and writes the report and the metrics."""
    for note in run.notes:
        say(f"note: {note}")
    with clock.phase("evaluation"):
        evaluate(run)
    with clock.phase("scikit-learn comparison"):
        compare_sklearn(run)
    with clock.phase("evaluation"):
        baseline(run)
        diagnostics(run)
        svg = graph_svg(run)
    with clock.phase("report"):
        _write(run, svg, say)


def _write(run: Run, svg: str, say: Say) -> None:
    """Writes the report and the metrics, and says what the run found."""
    files = {
        "report": run.out / "report.html",
        "metrics": run.out / "metrics.json",
        "checkpoint": run.out / CHECKPOINT_NAME,
        "model card": run.out / CARD_NAME,
    }
    done = record(run)
    page = render(done, figures(done), svg, {k: str(v) for k, v in files.items()})
    write_atomic(files["report"], page)
    write_json(files["metrics"], metrics(run, {k: str(v) for k, v in files.items()}))
    _summarise(run, say)
    say(f"report: {files['report']}")
    say(f"wrote {files['metrics']}, {files['checkpoint']} and {files['model card']}")


def _introduce(run: Run, say: Say) -> None:
    t, card, o, parts = run.table, run.card, run.options, run.parts
    kind = f"{len(t.classes)} classes" if t.task == "classification" else f"target {t.target}"
    say(
        f"chainrule train{announce(o.batch_size)}: {o.data} ({t.task}, {kind}), "
        f"{len(parts.train[1])} train / "
        f"{len(parts.valid[1])} validation / {len(parts.test[1])} test rows, "
        f"{len(card.features)} feature columns, {card.n_features} network inputs"
    )
    for note in t.notes:
        say(note)
    n_params = sum(p.size for p in run.learner.model.parameters())
    say(
        f"model: {card.describe()}, {n_params:,} parameters; {card.loss} loss, {o.optimizer} "
        f"lr {run.lr:.3g}, {o.schedule} schedule, batch {o.batch_size}, {o.epochs} epochs, "
        f"seed {o.seed}"
    )
    say(f"output: {run.out}")


def _summarise(run: Run, say: Say) -> None:
    ours, theirs, base = run.results["test"], run.results["sklearn"], run.results["baseline"]
    say(
        f"test set ({len(run.parts.test[1])} rows)   {'chainrule':>12s}  {'scikit-learn':>12s}"
        f"  {'baseline':>12s}"
    )
    for key, label in METRIC_LABELS.items():
        if key in ours and key in theirs:
            say(f"  {label:20s} {ours[key]:12.4f}  {theirs[key]:12.4f}  {base[key]:12.4f}")
    say(f"  {'fit time (s)':20s} {run.fit_seconds:12.2f}  {theirs['fit_seconds']:12.2f}")
    say(
        "  (chainrule's fit time includes its activation, gradient and parameter telemetry, "
        "and a validation pass and a checkpoint after every epoch; scikit-learn's has none)"
    )
    say(f"  (baseline: always predicting {base['name']})")
    for note in theirs["notes"]:
        if "failed" in note:
            say(f"note: {note}")
    found = run.results["findings"]
    if not found:
        say("diagnostics: no problems found")
    for f in found:
        say(f"diagnostics: [{f.severity}] {f.name}: {f.evidence}")
        say(f"    advice: {f.advice}")


def record(run: Run) -> RunRecord:
    """The finished run as the report shows it."""
    card, o, parts, prep = run.card, run.options, run.parts, run.parts.preprocessing
    return RunRecord(
        data=o.data,
        command=list(o.command),
        task=card.task,
        target=card.target,
        classes=list(card.classes),
        features=list(card.features),
        n_inputs=card.n_features,
        architecture=card.describe(),
        loss=card.loss,
        metric=run.metric,
        split={k: len(getattr(parts, k)[1]) for k in ("train", "valid", "test")},
        optimizer=o.optimizer,
        lr=run.lr,
        lr_from_finder=run.finder is not None and o.lr is None,
        schedule=o.schedule,
        epochs=o.epochs,
        batch_size=o.batch_size,
        seed=o.seed,
        dropout=o.dropout,
        patience=o.patience,
        learner=run.learner,
        losses=run.losses,
        telemetry=run.telemetry,
        metric_history=run.metric_history,
        results=run.results,
        fit_seconds=run.fit_seconds,
        reading_notes=list(run.table.notes),
        columns=prep.treatments(),
        dropped=list(run.table.dropped),
        finder=run.finder,
        best_epoch=run.best_epoch,
        resumed_from=o.resume,
        resumed_at=run.resumed_at,
        boundary=_boundary(run),
        data_parallel=describe(summary) if (summary := parallel_summary(run.learner)) else None,
    )


def _boundary(run: Run) -> Boundary | None:
    """Every row of a classification of two numeric features, standardised one for one, in
    the data's own units (the standardisation undone), for the decision-boundary figure."""
    prep, parts = run.parts.preprocessing, run.parts
    if run.card.task != "classification" or run.card.n_features != 2 or not prep.plain:
        return None
    model = run.learner.model
    X = np.concatenate([p[0] for p in (parts.train, parts.valid, parts.test)])
    y = np.concatenate([p[1] for p in (parts.train, parts.valid, parts.test)])
    return Boundary(
        lambda points: scores(model, prep.transform(points)),
        X.astype(np.float64) * prep.scale + prep.mean,
        y,
    )


def _epochs(run: Run) -> list[dict[str, float]]:
    loss = run.losses.history
    history = run.metric_history
    rows = []
    for i, epoch in enumerate(loss["epochs"]["epoch"]):
        end = int(loss["epochs"]["end_iteration"][i])
        rows.append(
            {
                "epoch": int(epoch) + 1,
                "train_loss": float(loss["epochs"]["train_loss"][i]),
                "valid_loss": float(loss["epochs"]["valid_loss"][i]),
                f"valid_{run.metric}": float(history[run.metric][i]),
                "lr": float(loss["lr"][end - 1]) if end else float("nan"),
            }
        )
    return rows


def metrics(run: Run, files: dict[str, str]) -> dict[str, Any]:
    """Everything measured, as plain JSON data."""
    o, card = run.options, run.card
    finder = None
    if run.finder is not None:
        s = run.finder.suggestion()
        finder = {"steep": s.steep, "valley": s.valley, "stopped_by": run.finder.stopped_by}
    sklearn = dict(run.results["sklearn"])
    return {
        "chainrule_version": __version__,
        "command": ["chainrule", *o.command],
        "data": o.data,
        "task": card.task,
        "classes": card.classes,
        "split": {k: len(getattr(run.parts, k)[1]) for k in ("train", "valid", "test")},
        "reading": {
            "notes": run.table.notes,
            "columns": dict(run.parts.preprocessing.treatments()),
            "dropped": dict(run.table.dropped),
        },
        "settings": {
            "hidden": card.hidden,
            "activation": o.activation,
            "loss": card.loss,
            "optimizer": o.optimizer,
            "lr": run.lr,
            "schedule": o.schedule,
            "weight_decay": run.learner.optimizer.param_groups[0].get("weight_decay", 0.0),
            "dropout": o.dropout,
            "patience": o.patience,
            "epochs": o.epochs,
            "batch_size": o.batch_size,
            "seed": o.seed,
            "resumed_after_epoch": run.resumed_at,
        },
        "epochs": _epochs(run),
        "best_epoch": None if run.best_epoch is None else run.best_epoch + 1,
        "lr_finder": finder,
        "test": {
            "chainrule": {**run.results["test"], "fit_seconds": run.fit_seconds},
            "scikit-learn": sklearn,
            "baseline": run.results["baseline"],
        },
        "diagnostics": [
            {"name": f.name, "severity": f.severity, "evidence": f.evidence, "advice": f.advice}
            for f in run.results["findings"]
        ],
        "data_parallel": parallel_summary(run.learner),
        "files": files,
    }
