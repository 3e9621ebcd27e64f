"""The ``chainrule`` command: train a network with a report, predict with it, check gradients,
run the benchmarks.

``chainrule train`` trains a multilayer perceptron with a ``Learner`` on a bundled or file data
set, prints its progress, compares it with scikit-learn's MLP on the same split, and writes a
self-contained HTML report, ``metrics.json`` and a checkpoint. ``chainrule predict`` applies a
trained run to a CSV file. ``chainrule gradcheck`` checks every primitive's rules;
``chainrule bench`` runs the benchmarks next to PyTorch and scikit-learn. Errors a user can fix
are one line on standard error with exit status 2 (``--debug`` shows the traceback); Ctrl-C
during training exits with 130.
"""

from __future__ import annotations

import argparse
import functools
import sys
import traceback
from pathlib import Path
from typing import Any

TRAIN_EPILOG = """data sets: digits, iris, breast-cancer, wine, diabetes (regression), blobs,
moons (2-D, with a decision boundary), mnist:PATH (IDX folder or .npz), csv:PATH or
parquet:PATH (a table with a header row; the target column is --target COL, default 'target').
Numeric columns are imputed (median) and standardised; text, true/false and --categorical
columns are one-hot encoded (--max-categories per column, rarer ones grouped). {rules} Writes
DIR/report.html, DIR/metrics.json, DIR/checkpoint.safetensors and DIR/model.json."""


def train(args: argparse.Namespace) -> int:
    """Trains, compares with scikit-learn and writes the run's folder; 0 on success."""
    from chainrule.app import Options
    from chainrule.app import train as run_train

    options = Options(
        data=args.data,
        target=args.target,
        task=args.task,
        categorical=list(args.categorical),
        drop=list(args.drop),
        impute=args.impute,
        drop_missing_target=args.drop_missing_target,
        max_categories=args.max_categories,
        hidden=list(args.hidden),
        activation=args.activation,
        loss=args.loss,
        optimizer=args.optimizer,
        lr=args.lr,
        lr_find=args.lr_find,
        epochs=args.epochs,
        batch_size=args.batch_size,
        schedule=args.schedule,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        patience=args.patience,
        seed=args.seed,
        out=args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        command=list(args.argv),
    )
    run_train(options)
    return 0


def predict(args: argparse.Namespace) -> int:
    """Writes the predictions of a trained run on a CSV file; 0 on success."""
    from chainrule.app import predict as run_predict

    run_predict(args.model, args.data, args.out)
    return 0


def export(args: argparse.Namespace) -> int:
    """Writes a trained run as an ONNX file; 0 on success."""
    from chainrule.app import export as run_export

    run_export(args.model, args.out, args.dtype)
    return 0


def gradcheck(args: argparse.Namespace) -> int:
    """Checks every registered primitive (or those named) and prints a table; 1 on failure."""
    from chainrule.testing import run_gradcheck

    try:
        rows = run_gradcheck(args.op or None, use_torch=not args.no_torch)
    except ValueError as e:
        print(f"chainrule {e}", file=sys.stderr)
        return 2
    width = max(len(r.op) for r in rows)
    print(f"{'op':{width}s}  cases  finite differences (fwd+rev, float64)  PyTorch (float32+64)")
    for r in rows:
        print(f"{r.op:{width}s}  {r.cases:5d}  {r.finite_differences:37s}  {r.torch}")
    failed = [r.op for r in rows if not r.ok]
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {text}")
    return value


def _path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty one")
    return Path(text)


def _debug_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (exit status 2)"
    )


def _model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", type=_path, required=True, metavar="RUN", help="a run folder or its checkpoint"
    )


