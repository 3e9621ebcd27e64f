"""Gradient checks for users and for the library itself.

* ``check_grads``: ⟨v, J u⟩ by finite differences, by the reverse rules and by the forward
  rules, in float64, to second order; kinks reported as ``NotDifferentiableError``.
* ``numerical_jacobian`` and ``assert_matches_torch`` for ops you write yourself.
* ``cases``: sample calls of every registered primitive (with their PyTorch equivalents), read
  by the test suite and by ``chainrule gradcheck``; ``run_gradcheck`` checks them all, and
  ``missing_cases`` names the registered ops that have none.
"""

from ._check import (
    GradientCheckError,
    NotDifferentiableError,
    assert_matches_torch,
    check_grads,
    numerical_jacobian,
)
from ._coverage import missing_cases
from ._gradcheck import GradcheckRow, run_gradcheck

__all__ = [
    "GradcheckRow",
    "GradientCheckError",
    "NotDifferentiableError",
    "assert_matches_torch",
    "check_grads",
    "missing_cases",
    "numerical_jacobian",
    "run_gradcheck",
]
