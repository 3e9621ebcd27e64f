"""The benchmark runner works end to end (timings are reported, never asserted: speed goals
are judged from the benchmark's printed ratios, not from tests)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.bench import memory, run, training


def test_bench_json_reports_w1_and_w5(capsys):
    assert run(["--only", "W1", "--quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "NumPy" in report["machine"]
    engine = report["engine"]
    assert engine["w1_chainrule_us_per_op"] > 0 and engine["import_s"] > 0
    if engine["w1_torch_us_per_op"] is not None:
        assert engine["w1_ratio"] == pytest.approx(
            engine["w1_chainrule_us_per_op"] / engine["w1_torch_us_per_op"]
        )


def test_w2_runs_all_three_libraries():
    result = training.w2(epochs=1)
    assert result["workload"] == "W2" and result["unit"] == "us/step"
    assert result["chainrule"] > 0 and result["sklearn"] > 0
    assert "torch" in result or pytest.importorskip("torch") is None


def test_bench_rejects_an_unknown_workload(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["--only", "W9"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_chainrule_bench_command_runs_the_benchmarks(capsys):
    from chainrule.cli import main

    assert main(["bench", "--only", "W5", "--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "W5 import chainrule:" in out


# --- W7: peak memory of a W4 epoch, each library in a fresh process ----------------------------
def test_bench_lists_w7(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["--help"])
    assert exit_info.value.code == 0 and "W7" in capsys.readouterr().out


def test_w7_is_skipped_without_mnist(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_MNIST", str(tmp_path / "missing.npz"))
    assert memory.w7() is None
    assert run(["--only", "W7", "--quick", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["memory"] is None
    assert "W7: skipped" in captured.err and "missing.npz not found" in captured.err


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
