"""W7: peak memory of one W4 training epoch (real MNIST 784-800-10 ReLU, cross-entropy, SGD
momentum 0.9, batch 128) in chainrule and in PyTorch (same thread count), printed as a ratio.

Each library runs in a fresh interpreter, so neither sees the other's allocations, caches or
freed-but-kept heap. The child loads the same arrays (``load_mnist``; both children import
chainrule's ``nn`` and ``optim`` with this module, in the baseline), trains a throwaway
784-16-10 model for two steps (so that the code pages and lazy imports a first step pulls in
count as the library's, not the training's), builds
W4's model, optimiser and (for PyTorch) the tensors W4 builds before its loop, then resets the
kernel's resident-set high-water mark (``5`` written to ``/proc/self/clear_refs``) and runs the
epoch with W4's own loop (``training.chainrule_epoch`` / ``torch_epoch``). It reports
``VmHWM`` after the epoch minus ``VmRSS`` at the reset: the resident memory that training adds
on top of the interpreter, the library, the data and the model. Where the reset is refused,
the high-water mark may date from before the epoch and the figure is an upper bound (flagged).

Linux only (``/proc/self/status``); MNIST is read from ../shared/data/mnist.npz or
``--mnist PATH`` (skipped when absent); ``--samples N`` trains on its first N rows (PyTorch's
peak grows with them: 11.0 MiB on 20,000 rows, 14.6 on 60,000; chainrule's 7.8 and 8.1).

Run: ``python benchmarks/bench_memory.py [--json] [--mnist PATH] [--samples N]`` (or
``chainrule bench``).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr

from .. import nn, optim
from ..data import load_mnist
from . import training
from ._summary import describe
from ._timing import this_chainrule

MIB = 2**20


def status() -> dict[str, int]:
    """This process's ``VmRSS``, ``VmHWM``, ``RssAnon`` and ``RssFile``, in bytes."""
    keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in keys:
                found[key] = int(value.split()[0]) * 1024  # reported in kB
    return found


def reset_peak() -> bool:
    """Sets ``VmHWM`` back to the current ``VmRSS`` (Linux 4.0+); False where refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _data(path: Path | None, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_samples`` rows of MNIST's training set from ``path``, else ``n_samples``
    random MNIST-shaped rows."""
    if path is not None:
        (X, y), _ = load_mnist(path)  # float32 in [0, 1], (60000, 784)
        return X[:n_samples], y[:n_samples]
    rng = np.random.default_rng(0)
    return rng.random((n_samples, 784), dtype=np.float32), rng.integers(0, 10, n_samples)


def _epoch(library: str, X: np.ndarray, y: np.ndarray, hidden: int) -> Callable[[], int]:
    """W4's model, optimiser and loss on ``X, y``, and a function that runs one epoch of them."""
    sizes = [784, hidden, 10]
    if library == "chainrule":
        model = training._chainrule_mlp(sizes, nn.ReLU, cr.float32, 0)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn, gen = nn.CrossEntropyLoss(), cr.Generator(0)
        step = training.eager_step(model, loss_fn, opt)
        return lambda: training.chainrule_epoch(step, X, y, 128, gen)
    if library == "torch":
        torch = training._torch()
        model = training._torch_mlp(torch, sizes, torch.nn.ReLU, 0)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn, gen = torch.nn.CrossEntropyLoss(), torch.Generator().manual_seed(0)
        Xg, yg = torch.as_tensor(X), torch.as_tensor(y.astype(np.int64))
        return lambda: training.torch_epoch(torch, model, loss_fn, opt, Xg, yg, 128, gen)
    raise ValueError(f"W7: library must be 'chainrule' or 'torch', got {library!r}")


def child(
    library: str, path: Path | None, n_samples: int, hidden: int, warmup: bool = True
) -> dict:
    """One W4 epoch of ``library`` in this process; the resident memory it adds, in MiB.

    ``warmup`` first trains a throwaway 784-16-10 model for two steps, so that the code pages
    and lazy imports a first step pulls in (about 10 MiB for PyTorch) are in the baseline.
    The epoch runs on MNIST's first ``n_samples`` rows, or with ``path`` None on ``n_samples``
    random rows (for tests).
    """
    X, y = _data(path, n_samples)
    if warmup:
        _epoch(library, X[:256], y[:256], 16)()
        gc.collect()
    epoch = _epoch(library, X, y, hidden)
    exact = reset_peak()
    before = status()
    steps = epoch()
    after = status()
    return {
        "library": library,
        "steps": steps,
        "baseline_mib": before["VmRSS"] / MIB,
        "added_mib": (after["VmHWM"] - before["VmRSS"]) / MIB,
        # where the kept memory sits after the epoch: heap (anonymous) or mapped files (code)
        "anon_after_mib": (after["RssAnon"] - before["RssAnon"]) / MIB,
        "file_after_mib": (after["RssFile"] - before["RssFile"]) / MIB,
        "exact": exact,
    }


