"""Training with a ``Learner``: events, callbacks, telemetry, diagnostics and checkpoints.

>>> from chainrule.train import Learner, TrainLossCallback, EveryBatchSchedulerCallback
>>> learner = Learner(model, opt, nn.BCEWithLogitsLoss(), callbacks=[TrainLossCallback()])
>>> learner.fit(dl_train, n_epochs=2, dataloader_valid=dl_valid)
>>> for finding in diagnose(learner): print(finding)

The loop emits fastai's events (``EVENTS``) to callbacks, which steer it by raising
``Cancel*Exception`` exceptions. Telemetry callbacks keep bounded summaries, never whole tensors.
Checkpoints are one safetensors file with a JSON header (no pickle) and resume a run exactly.
Importing this package needs NumPy only (matplotlib, tqdm and pandas load when used).
"""

from ._callback import Callback
from ._checkpoint import (
    CheckpointError,
    CheckpointFile,
    checkpoint_bytes,
    non_finite,
    open_checkpoint,
    read_checkpoint,
    unpack,
)
from ._compiled import CompiledStep
from ._diagnostics import Finding, diagnose
from ._events import (
    CANCELS,
    EVENTS,
    CancelBackward,
    CancelBackwardException,
    CancelBatch,
    CancelBatchException,
    CancelEpoch,
    CancelEpochException,
    CancelFit,
    CancelFitException,
    CancelStep,
    CancelStepException,
    CancelTrain,
    CancelTrainException,
    CancelValidate,
    CancelValidateException,
)
from ._learner import Learner
from ._loading import apply_pending_generators
from ._loop import Loop, LossStep, TrainingStep
from ._loss_history import TrainLossCallback
from ._lr_finder import LRFinderCallback, LRSuggestion
from ._metrics import (
    METRICS,
    MetricsCallback,
    accuracy,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)
from ._outcome import outcome_findings
from ._progress import ProgressCallback, progress_bar
from ._saving import CheckpointCallback, CSVLogger
from ._schedules import EveryBatchSchedulerCallback, ReduceLROnPlateauCallback
from ._stopping import (
    EarlyStoppingCallback,
    NonFiniteLossError,
    TerminateOnNaNCallback,
    WritesCheckpoints,
)
from ._summary import STATS
from ._telemetry import (
    TelemetryCallback,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainParametersCallback,
)

__all__ = [
    "CANCELS",
    "EVENTS",
    "METRICS",
    "STATS",
    "CSVLogger",
    "Callback",
    "CancelBackward",
    "CancelBackwardException",
    "CancelBatch",
    "CancelBatchException",
    "CancelEpoch",
    "CancelEpochException",
    "CancelFit",
    "CancelFitException",
    "CancelStep",
    "CancelStepException",
    "CancelTrain",
    "CancelTrainException",
    "CancelValidate",
    "CancelValidateException",
    "CheckpointCallback",
    "CompiledStep",
    "CheckpointError",
    "CheckpointFile",
    "EarlyStoppingCallback",
    "EveryBatchSchedulerCallback",
    "Finding",
    "LRFinderCallback",
    "LRSuggestion",
    "Learner",
    "Loop",
    "LossStep",
    "MetricsCallback",
    "NonFiniteLossError",
    "ProgressCallback",
    "ReduceLROnPlateauCallback",
    "TelemetryCallback",
    "TerminateOnNaNCallback",
    "TrainActivationsCallback",
    "TrainGradientsCallback",
    "TrainLossCallback",
    "TrainParametersCallback",
    "TrainingStep",
    "WritesCheckpoints",
    "accuracy",
    "apply_pending_generators",
    "checkpoint_bytes",
    "diagnose",
    "outcome_findings",
    "f1_score",
    "mean_absolute_error",
    "mean_squared_error",
    "non_finite",
    "progress_bar",
    "r2_score",
    "open_checkpoint",
    "read_checkpoint",
    "root_mean_squared_error",
    "unpack",
]
