"""The options of ``chainrule train``, ``predict`` and ``export``, each written once: a field
of ``Options`` (``PredictOptions``, ``ExportOptions``) holds its default, and its command-line
type, choices and help (``{default}`` in the help is the field's default). ``add_options``
makes the command's arguments from the fields, so ``--help``, the parser's defaults and a run
started from Python (``Options(data="moons")``) read one value."""

from __future__ import annotations

import argparse
import copy
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._model import ACTIVATIONS, LOSSES, OPTIMIZERS, SCHEDULES
from ._preprocess import IMPUTE
from ._table import TASKS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")

DEFAULT_LR = {"adam": 1e-2, "adamw": 1e-2, "sgd": 0.05, "rmsprop": 1e-3}
"""The (peak) learning rate of each ``--optimizer`` when ``--lr`` is not given."""

DEFAULT_TARGET = "target"  # the target column of a table file without --target
NOT_SETTINGS = ("out", "resume", "overwrite", "command")  # Options that do not change a run


# -- argument types: argparse turns their ArgumentTypeError into a one-line usage error ------------
def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {text}")
    return value


def path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty one")
    return Path(text)


# -- options as dataclass fields ------------------------------------------------------------------
def option(
    default: T,
    help: str,
    *,
    type: Callable[[str], Any] | None = None,
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    nargs: str | None = None,
) -> T:
    """A dataclass field that is also the option ``--name`` (underscores as hyphens); a
    ``False`` default makes a flag, a list default a fresh copy per instance."""
    given = {"help": help, "type": type, "choices": choices, "metavar": metavar, "nargs": nargs}
    meta = {"cli": {k: v for k, v in given.items() if v is not None}}
    if isinstance(default, list):
        # the Field stands for its value in a dataclass body, as dataclasses.field's own does
        return field(default_factory=functools.partial(list, default), metadata=meta)  # type: ignore[return-value]
    return field(default=default, metadata=meta)


def required(
    help: str, *, type: Callable[[str], Any] | None = None, metavar: str | None = None
) -> Any:
    """A dataclass field without a default that is also the required option ``--name``."""
    given = {"help": help, "type": type, "metavar": metavar, "required": True}
    return field(metadata={"cli": {k: v for k, v in given.items() if v is not None}})


def shown(value: Any) -> str:
    """A default as ``--help`` writes it: ``64 64`` for a list, ``0`` for 0.0."""
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def add_options(parser: argparse.ArgumentParser, cls: type[DataclassInstance]) -> None:
    """``--name`` for every field of the dataclass ``cls`` made with ``option`` or
    ``required``, in field order, with the field's default."""
    for f in fields(cls):
        cli = dict(f.metadata.get("cli", {}))
        if not cli:
            continue
        if not cli.get("required"):
            default = f.default_factory() if callable(f.default_factory) else f.default
            cli["help"] = cli["help"].format(default=shown(default))
            if default is False:
                cli["action"] = "store_true"
            else:
                cli["default"] = default
        parser.add_argument("--" + f.name.replace("_", "-"), **cli)


def from_args(cls: type[D], args: argparse.Namespace, **rest: Any) -> D:
    """The dataclass ``cls`` from what ``add_options(parser, cls)`` parsed into ``args``, and
    its other fields from ``rest``."""
    given = {f.name: getattr(args, f.name) for f in fields(cls) if "cli" in f.metadata}
    return cls(**given, **rest)


def _rate_defaults() -> str:
    """'0.01 for adam and adamw, 0.05 for sgd, ...' from ``DEFAULT_LR``."""
    by_rate: dict[float, list[str]] = {}
    for name, rate in DEFAULT_LR.items():
        by_rate.setdefault(rate, []).append(name)
    return ", ".join(f"{rate:g} for {' and '.join(names)}" for rate, names in by_rate.items())


@dataclass
class Source:
    """``--data``, first of the options (a base class's fields come first, and the order of
    the fields is the order of ``--help``)."""

    data: str = option("digits", "data set (default: {default})", metavar="DATA")


