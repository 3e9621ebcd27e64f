"""Shared fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded generator per test (tests never touch NumPy's global random state)."""
    return np.random.default_rng(0)
