"""The process group: MPI's ``COMM_WORLD`` through mpi4py, or one process alone.

A process started by ``mpiexec`` (MPICH's Hydra, Open MPI, PMIx) finds the launcher's variables
in its environment and joins ``COMM_WORLD``; any other process is a world of one and never
imports mpi4py, so scripts run unchanged without MPI. Every collective here sends plain NumPy
buffers (``Allreduce``, ``Bcast``, ``Allgatherv``), never pickled objects.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import numpy as np

from .._tensor import Tensor

# Set by mpiexec (MPICH/Hydra: PMI_*, Open MPI: OMPI_*, PMIx launchers: PMIX_RANK).
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE")


class _World:
    """The process group once :func:`init` ran: MPI's communicator, or ``None`` alone."""

    comm: Any = None
    mpi: Any = None  # the mpi4py.MPI module
    initialized = False
    rank = 0
    size = 1
    local_size = 1  # processes on this machine
    aborting = False  # an error was printed and Abort called (it may return before the end)


def launched_by_mpiexec() -> bool:
    """Whether this process was started by ``mpiexec`` (its launcher's variables are set)."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init() -> None:
    """Joins the job's process group; call it once, early (a second call does nothing).

    Under ``mpiexec`` it imports mpi4py, joins ``MPI.COMM_WORLD`` and, when there is more
    than one process, makes an uncaught exception on any rank print that rank's traceback and
    abort the whole job (``MPI.COMM_WORLD.Abort(1)``), so that no rank waits forever for one
    that died. Without ``mpiexec`` the world is this process alone (rank 0 of 1) and mpi4py is
    not needed.

    Raises
    ------
    ImportError
        Under ``mpiexec`` when mpi4py is not installed (``pip install 'chainrule[mpi]'``).
    """
    if _World.initialized:
        return
    if launched_by_mpiexec():
        try:
            from mpi4py import MPI  # optional dependency, the [mpi] extra
        except ImportError as err:
            raise ImportError(
                "chainrule.distributed.init: this process was started by mpiexec but mpi4py is "
                "not installed; pip install 'chainrule[mpi]' (mpi4py and mpich)"
            ) from err
        _World.mpi, _World.comm = MPI, MPI.COMM_WORLD
        _World.rank, _World.size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
        local = MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED)
        _World.local_size = local.Get_size()
        local.Free()
        if _World.size > 1:
            sys.excepthook = _abort_on_uncaught
    _World.initialized = True


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _World.initialized


def _require(name: str) -> None:
    if not _World.initialized:
        raise RuntimeError(
            f"chainrule.distributed.{name}: the process group is not initialised; call "
            f"chainrule.distributed.init() first"
        )


def rank() -> int:
    """This process's index in the job, ``0 <= rank() < world_size()`` (0 when alone)."""
    _require("rank")
    return _World.rank


def world_size() -> int:
    """The number of processes in the job (1 when not started by ``mpiexec``)."""
    _require("world_size")
    return _World.size


def local_size() -> int:
    """The number of the job's processes on this machine (they share its cores)."""
    _require("local_size")
    return _World.local_size


def allreduce_(buffer: np.ndarray) -> np.ndarray:
    """Sums the contiguous float64 ``buffer`` over all ranks, in place; returns it."""
    _require("allreduce_")
    if buffer.dtype != np.float64 or not buffer.flags.c_contiguous:
        raise TypeError(
            f"chainrule.distributed.allreduce_: buffer must be a C-contiguous float64 array, "
            f"got {buffer.dtype} (contiguous: {buffer.flags.c_contiguous})"
        )
    if _World.size > 1:
        _World.comm.Allreduce(_World.mpi.IN_PLACE, buffer, op=_World.mpi.SUM)
    return buffer


