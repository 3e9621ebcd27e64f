"""W8: the wall time of the main job, ``chainrule train`` with its defaults, as a user runs it.

Each run is a fresh interpreter (``python -m chainrule train``, this source tree's chainrule),
started in an empty temporary folder, where it writes its run folder (report included), and
timed from start to exit; the fastest of ``--runs`` is kept. A run that fails or passes
``--timeout`` seconds is reported as an error (the goal is then not met).

Run: ``python benchmarks/bench_main_job.py [--runs 3] [--json]``; ``chainrule bench`` adds the
summary that judges the goal.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from ._summary import describe
from ._timing import this_chainrule

COMMAND = ("-m", "chainrule", "train")


def wall_time(timeout: float) -> tuple[float, str]:
    """Seconds of one ``chainrule train`` run with its defaults, and the last line it printed.

    Raises
    ------
    subprocess.TimeoutExpired
        After ``timeout`` seconds (the run is killed).
    RuntimeError
        When the run exits with a non-zero status.
    """
    with tempfile.TemporaryDirectory(prefix="chainrule-w8-") as folder:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *COMMAND],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=this_chainrule(),
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"chainrule train exited with {done.returncode}: {tail[0]}")
    return seconds, (done.stdout.strip().splitlines() or [""])[-1]


def w8(runs: int = 3, timeout: float = 60.0) -> dict:
    """The fastest wall time of ``runs`` runs (``figures``), and the job's own last line
    (``last_line``); ``error`` says what went wrong instead."""
    if runs < 1:
        raise ValueError(f"W8: runs must be at least 1, got {runs}")
    result = {"workload": "W8", "name": "chainrule train", "unit": "s"}
    try:
        timed = [wall_time(timeout) for _ in range(runs)]
    except subprocess.TimeoutExpired:
        return result | {"error": f"timed out after {timeout:g} s"}
    except RuntimeError as err:
        return result | {"error": str(err)}
    seconds, line = min(timed)
    return result | {"runs": runs, "figures": {"chainrule": seconds}, "last_line": line}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (the fastest is kept)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = w8(args.runs, args.timeout)
    if args.json:
        print(json.dumps([result], indent=2))
    else:
        print(describe(result))
        if "last_line" in result:
            print(f"  the job's last line: {result['last_line']}")
    return [result]


if __name__ == "__main__":
    main()
