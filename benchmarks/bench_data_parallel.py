"""Data-parallel training of W3's network: per step, computation vs allreduce, at ``-n 1, 2, 4``.

W3 is the 784-256-128-10 ReLU network (235,146 parameters), cross-entropy, SGD momentum 0.9,
global batch 128, float32, on random MNIST-sized inputs. Each rank trains its shard of every
batch with ``chainrule.distributed.DataParallel``; rank 0 prints, per training step, the time
in the gradient allreduce (one float64 buffer of 235,147 numbers, 1.9 MB) and in the rest of
the step (forward, backward, shard, optimiser), and the allreduce alone on a buffer of the same
size, from which the bandwidth follows.

Run::

    python benchmarks/bench_data_parallel.py                 # -n 1: no MPI
    mpiexec -n 2 python benchmarks/bench_data_parallel.py
    mpiexec -n 4 python benchmarks/bench_data_parallel.py [--rows 12800] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import chainrule as cr
from chainrule import distributed, nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import Learner


def w3_learner() -> Learner:
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return Learner(
        model,
        opt,
        nn.CrossEntropyLoss(),
        callbacks=[distributed.DataParallel()],
        show_progress=False,
    )


def allreduce_alone(n_numbers: int, repeat: int = 50) -> float:
    """Seconds per allreduce of ``n_numbers`` float64, the median of ``repeat``."""
    buf = np.ones(n_numbers)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        distributed.allreduce_(buf)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12_800, help="rows per epoch (100 steps)")
    parser.add_argument("--epochs", type=int, default=2, help="the first one warms up")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    distributed.init()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=args.rows)
    learner = w3_learner()
    loader = DataLoader(ArrayDataset(X, y), batch_size=128, shuffle=True)
    dp = learner.get_callback(distributed.DataParallel)
    assert isinstance(dp, distributed.DataParallel)
    learner.fit(loader, 1)  # warm-up epoch, not counted
    dp.allreduce_seconds = dp.compute_seconds = 0.0
    dp.n_steps = 0
    start = time.perf_counter()
    learner.fit(loader, args.epochs - 1)
    wall = time.perf_counter() - start
    n_params = sum(p.data.size for p in learner.model.parameters())
    steps = (args.epochs - 1) * len(loader)
    alone = allreduce_alone(n_params + 1)
    result = {
        "ranks": distributed.world_size(),
        "shard_sizes": distributed.shard_sizes(128, distributed.world_size()),
        "steps": steps,
        "ms_per_step": wall / steps * 1e3,
        "ms_allreduce_per_step": dp.allreduce_seconds / steps * 1e3,
        "ms_rest_of_step": (dp.compute_seconds - dp.allreduce_seconds) / steps * 1e3,
        "ms_allreduce_alone": alone * 1e3,
        "allreduce_megabytes": (n_params + 1) * 8 / 1e6,
        "allreduce_gb_per_s": (n_params + 1) * 8 / alone / 1e9 if alone > 0 else None,
    }
    if distributed.rank() != 0:
        return
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"W3 data-parallel, -n {result['ranks']} (shards {result['shard_sizes']}), "
        f"{steps} steps: {result['ms_per_step']:.2f} ms per step = "
        f"{result['ms_rest_of_step']:.2f} ms computing + "
        f"{result['ms_allreduce_per_step']:.3f} ms in the allreduce "
        f"({result['allreduce_megabytes']:.2f} MB); the allreduce alone "
        f"{result['ms_allreduce_alone']:.3f} ms"
        + (
            f" ({result['allreduce_gb_per_s']:.2f} GB/s)"
            if result["ranks"] > 1 and result["allreduce_gb_per_s"]
            else ""
        )
    )


if __name__ == "__main__":
    main()
