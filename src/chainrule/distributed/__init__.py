"""Data-parallel training over MPI (mpi4py, the ``[mpi]`` extra), exact to one process.

``import chainrule`` does not import this package, nor this package mpi4py until a process
started by ``mpiexec`` calls :func:`init`. Without ``mpiexec`` the job is one process (rank 0
of 1) and everything here works without MPI.

>>> from chainrule import distributed
>>> distributed.init()
>>> learner = Learner(model, opt, loss, callbacks=[distributed.DataParallel()])
>>> learner.fit(dl_train, n_epochs=3, dataloader_valid=dl_valid)   # mpiexec -n 2 python ...
"""

from ._cancel import DesyncError
from ._comm import (
    abort,
    allgather_rows,
    allreduce_,
    broadcast_bytes,
    init,
    is_initialized,
    launched_by_mpiexec,
    local_size,
    pack_gradients,
    rank,
    set_gradients,
    shard_sizes,
    world_size,
)
from ._data_parallel import DataParallel

__all__ = [
    "DataParallel",
    "DesyncError",
    "abort",
    "allgather_rows",
    "allreduce_",
    "broadcast_bytes",
    "init",
    "is_initialized",
    "launched_by_mpiexec",
    "local_size",
    "pack_gradients",
    "rank",
    "set_gradients",
    "shard_sizes",
    "world_size",
]
