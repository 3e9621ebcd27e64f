"""The benchmark runner works end to end (timings are reported, never asserted: speed goals
are judged from the benchmark's printed ratios, not from tests)."""

from __future__ import annotations

import json

import pytest

from chainrule.bench import run, training


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
