"""Running ``tests/distributed/_worker.py`` alone or under MPICH's ``mpiexec``.

Outside CI a test module importing this is skipped when mpi4py or ``mpiexec`` is missing
(``pip install 'chainrule[mpi]'``); with ``CI=true`` a missing MPI fails it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.distributed import _comm

WORKER = Path(__file__).with_name("_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"
TIMEOUT = 60


def _mpiexec() -> str:
    """The mpiexec beside this Python (MPICH's wheel puts it there), or on PATH."""
    beside = Path(sys.executable).with_name("mpiexec")
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    missing = []
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        missing.append("mpi4py")
    if found is None:
        missing.append("mpiexec")
    if missing:
        message = f"needs {' and '.join(missing)}: pip install 'chainrule[mpi]'"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message, allow_module_level=True)
    assert found is not None
    return found


MPIEXEC = _mpiexec()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    for name in _comm._LAUNCHER_VARIABLES:  # a test run under mpiexec starts clean workers
        env.pop(name, None)
    return env


def _run(
    case: str, n: int, out: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """``_worker.py case`` alone (``n = 1``: no mpiexec) or under ``mpiexec -n n``; the
    finished process and each rank's result, by rank."""
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(WORKER), case, "--out", str(out), *extra]
    if n > 1:
        command = [MPIEXEC, "-n", str(n), *command]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, env=_env(), cwd=out
    )
    results = [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]
    return proc, results


def _ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"{proc.args} failed:\n{proc.stdout}\n{proc.stderr}"
