"""The sample-case coverage check, read from the registry: which registered ops and public
functions have no sample case, and which cases name no registered op."""

from __future__ import annotations

import re

from ..ops import PUBLIC, REGISTRY
from .cases import CASES


def missing_cases() -> tuple[list[str], list[str]]:
    """The coverage check that the test suite runs, read from the registry: the registered
    ops and public functions composed of them without a sample case (a composition's cases
    are filed under the op doing its work, with its name in the label), and the cases
    naming no registered op; both sorted."""
    ops = {c.op for c in CASES}
    labelled = {word for c in CASES for word in re.split(r"[^\w]+", c.label)}
    compositions = set(PUBLIC) - set(REGISTRY)
    missing = (set(REGISTRY) - ops) | (compositions - labelled)
    return sorted(missing), sorted(ops - set(REGISTRY))
