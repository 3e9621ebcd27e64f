"""Large tables through ``chainrule train`` and ``chainrule predict``: the time to read a header of
10⁵ columns, and the wall time and peak memory (RSS) of one training epoch and of predicting a
numeric CSV of about 200 MB, each in a fresh process, against the file's size.

    python benchmarks/bench_tables.py [--columns 100000] [--megabytes 200] [--keep DIR]

Goals (issue "Tabular data as practitioners have it"): the header in under 5 s; training peak
memory at most 3x the file's size; predict's memory independent of the file's size (it streams).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MEASURE = """
import json, resource, sys, time
from chainrule.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"code": code, "seconds": time.perf_counter() - start, "peak": peak}))
"""


def measured(argv: list[str]) -> dict:
    """Runs ``chainrule ARGV`` in a fresh process; its exit code, wall time and peak RSS."""
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, timeout=3600
    )
    if proc.returncode:
        raise SystemExit(f"chainrule {' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wide_header(folder: Path, n_columns: int) -> float:
    """Seconds for ``load_table`` to read a 25-row CSV of ``n_columns`` feature columns."""
    from chainrule.app import Reading, load_table

    path = folder / "wide.csv"
    names = [f"c{i}" for i in range(n_columns)] + ["target"]
    rows = (",".join(["1"] * n_columns + [str(r % 2)]) for r in range(25))
    path.write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    start = time.perf_counter()
    load_table(f"csv:{path}", Reading())
    return time.perf_counter() - start


def numeric_csv(folder: Path, megabytes: float, n_features: int = 50) -> Path:
    """A CSV of random decimals with a 3-class integer target, about ``megabytes`` large."""
    rng = np.random.default_rng(0)
    row_bytes = n_features * 10 + 2  # "-0.123456," per cell
    n_rows = int(megabytes * 1e6 / row_bytes)
    path = folder / "big.csv"
    with path.open("w") as f:
        f.write(",".join([f"x{i}" for i in range(n_features)] + ["target"]) + "\n")
        for start in range(0, n_rows, 100_000):
            X = rng.normal(size=(min(100_000, n_rows - start), n_features))
            y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
            np.savetxt(
                f, np.column_stack([X, y]), fmt=["%.6f"] * n_features + ["%d"], delimiter=","
            )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=100_000)
    parser.add_argument("--megabytes", type=float, default=200)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(
            f"header of {args.columns:,} columns read in {wide_header(folder, args.columns):.2f} s"
        )
        path = numeric_csv(folder, args.megabytes)
        size = path.stat().st_size
        print(f"numeric CSV: {size / 1e6:.0f} MB")
        train = measured(
            ["train", "--data", f"csv:{path}", "--epochs", "1", "--batch-size", "256"]
            + ["--out", str(folder / "run")]
        )
        print(
            f"train, 1 epoch: {train['seconds']:.1f} s, peak RSS {train['peak'] / 1e6:.0f} MB "
            f"= {train['peak'] / size:.2f}x the file (goal <= 3x)"
        )
        for name, data in (("the whole file", path), ("its first 10%", _head(path, 0.1))):
            pred = measured(
                ["predict", "--model", str(folder / "run"), "--data", f"csv:{data}"]
                + ["--out", str(folder / "pred.csv")]
            )
            print(f"predict {name}: {pred['seconds']:.1f} s, peak RSS {pred['peak'] / 1e6:.0f} MB")


def _head(path: Path, fraction: float) -> Path:
    out = path.with_name("head.csv")
    keep = int(path.stat().st_size * fraction)
    with path.open() as src, out.open("w") as dst:
        for line in src:
            dst.write(line)
            keep -= len(line)
            if keep <= 0:
                break
    return out


if __name__ == "__main__":
    main()
