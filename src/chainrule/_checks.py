"""Argument checks shared by the layers that build objects from user input (schedulers,
callbacks, the Learner), so that one kind of mistake reads the same everywhere."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_int(owner: str, name: str, value: Any, low: int) -> int:
    """``value`` as an ``int`` when it is an integer (Python or NumPy, not bool) >= ``low``;
    else a ``ValueError`` naming ``owner``, the argument and what it received."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        want = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{owner}: {name} must be {want}, got {value!r}")
    return int(value)
