"""Errors a user can fix: one line on standard error, exit status 2, no traceback (unless
``--debug``)."""

from __future__ import annotations

import shutil

import pytest

from ._helpers import Result, run_cli, write_csv


def _one_clear_line(result: Result, command: str, *fragments: str) -> None:
    lines = result.error_lines()
    assert result.code == 2, f"exit status {result.code}, expected 2:\n{result.err}"
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.err}"
    assert lines[0].startswith(f"chainrule {command}: error: "), lines[0]
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


@pytest.fixture
def iris_csv(tmp_path):
    rows = [[5.1 + 0.01 * i, 3.5, 1.4, 0.2, ["setosa", "versicolor"][i % 2]] for i in range(40)]
    return write_csv(tmp_path / "iris.csv", ["sl", "sw", "pl", "pw", "species"], rows)


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ("imagenet", ("unknown data set 'imagenet'", "digits", "csv:PATH")),
        ("csv:", ("give a path after 'csv:'",)),
        ("csv:{tmp}/missing.csv", ("missing.csv does not exist",)),
        ("csv:{tmp}", ("is a folder, not a table file",)),
        ("mnist:{tmp}/nothing", ("neither a directory of IDX files nor an .npz file",)),
    ],
    ids=["unknown", "no-path", "missing-file", "folder", "mnist-missing"],
)
def test_data_that_cannot_be_loaded(data, fragments, tmp_path):
    result = run_cli(["train", "--data", data.format(tmp=tmp_path), "--out", tmp_path / "o"])
    _one_clear_line(result, "train", *fragments)
    assert not (tmp_path / "o").exists(), "no output folder for a run that never started"


def test_unreadable_files(tmp_path):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    _one_clear_line(run_cli(["train", "--data", f"csv:{binary}"]), "train", "not UTF-8 text")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _one_clear_line(run_cli(["train", "--data", f"csv:{empty}"]), "train", "is empty")
    bad_npz = tmp_path / "mnist.npz"
    bad_npz.write_bytes(b"not a zip file")
    _one_clear_line(run_cli(["train", "--data", f"mnist:{bad_npz}"]), "train", "mnist.npz")


def test_csv_without_the_target(iris_csv):
    result = run_cli(["train", "--data", f"csv:{iris_csv}", "--target", "label"])
    _one_clear_line(result, "train", "no target column 'label'", "species")
    result = run_cli(["train", "--data", f"csv:{iris_csv}"])
    _one_clear_line(result, "train", "no target column 'target'", "--target COL")


def test_target_with_bundled_data_and_loss_that_does_not_fit():
    _one_clear_line(
        run_cli(["train", "--target", "y"]),
        "train",
        "--target applies to csv:PATH and parquet:PATH data",
    )
    result = run_cli(["train", "--data", "diabetes", "--loss", "cross-entropy"])
    _one_clear_line(
        result, "train", "diabetes was read by --task auto as a regression task", "--task"
    )
    result = run_cli(["train", "--data", "iris", "--loss", "bce"])
    _one_clear_line(result, "train", "--loss bce needs two classes, iris has 3")


def test_output_folder_that_cannot_be_written(iris_csv, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    argv = ["train", "--data", f"csv:{iris_csv}", "--target", "species"]
    result = run_cli([*argv, "--out", blocker / "run"])
    _one_clear_line(
        result, "train", "cannot write to the output folder", "choose another with --out"
    )


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli(["train", "--data", f"csv:{tmp_path}/missing.csv", "--debug"])
    assert result.code == 2
    assert "Traceback (most recent call last)" in result.err and "RunError" in result.err
    assert result.error_lines()[-1].startswith("chainrule train: error: data file")


def test_resume_with_other_settings_names_each(moons_run, tmp_path):
    checkpoint = moons_run[0] / "checkpoint.safetensors"
    argv = ["train", "--data", "moons", "--hidden", "8", "--resume", checkpoint]
    result = run_cli([*argv, "--out", tmp_path / "o"])
    _one_clear_line(
        result,
        "train",
        f"cannot resume {checkpoint}: it was trained with other settings (",
        "--hidden 64 64 -> 8",
        "--lr-find on -> off",
        "--epochs 2 -> 20",
    )
    assert not (tmp_path / "o").exists()


def test_resume_from_missing_or_corrupted_checkpoint(moons_run, tmp_path):
    result = run_cli(["train", "--data", "moons", "--resume", tmp_path / "nope.safetensors"])
    _one_clear_line(result, "train", "nope.safetensors does not exist")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes((moons_run[0] / "checkpoint.safetensors").read_bytes()[:2000])
    result = run_cli(["train", "--data", "moons", "--resume", broken, "--out", tmp_path / "o"])
    _one_clear_line(result, "train", "broken.safetensors is not a chainrule checkpoint")
    table = write_csv(tmp_path / "t.csv", ["x1", "x2"], [[0.0, 0.5]])
    result = run_cli(["train", "--data", "moons", "--resume", table, "--out", tmp_path / "o"])
    _one_clear_line(result, "train", "t.csv is not a chainrule checkpoint")
    assert "pickle" not in result.err


def test_predict_with_a_checkpoint_from_another_architecture(moons_run, regression_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(regression_run[0], run)
    shutil.copy(moons_run[0] / "checkpoint.safetensors", run / "checkpoint.safetensors")
    points = write_csv(tmp_path / "p.csv", ["x1", "x2"], [[0.0, 0.0]])
    result = run_cli(
        ["predict", "--model", run / "checkpoint.safetensors", "--data", f"csv:{points}"]
        + ["--out", tmp_path / "pred.csv"]
    )
    _one_clear_line(result, "predict", "from another architecture than MLP 3-16-1")
    assert not (tmp_path / "pred.csv").exists()


def test_predict_errors(moons_run, tmp_path):
    ckpt = moons_run[0] / "checkpoint.safetensors"
    good = write_csv(tmp_path / "p.csv", ["x1", "x2"], [[0.0, 0.5]])
    wrong = write_csv(tmp_path / "w.csv", ["x1", "y"], [[0.0, 0.5]])
    lone = tmp_path / "lone.safetensors"
    shutil.copy(ckpt, lone)
    cases = [
        (["--model", ckpt, "--data", f"csv:{wrong}"], ("lacks the model's feature", "['x2']")),
        (["--model", ckpt, "--data", "moons"], ("reads --data csv:PATH",)),
        (["--model", lone, "--data", f"csv:{good}"], ("no model.json next to the checkpoint",)),
        (["--model", tmp_path / "x.st", "--data", f"csv:{good}"], ("x.st does not exist",)),
    ]
    for args, fragments in cases:
        result = run_cli(["predict", *args, "--out", tmp_path / "pred.csv"])
        _one_clear_line(result, "predict", *fragments)
    result = run_cli(["predict", "--model", ckpt, "--data", f"csv:{good}", "--out", good / "x.csv"])
    _one_clear_line(result, "predict", "cannot write the predictions to")
