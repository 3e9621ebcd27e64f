"""Optimisers with PyTorch's names, defaults and update formulas, updating parameters in place.

>>> opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
>>> opt.zero_grad(); loss.backward(); opt.step()

Every optimiser works on any leaf ``chainrule.Tensor`` with ``requires_grad=True``;
``optim.lr_scheduler`` holds the learning-rate schedules.
"""

from . import lr_scheduler
from ._adam import Adam, AdamW
from ._adaptive import Adagrad, RMSprop
from ._lbfgs import LBFGS
from ._line_search import GradientDescent
from ._optimizer import Optimizer, ParamsT
from ._sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "GradientDescent",
    "LBFGS",
    "Optimizer",
    "ParamsT",
    "RMSprop",
    "lr_scheduler",
]
