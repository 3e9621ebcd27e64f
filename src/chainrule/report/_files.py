"""Errors a user can fix, atomic writes, and the run's output folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .._io import write_atomic


class RunError(ValueError):
    """A problem with what the user asked for (data, files, options): the command prints its
    message as one line and exits with status 2."""


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """``value`` as indented JSON (NaN and infinities written as null), atomically."""
    return write_atomic(path, json.dumps(_finite(value), indent=2) + "\n")


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """Creates the output folder (and its parents) and checks that a file can be written in it.

    Raises
    ------
    RunError
        When the folder cannot be created or written (a file in the way, no permission).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise RunError(
            f"cannot write to the output folder {path}: {reason}; choose another with --out DIR"
        ) from err
    return path


def unique_dir(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``... when it exists already."""
    if not base.exists():
        return base
    k = 2
    while base.with_name(f"{base.name}-{k}").exists():
        k += 1
    return base.with_name(f"{base.name}-{k}")
