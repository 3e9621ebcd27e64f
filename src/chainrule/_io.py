"""Atomic file writes: a crash or an error never leaves a half-written file under the real name.

Every file chainrule writes (checkpoints, reports, graphs, predictions) goes through here.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

# the temporary files of write_atomic (".NAME.xxxxxxxx.tmp", mkstemp's 8 random characters)
# and of a folder's write probe (".write-test.xxxxxxxx")
LEFTOVER = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp|\.write-test\.[a-z0-9_]{8}")


def write_atomic(path: str | os.PathLike, data: str | bytes | Callable[[IO[bytes]], None]) -> Path:
    """Writes ``data`` (text, bytes, or a function that writes to a binary file) to a temporary
    file next to ``path``, flushes it to disk, then renames it into place. The file gets the
    usual permissions (0666 less the umask), not the temporary file's 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_leftovers(folder: str | os.PathLike) -> list[str]:
    """Deletes the temporary files that a killed process left in ``folder`` (those of
    :func:`write_atomic`); returns their names. Call it only while no other process writes
    there (holding the folder's lock)."""
    removed = []
    for entry in Path(folder).iterdir():
        if LEFTOVER.fullmatch(entry.name) and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return sorted(removed)
