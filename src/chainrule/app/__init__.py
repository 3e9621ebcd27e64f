"""The ``chainrule`` application behind ``chainrule train``, ``predict`` and ``export``: its
options (``Options``, one dataclass that the command's parser, defaults and help are made
from), data sources and tables, the run, the model card, predictions and the ONNX export.
The page of a finished run is drawn by ``chainrule.report``.

>>> from chainrule.app import Options, train
>>> run = train(Options(data="moons", epochs=5, out="runs/moons"))   # doctest: +SKIP
>>> run.results["test"]["accuracy"]                                   # doctest: +SKIP

Files of a run folder: ``report.html`` (one page, figures inline), ``metrics.json``,
``checkpoint.safetensors`` (the Learner's checkpoint with the run's settings, saved after
every finite epoch) and ``model.json`` (the architecture, input columns and order, fitted
preprocessing and classes that ``predict`` rebuilds it from, as JSON: nothing is pickled).
A run holds its folder with a lock file (``.chainrule.lock``) while it runs.
Errors a user can fix raise ``RunError``; the command prints them as one line and exits 2.
"""

from ._data import BUNDLED, Split, Table, load_table, split
from ._export import export
from ._files import RunError
from ._model import ACTIVATIONS, LOSSES, OPTIMIZERS, SCHEDULES, ModelCard, load_model
from ._options import (
    DEFAULT_LR,
    DEFAULT_TARGET,
    ExportOptions,
    Options,
    PredictOptions,
    Reading,
    add_options,
    from_args,
    option,
    path,
    positive_int,
    required,
)
from ._predict import predict
from ._preprocess import IMPUTE, Preprocessing
from ._run import Interrupted, Run
from ._table import TASK_RULES, TASKS
from ._train import train

__all__ = [
    "ACTIVATIONS",
    "BUNDLED",
    "ExportOptions",
    "PredictOptions",
    "DEFAULT_LR",
    "DEFAULT_TARGET",
    "IMPUTE",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "TASKS",
    "TASK_RULES",
    "Interrupted",
    "ModelCard",
    "Options",
    "Run",
    "RunError",
    "Preprocessing",
    "Reading",
    "Split",
    "Table",
    "add_options",
    "export",
    "from_args",
    "load_model",
    "load_table",
    "option",
    "path",
    "positive_int",
    "predict",
    "required",
    "split",
    "train",
]
