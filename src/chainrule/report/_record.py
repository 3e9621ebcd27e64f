"""What the report shows of a finished ``chainrule train`` run: a record that the application
fills in after the evaluation, so that the report reads values, never the run that made them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.train import Learner, LRFinderCallback, TelemetryCallback, TrainLossCallback


@dataclass
class Boundary:
    """The rows of a two-feature classification in their own units, their class indices, and
    the network's raw outputs (n, n_outputs) for any such points (n, 2)."""

    scores: Callable[[np.ndarray], np.ndarray]
    X: np.ndarray
    y: np.ndarray


@dataclass
class RunRecord:
    """A finished run as the report shows it.

    The data: ``data`` (the ``--data`` value), its ``task``, ``target``, ``classes`` and
    input ``features``; ``n_inputs``, the network's input width; the rows of each part
    (``split``: train, valid, test); how it was read (``reading_notes``), each column's
    treatment (``columns``) and the columns left out (``dropped``), as (column, why).

    The training: the settings as run (``lr`` is the run's peak rate, read from the
    optimiser's ``param_groups`` when the record was made); the trained ``learner`` (model,
    optimiser, counters), its ``losses`` and ``telemetry`` callbacks (activations, gradients,
    parameters), the validation metrics per epoch (``metric_history``) and the LR
    ``finder``; ``results`` from the evaluation (``test``, ``sklearn``, ``baseline``,
    ``findings``, ``test_predictions``).
    """

    data: str
    command: list[str]
    task: str
    target: str
    classes: list[Any]
    features: list[str]
    n_inputs: int
    architecture: str  # e.g. "MLP 2-64-64-2 (relu)"
    loss: str
    metric: str  # the validation and test metric the page leads with: accuracy or r2
    split: dict[str, int]
    optimizer: str
    lr: float
    lr_from_finder: bool
    schedule: str
    epochs: int
    batch_size: int
    seed: int
    dropout: float
    patience: int | None
    learner: Learner
    losses: TrainLossCallback
    telemetry: dict[str, TelemetryCallback]  # activations, gradients, parameters
    metric_history: dict[str, list[float]]  # "epoch" and each metric, per epoch
    results: dict[str, Any]
    fit_seconds: float
    reading_notes: list[str] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    finder: LRFinderCallback | None = None
    best_epoch: int | None = None  # 0-based: the epoch whose weights early stopping kept
    resumed_from: Path | None = None
    resumed_at: int | None = None  # the epochs the resumed checkpoint held
    boundary: Boundary | None = None  # for the decision-boundary figure
    # under mpiexec: the ranks, the shard sizes and the time in communication, in words
    data_parallel: str | None = None