def pack_gradients(params: Sequence[Tensor], scale: float = 1.0, tail: int = 0) -> np.ndarray:
    """One float64 buffer for an allreduce: ``scale``·gradient of every parameter, in order,
    raveled (zeros for a parameter without one), then ``tail`` slots for the caller's numbers."""
    buf = np.empty(sum(p.data.size for p in params) + tail, dtype=np.float64)
    offset = 0
    for p in params:
        seg = buf[offset : offset + p.data.size]
        if p.grad is None:
            seg[:] = 0.0
        else:
            np.multiply(p.grad.data.reshape(-1), scale, out=seg)
        offset += p.data.size
    return buf


def set_gradients(params: Sequence[Tensor], buf: np.ndarray) -> None:
    """Every parameter's gradient ← its segment of ``buf`` (laid out by
    :func:`pack_gradients`), in the parameter's dtype: written into the gradient it has, or a
    new one."""
    offset = 0
    for p in params:
        seg = buf[offset : offset + p.data.size].reshape(p.data.shape)
        if p.grad is None:
            p.grad = Tensor(seg.astype(p.data.dtype))
        else:
            p.grad.data[...] = seg
        offset += p.data.size


def broadcast_bytes(data: bytes | None, root: int = 0) -> bytes:
    """``data`` of rank ``root`` on every rank (the others pass ``None``): its length, then
    its bytes, as two ``Bcast`` of NumPy buffers."""
    _require("broadcast_bytes")
    if _World.size == 1:
        return b"" if data is None else bytes(data)
    length = np.array([len(data) if _World.rank == root and data else 0], dtype=np.int64)
    _World.comm.Bcast(length, root=root)
    buf = np.empty(int(length[0]), dtype=np.uint8)
    if _World.rank == root and data:
        buf[:] = np.frombuffer(data, dtype=np.uint8)
    _World.comm.Bcast(buf, root=root)
    return buf.tobytes()


def allgather_rows(local: np.ndarray, counts: list[int]) -> np.ndarray:
    """The rows of every rank's ``local`` stacked in rank order: rank ``r`` gives ``counts[r]``
    rows, all of the same trailing shape and dtype. Shape ``(sum(counts), *local.shape[1:])``."""
    _require("allgather_rows")
    if _World.size == 1:
        return local
    local = np.ascontiguousarray(local)
    row = int(np.prod(local.shape[1:], dtype=np.int64))
    out = np.empty((sum(counts), *local.shape[1:]), dtype=local.dtype)
    sizes = [c * row for c in counts]
    displacements = np.concatenate(([0], np.cumsum(sizes)[:-1])).tolist()
    _World.comm.Allgatherv(local.reshape(-1), [out.reshape(-1), (sizes, displacements)])
    return out


def shard_sizes(n: int, world: int) -> list[int]:
    """Rows of each rank's shard of ``n`` rows: as even as can be, the first ``n % world``
    ranks one more (32 over 3 ranks: 11, 11, 10)."""
    return [n // world + (1 if r < n % world else 0) for r in range(world)]


def abort(error: BaseException | None = None, code: int = 1, brief: bool = False) -> None:
    """Prints ``error`` naming this rank (its traceback, or one line when ``brief``) and ends
    every process of the job (``MPI.COMM_WORLD.Abort(code)``). Alone, it raises
    ``SystemExit(code)`` instead."""
    if error is not None and not _World.aborting:
        if brief:
            sys.stderr.write(f"chainrule.distributed: rank {_World.rank}: {error}\n")
            sys.stderr.flush()
        else:
            _print_error(type(error), error, error.__traceback__)
    _World.aborting = True
    if _World.comm is None or _World.size == 1:
        raise SystemExit(code)
    _World.comm.Abort(code)


def _print_error(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(
        f"chainrule.distributed: rank {_World.rank} of {_World.size} raised; aborting the "
        f"whole job\n{text}"
    )
    sys.stderr.flush()


def _abort_on_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """``sys.excepthook`` under ``mpiexec``: this rank's traceback, then the job's end."""
    if not _World.aborting:
        _print_error(kind, value, tb)
    _World.aborting = True
    _World.comm.Abort(1)
