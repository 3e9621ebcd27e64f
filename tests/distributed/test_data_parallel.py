"""Data-parallel training under ``mpiexec -n 2`` and ``-n 3`` equals the single-process run.

Each test starts ``tests/distributed/_worker.py`` (a float64 Learner fit, 100 rows, global
batch 32, 3 epochs) with MPICH's ``mpiexec`` and reads one JSON file per rank. Outside CI the
module is skipped when mpi4py or ``mpiexec`` is missing (``pip install 'chainrule[mpi]'``);
with ``CI=true`` a missing MPI fails it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import distributed
from chainrule.distributed import _comm

from ._mpi import MPIEXEC, TIMEOUT, _env, _ok, _run


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The single-process runs, by case."""
    runs = {}
    for case in ("sgd", "adam", "onecycle", "lbfgs", "dropout", "nan", "early"):
        proc, results = _run(case, 1, tmp_path_factory.mktemp(case))
        _ok(proc)
        runs[case] = results[0]
    return runs


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("case", ["sgd", "adam", "onecycle", "lbfgs", "dropout"])
def test_training_equals_the_single_process_run(case, n, single, tmp_path):
    proc, ranks = _run(case, n, tmp_path)
    _ok(proc)
    alone = single[case]
    assert alone["world_size"] == 1 and [r["world_size"] for r in ranks] == [n] * n
    # 100 rows, batch 32: batches of 32, 32, 32, 4; the first cut 16/16 or 11/11/10
    assert ranks[0]["shard_sizes"] == {2: [16, 16], 3: [11, 11, 10]}[n]
    for r in ranks:
        for k, (a, b) in enumerate(zip(alone["weights"], r["weights"])):
            np.testing.assert_allclose(
                b, a, rtol=0, atol=1e-12, err_msg=f"{case}, -n {n}, rank {r['rank']}, param {k}"
            )
        assert len(r["history"]) == len(alone["history"]) == (2 if case == "lbfgs" else 3)
        for h1, h2 in zip(alone["history"], r["history"]):
            assert h2.keys() == h1.keys()
            for key in h1:  # train and valid loss, accuracy, f1, lr
                assert abs(h2[key] - h1[key]) <= 1e-12, f"{case}, -n {n}: {key} {h2} vs {h1}"


def test_only_rank_0_writes_checkpoints_and_logs(single, tmp_path):
    proc, ranks = _run("sgd", 2, tmp_path)
    _ok(proc)
    assert "history.csv" in single["sgd"]["files"] and "best.safetensors" in single["sgd"]["files"]
    assert [r["files"] for r in ranks] == [single["sgd"]["files"], []]


