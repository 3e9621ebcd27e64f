"""Learning-rate schedules (``torch.optim.lr_scheduler``): each ``step()`` sets the optimiser's
``group["lr"]`` (and, for :class:`OneCycleLR`, the momentum) to the next value of the schedule.

>>> opt = optim.SGD(params, lr=0.1, momentum=0.9)
>>> sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=10, epochs=2, steps_per_epoch=80)
>>> for batch in loader:
...     ...; opt.step(); sched.step()
"""

from ._one_cycle import OneCycleLR
from ._plateau import ReduceLROnPlateau
from ._schedulers import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    StepLR,
)

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]
