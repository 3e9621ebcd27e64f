"""The benchmark workloads, each run side by side with its references and judged against the
goals of issue 17 in one summary table: ``engine`` (W1 autodiff overhead, W5 import time),
``training`` (W2–W4, next to a hand-written NumPy loop, PyTorch and scikit-learn),
``estimators`` (W6), all in one process, ``memory`` (W7, peak memory of a W4 epoch, one fresh
process per library) and ``main_job`` (W8, ``chainrule train``'s wall time).

``chainrule bench`` (``run``) runs them, prints the machine they ran on and each workload's
figures, and ends with the summary (:func:`summary_lines`, the goals in :data:`GOALS`);
``benchmarks/*.py`` are entry points for each module.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import platform
import sys
from dataclasses import asdict

import numpy as np

from .._argparse import ArgumentParser
from ._summary import GOALS, WORKLOADS, Goal, Line, format_summary, summary_lines
from ._timing import threads

__all__ = [
    "GOALS",
    "WORKLOADS",
    "Goal",
    "Line",
    "format_summary",
    "machine",
    "run",
    "summary_lines",
]

# Each module's settings in --quick mode: about two minutes in all on the 2-core machine.
QUICK = {
    "engine": "--number 30 --repeat 2".split(),
    "training": (
        "--w3-samples 20000 --w3-repeats 2 --w4-samples 20000 --w4-epochs 2 --w4-no-sklearn"
    ).split(),
    "estimators": "--large-samples 10000 --repeats 2".split(),
    "memory": [],  # one epoch of all of MNIST: PyTorch's peak grows with the rows
    "main_job": "--runs 2".split(),
}
# (module, the workloads it runs), in the order they run
MODULES = (
    ("engine", ("W1", "W5")),
    ("training", ("W2", "W3", "W4")),
    ("estimators", ("W6",)),
    ("memory", ("W7",)),
    ("main_job", ("W8",)),
)


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
    """``chainrule bench``: runs the selected workloads, prints their figures and ends with the
    summary that judges them against the goals; 0 when done (goals met or not)."""
    parser = ArgumentParser(
        prog="chainrule bench",
        description="Run the benchmark workloads side by side with a hand-written NumPy loop, "
        "PyTorch and scikit-learn and print each one's figures: W1 autodiff overhead per op, W2 "
        "a small network's training step, W3 and W4 MNIST-sized epochs, W5 import time, W6 the "
        "estimators' fit, W7 peak memory, W8 the wall time of 'chainrule train'. The run ends "
        "with one summary table: each workload's ratio to its references, its goal and whether "
        "it is met. Each workload says when it starts; the whole run takes several minutes "
        "(--quick: about two).",
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
        help="fewer repetitions, epochs and samples (a rough reading in about two minutes)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"machine": machine()}
    if not args.json:
        print(f"machine: {report['machine']}\n")
    results: list[object] = []
    for name, workloads in MODULES:
        chosen = [w for w in workloads if w in args.only]
        if not chosen:
            continue
        # Imported here: ``python -m chainrule.bench.memory --child`` imports this package
        # first, and W7's measuring process should not hold scikit-learn and the others.
        module = importlib.import_module(f".{name}", __name__)
        extra = ["--only", *chosen] if len(workloads) > 1 else []
        extra += QUICK[name] if args.quick else []
        # on standard error, so that --json's standard output stays one document
        print(f"running {', '.join(chosen)} ({name})...", file=sys.stderr, flush=True)
        quiet = contextlib.redirect_stdout(io.StringIO()) if args.json else contextlib.nullcontext()
        with quiet:
            found = module.main(extra)
        results += found if isinstance(found, list) else [found]
        if not args.json:
            print()
    lines = summary_lines(results)
    if args.json:
        report |= {"results": results, "summary": [asdict(line) for line in lines]}
        json.dump(report, sys.stdout, indent=2, default=str)
        print()
    else:
        print(
            "summary, against the goals of issue 17 (ratio: chainrule's best path over the "
            "reference; for test error and accuracy, chainrule's minus the reference's, in points)"
        )
        print(format_summary(lines))
    return 0