def test_broadcast_makes_ranks_seeded_differently_identical(tmp_path):
    proc, ranks = _run("sgd", 3, tmp_path)
    _ok(proc)
    # BLAS threads split among the ranks on this machine while they train
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert [r["blas_threads"] for r in ranks] == [max(1, (cpus or 1) // 3)] * 3
    initial = [np.array(r["initial"][0]) for r in ranks]
    assert not np.array_equal(initial[0], initial[1]), "the ranks should start apart"
    for r in ranks[1:]:
        for a, b in zip(ranks[0]["weights"], r["weights"]):
            assert np.array_equal(a, b), f"rank {r['rank']} differs from rank 0 bit for bit"


def test_nan_on_one_rank_stops_every_rank_at_the_same_step(single, tmp_path):
    proc, ranks = _run("nan", 3, tmp_path)
    _ok(proc)
    # rank 1 alone gets a NaN in its shard at iteration 4; alone, rank 0 gets it
    assert single["nan"]["nan_iteration"] == 5
    assert [r["nan_iteration"] for r in ranks] == [5, 5, 5]
    assert all("at iteration 4" in r["error"] and "every rank" in r["error"] for r in ranks)


@pytest.mark.parametrize("case", ["early", "stop"])
def test_a_stop_on_any_rank_stops_every_rank(case, single, tmp_path):
    proc, ranks = _run(case, 3, tmp_path)
    _ok(proc)
    epochs = [r["epoch"] for r in ranks]
    iterations = [r["iteration"] for r in ranks]
    if case == "early":  # the same decision as alone, from the reduced validation loss
        assert epochs == [single["early"]["epoch"]] * 3 and epochs[0] < 3
        assert iterations == [single["early"]["iteration"]] * 3
    else:  # rank 1 alone cancels after epoch 0: all stop after one epoch
        assert epochs == [1, 1, 1] and iterations == [4, 4, 4]


def test_an_exception_on_rank_1_aborts_the_job_with_its_message(tmp_path):
    start = time.perf_counter()
    proc, ranks = _run("raise", 3, tmp_path)
    elapsed = time.perf_counter() - start
    assert proc.returncode != 0
    assert elapsed < 20, f"the job took {elapsed:.1f} s to end"
    output = proc.stdout + proc.stderr
    assert "rank 1 of 3 raised" in output and "injected failure on rank 1" in output, output
    assert ranks == []  # no rank finished


def test_single_process_mode_without_mpiexec(single):
    assert single["sgd"]["world_size"] == 1 and single["sgd"]["rank"] == 0
    assert single["sgd"]["shard_sizes"] == []  # nothing cut


def test_import_chainrule_does_not_import_mpi4py():
    code = (
        "import sys, chainrule; "
        "print('mpi4py' in sys.modules, 'chainrule.distributed' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, env=_env()
    )
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_rank_before_init_is_an_error(monkeypatch):
    monkeypatch.setattr(_comm._World, "initialized", False)
    with pytest.raises(RuntimeError, match=r"rank: the process group is not initialised"):
        distributed.rank()
    assert not distributed.is_initialized()


def test_world_of_one_without_mpiexec(monkeypatch):
    for name in _comm._LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_comm._World, "initialized", False)
    distributed.init()
    assert (distributed.rank(), distributed.world_size(), distributed.is_initialized()) == (
        0,
        1,
        True,
    )
    buf = np.array([1.5, 2.0])
    assert distributed.allreduce_(buf) is buf and buf.tolist() == [1.5, 2.0]
    with pytest.raises(TypeError, match="allreduce_: buffer must be a C-contiguous float64"):
        distributed.allreduce_(np.zeros(3, dtype=np.float32))


def test_shard_sizes_are_as_even_as_can_be():
    assert distributed.shard_sizes(32, 3) == [11, 11, 10]
    assert distributed.shard_sizes(4, 3) == [2, 1, 1]
    assert distributed.shard_sizes(32, 2) == [16, 16]


def _train_command(n: int, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    command = [sys.executable, "-m", "chainrule", "train", "--epochs", "2", "--out", str(out)]
    if n > 1:
        command = [MPIEXEC, "-n", str(n), *command]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, env=_env(), cwd=out.parent
    )
    _ok(proc)
    return proc, json.loads((out / "metrics.json").read_text())


def test_the_train_command_under_mpiexec_equals_the_single_process_run(tmp_path):
    _, alone = _train_command(1, tmp_path / "alone")
    proc, parallel = _train_command(2, tmp_path / "parallel")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(
        "chainrule train (data-parallel over 2 MPI ranks: each batch of 32 rows cut 16/16)"
    ), lines[0]
    assert sum(line.startswith("report: ") for line in lines) == 1  # rank 0 alone speaks
    assert sorted(p.name for p in (tmp_path / "parallel").iterdir() if p.name[0] != ".") == [
        "checkpoint.safetensors",
        "metrics.json",
        "model.json",
        "report.html",
    ]
    assert alone["data_parallel"] is None
    summary = parallel["data_parallel"]
    assert summary["world_size"] == 2 and summary["shard_sizes"] == [16, 16]
    assert summary["n_steps"] == 2 * 40 and summary["allreduce_seconds"] > 0
    assert "data-parallel over 2 MPI ranks" in (tmp_path / "parallel" / "report.html").read_text()
    ours, theirs = alone["test"]["chainrule"], parallel["test"]["chainrule"]
    # the network is float32: the reduced gradients are rounded to float32 as one process's are
    assert theirs["accuracy"] == ours["accuracy"] and theirs["f1_macro"] == ours["f1_macro"]
    assert theirs["loss"] == pytest.approx(ours["loss"], rel=1e-6)


def test_an_error_on_rank_0_alone_ends_the_train_command(tmp_path):
    """Rank 0 alone sees the output folder: its refusal must not leave rank 1 waiting."""
    out = tmp_path / "full"
    out.mkdir()
    (out / "notes.txt").write_text("someone else's file")
    start = time.perf_counter()
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, "-m", "chainrule", "train", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert time.perf_counter() - start < 20
    assert "rank 0: the output folder" in proc.stderr and "notes.txt" in proc.stderr
    assert sorted(p.name for p in out.iterdir() if p.name[0] != ".") == ["notes.txt"]


def test_a_shards_random_rows_are_those_of_the_global_batch():
    from chainrule import Generator
    from chainrule._random import random_rows, set_shard_rows

    whole = random_rows(Generator(7), (8, 4))
    try:
        set_shard_rows((3, 5, 8))
        np.testing.assert_array_equal(random_rows(Generator(7), (2, 4)), whole[3:5])
        # an array whose first axis is not the shard's is drawn as it is
        assert random_rows(Generator(7), (3, 4)).shape == (3, 4)
    finally:
        set_shard_rows(None)
    np.testing.assert_array_equal(random_rows(Generator(7), (8, 4)), whole)


def test_a_model_with_batch_norm_is_refused_under_mpiexec(monkeypatch, capsys):
    """BatchNorm's training statistics would be each shard's, not the global batch's: the
    job ends (alone here, ``SystemExit``; under mpiexec, ``Abort``) naming the layer."""
    from chainrule import nn, optim
    from chainrule.data import ArrayDataset, DataLoader
    from chainrule.distributed import _data_parallel
    from chainrule.train import Learner

    monkeypatch.setattr(_data_parallel, "init", lambda: None)
    monkeypatch.setattr(_data_parallel, "rank", lambda: 0)
    monkeypatch.setattr(_data_parallel, "world_size", lambda: 2)  # as under mpiexec -n 2
    monkeypatch.setattr(_comm._World, "aborting", False)  # restored afterwards
    rng = np.random.default_rng(0)
    data = DataLoader(ArrayDataset(rng.standard_normal((8, 3)), rng.standard_normal((8, 1))), 4)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    learner = Learner(
        model, optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(),
        callbacks=[distributed.DataParallel()],
    )  # fmt: skip
    weights = [p.data.copy() for p in model.parameters()]
    with pytest.raises(SystemExit):
        learner.fit(data, n_epochs=1)
    assert "ValueError: DataParallel: the model's BatchNorm1d ('1')" in capsys.readouterr().err
    assert all(np.array_equal(w, p.data) for w, p in zip(weights, model.parameters()))
    # a model without it passes the check
    _data_parallel.check_batch_independent(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4)))