@dataclass
class Reading:
    """How ``--data`` files are read: ``--target``, ``--task``, ``--categorical``, ``--drop``,
    ``--impute``, ``--drop-missing-target`` (the bundled data sets take none of these)."""

    target: str | None = option(None, "target column of a table file", metavar="COL")
    task: str = option(
        "auto",
        "classification or regression; auto decides from the target column (see below)",
        choices=TASKS,
    )
    categorical: list[str] = option(
        [], "treat these numeric-looking columns as categories", nargs="+", metavar="COL"
    )
    drop: list[str] = option([], "leave these columns out", nargs="+", metavar="COL")
    impute: str = option(
        "median",
        "fill a missing numeric cell with the training rows' median or mean; none makes a "
        "missing cell an error (default: {default}; categories use the most frequent one)",
        choices=IMPUTE,
    )
    drop_missing_target: bool = option(
        False, "drop rows whose target is missing or not a finite number, instead of stopping"
    )
    max_categories: int = option(
        50,
        "one-hot columns per categorical column; rarer categories share one (default: {default})",
        type=positive_int,
        metavar="N",
    )


@dataclass
class Options(Reading, Source):
    """The options of ``chainrule train`` (see ``chainrule train --help``): the data, how a
    table file is read (``Reading``'s fields), and the model and its training. ``lr`` is the
    rate asked for (None: ``DEFAULT_LR``, or the finder's); the run's rate lives in its
    optimiser's ``param_groups``."""

    hidden: list[int] = option(
        [64, 64], "hidden layer sizes (default: {default})", type=positive_int, nargs="+",
        metavar="N",
    )  # fmt: skip
    activation: str = option("relu", "default: {default}", choices=ACTIVATIONS)
    loss: str | None = option(
        None,
        f"default: {LOSSES['classification'][0]} (classes) or {LOSSES['regression'][0]} "
        f"(regression)",
        choices=[name for names in LOSSES.values() for name in names],
    )
    optimizer: str = option("adam", "default: {default}", choices=OPTIMIZERS)
    lr: float | None = option(
        None, f"(peak) learning rate (default: {_rate_defaults()})", type=positive_float
    )
    lr_find: bool = option(
        False, "run the learning-rate finder first and use its suggestion unless --lr is given"
    )
    epochs: int = option(20, "default: {default}", type=positive_int)
    batch_size: int = option(32, "default: {default}", type=positive_int)
    schedule: str = option(
        "one-cycle", "stepped after every batch (default: {default})", choices=SCHEDULES
    )
    weight_decay: float | None = option(
        None,
        "weight decay (L2 for adam, sgd and rmsprop; decoupled for adamw) (default: the "
        "optimizer's own, 0.01 for adamw, else 0)",
        type=non_negative_float,
        metavar="W",
    )
    dropout: float = option(
        0.0,
        "dropout probability after each hidden layer while training (default: {default})",
        type=probability,
        metavar="P",
    )
    patience: int | None = option(
        None,
        "stop when the validation loss has not improved for N epochs, and keep the best "
        "epoch's weights (default: no early stopping)",
        type=positive_int,
        metavar="N",
    )
    seed: int = option(0, "data split, initialisation, shuffling", type=int)
    out: Path | None = option(
        None,
        "output folder (default: chainrule-runs/<data>-<time>; with --resume, the "
        "checkpoint's folder)",
        type=path,
        metavar="DIR",
    )
    resume: Path | None = option(
        None,
        "continue a run from its checkpoint.safetensors (give the same options)",
        type=path,
        metavar="CHECKPOINT",
    )
    overwrite: bool = option(
        False, "train into an --out folder that holds files, replacing the run in it"
    )
    command: list[str] = field(default_factory=list)  # the command line, for the resume hint

    def reading(self) -> Reading:
        """How a table file is read (``--target``, ``--task`` and the column options)."""
        return Reading(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(Reading)})

    def settings(self, data_sha256: str) -> dict[str, Any]:
        """Every option that defines the run (all fields but ``NOT_SETTINGS``), as JSON
        values, with the SHA-256 of the data: what a checkpoint records and ``--resume``
        compares."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in NOT_SETTINGS}
        return {**json.loads(json.dumps(values, default=str)), "data_sha256": data_sha256}


@dataclass
class RunModel:
    """``--model``: the trained run that ``predict`` and ``export`` read."""

    model: Path = required("a run folder or its checkpoint", type=path, metavar="RUN")


@dataclass
class PredictOptions(RunModel):
    """The options of ``chainrule predict``."""

    data: str = required(
        "rows with the model's feature columns (csv:PATH or parquet:PATH)", metavar="csv:PATH"
    )
    out: Path = required("predictions", type=path, metavar="PRED.csv")


@dataclass
class ExportOptions(RunModel):
    """The options of ``chainrule export``."""

    out: Path = required("the ONNX file", type=path, metavar="MODEL.onnx")
    dtype: str = option("float32", "default: {default}", choices=("float32", "float64"))
