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
import gc
import sys
import traceback
from typing import Any

from chainrule import __version__, app
from chainrule.app import ExportOptions, Options, PredictOptions, add_options, from_args
from chainrule.train import CheckpointError

from ._argparse import ArgumentParser

TRAIN_EPILOG = """data sets: digits, iris, breast-cancer, wine, diabetes (regression), blobs,
moons (2-D, with a decision boundary), mnist:PATH (IDX folder or .npz), csv:PATH or
parquet:PATH (a table with a header row; the target column is --target COL, default '{target}').
Numeric columns are imputed ({impute}) and standardised; text, true/false and --categorical
columns are one-hot encoded (--max-categories per column, rarer ones grouped). {rules} Writes
DIR/report.html, DIR/metrics.json, DIR/checkpoint.safetensors and DIR/model.json."""


def train(args: argparse.Namespace) -> int:
    """Trains, compares with scikit-learn and writes the run's folder; 0 on success."""
    app.train(from_args(Options, args, command=list(args.argv)))
    return 0


def predict(args: argparse.Namespace) -> int:
    """Writes the predictions of a trained run on a CSV file; 0 on success."""
    o = from_args(PredictOptions, args)
    app.predict(o.model, o.data, o.out)
    return 0


def export(args: argparse.Namespace) -> int:
    """Writes a trained run as an ONNX file; 0 on success."""
    o = from_args(ExportOptions, args)
    app.export(o.model, o.out, o.dtype)
    return 0


def gradcheck(args: argparse.Namespace) -> int:
    """Checks every registered primitive (or those named) and prints a table; 1 on failure."""
    try:
        from chainrule.testing import run_gradcheck  # here: the other commands do without it

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


def _debug_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (exit status 2)"
    )


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train an MLP with a report, next to scikit-learn",
        description="Train an MLP with a Learner and write an HTML report, metrics.json "
        "and a checkpoint.",
        epilog=TRAIN_EPILOG.format(
            rules=" ".join(app.TASK_RULES.split()), target=app.DEFAULT_TARGET, impute=Options.impute
        ),
        allow_abbrev=False,  # the resume hint rebuilds the command line from full names
    )
    add_options(p, Options)
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
    add_options(p, PredictOptions)
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
    add_options(p, ExportOptions)
    _debug_option(p)
    p.set_defaults(func=export)


DESCRIPTION = (
    "Train a network on a bundled data set or your own table and write a report (train), "
    "predict new rows with a trained run (predict), export a run to ONNX (export), check every "
    "primitive's derivative rules (gradcheck), or run the benchmarks (bench). Each command has "
    "its own --help."
)


def build_parser() -> argparse.ArgumentParser:
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
        help="run the benchmarks (W1-W8) side by side with PyTorch and scikit-learn "
        "(see 'chainrule bench --help')",
    )
    return parser


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def _exit_130_on_ctrl_c(main: Any) -> Any:
    """Ctrl-C anywhere in ``main`` (while starting up, too) is one line and exit 130.

    Run as the program (no ``argv``: the ``chainrule`` script, ``python -m chainrule``), it
    ends by freezing the garbage collector's objects: the process exits next, and its final
    collections over every loaded module's objects take about 0.2 s once scikit-learn, SciPy
    and pandas are loaded (``gc.freeze``; objects are still freed, files still closed)."""

    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except KeyboardInterrupt:
            words = sys.argv[1:] if argv is None else argv
            name = next((f" {a}" for a in words if not str(a).startswith("-")), "")
            print(f"chainrule{name}: interrupted", file=sys.stderr)
            return 130
        finally:
            if argv is None:
                gc.freeze()

    return wrapped


@_exit_130_on_ctrl_c
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # its own options live with the benchmarks
        from chainrule import bench  # here: the other commands do without it

        return bench.run(argv[1:])
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
    except app.Interrupted as err:
        print(f"chainrule {args.command}: {err}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130
    except (app.RunError, CheckpointError, OSError) as err:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"chainrule {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