def _add_train(sub: argparse._SubParsersAction) -> None:
    from chainrule.app import (
        ACTIVATIONS,
        IMPUTE,
        LOSSES,
        OPTIMIZERS,
        SCHEDULES,
        TASK_RULES,
        TASKS,
    )

    p = sub.add_parser(
        "train",
        help="train an MLP with a report, next to scikit-learn",
        description="Train an MLP with a Learner and write an HTML report, metrics.json "
        "and a checkpoint.",
        epilog=TRAIN_EPILOG.format(rules=" ".join(TASK_RULES.split())),
        allow_abbrev=False,  # the resume hint rebuilds the command line from full names
    )
    p.add_argument("--data", default="digits", metavar="DATA", help="data set (default: digits)")
    p.add_argument("--target", metavar="COL", help="target column of a table file")
    p.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="classification or regression; auto decides from the target column (see below)",
    )
    p.add_argument(
        "--categorical",
        nargs="+",
        default=[],
        metavar="COL",
        help="treat these numeric-looking columns as categories",
    )
    p.add_argument("--drop", nargs="+", default=[], metavar="COL", help="leave these columns out")
    p.add_argument(
        "--impute",
        choices=IMPUTE,
        default="median",
        help="fill a missing numeric cell with the training rows' median or mean; none makes "
        "a missing cell an error (default: median; categories use the most frequent one)",
    )
    p.add_argument(
        "--drop-missing-target",
        action="store_true",
        help="drop rows whose target is missing or not a finite number, instead of stopping",
    )
    p.add_argument(
        "--max-categories",
        type=_positive_int,
        default=50,
        metavar="N",
        help="one-hot columns per categorical column; rarer categories share one (default: 50)",
    )
    p.add_argument(
        "--hidden",
        type=_positive_int,
        nargs="+",
        default=[64, 64],
        metavar="N",
        help="hidden layer sizes (default: 64 64)",
    )
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="default: relu")
    losses = [name for names in LOSSES.values() for name in names]
    p.add_argument(
        "--loss", choices=losses, help="default: cross-entropy (classes) or mse (regression)"
    )
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default: adam")
    p.add_argument(
        "--lr",
        type=_positive_float,
        help="(peak) learning rate (default: 0.01 for adam and adamw, 0.05 for sgd, 1e-3 "
        "for rmsprop)",
    )
    p.add_argument(
        "--lr-find",
        action="store_true",
        help="run the learning-rate finder first and use its suggestion unless --lr is given",
    )
    p.add_argument("--epochs", type=_positive_int, default=20, help="default: 20")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="one-cycle",
        help="stepped after every batch (default: one-cycle)",
    )
    p.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        metavar="W",
        help="weight decay (L2 for adam, sgd and rmsprop; decoupled for adamw) (default: the "
        "optimizer's own, 0.01 for adamw, else 0)",
    )
    p.add_argument(
        "--dropout",
        type=_probability,
        default=0.0,
        metavar="P",
        help="dropout probability after each hidden layer while training (default: 0)",
    )
    p.add_argument(
        "--patience",
        type=_positive_int,
        metavar="N",
        help="stop when the validation loss has not improved for N epochs, and keep the best "
        "epoch's weights (default: no early stopping)",
    )
    p.add_argument("--seed", type=int, default=0, help="data split, initialisation, shuffling")
    p.add_argument(
        "--out",
        type=_path,
        metavar="DIR",
        help="output folder (default: chainrule-runs/<data>-<time>; with --resume, the "
        "checkpoint's folder)",
    )
    p.add_argument(
        "--resume",
        type=_path,
        metavar="CHECKPOINT",
        help="continue a run from its checkpoint.safetensors (give the same options)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="train into an --out folder that holds files, replacing the run in it",
    )
    _debug_option(p)
    p.set_defaults(func=train)


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="predict the rows of a table file with a trained run",
        description="Predict the rows of a CSV or Parquet file with the model of a chainrule "
        "train run (its checkpoint.safetensors and model.json), with the preprocessing fitted in "
        "training.",
    )
    _model_option(p)
    p.add_argument(
        "--data",
        required=True,
        metavar="csv:PATH",
        help="rows with the model's feature columns (csv:PATH or parquet:PATH)",
    )
    p.add_argument("--out", type=_path, required=True, metavar="PRED.csv", help="predictions")
    _debug_option(p)
    p.set_defaults(func=predict)


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a trained run as an ONNX file, its preprocessing included",
        description="Write the model of a chainrule train run as one ONNX graph with the "
        "preprocessing fitted in training. Its inputs are 'numeric' (floats, NaN where a cell "
        "is missing) and 'categorical' (strings, empty where a cell is missing), in the order "
        "of model.json's columns; its outputs are 'label' and 'probabilities', or 'output'.",
    )
    _model_option(p)
    p.add_argument("--out", type=_path, required=True, metavar="MODEL.onnx", help="the ONNX file")
    p.add_argument(
        "--dtype", choices=("float32", "float64"), default="float32", help="default: float32"
    )
    _debug_option(p)
    p.set_defaults(func=export)


DESCRIPTION = (
    "Train a network on a bundled data set or your own table and write a report (train), "
    "predict new rows with a trained run (predict), export a run to ONNX (export), check every "
    "primitive's derivative rules (gradcheck), or run the benchmarks (bench). Each command has "
    "its own --help."
)


def build_parser() -> argparse.ArgumentParser:
    from chainrule import __version__

    from ._argparse import ArgumentParser

    parser = ArgumentParser(prog="chainrule", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    _add_predict(sub)
    _add_export(sub)
    g = sub.add_parser(
        "gradcheck",
        help="check every primitive's rules against finite differences and PyTorch",
        description="Check every registered primitive's reverse and forward rules (or those "
        "named with --op) against finite differences in float64, and against PyTorch in float32 "
        "and float64 when it is installed; print one row per primitive. The exit status is 1 "
        "when a check fails.",
    )
    g.add_argument("--op", nargs="+", metavar="NAME", help="only these ops")
    g.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    g.set_defaults(func=gradcheck)
    sub.add_parser(
        "bench",
        add_help=False,
        help="run the benchmarks (W1-W7) side by side with PyTorch and scikit-learn "
        "(see 'chainrule bench --help')",
    )
    return parser


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def _exit_130_on_ctrl_c(main: Any) -> Any:
    """Ctrl-C anywhere in ``main`` (while starting up, too) is one line and exit 130."""

    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except KeyboardInterrupt:
            words = sys.argv[1:] if argv is None else argv
            name = next((f" {a}" for a in words if not str(a).startswith("-")), "")
            print(f"chainrule{name}: interrupted", file=sys.stderr)
            return 130

    return wrapped


@_exit_130_on_ctrl_c
def main(argv: list[str] | None = None) -> int:
    from chainrule.app import Interrupted, RunError
    from chainrule.train import CheckpointError

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # its own options live with the benchmarks
        from chainrule.bench import run

        return run(argv[1:])
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named by the command's own parser, so its --help is the one pointed to
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands.choices.get(args.command, parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    if args.command is None:
        parser.print_help()
        return 2
    args.argv = argv
    try:
        return args.func(args)
    except Interrupted as err:
        print(f"chainrule {args.command}: {err}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130
    except (RunError, CheckpointError, OSError) as err:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"chainrule {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
