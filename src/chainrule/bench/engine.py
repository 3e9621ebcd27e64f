"""W1 (autodiff overhead) and W5 (import time), side by side with PyTorch in one process.

W1: a chain of 100 elementwise ops (mul, add, tanh, sigmoid repeated) on a 16-float vector,
forward and backward, reported in microseconds per op (PyTorch on one thread). W5: the wall
time of ``import chainrule`` in a fresh interpreter. Run: ``python benchmarks/bench_engine.py
[--only W1 W5] [--json]``; the goals are judged in ``chainrule bench``'s summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

import chainrule as cr

from ._summary import describe
from ._timing import best_of, this_chainrule

N_BLOCKS = 25  # 4 ops per block plus the final sum: 101 ops
N_OPS = 4 * N_BLOCKS + 1


def w1_chainrule():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal(16).astype(np.float32), requires_grad=True)
    a = cr.tensor(rng.uniform(0.5, 1.5, 16).astype(np.float32))
    b = cr.tensor(rng.uniform(-0.5, 0.5, 16).astype(np.float32))

    def step():
        y = x
        for _ in range(N_BLOCKS):
            y = (y * a + b).tanh().sigmoid()
        y.sum().backward()
        x.grad = None

    return step


def w1_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal(16).astype(np.float32), requires_grad=True)
    a = torch.tensor(rng.uniform(0.5, 1.5, 16).astype(np.float32))
    b = torch.tensor(rng.uniform(-0.5, 0.5, 16).astype(np.float32))

    def step():
        y = x
        for _ in range(N_BLOCKS):
            y = torch.sigmoid(torch.tanh(y * a + b))
        y.sum().backward()
        x.grad = None

    return step


def import_time(repeat: int = 5) -> float:
    """Best wall time of ``import chainrule`` in a fresh interpreter, in seconds."""
    code = "import time; t = time.perf_counter(); import chainrule; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                env=this_chainrule(),
            ).stdout
        )
        for _ in range(repeat)
    ]
    return min(runs)


def w1(number: int = 300, repeat: int = 7) -> dict:
    """Microseconds per op of the chain, forward and backward, the fastest of ``repeat`` runs
    of ``number`` chains for each library, the libraries taking turns."""
    steps = {"chainrule": w1_chainrule(), "torch": w1_torch()}
    times = best_of({k: f for k, f in steps.items() if f is not None}, repeat, number)
    figures = {k: t / N_OPS * 1e6 for k, t in times.items()}
    return {"workload": "W1", "name": "per-op overhead", "unit": "us/op", "figures": figures}


def w5() -> dict:
    return {
        "workload": "W5",
        "name": "import chainrule",
        "unit": "s",
        "figures": {"chainrule": import_time()},
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=300, help="chains per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs (best is kept)")
    parser.add_argument("--only", nargs="+", choices=["W1", "W5"], default=["W1", "W5"])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    run = {"W1": lambda: w1(args.number, args.repeat), "W5": w5}
    results = [run[name]() for name in args.only]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("\n".join(describe(r) for r in results))
    return results


if __name__ == "__main__":
    main()
