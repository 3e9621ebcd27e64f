"""Run folders that cannot be mixed or destroyed, and ``--resume`` that checks the run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.app import RunError, predict
from chainrule.app import _resume as resume_module
from chainrule.app import _run as run_module
from chainrule.app._files import open_run_folder
from chainrule.cli import main
from chainrule.train import read_checkpoint

from ._helpers import regression_rows, run_cli, write_csv

MOONS = ["train", "--data", "moons", "--epochs", "2"]


def _error(result, *fragments):
    assert result.code == 2, f"exit {result.code}:\n{result.out}\n{result.err}"
    line = result.error_lines()[-1]
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"


def test_out_holding_files_is_refused_unless_overwrite(moons_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(moons_run[0], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = run_cli([*MOONS, "--seed", "3", "--out", out])
    _error(result, f"the output folder {out} already holds files (", "give --overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "nothing was touched"

    (out / "notes.txt").write_text("mine")
    replaced = run_cli([*MOONS, "--seed", "3", "--out", out, "--overwrite"])
    assert replaced.code == 0, replaced.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["seed"] == 3 and (out / "notes.txt").read_text() == "mine"


def test_a_second_run_into_a_folder_in_use_fails_at_once(tmp_path):
    out = tmp_path / "run"
    held = open_run_folder(out, reuse=False)  # this process holds it
    try:
        result = run_cli([*MOONS, "--out", out])
        _error(result, f"another chainrule run is using the output folder {out}")
    finally:
        held.release()
    # another process holding the lock (the system releases it when that process ends)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out / ".chainrule.lock")],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run_cli([*MOONS, "--out", out])
        _error(result, "another chainrule run is using the output folder", f"{holder.pid}")
    finally:
        holder.communicate("", timeout=30)
    assert run_cli([*MOONS, "--out", out]).code == 0, "free again once the holder ended"


_HOLD = """
import fcntl, os, sys
f = open(sys.argv[1], "a+")
fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
f.truncate(0); f.write(str(os.getpid())); f.flush()
print("locked", flush=True)
sys.stdin.read()
"""


def test_temporary_files_a_killed_run_left_are_removed(moons_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(moons_run[0], out)
    left = [".checkpoint.safetensors.k3j_x9a2.tmp", ".report.html.abcdefgh.tmp"]
    left += [".checkpoint.npz.0a1b2c3d.tmp", ".write-test.zz99yy88"]
    for name in left:
        (out / name).write_bytes(b"partial")
    (out / ".hidden.tmp").write_text("not ours")
    result = run_cli([*MOONS, "--lr-find", "--resume", out / "checkpoint.safetensors"])
    assert result.code == 0 and "has finished already" in result.out, result.err
    assert not [name for name in left if (out / name).exists()]
    assert (out / ".hidden.tmp").exists(), "only write_atomic's temporary files are removed"

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / ".model.json.q1w2e3r4.tmp").write_text("{")
    assert run_cli([*MOONS, "--out", fresh]).code == 0, "a folder of leftovers only is empty"
    assert not (fresh / ".model.json.q1w2e3r4.tmp").exists()


def test_empty_paths_are_errors(moons_run, tmp_path, capsys):
    data = write_csv(tmp_path / "p.csv", ["x1", "x2"], [[0.0, 0.5]])
    for argv in (
        [*MOONS, "--out", ""],
        [*MOONS, "--resume", " "],
        ["predict", "--model", moons_run[0], "--data", f"csv:{data}", "--out", ""],
    ):
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in argv])
        err = capsys.readouterr().err
        assert info.value.code == 2 and "expected a path, got an empty one" in err, argv
    with pytest.raises(RunError, match="--out is empty"):
        predict(moons_run[0], f"csv:{data}", "", say=lambda *a: None)
    assert not list(Path.cwd().glob(".*.tmp"))


def test_predict_never_replaces_the_run_or_its_input(moons_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(moons_run[0], run)
    data = write_csv(run / "points.csv", ["x1", "x2"], [[0.0, 0.5]])
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    for target, what in [
        (run / "checkpoint.safetensors", "the run's own"),
        (run / "model.json", "the run's own"),
        (run / "report.html", "the run's own"),
        (run / "." / "points.csv", "its input"),
        (_hard_link(run / "model.json", tmp_path / "card-link.json"), "the run's own"),
        (run, "is a folder"),
    ]:
        result = run_cli(["predict", "--model", run, "--data", f"csv:{data}", "--out", target])
        _error(result, what)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_resume_with_changed_settings_names_each_and_changes_nothing(moons_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(moons_run[0], run)
    checkpoint = run / "checkpoint.safetensors"
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    argv = [*MOONS, "--lr-find", "--resume", checkpoint]
    changes = [
        (["--seed", "7"], "--seed 0 -> 7"),
        (["--batch-size", "64"], "--batch-size 32 -> 64"),
        (["--lr", "0.5"], "--lr (default) -> 0.5"),
        (["--optimizer", "sgd"], "--optimizer adam -> sgd"),
        (["--schedule", "cosine"], "--schedule one-cycle -> cosine"),
        (["--activation", "tanh"], "--activation relu -> tanh"),
    ]
    for extra, named in changes:
        _error(run_cli([*argv, *extra]), f"cannot resume {checkpoint}", named)
    every = [a for extra, _ in changes for a in extra]
    result = run_cli([*argv, *every])
    _error(result, *(named for _, named in changes))
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_resume_checks_the_loss_and_the_data_content(tmp_path):
    X, y = regression_rows(60)
    table = write_csv(tmp_path / "t.csv", ["a", "b", "c", "y"], [[*x, t] for x, t in zip(X, y)])
    out = tmp_path / "run"
    argv = ["train", "--data", f"csv:{table}", "--target", "y", "--hidden", "8"]
    argv += ["--epochs", "2", "--loss", "huber"]
    assert run_cli([*argv, "--out", out]).code == 0
    checkpoint = out / "checkpoint.safetensors"
    mse = [a if a != "huber" else "mse" for a in argv]
    _error(run_cli([*mse, "--resume", checkpoint]), "--loss huber -> mse")
    _error(run_cli([*argv[:-2], "--resume", checkpoint]), "--loss huber -> (default)")
    rows = table.read_text().splitlines()
    table.write_text("\n".join([rows[0], *rows[2:], rows[1]]) + "\n")  # the same rows, reordered
    result = run_cli([*argv, "--resume", checkpoint])
    _error(result, "the data's content (SHA-256)", " -> ")
    settings = resume_module.run_state(read_checkpoint(checkpoint)[0], checkpoint)["settings"]
    assert settings["loss"] == "huber" and settings["target"] == "y"
    assert settings["hidden"] == [8] and len(settings["data_sha256"]) == 64


def test_a_checkpoint_is_written_only_for_finite_epochs(monkeypatch, tmp_path):
    """The validation loss turns NaN in epoch 3 (training stays finite): the checkpoint keeps
    epoch 2, and the error names it."""
    loaders = run_module.loaders

    class NaNFromThirdPass:
        def __init__(self, loader):
            self.loader, self.passes = loader, 0

        def __len__(self):
            return len(self.loader)

        def __iter__(self):
            self.passes += 1
            for X, y in self.loader:
                yield (X * np.nan if self.passes >= 3 else X), y

    def patched(run):
        train, valid = loaders(run)
        return train, NaNFromThirdPass(valid)

    monkeypatch.setattr(run_module, "loaders", patched)
    out = tmp_path / "run"
    result = run_cli([*MOONS[:-1], "4", "--out", out])
    checkpoint = out / "checkpoint.safetensors"
    _error(
        result,
        "training diverged: in epoch 3, the valid loss is nan",
        f"the last good checkpoint is {checkpoint} (the run after epoch 2)",
    )
    header, arrays = read_checkpoint(checkpoint)
    assert header["counters"]["epoch"] == 2
    assert all(np.isfinite(a).all() for k, a in arrays.items() if k.startswith("model/"))


def test_regularisation_settings_are_checked_and_an_early_stopped_run_is_finished(
    tmp_path, monkeypatch
):
    """An early-stopped run interrupted while writing its report: resuming it writes the
    report without training further; resuming it again changes nothing."""
    from chainrule.app import _train

    def interrupted(run):
        raise KeyboardInterrupt

    out = tmp_path / "run"
    argv = ["train", "--data", "moons", "--epochs", "40", "--patience", "1", "--out", out]
    with monkeypatch.context() as m:
        m.setattr(_train, "compare_sklearn", interrupted)
        first = run_cli(argv)
    assert first.code == 130 and "early stopping:" in first.out, first.err
    checkpoint = out / "checkpoint.safetensors"
    resume = [*argv[:-2], "--resume", checkpoint]
    report = run_cli(resume)
    assert report.code == 0 and "resumed from" in report.out, report.err
    assert "epoch " not in report.out.split("resumed from")[1].split("\n", 1)[1]
    assert (out / "metrics.json").is_file()
    again = run_cli(resume)
    assert again.code == 0 and "has finished already" in again.out, again.err
    for extra, named in [
        (["--dropout", "0.2"], "--dropout 0.0 -> 0.2"),
        (["--weight-decay", "0.001"], "--weight-decay (default) -> 0.001"),
    ]:
        _error(run_cli([*resume, *extra]), named)
    _error(run_cli([*resume[:6], "3", *resume[7:]]), "--patience 1 -> 3")


def test_the_recorded_data_hash_is_that_of_the_data(moons_run):
    """The hash is of the data set's numbers (taken before the split consumes them), so a
    fresh process computes the same one."""
    import hashlib

    from chainrule.app._data import content_hash, load_table

    checkpoint = moons_run[0] / "checkpoint.safetensors"
    recorded = resume_module.run_state(read_checkpoint(checkpoint)[0], checkpoint)["settings"]
    table = load_table("moons", seed=0)
    digest = hashlib.sha256(np.ascontiguousarray(table.X).tobytes())
    digest.update(np.ascontiguousarray(table.y).tobytes())
    assert recorded["data_sha256"] == content_hash("moons", table) == digest.hexdigest()
    table.X = None  # what split leaves
    with pytest.raises(TypeError, match="not numbers"):
        content_hash("moons", table)


def _hard_link(target, link):
    link.hardlink_to(target)
    return link
