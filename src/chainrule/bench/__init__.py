"""The benchmark workloads, each run side by side with PyTorch and scikit-learn and reported as
ratios: ``engine`` (W1 autodiff overhead, W5 import time), ``training`` (W2–W4), ``estimators``
(W6), all in one process, and ``memory`` (W7, peak memory of a W4 epoch, one fresh process per
library).

``chainrule bench`` (``run``) runs them all and prints the machine they ran on;
``benchmarks/*.py`` are entry points for each module.
"""

from __future__ import annotations

import contextlib
import io
import json
import platform
import sys
from collections.abc import Callable

import numpy as np

from .._argparse import ArgumentParser
from ._timing import threads

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")


def machine() -> str:
    """The machine and library versions, for the report."""
    parts = [
        f"{platform.machine()} ({platform.processor() or 'cpu'})",
        f"{threads()} cores",
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        f"NumPy {np.__version__}",
    ]
    for name in ("torch", "sklearn"):
        try:
            module = __import__(name)
            parts.append(f"{'PyTorch' if name == 'torch' else 'scikit-learn'} {module.__version__}")
        except ImportError:
            parts.append(f"{name} not installed")
    return ", ".join(parts)


def run(argv: list[str] | None = None) -> int:
    """``chainrule bench``: runs the selected workloads and prints their ratios."""
    parser = ArgumentParser(
        prog="chainrule bench",
        description="Run the benchmark workloads side by side with PyTorch and scikit-learn and "
        "print each one's time and its ratio to the reference: W1 autodiff overhead per op, W2 "
        "a small network's training step, W3 and W4 MNIST-sized epochs, W5 import time, W6 the "
        "estimators' fit, W7 peak memory. Each workload says when it starts; the whole run "
        "takes several minutes (--quick: a minute or two).",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=WORKLOADS,
        default=list(WORKLOADS),
        metavar="W",
        help=f"workloads to run, from {', '.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repetitions and epochs (a rough reading in a minute or two)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    # Not at the top: ``python -m chainrule.bench.memory --child`` imports this package first,
    # and W7's measuring process should not hold scikit-learn and the other workloads.
    from . import engine, estimators, memory, training

    only, quick = set(args.only), args.quick
    # (module, its main, its arguments, the workloads it runs)
    jobs: list[tuple[str, Callable[[list[str]], object], list[str], list[str]]] = []
    if only & {"W1", "W5"}:
        settings = ["--number", "30", "--repeat", "2"] if quick else []
        jobs.append(("engine", engine.main, settings, sorted(only & {"W1", "W5"})))
    trains = sorted(only & {"W2", "W3", "W4"})
    if trains:
        jobs.append(
            (
                "training",
                training.main,
                ["--only", *trains] + (["--w4-epochs", "1"] if quick else []),
                trains,
            )
        )
    if "W6" in only:
        jobs.append(
            (
                "estimators",
                estimators.main,
                ["--digits-epochs", "10", "--random-samples", "10000", "--repeats", "1"]
                if quick
                else [],
                ["W6"],
            )
        )
    if "W7" in only:  # one epoch already, quick or not
        jobs.append(("memory", memory.main, [], ["W7"]))
    results: dict[str, object] = {"machine": machine()}
    if not args.json:
        print(f"machine: {results['machine']}\n")
    for name, main, extra, workloads in jobs:
        # on standard error, so that --json's standard output stays one document
        print(f"running {', '.join(workloads)} ({name})...", file=sys.stderr, flush=True)
        if args.json:
            with contextlib.redirect_stdout(io.StringIO()):
                results[name] = main(extra)
        else:
            results[name] = main(extra)
            print()
    if args.json:
        json.dump(results, sys.stdout, indent=2, default=str)
        print()
    return 0