def measure(
    library: str,
    path: Path | None = None,
    n_samples: int = 60_000,
    hidden: int = 800,
    warmup: bool = True,
) -> dict:
    """:func:`child` run in a fresh interpreter (``python -m chainrule.bench.memory --child``).

    Parameters
    ----------
    library : {"chainrule", "torch"}
    path : Path or None
        MNIST (``mnist.npz`` or IDX folder); None trains on random rows instead.
    n_samples, hidden : int
        Rows trained on (MNIST's first, or random ones) and width of the hidden layer.
    warmup : bool
        Two steps of a throwaway model before the baseline (see :func:`child`).

    Returns
    -------
    dict
        ``added_mib`` (peak resident memory the epoch adds), ``baseline_mib``, ``steps``,
        ``exact`` (False: the peak could not be reset, ``added_mib`` is an upper bound), ...
    """
    cmd = [sys.executable, "-m", "chainrule.bench.memory", "--child", library]
    cmd += ["--hidden", str(hidden)] + ([] if warmup else ["--no-warmup"])
    cmd += ["--samples", str(n_samples)] + (["--mnist", str(path)] if path is not None else [])
    done = subprocess.run(cmd, capture_output=True, text=True, env=this_chainrule())
    if done.returncode != 0:
        raise RuntimeError(
            f"W7: the {library} child exited with {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return json.loads(done.stdout.splitlines()[-1])


def w7(path: Path | None = None, n_samples: int = 60_000) -> dict:
    """W7 on MNIST's first ``n_samples`` rows from ``path`` (default
    :func:`training.default_mnist`): the MiB each library's epoch adds (``figures``) and each
    child's report (``processes``); ``skipped`` says why when MNIST or ``/proc`` is absent."""
    path = Path(path) if path is not None else training.default_mnist()
    result: dict[str, Any] = {"workload": "W7", "name": "peak memory of a W4 epoch", "unit": "MiB"}
    if not Path("/proc/self/status").exists():
        return result | {"skipped": "/proc/self/status not found (Linux only)"}
    if not path.exists():
        return result | {"skipped": f"{path} not found"}
    libraries = ["chainrule"] + (["torch"] if importlib.util.find_spec("torch") else [])
    processes = {lib: measure(lib, path, n_samples) for lib in libraries}
    figures = {lib: p["added_mib"] for lib, p in processes.items()}
    return result | {"figures": figures, "processes": processes}


def _print(r: dict) -> None:
    if r.get("skipped"):
        print(describe(r))
        return
    print("W7 peak memory one W4 epoch adds (MiB, each library in a fresh process)")
    for lib, m in r["processes"].items():
        note = "" if m["exact"] else "   (peak not reset: upper bound)"
        print(
            f"  {lib:10s}{m['added_mib']:9.1f}   over a baseline of "
            f"{m['baseline_mib']:.1f} (interpreter, library, data, model){note}"
        )
    figures = r["figures"]
    if "torch" in figures and figures["torch"] > 0:
        print(f"  chainrule/torch = {figures['chainrule'] / figures['torch']:.2f}x")
    elif "torch" not in figures:
        print("  PyTorch not installed (no ratio)")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=None, help="mnist.npz or IDX folder")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=["chainrule", "torch"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--samples", type=int, default=60_000, help="rows of MNIST's training set to train on"
    )
    parser.add_argument("--hidden", type=int, default=800, help=argparse.SUPPRESS)
    parser.add_argument("--no-warmup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # the measuring process: one JSON line, read back by measure()
        measured = child(args.child, args.mnist, args.samples, args.hidden, not args.no_warmup)
        print(json.dumps(measured))
        return [measured]
    result = w7(args.mnist, args.samples)
    if args.json:
        print(json.dumps([result], indent=2))
    else:
        _print(result)
    return [result]


if __name__ == "__main__":
    main()
