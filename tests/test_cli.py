"""The ``chainrule`` command: in-process through ``main`` and as the installed console script."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import chainrule as cr
from chainrule import cli
from chainrule.cli import main

EPOCH = re.compile(r"^epoch\s+(\d+)\s+train loss\s+([0-9.]+)\s*$", re.MULTILINE)
ACCURACY = re.compile(r"^test accuracy\s+([0-9.]+)", re.MULTILINE)


def test_train_three_epochs_in_process(capsys):
    code = main(["train", "--epochs", "3"])
    out = capsys.readouterr().out
    assert code == 0, f"main(['train', '--epochs', '3']) returned {code}, expected 0"
    epochs = EPOCH.findall(out)
    assert [int(e) for e, _ in epochs] == [1, 2, 3], f"expected epoch lines 1, 2, 3 in:\n{out}"
    losses = [float(loss) for _, loss in epochs]
    assert losses[-1] < losses[0], f"train loss should fall from epoch 1 to 3, got {losses}"
    accuracy = ACCURACY.findall(out)
    assert len(accuracy) == 1, f"expected one 'test accuracy' line in:\n{out}"
    assert float(accuracy[0]) > 0.85, f"test accuracy after 3 epochs is {accuracy[0]}, not > 0.85"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--epochs", "0"], "positive integer"),
        (["train", "--epochs", "many"], "invalid"),
        (["train", "--lr", "-1"], "positive number"),
        (["fit"], "invalid choice"),
    ],
    ids=["epochs-0", "epochs-not-int", "negative-lr", "unknown-command"],
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
    assert "train" in capsys.readouterr().out, "main([]) should print help listing 'train'"


def test_console_script_trains_one_epoch():
    exe = shutil.which("chainrule")
    if exe is None:
        pytest.skip("the 'chainrule' console script is not on PATH (package not installed)")
    proc = subprocess.run(
        [exe, "train", "--epochs", "1"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, (
        f"chainrule train --epochs 1 exited {proc.returncode}:\n{proc.stderr}"
    )
    assert len(EPOCH.findall(proc.stdout)) == 1, f"expected one epoch line in:\n{proc.stdout}"
    assert ACCURACY.search(proc.stdout), f"expected a 'test accuracy' line in:\n{proc.stdout}"


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
