"""``MLPClassifier``/``MLPRegressor(distributed=True)`` under ``mpiexec -n 2`` and ``-n 3`` equal
the single-process fit with the same global batch.

One run of ``_estimator_worker.py`` alone and one under each ``mpiexec`` (module fixtures)
fit every case; the tests compare the ranks' JSON files. Skipped without MPI as
``test_data_parallel`` is (its module-level skip applies here through the import).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from chainrule.estimators import MLPRegressor

from .test_data_parallel import MPIEXEC, TIMEOUT, _env, _ok

WORKER = Path(__file__).with_name("_estimator_worker.py")
CASES = ("adam", "sgd", "early", "lbfgs", "sparse", "tiny")


def _run(n: int, out: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(WORKER), "--out", str(out)]
    if n > 1:
        command = [MPIEXEC, "-n", str(n), *command]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, env=_env(), cwd=out
    )
    _ok(proc)
    return proc, [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple]:
    """By world size: the finished process and each rank's results."""
    return {n: _run(n, tmp_path_factory.mktemp(f"n{n}")) for n in (1, 2, 3)}


def _max_difference(a: dict, b: dict) -> float:
    """The largest difference between two fits' records; counts must be equal."""
    assert (a["n_iter"], a["t"]) == (b["n_iter"], b["t"])
    worst = 0.0
    for key in ("coefs", "intercepts", "loss_curve", "validation_scores", "predictions"):
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
            continue
        pairs = zip(a[key], b[key]) if key in ("coefs", "intercepts") else [(a[key], b[key])]
        for x, y in pairs:
            x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
            assert x.shape == y.shape, key
            worst = max(worst, float(np.max(np.abs(x - y), initial=0.0)))
    return worst


def test_alone_distributed_is_the_ordinary_fit(runs):
    (_, (alone,)) = runs[1]
    assert (alone["rank"], alone["world_size"]) == (0, 1)
    for case in CASES:
        assert _max_difference(alone[case], alone[f"{case}/plain"]) == 0.0, case


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("case", CASES)
def test_parallel_fit_equals_the_single_process_fit(case, n, runs):
    alone = runs[1][1][0][case]
    ranks = runs[n][1]
    assert [r["world_size"] for r in ranks] == [n] * n
    for r in ranks:
        difference = _max_difference(alone, r[case])
        assert difference <= 1e-12, f"{case}, -n {n}, rank {r['rank']}: {difference}"
    for r in ranks[1:]:  # and the ranks hold the same bits
        assert _max_difference(ranks[0][case], r[case]) == 0.0


@pytest.mark.parametrize("n", [2, 3])
def test_early_stopping_stops_every_rank_at_the_same_epoch(n, runs):
    alone = runs[1][1][0]["early"]
    assert 2 < alone["n_iter"] < 40  # the no-improvement rule, not max_iter, ended it
    ranks = runs[n][1]
    assert [r["early"]["n_iter"] for r in ranks] == [alone["n_iter"]] * n
    assert all(
        r["early"]["validation_scores"] == ranks[0]["early"]["validation_scores"] for r in ranks
    )


@pytest.mark.parametrize("n", [2, 3])
def test_only_rank_0_prints(n, runs):
    proc = runs[n][0]
    lines = proc.stdout.splitlines()
    n_iter = runs[1][1][0]["early"]["n_iter"]
    assert sum(line.startswith("Iteration ") for line in lines) == n_iter, proc.stdout
    assert sum(line.endswith("Stopping.") for line in lines) == 1


def test_distributed_must_be_a_bool():
    X, y = np.eye(4), np.arange(4.0)
    with pytest.raises(InvalidParameterError, match="'distributed' parameter"):
        MLPRegressor(distributed="yes").fit(X, y)


@pytest.mark.parametrize("n", [2, 3])
def test_ranks_with_different_data_all_refuse_it(n, runs):
    assert runs[1][1][0]["mismatch"] is None  # alone there is nothing to compare
    messages = [r["mismatch"] for r in runs[n][1]]
    assert all(m and "distributed=True needs the same data on every rank" in m for m in messages)
    assert f"the {n} ranks' X have different shapes (rank 1's is (9, 5))" in messages[1]
    assert runs[1][1][0]["mismatch_values"] is None
    values = [r["mismatch_values"] for r in runs[n][1]]
    assert all(m and "have the same shapes but different values" in m for m in values), values


@pytest.mark.parametrize("n", [2, 3])
def test_a_nan_in_one_shard_stops_every_rank_at_the_same_batch(n, runs):
    alone = runs[1][1][0]["nan"]
    assert "the training loss is inf at iteration 0 (epoch 0, batch 1 of 2)" in alone
    assert [r["nan"] for r in runs[n][1]] == [alone] * n


def test_uneven_and_empty_shards_were_cut(runs):
    # tiny: 11 rows in batches of 10 and 1, 3 epochs; the last batch's row is rank 0's
    # alone the callback saw both fits (distributed=True, then False)
    assert runs[1][1][0]["tiny"]["shard_rows"] == [[10, 1] * 6]
    assert [r["tiny"]["shard_rows"] for r in runs[2][1]] == [[[5, 1] * 3], [[5, 0] * 3]]
    expected = [[[4, 1] * 3], [[3, 0] * 3], [[3, 0] * 3]]
    assert [r["tiny"]["shard_rows"] for r in runs[3][1]] == expected
