"""``python _interrupt.py N ARGS...``: ``chainrule ARGS...`` whose N-th ``Adam.step`` raises
``KeyboardInterrupt`` (on every rank under ``mpiexec``), as Ctrl-C would."""

from __future__ import annotations

import sys
from typing import Any

from chainrule import optim
from chainrule.cli import main

_step, _calls = optim.Adam.step, [0]


def _interrupted(self: optim.Adam, *args: Any, **kwargs: Any) -> Any:
    _calls[0] += 1
    if _calls[0] == int(sys.argv[1]):
        raise KeyboardInterrupt
    return _step(self, *args, **kwargs)


if __name__ == "__main__":
    optim.Adam.step = _interrupted  # type: ignore[method-assign]
    sys.exit(main(sys.argv[2:]))
