"""Timing and child processes shared by the benchmarks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


def threads() -> int:
    """The CPU cores this process may run on (all of the machine's where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def best_of(fns: dict[str, Callable[[], object]], repeat: int, number: int = 1) -> dict:
    """Best mean seconds per call of each function, after a warm-up. The runs alternate
    between the functions, so that the slow phases of a shared machine (seconds long) fall on
    all of them alike; slower readings are other processes' noise, not the code's cost."""
    for fn in fns.values():
        for _ in range(max(1, number // 10)):
            fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / number)
    return best


def this_chainrule() -> dict[str, str]:
    """The environment for a child interpreter that imports this chainrule (this source tree
    first on ``PYTHONPATH``), not whichever one is installed."""
    source = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}
