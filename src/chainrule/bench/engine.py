"""W1 (autodiff overhead) and W5 (import time), side by side with PyTorch in one process.

W1: a chain of 100 elementwise ops (mul, add, tanh, sigmoid repeated) on a 16-float vector,
forward and backward, reported in microseconds per op. Run: ``python benchmarks/bench_engine.py``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

import numpy as np

import chainrule as cr

from ._timing import best_of

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
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeat)
    ]
    return min(runs)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=300, help="chains per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs (best is kept)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    steps = {"chainrule": w1_chainrule(), "torch": w1_torch()}
    times = best_of({k: f for k, f in steps.items() if f is not None}, args.repeat, args.number)
    ours = times["chainrule"] / N_OPS
    theirs = times["torch"] / N_OPS if "torch" in times else None
    imp = import_time()
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}, "
        f"Python {platform.python_version()}, NumPy {np.__version__}",
        "w1_chainrule_us_per_op": ours * 1e6,
        "w1_torch_us_per_op": None if theirs is None else theirs * 1e6,
        "w1_ratio": None if theirs is None else ours / theirs,
        "w1_goal_ratio": 0.7,
        "import_s": imp,
        "import_goal_s": 0.3,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return result
    print(f"machine: {result['machine']}")
    print(f"W1 chain of {N_OPS} elementwise ops on 16 floats, forward + backward:")
    print(f"  chainrule {ours * 1e6:7.2f} us/op")
    if theirs is None:
        print("  PyTorch   not installed (no ratio)")
    else:
        print(f"  PyTorch   {theirs * 1e6:7.2f} us/op   (1 thread)")
        print(f"  ratio     {ours / theirs:7.2f}x   (goal <= 0.70x)")
    print(f"W5 import chainrule: {imp:.3f} s   (goal <= 0.30 s)")
    return result


if __name__ == "__main__":
    main()
