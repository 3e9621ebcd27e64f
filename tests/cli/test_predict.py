"""``chainrule predict``: a trained run's model on the rows of a CSV file."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import numpy as np

from chainrule.app import load_model
from chainrule.app._model import probabilities, scores

from ._helpers import regression_rows, run_cli, write_csv
from .conftest import FEATURES, TARGET


def _read(path):
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_predict_classes_and_probabilities(moons_run, tmp_path):
    run = moons_run[0]
    rng = np.random.default_rng(0)
    points = rng.normal(size=(25, 2))
    labels = [int(p[1] < 0.25) for p in points]
    # columns in another order than training, an extra column, and the target: all by name
    rows = [[f"{p[1]:.6f}", "id", f"{p[0]:.6f}", c] for p, c in zip(points, labels)]
    data = write_csv(tmp_path / "points.csv", ["x2", "note", "x1", "class"], rows)
    out = tmp_path / "pred.csv"
    result = run_cli(
        ["predict", "--model", run / "checkpoint.safetensors", "--data", f"csv:{data}"]
        + ["--out", out]
    )
    assert result.code == 0, result.err
    assert "25 rows" in result.out and "accuracy against the file's 'class' column" in result.out
    header, rows = _read(out)
    assert header == ["prediction", "p_0", "p_1"] and len(rows) == 25
    proba = np.array([[float(v) for v in row[1:]] for row in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    card, model, _ = load_model(run)
    expected = probabilities(card.loss, scores(model, card.preprocessing.transform(points)))
    np.testing.assert_allclose(proba, expected, rtol=1e-4, atol=1e-6)
    assert [int(r[0]) for r in rows] == expected.argmax(axis=1).tolist()
    assert not list(tmp_path.glob(".*.tmp")), "written atomically, no temporary file left"


def test_predict_regression_from_the_run_folder(regression_run, tmp_path):
    X, y = regression_rows(30, seed=1)
    rows = [[*(f"{v:.5f}" for v in x), f"{t:.5f}"] for x, t in zip(X, y)]
    data = write_csv(tmp_path / "new.csv", [*FEATURES, TARGET], rows)
    out = tmp_path / "pred.csv"
    result = run_cli(
        ["predict", "--model", regression_run[0], "--data", f"csv:{data}"] + ["--out", out]
    )
    assert result.code == 0, result.err
    assert "R² against the file's" in result.out
    header, rows = _read(out)
    assert header == ["prediction"] and len(rows) == 30
    predicted = np.array([float(r[0]) for r in rows])
    assert np.all(np.isfinite(predicted)) and predicted.std() > 0


def test_predict_as_a_module(moons_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(moons_run[0], run)
    data = write_csv(tmp_path / "p.csv", ["x1", "x2"], [[0.0, 1.0], [1.0, -0.5]])
    out = tmp_path / "pred.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "chainrule", "predict", "--model", str(run)]
        + ["--data", f"csv:{data}", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert _read(out)[0] == ["prediction", "p_0", "p_1"] and len(_read(out)[1]) == 2
