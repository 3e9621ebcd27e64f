"""Decisions made collectively by ``DataParallel``: cancel exceptions raised on one rank
alone, the LR finder, and a resumed run.

A cancel raised by a callback on some ranks takes effect on every rank at the next buffer
they all reduce (the batch's first allreduce, in ``after_loss``; the gradients', in
``after_backward``; the epoch's end). Raised before that point, as here, the run equals the
single-process run with the cancel raised at the same event.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.train import read_checkpoint

from ._mpi import MPIEXEC, TIMEOUT, _env, _ok, _run

INTERRUPT = Path(__file__).with_name("_interrupt.py")


def _same_history(alone: list[dict], ranks: list[dict]) -> None:
    for r in ranks:
        assert len(r["history"]) == len(alone), r["history"]
        for h1, h2 in zip(alone, r["history"]):
            assert h2.keys() == h1.keys(), (h1, h2)
            for key, value in h1.items():
                other = h2[key]
                assert (math.isnan(value) and math.isnan(other)) or abs(other - value) <= 1e-12


@pytest.mark.parametrize("case", ["cancel", "cancels"])
def test_one_ranks_cancel_is_every_ranks(case, tmp_path):
    """``cancel``: rank 1 alone cancels batch 2 (``before_batch``) and rank 2 alone the fit in
    epoch 1 (``after_pred`` of iteration 6). ``cancels``: rank 1 the backward pass of iteration
    1 and the validation of epoch 1 (its second batch), rank 2 the training pass at iteration
    5 and the epoch at iteration 9, every rank the step of iteration 3."""
    proc, (alone,) = _run(case, 1, tmp_path / "alone")
    _ok(proc)
    proc, ranks = _run(case, 3, tmp_path / "parallel")
    _ok(proc)
    expected = {"cancel": (1, 7, 1), "cancels": (3, 10, 3)}[case]  # epoch, iteration, epochs
    assert (alone["epoch"], alone["iteration"], len(alone["history"])) == expected
    for r in ranks:
        assert (r["epoch"], r["iteration"]) == expected[:2], f"rank {r['rank']}"
        for k, (a, b) in enumerate(zip(alone["weights"], r["weights"])):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=f"rank {r['rank']} {k}")
    _same_history(alone["history"], ranks)
    if case == "cancels":  # the cancelled epoch 2 logs no losses, as alone
        assert set(alone["history"][2]) == {"epoch", "lr"}


def test_a_step_skipped_on_one_rank_alone_stops_every_rank(tmp_path):
    """Past the gradients' allreduce no rank waits for another: a step cancelled on rank 1
    alone runs there alone, and the next vote stops every rank with ``DesyncError``."""
    proc, ranks = _run("desync", 3, tmp_path)
    _ok(proc)
    assert [r["iteration"] for r in ranks] == [4, 4, 4]  # iteration 3's first allreduce
    assert all("1 of 3 ranks skipped the last optimiser step" in r["error"] for r in ranks)


def test_a_step_skipped_on_one_rank_alone_with_lbfgs_is_skipped_on_all(tmp_path):
    """With an optimiser that needs a closure the other ranks wait in its first allreduce:
    rank 1, which skipped the step of iteration 2 alone, joins it with its vote, and every
    rank skips that step (before any update), as one process does."""
    proc, (alone,) = _run("lbfgs-cancel", 1, tmp_path / "alone")
    _ok(proc)
    proc, ranks = _run("lbfgs-cancel", 2, tmp_path / "parallel")
    _ok(proc)
    lbfgs, _ = _run("lbfgs", 1, tmp_path / "uncancelled")
    _ok(lbfgs)
    uncancelled = json.loads((tmp_path / "uncancelled" / "rank0.json").read_text())
    assert not np.allclose(uncancelled["weights"][0], alone["weights"][0])  # the cancel counts
    for r in ranks:
        assert "error" not in r and r["iteration"] == alone["iteration"] == 8
        for k, (a, b) in enumerate(zip(alone["weights"], r["weights"])):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=f"rank {r['rank']} {k}")
    _same_history(alone["history"], ranks)


def test_the_lr_finder_gives_every_rank_the_single_process_curve(tmp_path):
    """Ranks seeded apart search from rank 0's broadcast state on the global batches' losses."""
    proc, (alone,) = _run("lrfind", 1, tmp_path / "alone")
    _ok(proc)
    proc, ranks = _run("lrfind", 2, tmp_path / "parallel")
    _ok(proc)
    assert len(alone["lrs"]) == 20 and alone["stopped_by"].startswith("the loss exceeding")
    for r in ranks:
        assert r["lrs"] == alone["lrs"] and r["stopped_by"] == alone["stopped_by"]
        np.testing.assert_allclose(r["losses"], alone["losses"], rtol=1e-12, atol=0)
        assert r["suggestion"] == pytest.approx(alone["suggestion"], rel=1e-12)
        # the weights are put back: rank 0's, the broadcast ones, on every rank
        for a, b in zip(alone["initial"], r["weights"]):
            assert np.array_equal(a, b)
    assert ranks[0]["losses"] == ranks[1]["losses"]  # bit for bit


def test_an_interrupted_run_resumed_under_mpiexec_equals_the_uninterrupted_one(tmp_path):
    """Rank 1 alone cancels the fit after epoch 2 of 4; rank 0 alone wrote the checkpoints;
    every rank loads epoch 2's and fits the 2 epochs left."""
    proc, full = _run("resume", 2, tmp_path / "full", "--epochs", "4")
    _ok(proc)
    proc, part = _run("interrupt", 2, tmp_path / "part", "--epochs", "4")
    _ok(proc)
    assert [(r["epoch"], r["files"]) for r in part] == [
        (2, ["epoch_0001.safetensors", "epoch_0002.safetensors"]),
        (2, []),
    ]
    checkpoint = tmp_path / "part" / "save0" / "epoch_0002.safetensors"
    proc, resumed = _run(
        "resume", 2, tmp_path / "resumed", "--epochs", "4", "--load", str(checkpoint)
    )
    _ok(proc)
    for r in resumed:
        assert (r["epoch"], r["iteration"]) == (full[0]["epoch"], full[0]["iteration"]) == (4, 16)
        for k, (a, b) in enumerate(zip(full[0]["weights"], r["weights"])):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=f"rank {r['rank']} {k}")
        _same_history(full[0]["history"][2:], [r])
    assert resumed[0]["files"] == ["epoch_0003.safetensors", "epoch_0004.safetensors"]


