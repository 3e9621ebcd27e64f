"""Runs shared by the command's tests: each trains once per session, for two epochs on small
data, and the tests read what it wrote."""

from __future__ import annotations

import pytest

from ._helpers import regression_rows, run_cli, write_csv

# HTML-sensitive names: the report must escape them
FEATURES = ["<b>bmi</b>", "age & sex", "x'2\""]
TARGET = "y<script>alert(1)</script>"


@pytest.fixture(scope="session")
def moons_run(tmp_path_factory):
    """``chainrule train --data moons --epochs 2 --lr-find``: its folder and output."""
    out = tmp_path_factory.mktemp("moons") / "run"
    result = run_cli(["train", "--data", "moons", "--epochs", "2", "--lr-find", "--out", out])
    assert result.code == 0, f"moons run failed ({result.code}):\n{result.out}\n{result.err}"
    return out, result


@pytest.fixture(scope="session")
def regression_csv(tmp_path_factory):
    """A CSV of 120 rows, three features with HTML-sensitive names and a decimal target."""
    X, y = regression_rows()
    path = tmp_path_factory.mktemp("csv") / "regression.csv"
    rows = [[*(f"{v:.5f}" for v in x), f"{t:.5f}"] for x, t in zip(X, y)]
    return write_csv(path, [*FEATURES, TARGET], rows)


@pytest.fixture(scope="session")
def regression_run(tmp_path_factory, regression_csv):
    """``chainrule train --data csv:PATH --target COL --epochs 2 --hidden 16``."""
    out = tmp_path_factory.mktemp("regression") / "run"
    result = run_cli(
        ["train", "--data", f"csv:{regression_csv}", "--target", TARGET, "--epochs", "2"]
        + ["--hidden", "16", "--out", out]
    )
    assert result.code == 0, f"regression run failed ({result.code}):\n{result.out}\n{result.err}"
    return out, result
