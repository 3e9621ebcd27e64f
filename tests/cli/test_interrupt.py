"""Ctrl-C during training: the checkpoint of the last finished epoch, where it is, exit 130;
``--resume`` continues from it exactly."""

from __future__ import annotations

import json

import numpy as np

from chainrule import optim
from chainrule.app import Options
from chainrule.app import _run as run_module
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


def _interrupt_in(monkeypatch, owner, name: str, n: int, after=False, match=None) -> dict:
    """Makes the n-th call of ``owner.name`` (counting those whose arguments satisfy
    ``match``) raise KeyboardInterrupt, before it runs (or after, when ``after``)."""
    original, calls = getattr(owner, name), {"n": 0}

    def interrupted(*args, **kwargs):
        if match is not None and not match(*args):
            return original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == n and not after:
            raise KeyboardInterrupt
        result = original(*args, **kwargs)
        if calls["n"] == n:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(owner, name, interrupted)
    return calls


def test_ctrl_c_names_the_epoch_the_file_holds_wherever_it_lands(monkeypatch, tmp_path):
    """Save n happens after epoch n - 1 (save 1 is the initial checkpoint, save 5 the one
    after the fit). Ctrl-C inside the n-th save's rename (before or after it), before the
    n-th save, or in it before its file is written: the message names the epoch the file
    then holds, read back from it."""
    from chainrule import _io
    from chainrule.train import _checkpoint

    def ckpt(*args):  # os.replace(tmp, path) or write_atomic(path, data)
        return any(str(a).endswith("checkpoint.safetensors") for a in args[:2])

    cases = [  # (what, (owner, name), n, after, epochs the file then holds)
        ("rename", (_io.os, "replace"), 2, False, 0),  # in the save of epoch 1, not renamed
        ("rename", (_io.os, "replace"), 3, False, 1),
        ("rename", (_io.os, "replace"), 3, True, 2),  # renamed, the save not yet returned
        ("write", (_checkpoint, "write_atomic"), 4, False, 2),
        ("save", (run_module.EpochCheckpoint, "after_epoch"), 2, False, 1),
        ("final save", (_checkpoint, "write_atomic"), 5, False, 3),
    ]
    for k, (what, (owner, name), n, after, held) in enumerate(cases):
        out = tmp_path / f"run{k}"
        match = ckpt if name != "after_epoch" else None
        with monkeypatch.context() as m:
            _interrupt_in(m, owner, name, n, after, match)
            result = run_cli(["train", "--data", "moons", "--epochs", "3", "--out", out])
        assert result.code == 130, (what, result.err)
        line = result.error_lines()[-1]
        checkpoint = out / "checkpoint.safetensors"
        assert f"the checkpoint {checkpoint} holds the run after epoch {held};" in line, (
            what,
            line,
        )
        assert read_checkpoint(checkpoint)[0]["counters"]["epoch"] == held, what
        assert result.error_lines() == [line] and line.startswith("chainrule train: interrupted")
        if what in ("rename", "final save"):  # the run continues from what the file holds
            argv = ["train", "--data", "moons", "--epochs", "3", "--resume", checkpoint]
            resumed = run_cli(argv)
            assert resumed.code == 0 and f"after epoch {held}" in resumed.out, (what, resumed.err)
        assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")], what


def test_ctrl_c_at_start_up_or_in_the_final_comparison_is_one_line(monkeypatch, tmp_path):
    from chainrule.app import _train

    with monkeypatch.context() as m:
        _interrupt_in(m, run_module, "load_table", 1)
        early = run_cli(["train", "--data", "moons", "--epochs", "2", "--out", tmp_path / "a"])
    assert early.code == 130 and early.error_lines() == ["chainrule train: interrupted"]

    out = tmp_path / "b"
    argv = ["train", "--data", "moons", "--epochs", "2", "--out", out]
    with monkeypatch.context() as m:
        _interrupt_in(m, _train, "compare_sklearn", 1)
        late = run_cli(argv)
    assert late.code == 130 and len(late.error_lines()) == 1, late.err
    checkpoint = out / "checkpoint.safetensors"
    assert f"checkpoint {checkpoint} holds the finished training" in late.err, late.err
    assert not (out / "metrics.json").exists()
    seconds = read_checkpoint(checkpoint)[0]["callbacks"]["epoch_checkpoint"]["state"]
    done = run_cli([*argv[:-2], "--resume", checkpoint])
    assert done.code == 0, done.err
    assert "resumed from" in done.out and "epoch   1/2" not in done.out
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    fit_seconds = dict(seconds["__dict__"])["fit_seconds"]
    assert metrics["test"]["chainrule"]["fit_seconds"] >= fit_seconds > 0


def test_ctrl_c_inside_scikit_learns_fit_is_not_swallowed(monkeypatch, tmp_path):
    """scikit-learn's MLP catches KeyboardInterrupt in its epochs and only warns; the run
    still stops with exit 130 and writes no report."""
    from sklearn.neural_network import MLPClassifier

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MLPClassifier, "_backprop", interrupted)
    out = tmp_path / "run"
    result = run_cli(["train", "--data", "moons", "--epochs", "2", "--out", out])
    assert result.code == 130 and len(result.error_lines()) == 1, result.err
    assert "interrupted after training, while evaluating" in result.err
    assert not (out / "metrics.json").exists() and not (out / "report.html").exists()


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--data", "moons", "--epochs", "2", "--out", out]
    assert run_cli(argv).code == 0

    def files():  # all but the lock file, which each run takes
        return {
            p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in out.iterdir()
            if p.name != ".chainrule.lock"
        }

    before = files()
    again = run_cli([*argv, "--resume", out / "checkpoint.safetensors"])
    assert again.code == 0, again.err
    assert f"the run in {out} has finished already" in again.out
    assert "nothing was changed" in again.out and "epoch " not in again.out
    assert files() == before, "no file was written, metrics.json's fit time included"


_SIGINT_AT = """
import os, signal, sys
from chainrule import cli
from chainrule.app import _run
from chainrule.train import _checkpoint

def at(owner, name, n):
    original, calls = getattr(owner, name), [0]
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered here
        return original(*args, **kwargs)
    setattr(owner, name, wrapped)

where = sys.argv[1]
points = {
    "parsing": (cli, "build_parser", 1),
    "start-up": (_run, "load_table", 1),
    "save": (_checkpoint, "write_atomic", 2),
}
at(*points[where])
sys.exit(cli.main(sys.argv[2:]))
"""


def test_a_real_sigint_exits_130_with_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for where, message in [
        ("parsing", "chainrule train: interrupted"),
        ("start-up", "chainrule train: interrupted"),
        ("save", "holds the run after epoch 0"),
    ]:
        argv = ["train", "--data", "moons", "--epochs", "2", "--out", str(tmp_path / where)]
        done = subprocess.run(
            [sys.executable, "-c", _SIGINT_AT, where, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 130, (where, done.returncode, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert message in done.stderr.splitlines()[-1], (where, done.stderr)
