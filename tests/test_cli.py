"""The ``chainrule`` command: in-process through ``main`` and as the installed console script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule import cli
from chainrule.cli import main

EPOCH = re.compile(
    r"^epoch\s+(\d+)/(\d+)\s+train loss\s+([0-9.]+)\s+valid loss\s+([0-9.]+)\s+"
    r"valid accuracy\s+([0-9.]+)",
    re.MULTILINE,
)
ACCURACY = re.compile(r"^\s+accuracy\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)$", re.MULTILINE)
RUN_DIR = re.compile(r"^digits-\d{8}-\d{6}$")


def test_train_defaults_for_two_epochs_in_process(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code = main(["train", "--epochs", "2"])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, f"main(['train', '--epochs', '2']) returned {code}:\n{captured.err}"
    assert "digits (classification, 10 classes)" in out and "MLP 64-64-64-10 (relu)" in out
    assert "adam lr 0.01, one-cycle schedule, batch 32" in out
    epochs = EPOCH.findall(out)
    assert [(e, n) for e, n, *_ in epochs] == [("1", "2"), ("2", "2")], out
    losses = [float(e[2]) for e in epochs]
    assert losses[-1] < losses[0], f"train loss should fall from epoch 1 to 2, got {losses}"
    accuracy = ACCURACY.findall(out)
    assert len(accuracy) == 1, f"expected one accuracy row (ours, scikit-learn, baseline):\n{out}"
    ours, sklearn, baseline = map(float, accuracy[0])
    assert ours > 0.8 and 0 < sklearn <= 1 and baseline == 0.1, accuracy
    assert "\r" not in captured.err, "no progress bars when standard error is not a terminal"
    (run,) = (tmp_path / "chainrule-runs").iterdir()
    assert RUN_DIR.match(run.name), run.name
    names = {p.name for p in run.iterdir()}
    assert {"report.html", "metrics.json", "checkpoint.safetensors", "model.json"} <= names
    metrics = json.loads((run / "metrics.json").read_text())
    assert (
        metrics["settings"]["hidden"] == [64, 64] and metrics["settings"]["schedule"] == "one-cycle"
    )
    assert metrics["split"] == {"train": 1257, "valid": 270, "test": 270}
    lrs = [e["lr"] for e in metrics["epochs"]]
    assert lrs[0] > lrs[1] > 0, f"one-cycle rate stepped per batch: {lrs}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--epochs", "0"], "positive integer"),
        (["train", "--epochs", "many"], "invalid"),
        (["train", "--lr", "-1"], "positive number"),
        (["train", "--activation", "swish"], "invalid choice"),
        (["predict", "--data", "csv:x.csv"], "required: --model"),
        (["fit"], "invalid choice"),
    ],
    ids=["epochs-0", "epochs-not-int", "negative-lr", "activation", "predict-model", "command"],
)
def test_bad_arguments_exit_with_code_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2, f"main({argv}) exited with {info.value.code}, expected 2"
    err = capsys.readouterr().err
    assert message in err, f"main({argv}) stderr should mention {message!r}, got:\n{err}"


def test_no_command_prints_help_and_returns_2(capsys):
    code = main([])
    assert code == 2, f"main([]) returned {code}, expected 2"
    out = capsys.readouterr().out
    for command in ("train", "predict", "gradcheck"):
        assert command in out, f"main([]) should print help listing {command!r}"


def test_console_script_trains_one_epoch(tmp_path):
    exe = shutil.which("chainrule")
    if exe is None:
        pytest.skip("the 'chainrule' console script is not on PATH (package not installed)")
    argv = [exe, "train", "--data", "iris", "--epochs", "1", "--hidden", "8"]
    proc = subprocess.run(
        [*argv, "--out", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"chainrule train exited {proc.returncode}:\n{proc.stderr}"
    assert len(EPOCH.findall(proc.stdout)) == 1, f"expected one epoch line in:\n{proc.stdout}"
    assert ACCURACY.search(proc.stdout), f"expected an accuracy row in:\n{proc.stdout}"
    assert (tmp_path / "report.html").is_file()


def test_gradcheck_passes_and_prints_a_table(capsys):
    assert cli.main(["gradcheck", "--op", "exp", "softmax"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("exp", "softmax"))]
    assert [r[0] for r in rows] == ["exp", "softmax"], "one row per op, sorted"
    assert all(r[2] == "pass" and r[3] == "pass" for r in rows), out
    assert "2 passed, 0 failed" in out


def test_gradcheck_fails_with_exit_1_on_a_wrong_rule(capsys, monkeypatch):
    op = cr.ops.REGISTRY["exp"]
    monkeypatch.setattr(op, "vjp", (lambda g, out, x: g * out * 2.0,))
    assert cli.main(["gradcheck", "--op", "exp", "--no-torch"]) == 1
    captured = capsys.readouterr()
    assert "FAIL: exp-" in captured.out and "mode 'rev'" in captured.out
    assert "failed: exp" in captured.err


def test_gradcheck_unknown_op_exits_2(capsys):
    assert cli.main(["gradcheck", "--op", "nope"]) == 2
    assert "no registered op named nope" in capsys.readouterr().err


def _modules_after(statement: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys; {statement}; print(sorted(m for m in {names!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout.replace("'", '"'))


def test_import_chainrule_leaves_the_application_and_pandas_out():
    names = ("chainrule.app", "chainrule.report", "chainrule.cli", "pandas", "sklearn")
    assert _modules_after("import chainrule", names) == []


def test_the_command_leaves_the_onnx_export_out_until_it_exports():
    assert _modules_after("import chainrule.cli", ("chainrule.export",)) == []


def test_the_report_imports_nothing_of_the_application():
    assert _modules_after("import chainrule.report", ("chainrule.app", "chainrule.cli")) == []


def test_run_as_the_program_it_spares_the_exit_its_garbage_collection(capsys, monkeypatch):
    frozen = []
    monkeypatch.setattr(cli.gc, "freeze", lambda: frozen.append(True))
    assert main(["gradcheck", "--op", "exp", "--no-torch"]) == 0
    assert frozen == [], "called with argv (from Python), the caller's objects stay collectable"
    monkeypatch.setattr(sys, "argv", ["chainrule", "gradcheck", "--op", "exp", "--no-torch"])
    assert main() == 0
    assert frozen == [True], "run as the program, the collector's objects are frozen at the end"
    monkeypatch.setattr(sys, "argv", ["chainrule", "gradcheck", "--op", "nope"])
    assert main() == 2 and frozen == [True, True], "an error ends the process just the same"
    capsys.readouterr()
