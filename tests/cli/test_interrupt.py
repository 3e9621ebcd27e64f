"""Ctrl-C during training: the checkpoint of the last finished epoch, where it is, exit 130;
``--resume`` continues from it exactly."""

from __future__ import annotations

import json

import numpy as np

from chainrule import optim
from chainrule.report import Options
from chainrule.report import _run as run_module
from chainrule.train import read_checkpoint

from ._helpers import run_cli


def _quiet(*args, **kwargs) -> None:
    """A ``say`` that prints nothing."""


def _interrupt_at_step(monkeypatch, n: int) -> None:
    """Makes the n-th call of ``Adam.step`` raise KeyboardInterrupt, as Ctrl-C would."""
    step, calls = optim.Adam.step, {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    monkeypatch.setattr(optim.Adam, "step", interrupted)


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_the_run(monkeypatch, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--data", "moons", "--epochs", "3", "--seed", "1", "--out", out]
    _interrupt_at_step(monkeypatch, 14 + 5)  # 420 rows / 32 = 14 batches: in epoch 2
    result = run_cli(argv)
    assert result.code == 130, result.err
    checkpoint = out / "checkpoint.safetensors"
    message = result.error_lines()[-1]
    assert "interrupted during epoch 2 of 3" in message and str(checkpoint) in message
    assert f"--resume {checkpoint}" in message and "Traceback" not in result.err
    assert "epoch   1/3" in result.out and "epoch   2/3" not in result.out
    header, _ = read_checkpoint(checkpoint)
    assert header["counters"]["epoch"] == 1 and header["counters"]["iteration"] == 14
    assert (out / "model.json").is_file() and not (out / "report.html").exists()

    monkeypatch.undo()
    resumed = run_cli([*argv, "--resume", checkpoint])
    assert resumed.code == 0, resumed.err
    assert f"resumed from {checkpoint} after epoch 1" in resumed.out
    assert "epoch   1/3" not in resumed.out and "epoch   3/3" in resumed.out
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3], "history kept across resume"
    assert metrics["settings"]["resumed_after_epoch"] == 1

    # the same three epochs without an interruption give the same weights
    straight = Options(data="moons", epochs=3, seed=1, out=tmp_path / "straight")
    run = run_module.prepare(straight)
    run_module.fit(run, _quiet)
    _, arrays = read_checkpoint(checkpoint)
    for name, value in run.learner.model.state_dict().items():
        np.testing.assert_array_equal(arrays[f"model/{name}"], value, err_msg=name)

    longer = run_cli(
        ["train", "--data", "moons", "--epochs", "5", "--seed", "1"] + ["--resume", checkpoint]
    )
    assert longer.code == 2 and "other settings (--epochs 3 -> 5)" in longer.err


def test_ctrl_c_in_the_first_epoch_keeps_the_initial_checkpoint(monkeypatch, tmp_path):
    _interrupt_at_step(monkeypatch, 3)
    result = run_cli(["train", "--data", "moons", "--epochs", "2", "--out", tmp_path])
    assert result.code == 130
    assert "interrupted during epoch 1 of 2" in result.err and "after epoch 0" in result.err
    header, _ = read_checkpoint(tmp_path / "checkpoint.safetensors")
    assert header["counters"] == {"epoch": 0, "iteration": 0, "event": None}


def test_ctrl_c_again_before_an_epoch_ends_points_at_the_resumed_checkpoint(monkeypatch, tmp_path):
    argv = ["train", "--data", "moons", "--epochs", "3", "--out", tmp_path / "a"]
    _interrupt_at_step(monkeypatch, 16)
    assert run_cli(argv).code == 130
    checkpoint = tmp_path / "a" / "checkpoint.safetensors"
    monkeypatch.undo()
    _interrupt_at_step(monkeypatch, 2)
    again = run_cli([*argv[:-1], tmp_path / "b", "--resume", checkpoint])
    assert again.code == 130
    assert f"the checkpoint {checkpoint} holds the run after epoch 1" in again.err
    assert (tmp_path / "b" / "model.json").is_file()
