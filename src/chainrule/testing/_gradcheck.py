"""Checking every registered primitive on its sample cases: ``chainrule gradcheck``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._tensor import tensor
from ..ops import REGISTRY
from ._check import GradientCheckError, assert_matches_torch, check_grads
from .cases import CASES


@dataclass
class GradcheckRow:
    """One op's result: how many cases, and the finite-difference and PyTorch verdicts
    (``"pass"``, ``"skipped: ..."`` or the first failure's message)."""

    op: str
    cases: int
    finite_differences: str
    torch: str

    @property
    def ok(self) -> bool:
        return self.finite_differences == "pass" and not self.torch.startswith("FAIL")


def _diff_function(case, values, call=None, const=tensor):
    """The case (``call``, by default ``case.ours``) as a function of its differentiable
    inputs, its constants held fixed (wrapped by ``const``)."""
    pos = case.diff_positions()
    call = case.ours if call is None else call

    def f(*diff):
        args = [const(v) if isinstance(v, np.ndarray) else v for v in values]
        for i, d in zip(pos, diff):
            args[i] = d
        return call(*args)

    return f, [values[i] for i in pos]


def finite_difference_check(case) -> None:
    """``check_grads`` in both modes on one case, in float64; raises on failure."""
    f, primals = _diff_function(case, case.inputs())
    check_grads(f, primals, modes=("fwd", "rev"), order=1, rtol=1e-5, atol=1e-7)


def torch_parity(case, dtype) -> None:
    """The case's forward value and every input's gradient under a random cotangent against
    PyTorch's, in ``dtype`` (``assert_matches_torch`` with its tolerances, strict about
    dtypes); raises
    ``AssertionError`` naming the case on a difference."""
    import torch  # optional: only this check needs it

    values = case.inputs()
    ours, primals = _diff_function(case, values)
    theirs, _ = _diff_function(case, values, case.theirs, torch.as_tensor)
    try:
        assert_matches_torch(
            ours,
            theirs,
            dtype=dtype,
            seed=1,
            inputs=primals,
            strict=True,
        )
    except AssertionError as err:
        raise AssertionError(f"{case.id}: {str(err).strip()}") from None


def run_gradcheck(names: Sequence[str] | None = None, use_torch: bool = True) -> list:
    """Checks every registered op (or those in ``names``) on all its sample cases: finite
    differences in float64 in both modes, and PyTorch parity in float32 and float64 when
    PyTorch is installed. Returns one ``GradcheckRow`` per op."""
    unknown = sorted(set(names or ()) - set(REGISTRY))
    if unknown:
        raise ValueError(
            f"gradcheck: no registered op named {', '.join(unknown)}; "
            f"registered: {', '.join(sorted(REGISTRY))}"
        )
    have_torch = False
    if use_torch:
        try:
            import torch  # noqa: F401

            have_torch = True
        except ImportError:
            pass
    rows = []
    for name in sorted(names or REGISTRY):
        cases = [c for c in CASES if c.op == name]
        rows.append(
            GradcheckRow(
                name,
                len(cases),
                _verdict(cases, "fd"),
                _verdict(cases, "torch")
                if have_torch
                else "skipped: torch not installed"
                if use_torch
                else "skipped",
            )
        )
    return rows


def _verdict(cases, kind: str) -> str:
    if not cases:
        return "FAIL: no sample case in chainrule/testing/cases.py"
    for case in cases:
        try:
            if kind == "fd":
                finite_difference_check(case)
            else:
                for dtype in (np.float32, np.float64):
                    torch_parity(case, dtype)
        except (GradientCheckError, AssertionError) as e:
            return f"FAIL: {case.id}: {str(e).strip().splitlines()[0]}"
    return "pass"
