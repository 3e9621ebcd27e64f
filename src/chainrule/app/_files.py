"""Errors a user can fix, atomic writes, and the run's output folder with its lock."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .._io import remove_leftovers, write_atomic

LOCK_NAME = ".chainrule.lock"


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


class RunFolder:
    """A run's output folder, held with an exclusive lock on its ``.chainrule.lock`` file
    until :meth:`release` (or until the process ends: the system drops the lock of a killed
    process, so a stale lock file blocks nothing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: Any = _lock(path)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def contents(self) -> list[str]:
        """The names in the folder other than the lock file, sorted."""
        return sorted(p.name for p in self.path.iterdir() if p.name != LOCK_NAME)


def open_run_folder(path: str | os.PathLike, reuse: bool, overwrite: bool = False) -> RunFolder:
    """Creates and locks the output folder, and removes the temporary files a killed run left.

    Parameters
    ----------
    path : path-like
    reuse : bool
        The folder is the run's own (``--resume`` of a checkpoint in it): what it holds stays.
    overwrite : bool
        ``--overwrite``: a folder holding files is taken anyway (files are replaced as the run
        writes its own).

    Raises
    ------
    RunError
        When the folder cannot be written, another run holds it, or it holds files and
        neither ``reuse`` nor ``overwrite`` is given.
    """
    folder = RunFolder(prepare_out_dir(path))
    try:
        remove_leftovers(folder.path)
        held = folder.contents()
        if held and not (reuse or overwrite):
            shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
            raise RunError(
                f"the output folder {folder.path} already holds files ({shown}); give "
                f"--overwrite to replace them, another --out, or --resume with its checkpoint "
                f"to continue the run in it"
            )
    except BaseException:
        folder.release()
        raise
    return folder


def _lock(folder: Path) -> Any:
    """The open lock file of ``folder``, locked exclusively; a ``RunError`` at once when
    another process (or another run in this one) holds it."""
    path = folder / LOCK_NAME
    try:
        f = open(path, "a+")  # noqa: SIM115 - held open for the lock's life
    except OSError as err:
        raise RunError(f"cannot create the lock file {path}: {err.strerror}") from err
    try:
        _try_lock(f)
    except OSError:
        f.seek(0)
        holder = f.read(40).strip()
        f.close()
        pid = f" (process {holder})" if holder.isdigit() else ""
        raise RunError(
            f"another chainrule run is using the output folder {folder}{pid}; wait for it "
            f"to finish or choose another --out"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def _try_lock(f: Any) -> None:
    """An exclusive, non-blocking lock on the open file ``f`` (OSError when it is held)."""
    if sys.platform == "win32":  # no fcntl there
        import msvcrt

        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        return
    import fcntl

    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def unique_dir(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``... when it exists already."""
    if not base.exists():
        return base
    k = 2
    while base.with_name(f"{base.name}-{k}").exists():
        k += 1
    return base.with_name(f"{base.name}-{k}")
