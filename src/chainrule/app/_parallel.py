"""``chainrule train`` under ``mpiexec``: every rank runs the command; rank 0 owns the output.

Each rank prepares the same data, model and learner (the same seed) with a ``DataParallel``
callback, which shards the learning-rate search (the same curve on every rank) and the fit.
Rank 0 alone prints, writes the run folder, evaluates and writes the report; the other ranks
write their checkpoints into a scratch folder of their own, removed when they exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import distributed
from chainrule.train import Callback, Learner

from ._files import RunFolder


def world() -> int:
    """The number of ranks of this job (1 without ``mpiexec``)."""
    if not distributed.launched_by_mpiexec():
        return 1
    distributed.init()
    return distributed.world_size()


def is_primary() -> bool:
    """Whether this process prints and writes the run's files: rank 0, or a process alone."""
    return world() == 1 or distributed.rank() == 0


@contextmanager
def whole_job() -> Iterator[None]:
    """Under ``mpiexec -n N`` (N > 1), an error on any rank ends every rank: a rank that
    stopped alone (rank 0 refusing a full output folder, say) would leave the others waiting
    in their first collective forever. The error is one line naming the rank; status 2."""
    try:
        yield
    except Exception as err:
        if world() > 1:
            distributed.abort(err, code=2, brief=True)
        raise


def agree(flag: bool) -> bool:
    """Whether ``flag`` holds on any rank: a decision every rank must take alike (rank 0 alone
    sees the run's folder)."""
    if world() == 1:
        return flag
    return bool(distributed.allreduce_(np.array([1.0 if flag else 0.0]))[0] > 0)


def data_parallel(primary_only: tuple[type[Callback], ...]) -> list[Callback]:
    """``[DataParallel]`` under ``mpiexec -n N`` (N > 1), else nothing."""
    return [distributed.DataParallel(primary_only=primary_only)] if world() > 1 else []


def scratch_folder() -> RunFolder:
    """A private folder for a rank other than 0, removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix=f"chainrule-rank{distributed.rank()}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return RunFolder(path)


def parallel_summary(learner: Learner) -> dict[str, Any] | None:
    """The ``DataParallel`` callback's figures (ranks, shard sizes, time in communication), or
    None for a run on one process."""
    found = learner.get_callback(distributed.DataParallel)
    return found.report() if isinstance(found, distributed.DataParallel) else None


def announce(batch_size: int) -> str:
    """What the first line says of a job under ``mpiexec``: nothing for one process."""
    n = world()
    if n == 1:
        return ""
    shards = "/".join(map(str, distributed.shard_sizes(batch_size, n)))
    return f" (data-parallel over {n} MPI ranks: each batch of {batch_size} rows cut {shards})"


def describe(summary: dict[str, Any]) -> str:
    """The report's line: ranks, shards, and time per step in the allreduce and the rest."""
    steps = max(1, summary["n_steps"])
    return (
        f"data-parallel over {summary['world_size']} MPI ranks (shards of a global batch: "
        f"{'/'.join(map(str, summary['shard_sizes'])) or 'not yet cut'} rows; allreduce "
        f"{summary['allreduce_seconds'] * 1e3 / steps:.3f} ms per step, rest of the step "
        f"{summary['compute_seconds'] * 1e3 / steps:.3f} ms, rank 0)"
    )
