"""``chainrule export``: a run as one ONNX graph whose preprocessing (imputation, indicators,
scaling, one-hot categories) equals ``chainrule predict``'s, checked in ONNX Runtime."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from ._helpers import run_cli, write_csv
from .test_errors import _one_clear_line

ort = pytest.importorskip("onnxruntime")
pd = pytest.importorskip("pandas")


def _table(path, n, seed, cities=("Paris", "Lyon", "Nice", "Brest", "Oslo")):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        area = rng.uniform(30, 200)
        city = cities[int(rng.integers(0, len(cities)))] if i % 7 else ""
        kind = ["a", "b"][i % 2]
        price = int(area * 3000 + rng.normal(0, 9000))
        rows.append(["" if i % 5 == 2 else f"{area:.1f}", city, kind, price, i % 3])
    return write_csv(path, ["area", "city", "kind", "price", "grade"], rows)


def _inputs(path, card):
    """The ONNX inputs for a CSV's rows: numbers with NaN, strings with "" where missing."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = card["preprocessing"]["columns"]
    numeric = [c["name"] for c in columns if c["kind"] == "numeric"]
    categorical = [c["name"] for c in columns if c["kind"] == "categorical"]
    feeds = {}
    if numeric:
        values = frame[numeric].replace("", "nan").astype(np.float64).to_numpy()
        feeds["numeric"] = values.astype(np.float32)
    if categorical:
        feeds["categorical"] = frame[categorical].to_numpy(dtype=object)
    return feeds


@pytest.mark.parametrize(
    ("target", "extra"),
    [("grade", ["--task", "classification", "--max-categories", "3"]), ("price", [])],
    ids=["classifier", "regression"],
)
def test_exported_run_equals_predict_in_onnx_runtime(tmp_path, target, extra):
    import json

    data = _table(tmp_path / "train.csv", 160, 0)
    run = tmp_path / "run"
    argv = ["train", "--data", f"csv:{data}", "--target", target, *extra]
    assert run_cli([*argv, "--epochs", "2", "--hidden", "8", "--out", run]).code == 0
    model = tmp_path / "model.onnx"
    result = run_cli(["export", "--model", run, "--out", model])
    assert result.code == 0, result.err
    assert "inputs numeric, categorical" in result.out
    new = _table(tmp_path / "new.csv", 40, 1, cities=("Paris", "Lyon", "Rome", "Oslo", ""))
    pred = tmp_path / "pred.csv"
    assert run_cli(["predict", "--model", run, "--data", f"csv:{new}", "--out", pred]).code == 0
    with pred.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    card = json.loads((run / "model.json").read_text())
    session = ort.InferenceSession(str(model))
    outputs = dict(
        zip([o.name for o in session.get_outputs()], session.run(None, _inputs(new, card)))
    )
    if target == "grade":
        np.testing.assert_allclose(
            outputs["probabilities"], [[float(v) for v in r[1:]] for r in rows], atol=2e-6
        )
        assert outputs["label"].tolist() == [int(r[0]) for r in rows]
    else:
        np.testing.assert_allclose(
            outputs["output"].ravel(), [float(r[0]) for r in rows], rtol=1e-5
        )


def test_export_errors(tmp_path):
    data = _table(tmp_path / "train.csv", 60, 0)
    run = tmp_path / "run"
    argv = ["train", "--data", f"csv:{data}", "--target", "price", "--drop", "city", "grade"]
    assert run_cli([*argv, "--epochs", "1", "--hidden", "4", "--out", run]).code == 0
    result = run_cli(["export", "--model", run, "--out", run / "model.json"])
    _one_clear_line(result, "export", "would replace the run's own")
    result = run_cli(["export", "--model", tmp_path / "nope", "--out", tmp_path / "m.onnx"])
    _one_clear_line(result, "export", "does not exist")
