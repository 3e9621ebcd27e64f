"""The closed list of training events and the exceptions that steer the loop (fastai's names).

A callback handles an event by defining a method of the same name. ``Learner.fit``'s docstring
lists the exact sequence of a small fit.

Every ``before_X``/``after_X`` pair wraps a stage; a callback may raise the stage's
``Cancel*Exception`` anywhere inside it (in ``before_X`` too). The loop then emits
``after_cancel_X``, then ``after_X`` as usual, and carries on after the stage:

=======================  ===================  ===============================================
exception                stage it ends        what happens next
=======================  ===================  ===============================================
CancelBatchException     one batch            the next batch
CancelBackwardException  the backward pass    the step, with no gradients (parameters kept)
CancelStepException      the optimiser step   ``after_batch`` (parameters kept)
CancelTrainException     the training pass    the validation pass of this epoch
CancelValidateException  the validation pass  ``after_epoch``
CancelEpochException     one epoch            the next epoch
CancelFitException       the whole fit        ``after_cancel_fit``, ``after_fit``, return
=======================  ===================  ===============================================

Any other exception propagates out of ``fit`` without further events; callbacks' ``teardown``
methods still run (removing hooks, closing progress bars).
"""

from __future__ import annotations

EVENTS: tuple[str, ...] = (
    "before_fit",
    "before_epoch",
    "before_train",
    "before_batch",
    "after_pred",
    "after_loss",
    "before_backward",
    "after_cancel_backward",
    "after_backward",
    "before_step",
    "after_cancel_step",
    "after_step",
    "after_cancel_batch",
    "after_batch",
    "after_cancel_train",
    "after_train",
    "before_validate",
    "after_cancel_validate",
    "after_validate",
    "after_cancel_epoch",
    "after_epoch",
    "after_cancel_fit",
    "after_fit",
)
"""Every event a callback can handle, in the order the loop reaches them."""


class CancelBatchException(Exception):
    """Skips the rest of the current batch (``after_cancel_batch``, then ``after_batch``)."""


class CancelBackwardException(Exception):
    """Skips the backward pass of the current batch (the step still runs)."""


class CancelStepException(Exception):
    """Skips the optimiser step of the current batch: the parameters stay as they were."""


class CancelTrainException(Exception):
    """Ends the training pass of the current epoch; validation still runs."""


class CancelValidateException(Exception):
    """Ends the validation pass of the current epoch (or of ``Learner.validate``)."""


class CancelEpochException(Exception):
    """Ends the current epoch; the fit goes on with the next one."""


class CancelFitException(Exception):
    """Ends the fit cleanly: ``after_cancel_fit`` and ``after_fit`` run, ``fit`` returns."""


# The short names.
CancelBatch = CancelBatchException
CancelBackward = CancelBackwardException
CancelStep = CancelStepException
CancelTrain = CancelTrainException
CancelValidate = CancelValidateException
CancelEpoch = CancelEpochException
CancelFit = CancelFitException


CANCELS: tuple[type[Exception], ...] = (
    CancelBatchException,
    CancelBackwardException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
    CancelEpochException,
    CancelFitException,
)
"""Every cancel exception, in the order of ``Cancel*`` above (batch, backward, step, train,
validate, epoch, fit)."""
