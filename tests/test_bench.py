"""The benchmark runner, its workloads' wiring and its references. Nothing here is timed: speed
goals are judged from ``chainrule bench``'s summary, never in tests, so the workloads' timers are
replaced by made-up numbers and the tests check the runner's table and JSON, the workloads'
paths and the hand-written NumPy loop (test_bench_summary.py: the goals and their judging)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.bench import (
    WORKLOADS,
    Line,
    _handwritten,
    main_job,
    memory,
    run,
    summary_lines,
    training,
)
from chainrule.data import make_blobs

from .test_bench_summary import made_up


# --- the runner: its JSON and its table, from made-up workloads -------------------------------
@pytest.fixture
def made_up_workloads(monkeypatch):
    """Every module's main replaced by one that returns made-up results (and records its
    arguments)."""
    from chainrule.bench import engine, estimators

    calls = {}
    fake = {
        engine: [
            made_up("W1", unit="us/op", figures={"chainrule": 4.0, "torch": 10.0}),
            made_up("W5", figures={"chainrule": 0.2}),
        ],
        training: [made_up("W2", unit="us/step", figures={"chainrule": 50.0, "numpy": 40.0})],
        estimators: [made_up("W6", case="digits", figures={"chainrule": 1.0, "sklearn": 1.0})],
        memory: [made_up("W7", skipped="mnist.npz not found")],
        main_job: [made_up("W8", figures={"chainrule": 1.5})],
    }
    for module, results in fake.items():
        name = module.__name__.rsplit(".", 1)[1]

        def main(argv, results=results, name=name):
            calls[name] = argv
            print(f"{name}'s details")
            return results

        monkeypatch.setattr(module, "main", main)
    return calls


def test_json_carries_the_results_and_the_summarys_lines(made_up_workloads, capsys):
    assert run(["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"machine", "results", "summary"} and "NumPy" in report["machine"]
    assert [r["workload"] for r in report["results"]] == ["W1", "W5", "W2", "W6", "W7", "W8"]
    assert report["summary"] == [asdict(x) for x in summary_lines(report["results"])]
    assert all(list(x) == [f.name for f in fields(Line)] for x in report["summary"])
    w1 = report["summary"][0]
    assert (w1["row"], w1["reference"], w1["ratio"], w1["met"]) == (
        "W1 made up",
        "PyTorch",
        0.4,
        True,
    )


def test_the_run_ends_with_one_summary_table(made_up_workloads, capsys):
    assert run(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and out.count("\nsummary") == 1
    table = out[out.index("\nsummary") :]
    assert "engine's details" in out[: out.index("\nsummary")]
    assert table.rstrip().endswith("goals met")
    for workload in WORKLOADS:
        if workload not in ("W3", "W4"):  # not in the made-up results
            assert f"\n{workload} made up" in table, workload
    # --quick's settings reach each module
    assert made_up_workloads["training"][:4] == ["--only", "W2", "W3", "W4"]
    assert "--w4-epochs" in made_up_workloads["training"]
    assert made_up_workloads["main_job"] == ["--runs", "2"]


def test_only_runs_the_modules_of_the_chosen_workloads(made_up_workloads, capsys):
    from chainrule.cli import main

    assert main(["bench", "--only", "W5", "W8"]) == 0
    assert made_up_workloads == {"engine": ["--only", "W5"], "main_job": []}
    assert "W5 made up" in capsys.readouterr().out


def test_bench_rejects_an_unknown_workload(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["--only", "W9"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_bench_lists_w7_and_w8(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "W7" in out and "W8" in out


# --- W2's hand-written NumPy loop is a fair reference ----------------------------------------
@pytest.fixture
def w2_data():
    X, y = make_blobs(800, centers=2, n_features=2, random_state=0)
    return X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)


def w2_build():
    return training._chainrule_build([2, 10, 5, 1], nn.Sigmoid, nn.BCEWithLogitsLoss, 0.1)


def test_the_hand_written_loop_computes_chainrules_loss_and_gradients(w2_data):
    X, y = w2_data
    model, loss_fn, _ = w2_build()()
    params = _handwritten.params_of(model)
    assert [p.shape for p in params] == [(2, 10), (10,), (10, 5), (5,), (5, 1), (1,)]
    rng = np.random.default_rng(0)
    index = rng.permutation(len(X))[:10]  # a batch of 10, as W2's
    loss = loss_fn(model(cr.tensor(X[index])), cr.tensor(y[index]))
    loss.backward()
    ours, grads = _handwritten.gradients(params, X[index], y[index])
    assert ours == pytest.approx(loss.item(), rel=1e-6)
    for p, g, name in zip(model.parameters(), grads, ["W1", "b1", "W2", "b2", "W3", "b3"]):
        assert g.dtype == np.float32 and g.shape == p.shape, name
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)


def test_the_hand_written_loop_trains_as_chainrule_does(w2_data):
    # one epoch of W2 in both: the same batches (shuffling) and momentum rule, so the same weights
    X, y = w2_data
    model, loss_fn, opt = w2_build()()
    start = _handwritten.params_of(model)
    loop = _handwritten.HandWrittenLoop(start, 0.1, 0.9, seed=0)
    step = training.eager_step(model, loss_fn, opt)
    assert training.chainrule_epoch(step, X, y, 10, cr.Generator(0)) == 80
    assert loop.epoch(X, y, 10) == 80
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    for p, q, p0, name in zip(model.parameters(), loop.params, start, names):
        assert np.abs(q - p0).max() > 1e-3, f"{name} did not move"
        np.testing.assert_allclose(q, p.detach().numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


# --- the workloads' wiring, with best_of replaced (nothing is timed) --------------------------
def fake_best_of(fns, repeat, number=1):
    """Calls each function once; every one 'takes' 1 second."""
    for fn in fns.values():
        fn()
    return dict.fromkeys(fns, 1.0)


def test_w2_runs_chainrule_the_hand_written_loop_and_the_references(monkeypatch):
    monkeypatch.setattr(training, "best_of", fake_best_of)
    result = training.w2(epochs=1, repeats=1)
    expected = {"chainrule", "chainrule (compiled)", "numpy", "sklearn"} | (
        {"torch"} if training._torch() else set()
    )
    assert set(result["figures"]) == expected
    assert result["figures"]["numpy"] == pytest.approx(1e6 / 80)  # 1 s over one epoch's steps


def test_the_compiled_step_is_one_more_chainrule_path_with_the_same_weights(w2_data):
    X, y = w2_data
    steps = training.chainrule_steps(w2_build())
    assert list(steps) == ["chainrule", "chainrule (compiled)"]
    (eager, eager_step), (compiled, step) = steps.values()
    assert isinstance(step, cr.train.CompiledStep) and compiled is not eager  # models of their own
    for s in (eager_step, step):
        assert training.chainrule_epoch(s, X, y, 10, cr.Generator(0)) == 80
    assert step.counts["replayed"] == 78  # recorded, checked, then replayed
    for p, q in zip(eager.parameters(), compiled.parameters()):
        assert np.array_equal(p.data, q.data)


def test_w4_needs_a_warm_up_epoch_and_a_timed_one():
    with pytest.raises(ValueError, match="W4: epochs must be at least 2 .* got 1"):
        training.w4(epochs=1)


def test_w4_and_w7_are_skipped_without_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MNIST", str(tmp_path / "missing.npz"))
    for result in (training.w4(), memory.w7()):
        assert "missing.npz not found" in result["skipped"], result


def test_w6_uses_a_random_classification_set_without_mnist(tmp_path):
    from chainrule.bench import estimators

    X, y, X_test, y_test, source = estimators.large_data(200, tmp_path / "missing.npz")
    assert source == "random" and X.shape == (200, 784) and X_test.shape == (10_000, 784)
    assert X.dtype == np.float32 and set(np.unique(y)) == set(range(10)) and len(y_test) == 10_000


# --- W8: chainrule train in a fresh process, failures reported, never raised -------------------
def test_w8_reports_the_jobs_last_line(monkeypatch):
    monkeypatch.setattr(main_job, "COMMAND", ("-c", "print('working'); print('done in 0.1 s')"))
    result = main_job.w8(runs=2, timeout=60)
    assert result["runs"] == 2 and result["figures"]["chainrule"] > 0
    assert result["last_line"] == "done in 0.1 s"


def test_w8_reports_a_failed_or_slow_job_as_an_error(monkeypatch):
    monkeypatch.setattr(main_job, "COMMAND", ("-c", "import sys; sys.exit('no data')"))
    assert main_job.w8(runs=1)["error"] == "chainrule train exited with 1: no data"
    monkeypatch.setattr(main_job, "COMMAND", ("-c", "import time; time.sleep(30)"))
    assert main_job.w8(runs=1, timeout=0.5)["error"] == "timed out after 0.5 s"
    with pytest.raises(ValueError, match="runs must be at least 1, got 0"):
        main_job.w8(runs=0)


def test_w8_runs_in_an_empty_folder_with_this_chainrule(monkeypatch, tmp_path):
    code = "import os, chainrule; print(os.listdir('.'), chainrule.__file__)"
    monkeypatch.setattr(main_job, "COMMAND", ("-c", code))
    assert main_job.w8(runs=1)["last_line"] == f"[] {cr.__file__}"


# --- W7: peak memory of a W4 epoch, each library in a fresh process ----------------------------
def test_w7_child_measures_what_a_tiny_epoch_adds():
    # 784-256-10 on 512 random rows: 4 steps that allocate the gradients and momentum buffers
    # (2 x 203,530 float32, 1.55 MiB) and keep them, so the peak they add is at least that
    result = memory.measure("chainrule", n_samples=512, hidden=256)
    buffers_mib = 2 * (784 * 256 + 256 + 256 * 10 + 10) * 4 / memory.MIB
    assert result["library"] == "chainrule" and result["steps"] == 4, result
    assert result["baseline_mib"] > result["added_mib"] >= 0.9 * buffers_mib, result


def test_w7_torch_epoch_runs_w4s_loop():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    assert memory._epoch("torch", X, y, 8)() == 3  # batches of 128, 128 and 44


def test_w7_rejects_an_unknown_library():
    with pytest.raises(ValueError, match="library must be 'chainrule' or 'torch', got 'jax'"):
        memory.child("jax", None, 4, 8, warmup=False)
    with pytest.raises(RuntimeError, match="the jax child exited with 2"):
        memory.measure("jax", n_samples=4, hidden=8)


def test_reset_peak_brings_the_high_water_mark_down_to_rss():
    big = np.ones(64 * memory.MIB // 8)  # 64 MiB, touched, then freed
    del big
    if not memory.reset_peak():
        pytest.skip("this kernel refuses /proc/self/clear_refs")
    now = memory.status()
    assert now["VmRSS"] > 0 and now["VmHWM"] - now["VmRSS"] < 16 * memory.MIB, now


def test_best_of_warms_up_alternates_and_keeps_each_fastest_mean(monkeypatch):
    from chainrule.bench import _timing

    clock = [0.0]
    monkeypatch.setattr(_timing.time, "perf_counter", lambda: clock[0])
    calls = []
    costs = {
        "a": iter([9.0, 3.0, 1.0, 1.0, 2.0] + [1.0] * 4 + [2.0] * 4),
        "b": iter([9.0] + [5.0, 4.0] * 6),
    }

    def make(name):
        def fn():
            calls.append(name)
            clock[0] += next(costs[name])

        return fn

    best = _timing.best_of({"a": make("a"), "b": make("b")}, repeat=3, number=4)
    assert calls[:2] == ["a", "b"]  # one warm-up call each (number // 10, at least one)
    assert calls[2:] == (["a"] * 4 + ["b"] * 4) * 3  # the functions take turns
    # a: rounds of 7, 4 and 8 → 4 / 4; b: three rounds of 18 → 18 / 4 (the warm-ups don't count)
    assert best == {"a": 1.0, "b": 18 / 4}
