"""``chainrule train`` tells the truth: the failing runs of issue 12, each shown in the terminal,
metrics.json and the report, and the knobs the advice points to (--patience, --weight-decay,
--dropout)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from chainrule.app import RunError, load_model
from chainrule.app._model import scores

from ._helpers import run_cli, write_csv


def _train(out, *args):
    result = run_cli(["train", *map(str, args), "--out", out])
    assert result.code == 0, f"run failed ({result.code}):\n{result.out}\n{result.err}"
    page = (out / "report.html").read_text()
    found = [d["name"] for d in json.loads((out / "metrics.json").read_text())["diagnostics"]]
    return result.out, page, found


def _banner(page: str) -> str:
    return re.search(r'<p class="banner ([a-z]+)">(.*?)</p>', page).group(1, 2)


def test_the_default_digits_run_reports_its_overfitting(tmp_path):
    """Validation loss up from 0.126 at epoch 6 to 0.145 at epoch 20: said, not hidden."""
    out, page, found = _train(tmp_path / "run", "--data", "digits")
    assert "overfitting" in found
    line = next(x for x in out.splitlines() if "diagnostics: [warning] overfitting" in x)
    assert "at epoch 6 (its lowest)" in line and "at epoch 20" in line, line
    assert "--patience" in out and "no problems" not in out
    kind, text = _banner(page)
    assert kind == "warn" and "overfitting" in text and "No problems" not in page
    assert re.search(r"^\s+accuracy\s+[0-9.]+\s+[0-9.]+\s+0\.1000$", out, re.M), "baseline column"
    assert "<th>baseline</th>" in page


@pytest.mark.parametrize("lr", ["6", "12"])
def test_sgd_at_a_rate_far_too_high_ends_at_chance_and_says_so(tmp_path, lr):
    out, page, found = _train(
        tmp_path / "run", "--data", "digits", "--optimizer", "sgd", "--lr", lr, "--epochs", "6"
    )
    assert {"learning_rate_too_high", "no_better_than_baseline"} <= set(found), found
    assert "diagnostics: [error] no_better_than_baseline: test accuracy 0.1000" in out
    assert _banner(page)[0] == "bad" and "No problems" not in page


def test_a_499_class_target_is_too_many_classes_and_no_better_than_the_baseline(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    rows = [[*(f"{v:.4f}" for v in x), i % 499] for i, x in enumerate(X)]
    data = write_csv(tmp_path / "prices.csv", ["a", "b", "c", "price"], rows)
    out, page, found = _train(
        tmp_path / "run",
        "--data",
        f"csv:{data}",
        "--target",
        "price",
        "--task",
        "classification",  # 499 whole numbers: regression unless asked, as a user may
        "--epochs",
        "2",
        "--hidden",
        "16",
    )
    assert found[-2:] == ["too_many_classes", "no_better_than_baseline"], found
    assert "499 classes for 420 training rows" in out and "regression" in out
    assert _banner(page)[0] == "bad" and "too many classes" in _banner(page)[1]


def test_patience_dropout_and_weight_decay(tmp_path):
    out, page, found = _train(
        tmp_path / "run",
        "--data",
        "digits",
        "--epochs",
        "12",
        "--patience",
        "2",
        "--dropout",
        "0.2",
        "--weight-decay",
        "1e-4",
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    settings = metrics["settings"]
    assert (settings["weight_decay"], settings["dropout"], settings["patience"]) == (1e-4, 0.2, 2)
    stop = re.search(r"stopped after epoch (\d+) and restored the weights of epoch (\d+)", out)
    assert stop, out
    stopped, best = map(int, stop.groups())
    assert stopped == best + 2 and len(metrics["epochs"]) == stopped < 12
    assert metrics["best_epoch"] == best
    valid = [e["valid_loss"] for e in metrics["epochs"]]
    assert valid[best - 1] == min(valid), "the best epoch is the lowest validation loss"
    assert "<td>best, restored</td>" in page and "regularisation" in page
    card, model, _ = load_model(tmp_path / "run")
    assert card.dropout == 0.2 and "Dropout" in repr(model)
    path = tmp_path / "run" / "model.json"
    old = json.loads(path.read_text())
    assert old.pop("dropout") == 0.2
    path.write_text(json.dumps(old))  # a card written before --dropout existed: none
    with pytest.raises(RunError, match="from another architecture"):
        load_model(tmp_path / "run")
    X = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    np.testing.assert_array_equal(scores(model, X), scores(model, X)), "no dropout at predict"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dropout", "1"], "expected a probability in [0, 1), got 1"),
        (["--dropout", "-0.1"], "expected a probability in [0, 1), got -0.1"),
        (["--weight-decay", "-1"], "expected a number >= 0, got -1"),
        (["--patience", "0"], "expected a positive integer, got 0"),
    ],
)
def test_knob_errors(args, message, capsys):
    from chainrule.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
