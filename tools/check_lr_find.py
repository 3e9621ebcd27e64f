"""Does ``chainrule train --lr-find`` help? On every bundled data set, the test metric of a run
with the finder's rate against the default rate's (same seed, split and epochs).

Run: ``PYTHONPATH=src python tools/check_lr_find.py [--seeds 0 1] [--data moons iris]``.
Prints one line per data set and seed; exit status 1 when a finder run is more than one point
(0.01 of accuracy or R²) below the default rate's run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

from chainrule.app import BUNDLED, Options
from chainrule.app._evaluate import evaluate
from chainrule.app._run import fit, prepare

TOLERANCE = 0.01


def run_metric(data: str, seed: int, lr_find: bool, out: Path) -> tuple[float, float]:
    """(test metric, rate used) of one quiet run."""
    options = Options(data=data, seed=seed, lr_find=lr_find, out=out)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        run = prepare(options)
        run.learner.show_progress = False
        fit(run, say=lambda *a: None)
        result = evaluate(run)
    return result["accuracy" if "accuracy" in result else "r2"], run.lr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=list(BUNDLED))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = parser.parse_args(argv)
    worse = 0
    print(f"{'data':14s} seed  {'default':>8s} {'(lr)':>9s}  {'lr-find':>8s} {'(lr)':>9s}  diff")
    with tempfile.TemporaryDirectory() as tmp:
        for data in args.data:
            for seed in args.seeds:
                base, base_lr = run_metric(data, seed, False, Path(tmp) / f"{data}-{seed}-d")
                found, lr = run_metric(data, seed, True, Path(tmp) / f"{data}-{seed}-f")
                flag = "" if found >= base - TOLERANCE else "  WORSE"
                worse += bool(flag)
                print(
                    f"{data:14s} {seed:4d}  {base:8.4f} {base_lr:9.3g}  {found:8.4f} {lr:9.3g}"
                    f"  {found - base:+.4f}{flag}",
                    flush=True,
                )
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
