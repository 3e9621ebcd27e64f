"""Every example script runs in its fast mode and prints and writes what it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layers_by_hand(tmp_path, capsys):
    results = _load("02_layers_by_hand.py").main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert results["neuron_error"] < 1e-12, "hand-written neuron gradient equals the engine's"
    assert results["dense_error"] < 1e-12, "dX, dW, db by hand equal the engine's"
    assert results["coef_relative_error"] < 0.01, "SGD recovers make_regression's coefficients"
    assert results["x_squared_mse"] < 0.05, "the 1-10-1 network fits y = x²"
    png = tmp_path / "fit_x_squared.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "plot written as PNG"
    for text in ("dX = dY·Wᵀ", "dW = Xᵀ·dY", "db = Σ dY", "learned coefficients"):
        assert text in out, f"the example prints {text!r}"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("[0-9]*.py")))
def test_every_example_has_a_header_and_a_fast_mode(script):
    text = (EXAMPLES / script).read_text()
    assert text.startswith('"""'), f"{script} starts with a docstring saying what it shows"
    assert "--fast" in text, f"{script} has a --fast mode for the test suite"


def test_forward_vs_reverse(tmp_path, capsys):
    results = _load("01_forward_vs_reverse.py").main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert results["modes"]["reverse"] == pytest.approx((12.5, 10.0))
    assert results["modes"]["forward"] == pytest.approx((12.5, 10.0))
    small, large = results["costs"][2], results["costs"][8]
    # reverse mode's work for R^n -> R is flat in n; forward mode's grows with n
    assert small[("R^n->R", "reverse")][1] == large[("R^n->R", "reverse")][1]
    assert large[("R^n->R", "forward")][1] == 4 * small[("R^n->R", "forward")][1]
    # and the other way round for R -> R^m
    assert small[("R->R^m", "forward")][1] == large[("R->R^m", "forward")][1]
    assert large[("R->R^m", "reverse")][1] > small[("R->R^m", "reverse")][1]
    assert results["chain"]["cost"] == 15125
    assert results["chain"]["order"] == "((A1(A2A3))((A4A5)A6))"
    svg = results["svg"].read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "12.5" in svg, "graph shows dF/dx"
    assert "dF/dx = 12.5" in out and "15,125" in out