def test_the_train_command_interrupted_under_mpiexec_resumes_exactly(tmp_path):
    """``mpiexec -n 2 chainrule train --epochs 4`` interrupted in epoch 2 (the job aborts;
    rank 0 had written epoch 1's checkpoint), then the same command with ``--resume``, ends
    with the weights and test metrics of the uninterrupted data-parallel run."""

    def train(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [MPIEXEC, "-n", "2", sys.executable, *command, "--epochs", "4", "--seed", "1"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=_env(),
            cwd=tmp_path,
        )

    part, full = tmp_path / "part", tmp_path / "full"
    checkpoint = part / "checkpoint.safetensors"
    # 40 steps an epoch: the 50th is in epoch 2
    interrupted = train(str(INTERRUPT), "50", "train", "--out", str(part))
    assert interrupted.returncode != 0 and "KeyboardInterrupt" in interrupted.stderr
    assert read_checkpoint(checkpoint)[0]["counters"]["epoch"] == 1
    assert not (part / "metrics.json").exists()
    resumed = train("-m", "chainrule", "train", "--out", str(part), "--resume", str(checkpoint))
    _ok(resumed)
    assert f"resumed from {checkpoint} after epoch 1" in resumed.stdout
    _ok(train("-m", "chainrule", "train", "--out", str(full)))
    ours, theirs = read_checkpoint(checkpoint), read_checkpoint(full / "checkpoint.safetensors")
    assert (
        ours[0]["counters"]
        == theirs[0]["counters"]
        == {
            "epoch": 4,
            "iteration": 160,
            "event": None,
        }
    )
    for name, value in theirs[1].items():
        if name.startswith("model/"):
            np.testing.assert_array_equal(ours[1][name], value, err_msg=name)
    test = [json.loads((p / "metrics.json").read_text())["test"]["chainrule"] for p in (part, full)]
    assert [{k: v for k, v in t.items() if k != "fit_seconds"} for t in test] == [
        {k: v for k, v in test[1].items() if k != "fit_seconds"}
    ] * 2
