"""Running the ``chainrule`` command in-process, and small data files for it."""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chainrule.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def error_lines(self) -> list[str]:
        """The non-empty lines of standard error."""
        return [line for line in self.err.splitlines() if line.strip()]


def run_cli(argv: list[str]) -> Result:
    """``main(argv)`` with standard output and error captured (works in session fixtures,
    where pytest's capsys is not available)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Result(code, out.getvalue(), err.getvalue())


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def regression_rows(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (n, 3) and y = 2·x₀ − x₁ + 0.5·x₂² + noise, written with decimals (a regression)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2 + 0.1 * rng.normal(size=n)
    return X, y
